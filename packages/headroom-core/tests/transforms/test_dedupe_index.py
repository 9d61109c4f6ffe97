"""The dedupe index's remembered answers equal a straight look over every earlier unit."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms import router
from headroom.transforms.detect import ContentType

ANCHORS = [("a", "b"), ("b", "c"), ("", ""), ("x", "y")]


def _straight(index: router._WindowIndex, anchor: router.Anchor, size: int) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for unit in range(min(size, len(index.units)) - 1, -1, -1):
        indexed = index.units[unit]
        for p in reversed((indexed.anchors.get(anchor) if indexed is not None else None) or ()):
            found.append((unit, p))
            if len(found) == router._MAX_CANDIDATES:
                return found
    return found


unit_places = st.none() | st.dictionaries(
    st.sampled_from(ANCHORS), st.lists(st.integers(0, 50), min_size=1, max_size=12, unique=True).map(sorted)
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("grow"), unit_places),
        st.tuples(st.just("ask"), st.tuples(st.sampled_from(ANCHORS), st.integers(0, 12))),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_candidates_match_a_fresh_look(plan: list[tuple[str, object]]) -> None:
    index = router._WindowIndex(frozenset({ContentType.JSON}), 400)
    for step, arg in plan:
        if step == "grow":
            assert arg is None or isinstance(arg, dict)
            index.append(None if arg is None else router._Indexed(router._Lines((), ()), arg))
        else:
            assert isinstance(arg, tuple)
            anchor, size = arg
            assert index.candidates(anchor, size) == _straight(index, anchor, size)


def _split_line_by_line(lines: list[str]) -> router._Lines:
    """:func:`router._split` written out line by line (the reference its C-level shortcuts must equal)."""
    numbered = [router._NUMBERED.match(line) for line in lines]
    count = sum(m is not None for m in numbered)
    tags = sum(line.startswith("<") for line in lines)
    if count < 2 or count * 2 <= len(lines) - tags:
        return router._Lines(tuple(lines), (-1,) * len(lines))
    keys = tuple(line if m is None else line[m.end() :] for line, m in zip(lines, numbered, strict=True))
    return router._Lines(keys, tuple(-1 if m is None else int(m.group(1)) for m in numbered))


_VIEW_PIECES = [" ", "  7", "12", "0", "\u0663", "\t", "\t\t", "x", "<", "<a>", "def f", "\r", "+1", "1_0"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_VIEW_PIECES), max_size=6).map("".join), min_size=1, max_size=12))
def test_split_equals_a_line_by_line_look(lines: list[str]) -> None:
    expected = _split_line_by_line(lines)
    assert router._split(lines) == expected
    assert router._split(lines, "\n".join(lines)) == expected


def test_split_reads_a_numbered_view_with_and_without_unnumbered_lines() -> None:
    view = ["     1\tdef f():", "     2\t    return 1", "    10\t"]
    assert router._split(view) == router._Lines(("def f():", "    return 1", ""), (1, 2, 10))
    wrapped = ["<output>", *view, "</output>", ""]
    assert router._split(wrapped) == router._Lines(
        ("<output>", "def f():", "    return 1", "", "</output>", ""), (-1, 1, 2, 10, -1, -1)
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(ANCHORS[0] + ("c", "")), max_size=8), max_size=5))
def test_anchors_list_every_start_in_order(units: list[list[str]]) -> None:
    for keys in units:
        found = router._Lines(tuple(keys), (-1,) * len(keys)).anchors()
        expected: dict[router.Anchor, list[int]] = {}
        for p in range(len(keys) - router.WINDOW + 1):
            expected.setdefault(tuple(keys[p : p + router.WINDOW]), []).append(p)
        assert found == expected
