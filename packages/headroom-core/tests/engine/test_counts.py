"""Token counts: exact for what is rewritten, and the units left unchanged counted only once read."""

from __future__ import annotations

import json
import threading

import anyio
import pytest

from headroom.engine import Engine
from headroom.engine.tokens import SampledCounter, counting_once, get_token_counter, line_blocks
from headroom.engine.units import Unit
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
    kept, dropped = LINES.splitlines(keepends=True)[:100], LINES.splitlines(keepends=True)[100:]
    assert all(engine.tokenized(line) for line in kept)  # the rewrite's own lines: counted to decide
    assert not any(line in engine.counted for line in dropped)  # the words showed it was worth it
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
    assert [unit.text for unit in result.uncounted] == [PROSE, LINES]
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


def test_a_rewrite_counted_late_gives_exact_figures_everywhere_and_is_counted_once() -> None:
    engine = CountingEngine(ProxyConfig(transforms=[HalfLines()]))
    raw = body(LINES)
    result = engine.compress(raw)
    after = COUNT(json.loads(result.body)["messages"][0]["content"])
    assert result.uncounted
    unread = engine.stats.snapshot()  # the rewrite is in the totals at its floor until read
    assert unread["tokens_after"] == after
    assert 0 < unread["tokens_saved"] < COUNT(LINES) - after
    assert result.tokens_saved == COUNT(LINES) - after  # the saving waits for the rewrite's count
    assert (result.tokens_before, result.tokens_after) == (COUNT(LINES), after)
    half = result.transforms["test-half"]
    assert (half.changed, half.tokens_before, half.tokens_after) == (1, COUNT(LINES), after)
    stats = engine.stats.snapshot()
    assert (stats["tokens_before"], stats["tokens_after"]) == (COUNT(LINES), after)
    assert stats["transforms"]["test-half"]["tokens_saved"] == COUNT(LINES) - after
    seen = len(engine.counted)
    again = engine.compress(raw)  # the memo entry learnt the count
    assert again.memo_hits == 1
    assert again.uncounted == []
    assert (again.tokens_before, again.tokens_after) == (COUNT(LINES), after)
    assert len(engine.counted) == seen


class DropLast(HalfLines):
    """Drops the unit's last line: a saving of a few tokens, close to any threshold."""

    name = "test-drop-last"

    def compress(self, unit: Unit) -> str | None:
        return unit.text.rsplit("\n", 1)[0]


def test_a_rewrite_near_the_threshold_is_decided_as_on_exact_counts() -> None:
    text = "\n".join(f"entry {i}: the quick brown fox" for i in range(60)) + "\n" + "x " * 40
    saving = COUNT(text) - COUNT(text.rsplit("\n", 1)[0])
    decided = []
    for threshold in range(saving - 3, saving + 4):
        limits = ProxyConfig().limits.model_copy(update={"min_tokens_saved": threshold, "min_unit_tokens": 1})
        result = Engine(ProxyConfig(transforms=[DropLast()], limits=limits)).compress(body(text))
        assert result.changed == (saving >= threshold), threshold
        decided.append(result.changed)
        if result.changed:
            assert result.tokens_saved == saving
    assert True in decided
    assert False in decided


def test_counts_made_before_the_request_is_recorded_are_not_added_twice() -> None:
    # with INFO logging, a body compressed in a worker thread is counted there, before it is recorded
    limits = ProxyConfig().limits.model_copy(update={"offload_bytes": 0})
    config = ProxyConfig(transforms=[HalfLines()], limits=limits).model_copy(
        update={"telemetry": ProxyConfig().telemetry.model_copy(update={"log_level": "INFO"})}
    )
    engine = Engine(config)
    result = anyio.run(engine.acompress, body(PROSE, LINES))
    assert result.uncounted == []
    stats = engine.stats.snapshot()
    assert (stats["tokens_before"], stats["tokens_after"]) == (result.tokens_before, result.tokens_after)
    assert stats["tokens_before"] == COUNT(PROSE) + COUNT(LINES)


def test_a_reader_waits_for_a_count_under_way_in_another_thread() -> None:
    engine = Engine(ProxyConfig(transforms=[HalfLines()]))
    inner = engine.counter.inner
    started, release = threading.Event(), threading.Event()

    class Slow:
        name, exact = inner.name, inner.exact

        @staticmethod
        def count(text: str) -> int:
            started.set()
            assert release.wait(10)
            return inner.count(text)

    result = engine.compress(body(PROSE, LINES))  # counted on the way with the real counter
    full = COUNT(PROSE) + COUNT(LINES)
    engine.counter = SampledCounter(Slow())
    result.counter = counting_once(engine.counter)  # what is left is counted slowly
    counting = threading.Thread(target=result.count_pending)
    counting.start()
    assert started.wait(10)  # the count is under way in that thread
    threading.Timer(0.2, release.set).start()
    anyio.run(result.acount_pending, 10**9)  # short enough for the event loop, yet it must wait
    assert result.counted_before == full  # not the partial totals of a count under way
    counting.join(10)


class Swap(HalfLines):
    """Replaces the unit with about 1900 tokens of its own."""

    name = "test-swap"

    def compress(self, unit: Unit) -> str | None:
        return "b " * 1900


def test_a_rewrite_of_a_unit_over_64_kib_is_decided_on_the_count_it_is_reported_with() -> None:
    # words everywhere but where the sampled count reads: the whole text's words would overstate it
    chars = list("a " * 100_000)
    step = (200_000 - 2048) / 15
    for i in range(16):
        chars[int(i * step) : int(i * step) + 2048] = " " * 2047 + "\n"
    result = Engine(ProxyConfig(transforms=[Swap()])).compress(body("".join(chars)))
    assert not result.changed  # by the sampled count it is reported with, the rewrite costs tokens


def test_a_count_that_fails_loses_nothing() -> None:
    result = Engine(ProxyConfig(transforms=[HalfLines()])).compress(body(PROSE, LINES))
    counter = result.counter

    def hiccup(text: str) -> int:
        raise RuntimeError("tokenizer hiccup")

    result.counter = hiccup
    with pytest.raises(RuntimeError):
        result.count_pending()
    result.counter = counter
    assert result.tokens_before == COUNT(PROSE) + COUNT(LINES)  # counted again, in full
