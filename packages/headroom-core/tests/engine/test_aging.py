"""ProxyConfig.aging: which units age, what their memo keys and texts do as a session grows."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from headroom.engine import Engine
from headroom.engine.units import Unit
from headroom.proxy.config import Aging, ProxyConfig
from headroom.transforms import ContentRouter, TagProtector
from headroom.transforms.base import Compressor
from headroom.transforms.markers import parse_markers


class Recording(Compressor):
    """Changes nothing; records each unit's first line and its ``aged`` flag."""

    name = "test-record"
    seen: ClassVar[list[tuple[str, bool | None]]] = []

    def compress(self, unit: Unit) -> str | None:
        self.seen.append((unit.text.split("\n", 1)[0], unit.aged))
        return None


def view(n: int, lines: int = 60) -> str:
    """A numbered file view of one module: definitions and long bodies."""
    out = []
    for k in range(1, lines + 1):
        if k % 20 == 1:
            out.append(f"{k:6}\tdef handler_{n}_{k}(request, retries=3):")
        else:
            out.append(f"{k:6}\t    value_{k} = compute(request, {k}) + offset_{n}")
    return "\n".join(out)


def session(outputs: int, pastes: bool = False) -> dict[str, Any]:
    """A chat session of ``outputs`` tool results; with ``pastes``, output pasted in an ``<output>`` tag
    first (how some harnesses send tool output) and a large untagged paste last."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Fix handler_3_21 please."}]
    if pastes:
        messages.append({"role": "user", "content": "<output>\n" + view(98) + "\n</output>"})
    for i in range(outputs):
        call = {"id": f"c{i}", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": f"unit {i}\n" + view(i)})
    if pastes:
        big = "\n".join(f"2024-05-01 10:00:{k % 60:02d} INFO worker {k} done" for k in range(600))
        messages.append({"role": "user", "content": big})
    return {"model": "m", "messages": messages}


def test_aged_counts_whole_steps_after_the_newest() -> None:
    aging = Aging(keep_recent=6, step=4)
    assert [aging.aged(n) for n in (0, 6, 9, 10, 13, 14)] == [0, 0, 0, 4, 4, 8]
    with pytest.raises(ValidationError):
        Aging(keep_recent=0)
    with pytest.raises(ValidationError):
        ProxyConfig.model_validate({"aging": {"keep_recent": 2, "steps": 1}})
    assert ProxyConfig().aging is None  # off by default
    env = {"HEADROOM_AGING__KEEP_RECENT": "3", "HEADROOM_AGING__STEP": "2"}
    assert ProxyConfig.from_env(env).aging == Aging(keep_recent=3, step=2)


@pytest.mark.parametrize(("aging", "expected"), [(None, [None] * 12), (Aging(keep_recent=3, step=4), None)])
def test_units_learn_whether_they_are_aged(aging: Aging | None, expected: list[bool | None] | None) -> None:
    Recording.seen = []
    engine = Engine(ProxyConfig(transforms=[Recording()], aging=aging))
    engine.compress(json.dumps(session(10, pastes=True)).encode())
    flags = [aged for _, aged in Recording.seen]
    # eleven tool outputs (the tagged paste and ten results): with 3 kept and steps of 4, the oldest 8
    # are aged; the large untagged paste never is
    assert [first for first, _ in Recording.seen][-1].startswith("2024-05-01")
    assert flags == (expected or [True] * 8 + [False] * 3 + [False])


def test_a_unit_changes_once_when_it_ages_and_then_stays() -> None:
    aging = Aging(keep_recent=2, step=2)
    engine = Engine(ProxyConfig(transforms=[ContentRouter(), TagProtector()], aging=aging))
    history: dict[int, list[str]] = {}
    for outputs in range(1, 9):
        out = json.loads(engine.compress(json.dumps(session(outputs)).encode()).body)
        tools = [m["content"] for m in out["messages"] if m["role"] == "tool"]
        for i, text in enumerate(tools):
            history.setdefault(i, []).append(text)
    fresh = view(0)
    assert sum(len(set(texts)) == 2 for texts in history.values()) == aging.aged(8)  # six aged by the end
    for i, texts in history.items():
        distinct = list(dict.fromkeys(texts))
        assert len(distinct) <= 2, i  # fresh, then aged: at most one change
        assert distinct[0] == f"unit {i}\n" + view(i)  # the default leaves a fresh view whole
        if len(distinct) == 2:
            aged = distinct[1]
            ages_at = min(k for k in range(1, 9) if aging.aged(k) > i)  # outputs when unit i ages
            assert texts.index(aged) == ages_at - (i + 1)  # unit i is first sent with i + 1 outputs
            markers = list(parse_markers(aged))
            assert len(markers) == 1
            assert "def handler_" in aged
            assert "value_2 = " not in aged
            kept = aged.count("\n") + 1 - 1  # every line but the marker
            assert markers[0].total + kept == len(f"unit {i}\n{fresh}".split("\n"))
