"""testrun's report masking: one block per report, memoized by digit class, equals masking line by line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors._util import template
from headroom.transforms.compressors.testrun import _masker

PIECES = [
    "test_case_12", "test_case", "0x1f", "0x", "5x", "deadbeef01", "12345678-1234-1234-1234-123456789abc",
    "10.0.0.1", "999.1.2.3", "-42", "7", "0", " ", "\t", "  ", "\u00a0", "\r", "ERROR", "line", ".", "-",
    "٣", "File \"/x.py\"", "abcdef", "ABCDEF12", "_", "[a-1]",
]  # fmt: skip

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
    mask = _masker(name, memo)
    assert mask(lines) == per_line(name, lines)
    assert mask(other) == per_line(name, other)  # served from the memo when ``other`` is digit-equal


def test_reports_that_differ_in_numbers_share_one_masking() -> None:
    memo: dict[str, tuple[str, ...]] = {}
    a = _masker("test_a", memo)(['  File "/t.py", line 125, in test_a', "KeyError: 17"])
    b = _masker("test_b", memo)(['  File "/t.py", line 987, in test_b', "KeyError: 42"])
    c = _masker("test_c", memo)(['  File "/t.py", line 0x10, in test_c', "KeyError: 42"])
    assert a == b == ('File "/t.py", line <n>, in <test>', "KeyError: <n>")
    assert c != a
    assert len(memo) == 2
