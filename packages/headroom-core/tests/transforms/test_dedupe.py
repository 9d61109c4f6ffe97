"""ContentRouter's cross-unit dedupe: re-viewed file regions, edited and renumbered views, re-runs.

Every router here routes no type to a compressor, so whatever changes is the dedupe's doing, and each output
can be expanded back: a marker stands for lines an earlier unit shows (under the line numbers it names).
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.engine.units import Earlier, TextLog, Unit
from headroom.transforms import ContentRouter
from headroom.transforms.markers import parse_markers
from headroom.transforms.router import DEFAULT_ROUTES

from .conftest import make_unit

ONLY_DEDUPE = ContentRouter(routes=dict.fromkeys(DEFAULT_ROUTES, "none"))
REPEATED = "repeated from earlier output"


def source(size: int = 220) -> list[str]:
    """A file's lines: distinct statements, a definition every 20 lines."""
    return [
        f"def handler_{k}(request, timeout={k}):"
        if k % 20 == 0
        else f"    value_{k} = compute_{k % 7}(alpha_{k}, beta={k * 3})  # step {k}"
        for k in range(size)
    ]


def view(lines: list[str], first: int, last: int, *, numbered: bool = True) -> str:
    """``nl -ba file | sed -n 'first,lastp'`` (1-based, inclusive) wrapped as a tool result; or ``sed -n``."""
    shown = [f"{n:6d}\t{lines[n - 1]}" if numbered else lines[n - 1] for n in range(first, last + 1)]
    return "<returncode>0</returncode>\n<output>\n" + "\n".join(shown) + "\n</output>"


def route(text: str, *earlier: str) -> str:
    decision = ONLY_DEDUPE.route(make_unit(text, earlier=earlier))
    assert decision.text is not None
    return decision.text


def test_a_re_viewed_region_folds_and_names_its_line_range() -> None:
    file = source()
    out = route(view(file, 120, 160), view(file, 100, 180))
    [mark] = list(parse_markers(out))
    assert mark.counts == ((41, "lines"),)
    assert mark.detail == f"lines 120-160, {REPEATED}"
    assert "\t" not in out  # no numbered line left


def test_an_edited_region_stays_and_the_rest_folds() -> None:
    file = source()
    edited = list(file)
    edited[139:142] = [f"    value_{k} = patched({k})" for k in range(139, 142)]  # lines 140-142
    out = route(view(edited, 120, 160), view(file, 100, 180))
    for n in (140, 141, 142):
        assert f"{n:6d}\t    value_{n - 1} = patched({n - 1})" in out.split("\n")
    assert [m.detail for m in parse_markers(out)] == [
        f"lines 120-139, {REPEATED}",
        f"lines 143-160, {REPEATED}",
    ]


def test_a_renumbered_view_maps_its_lines_and_keeps_definitions() -> None:
    file = source()
    inserted = [*file[:50], "import time", "import os", *file[50:]]  # two lines inserted above
    out = route(view(inserted, 121, 170), view(file, 100, 180))
    lines = out.split("\n")
    # the definitions keep their new numbers: handler_120 was line 121, now 123; handler_140 now 143
    assert f"{123:6d}\tdef handler_120(request, timeout=120):" in lines
    assert f"{143:6d}\tdef handler_140(request, timeout=140):" in lines
    assert f"{121:6d}\t{file[118]}" in lines  # two lines before the first definition: no cheaper folded
    details = [m.detail for m in parse_markers(out)]
    assert f"lines 124-142, {REPEATED} (there lines 122-140)" in details
    assert expand(out, view(inserted, 121, 170), [view(file, 100, 180)])


def test_a_view_of_two_ranges_names_each_range() -> None:
    file = source()
    shorter = file[:130] + file[139:]  # lines 131-139 deleted: the earlier view runs on from 130 to old 140
    text = (
        view(file, 100, 130)[:-10] + "\n" + view(file, 140, 170).split("<output>\n", 1)[1]
    )  # 'sed -n a,b;c,dp'
    out = route(text, view(shorter, 90, 180))
    details = [m.detail for m in parse_markers(out)]
    assert details[0] == f"lines 100-130, {REPEATED}"  # not one run on to 170: the numbers jump at 140
    assert details[1:] == [
        f"lines 142-160, {REPEATED} (there lines 133-151)",
        f"lines 162-170, {REPEATED} (there lines 153-161)",
    ]
    assert expand(out, text, [view(shorter, 90, 180)])


def test_a_numbered_view_never_folds_against_a_copy_without_numbers() -> None:
    file = source()
    decision = ONLY_DEDUPE.route(
        make_unit(view(file, 120, 160), earlier=[view(file, 100, 180, numbered=False)])
    )
    assert decision.deduped_lines == 0  # its line numbers would be lost


