"""The Earlier view the engine hands transforms: a read-only, O(1) window on the request's unit texts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headroom.engine import Engine
from headroom.engine.units import Earlier, TextLog, Unit
from headroom.proxy.config import ProxyConfig
from headroom.transforms import Compressor


@given(st.lists(st.text(max_size=5), max_size=8), st.data())
def test_a_view_reads_like_the_tuple_of_its_prefix(texts: list[str], data: st.DataObject) -> None:
    log = TextLog()
    views = []
    for text in texts:
        views.append(log.view())
        log.append(text)
    views.append(log.view())
    for size, view in enumerate(views):  # later appends never change an earlier view
        expected = tuple(texts[:size])
        assert len(view) == size
        assert tuple(view) == expected
        assert list(reversed(view)) == list(expected[::-1])
        index = data.draw(st.integers(-size - 2, size + 2))
        if -size <= index < size:
            assert view[index] == expected[index]
        else:
            with pytest.raises(IndexError):
                view[index]
        cut = slice(data.draw(st.integers(-9, 9)), data.draw(st.integers(-9, 9)))
        assert view[cut] == expected[cut]
        assert (texts[0] in view) == (texts[0] in expected) if texts else not view


def test_a_view_cannot_reach_past_its_log() -> None:
    with pytest.raises(ValueError):
        Earlier(TextLog(["a"]), 2)


def test_views_of_one_log_share_what_transforms_derive_from_it() -> None:
    log = TextLog(["a"])
    first = log.view()
    made = first.derived("k", list)
    log.append("b")
    assert log.view().derived("k", dict) is made  # made once per log, whatever view asks
    assert Earlier.of(["a"]).derived("k", dict) == {}  # another log: its own


class Recorder(Compressor):
    """Records the earlier texts every unit was given (and changes nothing)."""

    name = "recorder"

    def compress(self, unit: Unit) -> str | None:
        SEEN.append((unit.text, tuple(unit.earlier), type(unit.earlier)))
        return None


SEEN: list[tuple[str, tuple[str, ...], type]] = []


def test_the_engine_hands_every_unit_the_texts_before_it() -> None:
    SEEN.clear()
    outputs = [f"output {i}\n" * 40 for i in range(4)]
    messages: list[dict[str, object]] = [{"role": "user", "content": "go"}]
    for i, out in enumerate(outputs):
        call = {"id": f"c{i}", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": out})
    Engine(ProxyConfig(transforms=[Recorder()])).compress_json({"model": "m", "messages": messages})
    assert [(text, earlier) for text, earlier, _ in SEEN] == [
        (out, tuple(outputs[:i])) for i, out in enumerate(outputs)
    ]
    assert all(kind is Earlier for _, _, kind in SEEN)


def test_a_log_that_records_what_was_sent_answers_per_unit_and_per_prefix() -> None:
    log = TextLog(shown=())
    log.append("original one", "compressed one")
    log.append("original two")  # left as it was: the model is sent the original
    view = log.view()
    assert view.records_shown
    assert [view.shown(0), view.shown(1)] == ["compressed one", "original two"]
    assert list(view) == ["original one", "original two"]
    with pytest.raises(IndexError):
        Earlier(log, 1).shown(1)  # a prefix view sees no later unit
    plain = Earlier.of(["a", "b"])
    assert not plain.records_shown
    assert plain.shown(1) == "b"
    with pytest.raises(ValueError):
        TextLog(["a"], shown=[])
