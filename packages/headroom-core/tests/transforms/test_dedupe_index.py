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