def test_a_view_without_numbers_names_the_earlier_line_numbers() -> None:
    file = source()
    out = route(view(file, 130, 150, numbered=False), view(file, 100, 180))
    [mark] = list(parse_markers(out))
    assert mark.detail == f"{REPEATED} (there lines 130-150)"
    assert mark.total == 21


TRACEBACK = """\
======================================================================
ERROR: test_get_{n} (__main__.RequestsTestCase)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/testbed/test_requests.py", line {n}, in test_get_{n}
    r = requests.get(url, auth=auth)
  File "/testbed/requests/api.py", line 55, in get
    return request('get', url, **kwargs)
  File "/testbed/requests/sessions.py", line 277, in request
    prep = req.prepare()
  File "/testbed/requests/models.py", line 140, in register_hook
    if isinstance(hook, collections.Callable):
AttributeError: module 'collections' has no attribute 'Callable'
"""


def test_a_re_run_folds_its_repeated_frames_but_shows_its_errors() -> None:
    run = "\n".join(TRACEBACK.format(n=n) for n in (136, 152, 168)) + "\nFAILED (errors=3)"
    out = route(run, run)
    lines = out.split("\n")
    for n in (136, 152, 168):
        assert f"ERROR: test_get_{n} (__main__.RequestsTestCase)" in lines
    # the error once: its two repeats fold with their frames (this output shows it already)
    assert lines.count("AttributeError: module 'collections' has no attribute 'Callable'") == 1
    assert "FAILED (errors=3)" in lines
    assert sum(m.total for m in parse_markers(out)) >= 30
    assert expand(out, run, [run])


def test_a_run_is_folded_only_where_its_marker_costs_less() -> None:
    short = "x = 1\ny = 2\nz = 3"
    text = "fresh line one of the output\n" + short + "\nfresh line two of the output"
    assert ONLY_DEDUPE.route(make_unit(text, earlier=[short])).text is None
    long = "\n".join(
        f"    result_{k} = transform_everything(source_{k}, destination_{k}, mode='full')" for k in (1, 2)
    )
    out = route("fresh line one of the output\n" + long, long)
    assert [m.total for m in parse_markers(out)] == [2]  # two lines are enough when they are long


def test_passing_lines_an_earlier_test_run_may_have_folded_are_never_matched() -> None:
    passing = "\n".join(f"tests/test_api.py::test_case_{k} PASSED{' ' * 30}[{k:3d}%]" for k in range(40))
    run = passing + "\n============================== 40 passed in 0.52s =============================="
    decision = ONLY_DEDUPE.route(make_unit(run, earlier=[run]))
    assert decision.deduped_lines == 0  # the earlier copy may show them only as "40 passed"


def test_an_earlier_log_its_compressor_folds_into_templates_is_never_matched() -> None:
    log = "\n".join(
        f"081109 2036{k % 60:02d} {148 + k} INFO dfs.DataNode$PacketResponder: PacketResponder {k % 3} "
        f"for block blk_{1000 + k} terminating"
        for k in range(120)
    )
    again = "<output>\n" + log + "\n</output>"
    logs_routed = ContentRouter(routes={**dict.fromkeys(DEFAULT_ROUTES, "none"), "logs": "logs"})
    # the earlier copy may show these lines only as one template and a count
    assert logs_routed.route(make_unit(again, earlier=[log])).deduped_lines == 0
    assert ONLY_DEDUPE.route(make_unit(again, earlier=[log])).deduped_lines == 120  # not routed: shown whole


def test_a_prefix_view_decides_as_the_plain_earlier_texts() -> None:
    file = source()
    texts = [view(file, 1, 90), view(file, 60, 150), view(file, 100, 200), view(file, 1, 220)]
    log = TextLog(texts)
    ONLY_DEDUPE.route(_with(texts[3], log.view()))  # the request's index now holds all four units
    for size in range(4):
        assert ONLY_DEDUPE.route(_with(texts[size], Earlier(log, size))) == ONLY_DEDUPE.route(
            make_unit(texts[size], earlier=texts[:size])
        )


def _with(text: str, earlier: Earlier) -> Unit:
    unit = make_unit(text)
    return Unit(unit.text, unit.context, unit.count_tokens, unit.ref, earlier)


# -- expanding an output back ----------------------------------------------------------------------

_NUMBERED = re.compile(r" *(\d+)\t(.*)", re.S)
_LINES = re.compile(r"lines (\d+)-(\d+)")


def _key(line: str) -> tuple[int | None, str]:
    match = _NUMBERED.fullmatch(line)
    return (int(match[1]), match[2]) if match else (None, line)


