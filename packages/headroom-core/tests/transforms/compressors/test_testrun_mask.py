"""testrun's report masking: one block per report, memoized by digit class, equals masking line by line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors._util import template
from headroom.transforms.compressors.testrun import (
    _mask,
    _passing_lines,
    _pytest_report,
    _pytest_title,
    _reports,
    _rule,
    is_passing,
)

PIECES = [
    "test_case_12",
    "test_case",
    "0x1f",
    "0x",
    "5x",
    "deadbeef01",
    "12345678-1234-1234-1234-123456789abc",
    "10.0.0.1",
    "999.1.2.3",
    "-42",
    "7",
    "0",
    " ",
    "\t",
    "  ",
    "\u00a0",
    "\r",
    "ERROR",
    "line",
    ".",
    "-",
    "٣",
    'File "/x.py"',
    "abcdef",
    "ABCDEF12",
    "_",
    "[a-1]",
]

block = st.lists(st.lists(st.sampled_from(PIECES), max_size=8).map("".join), min_size=1, max_size=6)


def per_line(name: str, lines: list[str]) -> tuple[str, ...]:
    word = name.split()[-1]
    names = [word]
    short = word.split("[", 1)[0].rsplit(".", 1)[-1]
    if short and short != word:
        names.append(short)
    out = []
    for line in lines:
        for item in names:
            line = line.replace(item, "<test>")
        out.append(template(line))
    return tuple(out)


@settings(max_examples=300, deadline=None)
@given(lines=block, other=block, name=st.sampled_from(["test_case_12", "mod.Cls.test_x[a-1]", "t"]))
def test_block_masking_equals_line_masking_and_the_memo_never_merges_different_masks(
    lines: list[str], other: list[str], name: str
) -> None:
    memo: dict[str, tuple[str, ...]] = {}
    assert _mask(lines, name, memo) == per_line(name, lines)
    assert _mask(other, name, memo) == per_line(
        name, other
    )  # served from the memo when ``other`` is digit-equal


def test_reports_that_differ_in_numbers_share_one_masking() -> None:
    memo: dict[str, tuple[str, ...]] = {}
    a = _mask(['  File "/t.py", line 125, in test_a', "KeyError: 17"], "test_a", memo)
    b = _mask(['  File "/t.py", line 987, in test_b', "KeyError: 42"], "test_b", memo)
    c = _mask(['  File "/t.py", line 0x10, in test_c', "KeyError: 42"], "test_c", memo)
    assert a == b == ('File "/t.py", line <n>, in <test>', "KeyError: <n>")
    assert c != a
    assert len(memo) == 2


PASS_LINES = [
    "tests/test_a.py ..s.x",
    "tests/test_a.py ..F",
    "....",
    "..s [ 50%]",
    "test_x PASSED",
    "PASSED test_y",
    "XPASS test_z",
    "test_q (m.T) ... ok",
    "test_r (m.T) ... skipped 'no'",
    "=== RUN   TestX",
    "--- PASS: TestX",
    "\u2713 works",
    "\u221a works",
    "E       assert 1 == 2",
    "",
    "   ",
    "word s",
    "[headroom: omitted 3 lines]",
    "tests/test_mod.py:12: AssertionError",
    "x" * 501 + " PASSED",
]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.sampled_from(PASS_LINES), min_size=1, max_size=30))
def test_passing_lines_are_exactly_the_lines_is_passing_accepts(lines: list[str]) -> None:
    assert _passing_lines(lines) == {line for line in lines if is_passing(line)}


SECTION_LINES = [
    "    def test_case():",
    ">       assert compute(12) == 13",
    ">       helper(7)",
    "E       assert 12 == 13",
    "E        +  where 12 = compute(12)",
    "",
    "tests/test_mod.py:22: AssertionError",
    "ValueError: 0x1f",
    "----------------------------- Captured stdout call -----------------------------",
    "print 945",
]


@settings(max_examples=200, deadline=None)
@given(
    sections=st.lists(st.lists(st.sampled_from(SECTION_LINES), max_size=8), min_size=1, max_size=6),
    digits=st.lists(st.sampled_from("0123456789"), min_size=1, max_size=6),
)
def test_memoized_pytest_sections_equal_fresh_ones(sections: list[list[str]], digits: list[str]) -> None:
    lines: list[str] = []
    for k, body in enumerate(sections):
        d = digits[k % len(digits)]
        lines.append(f"{'_' * 10} test_case_{k} {'_' * 10}")
        lines.extend(line.replace("1", d) for line in body)
    lines.append("==== 3 failed in 0.1s ====")
    for report in _reports(lines):
        title = lines[report.start].strip("_").strip()
        assert report == _pytest_report(lines, report.start, report.end, title, {}, {})


RULEISH = st.text(alphabet="=-_ ax", max_size=40)


@given(line=RULEISH, char=st.sampled_from("=-_"))
def test_rule_is_a_line_of_one_character_20_or_more(line: str, char: str) -> None:
    assert _rule(line, char) == (len(line) >= 20 and line == char * len(line))


@given(line=st.one_of(RULEISH, st.builds("{}{}{}".format, st.text("_ ", max_size=8), RULEISH, RULEISH)))
def test_pytest_title_is_the_name_between_underscore_rules(line: str) -> None:
    expected = None
    if 8 <= len(line) <= 600 and line.startswith("___") and line.endswith("___"):
        name = line.strip("_").strip()
        expected = name if name and line[len(line) - len(line.lstrip("_"))] == " " else None
    assert _pytest_title(line) == expected
