"""Engine invariants over generated requests in all three wire formats."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.engine import Engine, WireFormat
from headroom.engine.codecs import EXTRACTORS, apply_values
from headroom.proxy.config import Limits, ProxyConfig

from .helpers import HalfLines, Raising, Sleeping
from .strategies import path_for, session

EAGER = Limits(min_unit_tokens=1, min_tokens_saved=1)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def half_engine(**limits: Any) -> Engine:
    return Engine(ProxyConfig(transforms=[HalfLines()], limits=EAGER.model_copy(update=limits)))


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def items_of(body: dict[str, Any]) -> list[Any]:
    return list(body["input"] if "input" in body else body["messages"])


@SETTINGS
@given(session())
def test_round_trip_changes_only_unit_texts(case: tuple[WireFormat, dict[str, Any], list[int]]) -> None:
    fmt, body, _ = case
    result = half_engine().compress(encode(body), path=path_for(fmt))
    out = json.loads(result.body)
    slots = EXTRACTORS[fmt](body, ProxyConfig().pasted_output_tags, ProxyConfig().pasted_output_min_chars)
    out_slots = EXTRACTORS[fmt](out, ProxyConfig().pasted_output_tags, ProxyConfig().pasted_output_min_chars)
    assert [s.path for s in out_slots] == [s.path for s in slots]
    # Putting the original texts back at the units' paths gives the input exactly: nothing else moved.
    assert apply_values(out, {s.path: s.text for s in slots}) == body
    assert result.changed == (out != body)


@SETTINGS
@given(session(), st.sampled_from([None, 2]))
def test_passthrough_is_byte_exact(
    case: tuple[WireFormat, dict[str, Any], list[int]], indent: int | None
) -> None:
    fmt, body, _ = case
    raw = json.dumps(body, indent=indent, ensure_ascii=False).encode()
    engine = Engine(ProxyConfig(transforms=[HalfLines()], limits=Limits(min_unit_tokens=10**9)))
    result = engine.compress(raw, path=path_for(fmt))
    assert not result.changed
    assert result.body is raw


@SETTINGS
@given(session())
def test_prefix_stability_turn_by_turn(case: tuple[WireFormat, dict[str, Any], list[int]]) -> None:
    fmt, body, boundaries = case
    key = "input" if fmt is WireFormat.RESPONSES else "messages"
    outputs = []
    for end in boundaries:
        partial = {**body, key: items_of(body)[:end]}
        # A fresh engine per turn: stability must come from determinism, not from the memo.
        outputs.append(items_of(json.loads(half_engine().compress(encode(partial), path=path_for(fmt)).body)))
    for earlier, later, end in zip(outputs, outputs[1:], boundaries, strict=False):
        assert later[:end] == earlier


@SETTINGS
@given(session())
def test_memo_replays_identically(case: tuple[WireFormat, dict[str, Any], list[int]]) -> None:
    fmt, body, _ = case
    engine = half_engine()
    first = engine.compress(encode(body), path=path_for(fmt))
    second = engine.compress(encode(body), path=path_for(fmt))
    assert second.body == first.body
    slots = EXTRACTORS[fmt](body, ProxyConfig().pasted_output_tags, ProxyConfig().pasted_output_min_chars)
    assert second.memo_hits == len(slots)
    assert first.memo_hits == 0


@SETTINGS
@given(session())
def test_compress_json_never_mutates_its_input(case: tuple[WireFormat, dict[str, Any], list[int]]) -> None:
    fmt, body, _ = case
    snapshot = copy.deepcopy(body)
    result = half_engine().compress_json(body, format=fmt)
    assert body == snapshot
    if not result.changed:
        assert result.body is body


@settings(max_examples=20, deadline=None)
@given(session())
def test_a_raising_transform_fails_open(case: tuple[WireFormat, dict[str, Any], list[int]]) -> None:
    fmt, body, _ = case
    raw = encode(body)
    engine = Engine(ProxyConfig(transforms=[Raising()], limits=EAGER))
    result = engine.compress(raw, path=path_for(fmt))
    assert result.body is raw
    slots = EXTRACTORS[fmt](body, engine.config.pasted_output_tags, engine.config.pasted_output_min_chars)
    expected = sum(1 for s in slots if engine.counter.count(s.text) >= 1)
    assert result.transforms["test-raise"].errors == len(result.errors) == expected


def test_a_raising_transform_leaves_the_unit_to_the_next_one() -> None:
    body = {
        "messages": [{"role": "tool", "tool_call_id": "a", "content": "\n".join(f"l{i}" for i in range(40))}]
    }
    result = Engine(ProxyConfig(transforms=[Raising(), HalfLines()], limits=EAGER)).compress(encode(body))
    assert result.changed
    assert result.applied == ["test-half"]
    assert result.transforms["test-raise"].errors == 1


def test_a_sleeping_transform_past_the_deadline_fails_open() -> None:
    body = {"messages": [{"role": "tool", "tool_call_id": "a", "content": "word " * 400}]}
    raw = encode(body)
    config = ProxyConfig(
        transforms=[Sleeping(seconds=0.2)], limits=EAGER.model_copy(update={"deadline_ms": 20})
    )
    result = Engine(config).compress(raw)
    assert result.body is raw
    assert result.skipped == "deadline"


def test_acompress_abandons_a_transform_that_overruns_the_deadline() -> None:
    body = {"messages": [{"role": "tool", "tool_call_id": "a", "content": "word " * 400}]}
    raw = encode(body)
    limits = EAGER.model_copy(update={"deadline_ms": 50, "offload_bytes": 0})
    engine = Engine(ProxyConfig(transforms=[Sleeping(seconds=3)], limits=limits))
    result = anyio.run(lambda: engine.acompress(raw))
    assert result.body is raw
    assert result.skipped == "deadline"
    assert engine.stats.snapshot()["skips"] == {"deadline": 1}


_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from helpers import HalfLines
from headroom.engine import Engine
from headroom.proxy.config import Limits, ProxyConfig
engine = Engine(ProxyConfig(transforms=[HalfLines()], limits=Limits(min_unit_tokens=1, min_tokens_saved=1)))
for raw in sys.stdin.buffer.read().split(b"\\n"):
    sys.stdout.write(engine.compress(raw).body.hex() + "\\n")
"""