def _shown(block: list[tuple[int | None, str]], earlier: list[str], numbers: tuple[int, int] | None) -> bool:
    """Whether an earlier text shows the texts of ``block`` in a row (numbered ``numbers`` when given)."""
    want = [text for _, text in block]
    for text in earlier:
        keys = [_key(line) for line in text.split("\n")]
        for start in range(len(keys) - len(want) + 1):
            window = keys[start : start + len(want)]
            if [t for _, t in window] != want:
                continue
            if numbers is None and all(n is None for n, _ in window) and all(n is None for n, _ in block):
                return True
            if numbers is not None and [n for n, _ in window] == list(range(numbers[0], numbers[1] + 1)):
                return True
    return False


def expand(out: str, original: str, earlier: list[str]) -> bool:
    """Whether ``out`` is ``original`` with runs of lines replaced by markers that say truly where an earlier
    text shows them: ``lines a-b`` are this text's numbers, ``(there lines c-d)`` the earlier copy's."""
    source_lines = original.split("\n")
    pos = 0
    for line in out.split("\n"):
        marks = list(parse_markers(line))
        if not marks:
            if pos >= len(source_lines) or source_lines[pos] != line:
                return False
            pos += 1
            continue
        [mark] = marks
        assert mark.detail is not None
        assert REPEATED in mark.detail
        block = [_key(x) for x in source_lines[pos : pos + mark.total]]
        here, _, there = mark.detail.partition("(there ")
        here_range = _LINES.search(here)
        if here_range and [n for n, _ in block] != list(range(int(here_range[1]), int(here_range[2]) + 1)):
            return False
        there_range = _LINES.search(there) or here_range
        numbers = (int(there_range[1]), int(there_range[2])) if there_range else None
        if not _shown(block, earlier, numbers):
            return False
        pos += mark.total
    return pos == len(source_lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(1, 220), st.integers(0, 80), st.booleans()), min_size=1, max_size=4),
    st.tuples(st.integers(1, 220), st.integers(0, 80), st.booleans()),
    st.lists(st.integers(0, 219), max_size=4),
    st.integers(0, 3),
)
def test_every_fold_expands_back_from_the_earlier_units(
    earlier_views: list[tuple[int, int, bool]],
    current: tuple[int, int, bool],
    edits: list[int],
    inserted: int,
) -> None:
    file = source()
    earlier = [view(file, a, min(220, a + n), numbered=num) for a, n, num in earlier_views]
    changed = list(file)
    for k in edits:
        changed[k] = f"    value_{k} = edited_{k}()"
    changed = changed[:30] + [f"import module_{i}" for i in range(inserted)] + changed[30:]
    first, count, numbered = current
    text = view(changed, first, min(len(changed), first + count), numbered=numbered)
    unit = make_unit(text, earlier=earlier)
    decision = ONLY_DEDUPE.route(unit)
    assert decision == ONLY_DEDUPE.route(unit)  # deterministic
    if decision.text is None:
        return
    assert all(m.ref == unit.ref for m in parse_markers(decision.text))
    assert expand(decision.text, text, earlier)
    log = TextLog([*earlier, text, view(file, 1, 220)])  # later units indexed first change nothing
    ONLY_DEDUPE.route(_with("later", log.view()))
    assert ONLY_DEDUPE.route(_with(text, Earlier(log, len(earlier)))) == decision


def test_with_aging_on_a_re_viewed_region_does_not_fold_against_earlier_code() -> None:
    # an earlier view may be outlined once it ages: folding against it could hide the only copy of a line
    file = source()
    earlier = view(file, 100, 180)
    for aged in (False, True):
        decision = ONLY_DEDUPE.route(make_unit(view(file, 120, 160), earlier=[earlier], aged=aged))
        assert decision.deduped_lines == 0
    assert ONLY_DEDUPE.route(make_unit(view(file, 120, 160), earlier=[earlier])).deduped_lines == 41


def test_an_aged_view_is_outlined_and_a_fresh_one_left_whole() -> None:
    file = source()
    text = view(file, 1, 120)
    router = ContentRouter()
    fresh = router.route(make_unit(text, aged=False))
    assert fresh.text is None
    aged = router.route(make_unit(text, aged=True))
    assert aged.text is not None
    assert aged.compressors == ["outline"]
    assert aged.text.startswith("<returncode>0</returncode>\n<output>\n")  # the wrapper stays
    assert aged.text.endswith("\n</output>")
    definitions = [line for line in text.split("\n") if "\tdef " in line]
    assert definitions
    assert all(line in aged.text.split("\n") for line in definitions)
    assert len(aged.text) < len(text) / 2
