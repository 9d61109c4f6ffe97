"""Token counts: exact for what is rewritten, and the units left unchanged counted only once read."""

from __future__ import annotations

import json

import anyio

from headroom.engine import Engine
from headroom.engine.tokens import SampledCounter, get_token_counter, line_blocks
from headroom.proxy.config import ProxyConfig

from .helpers import HalfLines

COUNT = get_token_counter("o200k_base").count


class CountingEngine(Engine):
    """An engine whose counter records every text it counts."""

    def __init__(self, config: ProxyConfig) -> None:
        super().__init__(config)
        self.counted: list[str] = []
        inner = self.counter.inner

        class Recording:
            name = inner.name
            exact = inner.exact

            @staticmethod
            def count(text: str) -> int:
                self.counted.append(text)
                return inner.count(text)

        self.counter = SampledCounter(Recording())

    def tokenized(self, text: str) -> bool:
        """True when ``text`` was counted, whole or line block by line block."""
        blocks = line_blocks(text, self.counter.name) or [text]
        return text in self.counted or all(block in self.counted for block in blocks)


def body(*contents: str) -> bytes:
    messages = [{"role": "tool", "tool_call_id": f"c{i}", "content": c} for i, c in enumerate(contents)]
    return json.dumps({"messages": messages}).encode()


PROSE = " ".join(f"word{i}" for i in range(2000))  # one long line: HalfLines leaves it alone
LINES = "\n".join(f"line {i} of a long tool output" for i in range(200))
SHORT = "just a few words"


def test_a_long_unchanged_unit_is_counted_only_when_its_count_is_read() -> None:
    engine = CountingEngine(ProxyConfig(transforms=[HalfLines()]))
    result = engine.compress(body(PROSE, LINES, SHORT))
    assert result.changed
    assert PROSE not in engine.counted  # left unchanged and long: not counted on the request's path
    assert engine.tokenized(LINES)  # rewritten
    assert engine.tokenized(SHORT)  # short: counted for the min_unit_tokens gate
    rewritten = COUNT(LINES) - COUNT(json.loads(result.body)["messages"][1]["content"])
    assert result.tokens_saved == rewritten  # never waits for the unchanged units
    before_read = engine.stats.snapshot()
    assert before_read["tokens_saved"] == rewritten
    assert result.tokens_before == COUNT(PROSE) + COUNT(LINES) + COUNT(SHORT)  # exact once read
    assert engine.counted.count(PROSE) == 1
    assert result.tokens_before - result.tokens_after == rewritten
    after_read = engine.stats.snapshot()
    assert after_read["tokens_before"] == before_read["tokens_before"] + COUNT(PROSE)
    assert after_read["tokens_saved"] == rewritten
    result.response_headers()
    assert engine.counted.count(PROSE) == 1  # counted once


def test_the_async_count_gives_the_same_figures_in_a_worker_thread() -> None:
    engine = CountingEngine(ProxyConfig(transforms=[HalfLines()]))
    result = engine.compress(body(PROSE, LINES))
    assert [text for _, text in result.uncounted] == [PROSE]
    anyio.run(result.acount_pending, 1)  # offload threshold 1 char: counted in a worker thread
    assert result.uncounted == []
    assert result.counted_before == COUNT(PROSE) + COUNT(LINES)


def test_memo_hits_keep_unchanged_units_uncounted_and_figures_equal() -> None:
    engine = CountingEngine(ProxyConfig(transforms=[HalfLines()]))
    first = engine.compress(body(PROSE, LINES))
    second = engine.compress(body(PROSE, LINES))
    assert second.memo_hits == 2
    assert (first.tokens_before, first.tokens_after) == (second.tokens_before, second.tokens_after)


def test_a_unit_counted_late_is_not_counted_again_on_later_turns() -> None:
    engine = CountingEngine(ProxyConfig(transforms=[HalfLines()]))
    first = engine.compress(body(PROSE, LINES))
    assert first.tokens_before > 0  # read: PROSE counted now, and its memo entry learns the count
    later = engine.compress(body(PROSE, LINES, SHORT))  # the session re-sends its history
    assert later.memo_hits == 2
    assert later.uncounted == []
    assert later.tokens_before == first.tokens_before + COUNT(SHORT)
    assert engine.counted.count(PROSE) == 1  # a re-sent history pays for new content only