@settings(max_examples=1, deadline=None)
@given(st.lists(session(), min_size=8, max_size=8))
def test_results_are_identical_across_processes(
    cases: list[tuple[WireFormat, dict[str, Any], list[int]]],
) -> None:
    from pathlib import Path

    raws = [encode(body) for _, body, _ in cases]
    here = half_engine()
    expected = [here.compress(raw).body.hex() for raw in raws]
    for seed in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(Path(__file__).parent)],
            input=b"\n".join(raws),
            capture_output=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        )
        assert proc.stdout.decode().split() == expected


def test_decisions_show_in_the_stats() -> None:
    log = "\n".join(
        f"2024-01-01 10:00:{i % 60:02d} INFO worker {i} processed job {i * 7}" for i in range(300)
    )
    body = {"messages": [{"role": "tool", "tool_call_id": "a", "content": log}]}
    engine = Engine(ProxyConfig())
    first = engine.compress(encode(body))
    second = engine.compress(encode(body))
    assert first.applied == ["router"]
    assert first.transforms["router"].notes == {"logs:logs": 1}
    assert second.memo_hits == 1
    assert second.transforms["router"].notes == {"logs:logs": 1}
    assert engine.stats.snapshot()["transforms"]["router"]["notes"] == {"logs:logs": 2}


def test_transforms_warm_up_once_at_engine_start_and_failures_fail_open() -> None:
    from .helpers import ColdStart

    ColdStart.warmed.clear()
    config = ProxyConfig(transforms=[ColdStart()], limits=EAGER)
    Engine(config)
    assert ColdStart.warmed == [1]
    engine = Engine(config)  # this warm-up raises: the engine still starts and still compresses
    body = {
        "messages": [{"role": "tool", "tool_call_id": "a", "content": "\n".join(f"l{i}" for i in range(40))}]
    }
    assert engine.compress(encode(body)).changed


def test_response_headers_say_what_was_saved_or_why_not() -> None:
    log = "\n".join(
        f"2024-01-01 10:00:{i % 60:02d} INFO worker {i} processed job {i * 7}" for i in range(300)
    )
    engine = Engine(ProxyConfig())
    changed = engine.compress(encode({"messages": [{"role": "tool", "tool_call_id": "a", "content": log}]}))
    headers = changed.response_headers()
    assert headers["x-headroom-tokens-saved"] == str(changed.tokens_before - changed.tokens_after)
    assert int(headers["x-headroom-tokens-saved"]) > 0
    assert headers["x-headroom-transforms"] == "router"
    assert "x-headroom-skipped" not in headers
    unchanged = engine.compress(b"[1, 2]").response_headers()
    assert unchanged["x-headroom-skipped"] == "not_an_object"
    assert unchanged["x-headroom-transforms"] == ""


def test_requests_queued_for_a_worker_hold_no_thread_of_the_apps() -> None:
    """With more large requests than ``max_concurrency``, the waiting ones wait on the event loop: anyio's
    default thread limiter, which the app's own ``to_thread`` calls share, lends none of its tokens."""
    raw = encode({"messages": [{"role": "tool", "tool_call_id": "a", "content": "word " * 400}]})
    limits = EAGER.model_copy(update={"deadline_ms": 5000, "offload_bytes": 0, "max_concurrency": 2})
    engine = Engine(ProxyConfig(transforms=[Sleeping(seconds=0.3)], limits=limits))

    async def main() -> tuple[int, int, list[str | None]]:
        skipped: list[str | None] = []

        async def one() -> None:
            skipped.append((await engine.acompress(raw)).skipped)

        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(one)
            await anyio.sleep(0.15)  # two requests compressing, six waiting for a worker
            borrowed = anyio.to_thread.current_default_thread_limiter().borrowed_tokens
            busy = engine._limiter().borrowed_tokens
        return borrowed, busy, skipped

    borrowed, busy, skipped = anyio.run(main)
    assert (borrowed, busy) == (0, 2)
    assert skipped == [None] * 8  # all compressed, two at a time, within the deadline


def test_with_info_logging_a_large_body_is_counted_in_the_worker_not_on_the_event_loop() -> None:
    """The summary logged at INFO reads every token count: a large body's long unchanged units are counted
    in the worker thread that compressed it, never on the event loop that logs it."""
    import threading

    from headroom.engine.tokens import SampledCounter
    from headroom.engine.units import Unit
    from headroom.transforms import Compressor

    class Nothing(Compressor):
        name = "test-nothing"

        def compress(self, unit: Unit) -> str | None:
            return None

    threads: set[int] = set()

    class Recording:
        def __init__(self, inner: Any) -> None:
            self.inner, self.name, self.exact = inner, inner.name, inner.exact

        def count(self, text: str) -> int:
            threads.add(threading.get_ident())
            return int(self.inner.count(text))

    long_unchanged = "\n".join(f"unique line {i} of a report nobody folds" for i in range(400))
    raw = encode({"messages": [{"role": "tool", "tool_call_id": "a", "content": long_unchanged}]})
    limits = EAGER.model_copy(update={"offload_bytes": 0})
    config = ProxyConfig(transforms=[Nothing()], limits=limits).model_copy(
        update={"telemetry": ProxyConfig().telemetry.model_copy(update={"log_level": "INFO"})}
    )
    engine = Engine(config)
    engine.counter = SampledCounter(Recording(engine.counter.inner))

    async def main() -> int:
        await engine.acompress(raw)
        return threading.get_ident()

    loop_thread = anyio.run(main)
    assert threads
    assert loop_thread not in threads
