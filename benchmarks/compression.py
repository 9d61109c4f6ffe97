"""Compression benchmark on a corpus of real requests (``nox -s bench -- --corpus PATH``).

For each transform configuration and for a naive baseline (head+tail truncation of every unit to the token
budget the default configuration reached for it), measured in the same run, per kind of case:

* tokens saved of the whole prompt (all text the model reads: every string value of the body except ids,
  roles and types), counted with tiktoken o200k_base when its file is on disk, else estimated (said so);
* needles kept: a needle is kept if it appears verbatim in that text after compression;
* latency per request of the full pipeline (raw bytes in, bytes out), first sight p50/p90 (an engine that
  has memoized nothing and the process's content caches emptied before each request, in a warm process;
  each case's median over ``--passes`` fresh engines), and memoized (the same request again on the same
  engine);

then a 1 MB tool output timing and a turn-by-turn session replay that checks prefix stability: compressing
turn t and turn t+1, the first t messages of both outputs must be identical. Before each timed section the
objects alive (the corpus, kept results) are frozen out of the garbage collector's way (``gc.freeze``).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from headroom.engine import Engine, get_token_counter, serialize
from headroom.engine.caches import clear_content_caches
from headroom.engine.codecs import EXTRACTORS, apply_values, detect_format
from headroom.engine.units import Unit
from headroom.proxy.config import Aging, ProxyConfig
from headroom.transforms import Compressor, ContentRouter, SearchCompressor, TagProtector
from headroom.transforms.markers import marker, unit_ref

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "dev-cases.jsonl.gz"
NOT_READ = frozenset({"role", "type", "id", "tool_call_id", "tool_use_id", "call_id", "model", "status"})


class NoOp(Compressor):
    """Changes nothing: the engine's own cost (parse, token counts, memo keys) with no real transform."""

    name = "noop"

    def compress(self, unit: Unit) -> str | None:
        return None


CONFIGS: dict[str, Callable[[], ProxyConfig]] = {
    "engine-only": lambda: ProxyConfig(transforms=[NoOp()]),
    "default": lambda: ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()]),
    "search": lambda: ProxyConfig(transforms=[SearchCompressor()]),
    "router": lambda: ProxyConfig(transforms=[ContentRouter()]),
    "router+tags": lambda: ProxyConfig(transforms=[ContentRouter(), TagProtector()]),
    "lossy-code": lambda: ProxyConfig(
        transforms=[
            SearchCompressor(),
            ContentRouter(options={"code": {"elide_bodies": True}}),
            TagProtector(),
        ]
    ),
    "aging": lambda: ProxyConfig(aging=Aging()),
}
"""Configurations by name: ``aging`` is the default transforms with ``ProxyConfig.aging`` on (rewrites
messages already sent, see :func:`session_replay`)."""


def _settle() -> None:
    """Move every object alive now out of the garbage collector's way (``gc.freeze``): the corpus and the
    results the benchmark keeps would otherwise make each full collection during a timing scan them, so
    timings would grow with the benchmark's own bookkeeping (seen: a 1 MB JSON parse 66 ms or 115 ms)."""
    gc.collect()
    gc.freeze()


def _patient(config: ProxyConfig) -> ProxyConfig:
    """``config`` with a deadline long enough for the 1 MB timings."""
    return config.model_copy(update={"limits": config.limits.model_copy(update={"deadline_ms": 60_000})})


def load(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_text(value: Any, key: str | None = None) -> Iterable[str]:
    """Every string the model reads in a body (ids, roles and types left out)."""
    if isinstance(value, str):
        if key not in NOT_READ:
            yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from read_text(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from read_text(v, key)


def prompt_text(body: Mapping[str, Any]) -> str:
    return "\n".join(read_text(body))


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def at_path(obj: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        obj = obj[part]
    return obj


class Truncator:
    """The naive baseline: each unit cut to a token budget, keeping its head and tail halves."""

    def __init__(self, encoding: str) -> None:
        try:
            import tiktoken

            from headroom.engine.tokens import encoding_cache_dir

            directory = encoding_cache_dir(encoding)
            if directory is None:
                raise LookupError
            import os

            os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(directory))
            self.enc: Any = tiktoken.get_encoding(encoding)
        except Exception:
            self.enc = None

    def cut(self, text: str, budget: int) -> str:
        if self.enc is None:  # estimate: 4 chars a token
            if len(text) <= budget * 4:
                return text
            half = budget * 2
            omitted = text[half:-half]
            return text[:half] + "\n" + self._marker(omitted, text) + "\n" + text[-half:]
        tokens = self.enc.encode_ordinary(text)
        if len(tokens) <= budget:
            return text
        half = max(1, budget // 2)
        head: str = self.enc.decode(tokens[:half])
        tail: str = self.enc.decode(tokens[-half:])
        omitted = str(self.enc.decode(tokens[half:-half]))
        return head + "\n" + self._marker(omitted, text) + "\n" + tail

    @staticmethod
    def _marker(omitted: str, text: str) -> str:
        return marker([(omitted.count("\n") + 1, "lines")], unit_ref(text), "head and tail kept")


def run_config(
    name: str, cases: list[dict[str, Any]], counter: Any, passes: int = 3
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[tuple[str | int, ...], int]]]:
    """Per-case results of one configuration, and the token count of every unit after compression.

    Every case first goes once through a separate engine, untimed: the process is warm (imports, compiled
    patterns), as a server is after its first requests. Then ``passes`` timed passes, each on a new engine
    that has memoized nothing, with the process's content caches emptied before each case (else a case
    would find its texts' types and dedupe windows remembered from the pass before, or from the same
    session in another wire format): a case's first-sight time is its median over the passes (a shared
    box's noise moves single passes by a quarter); the passes must give the same bytes. The memoized time
    is the last engine's second look at the case."""
    _settle()
    warm = Engine(CONFIGS[name]())
    for case in cases:
        warm.compress(json.dumps(case["body"]).encode(), path=case["path"])
    raws = [json.dumps(case["body"]).encode() for case in cases]
    walls: dict[str, list[float]] = defaultdict(list)
    cpus: dict[str, list[float]] = defaultdict(list)
    laters: dict[str, list[float]] = defaultdict(list)
    last: dict[str, Any] = {}
    for number in range(passes):
        engine = Engine(CONFIGS[name]())
        for case, raw in zip(cases, raws, strict=True):
            clear_content_caches()  # nothing of this content seen: not in the memo, nor in any cache
            t0, c0 = time.perf_counter(), time.thread_time()
            res = engine.compress(raw, path=case["path"])
            walls[case["id"]].append(time.perf_counter() - t0)
            cpus[case["id"]].append(time.thread_time() - c0)
            t0 = time.perf_counter()
            res.count_pending()  # what the request left for later: its x-headroom-tokens-*, the stats
            laters[case["id"]].append(time.perf_counter() - t0)
            if number and res.body != last[case["id"]].body:
                raise AssertionError(f"{name}: {case['id']} compressed differently on a fresh engine")
            last[case["id"]] = res
    results: dict[str, dict[str, Any]] = {}
    budgets: dict[str, dict[tuple[str | int, ...], int]] = {}
    for case, raw in zip(cases, raws, strict=True):
        res = last[case["id"]]
        t0 = time.perf_counter()
        engine.compress(raw, path=case["path"])
        memo = time.perf_counter() - t0
        out = json.loads(res.body) if res.changed else case["body"]
        results[case["id"]] = {
            "out": out,
            "first": statistics.median(walls[case["id"]]),
            "cpu": statistics.median(cpus[case["id"]]),
            "later": statistics.median(laters[case["id"]]),
            "memo": memo,
            "result": res,
            "identical": res.body == raw,
        }
        fmt = detect_format(case["body"], case["path"])
        if fmt is not None:
            slots = EXTRACTORS[fmt](
                case["body"], engine.config.pasted_output_tags, engine.config.pasted_output_min_chars
            )
            budgets[case["id"]] = {s.path: counter.count(at_path(out, s.path)) for s in slots}
    return results, budgets


def run_baseline(
    cases: list[dict[str, Any]], budgets: dict[str, dict[tuple[str | int, ...], int]], trunc: Truncator
) -> dict[str, dict[str, Any]]:
    config = ProxyConfig()
    results: dict[str, dict[str, Any]] = {}
    for case in cases:
        raw = json.dumps(case["body"]).encode()
        t0, c0 = time.perf_counter(), time.thread_time()
        body = json.loads(raw)
        fmt = detect_format(body, case["path"])
        updates = {}
        if fmt is not None:
            for s in EXTRACTORS[fmt](body, config.pasted_output_tags, config.pasted_output_min_chars):
                budget = budgets.get(case["id"], {}).get(s.path)
                if budget is not None:
                    cut = trunc.cut(s.text, budget)
                    if cut != s.text:
                        updates[s.path] = cut
        out = apply_values(body, updates) if updates else body
        serialize(out)
        results[case["id"]] = {
            "out": out,
            "first": time.perf_counter() - t0,
            "cpu": time.thread_time() - c0,
            "memo": float("nan"),
        }
    return results


def summarise(
    cases: list[dict[str, Any]], results: dict[str, dict[str, Any]], counter: Any, before: dict[str, int]
) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        groups[case["kind"]].append(case)
        groups["all"].append(case)
    table: dict[str, dict[str, float]] = {}
    for kind, members in groups.items():
        tb = ta = 0
        ratios: list[float] = []
        needles = kept = 0
        small_identical = 0
        for case in members:
            r = results[case["id"]]
            text = prompt_text(r["out"])
            after = counter.count(text)
            tb += before[case["id"]]
            ta += after
            ratios.append(1 - after / before[case["id"]] if before[case["id"]] else 0.0)
            needles += len(case["needles"])
            kept += sum(1 for n in case["needles"] if n in text)
            if case["kind"] == "small":
                small_identical += int(r.get("identical", r["out"] == case["body"]))
        firsts = [results[c["id"]]["first"] * 1000 for c in members]
        cpus = [results[c["id"]]["cpu"] * 1000 for c in members]
        memos = [results[c["id"]]["memo"] * 1000 for c in members]
        laters = [results[c["id"]].get("later", 0.0) * 1000 for c in members]
        table[kind] = {
            "cases": len(members),
            "saved_sum": 1 - ta / tb if tb else 0.0,
            "saved_mean": statistics.fmean(ratios) if ratios else 0.0,
            "saved_median": statistics.median(ratios) if ratios else 0.0,
            "needles": needles,
            "kept": kept,
            "p50": pct(firsts, 0.5),
            "p90": pct(firsts, 0.9),
            "memo_p50": pct(memos, 0.5),
            "later_p50": pct(laters, 0.5),
            "both_p50": pct([f + w for f, w in zip(firsts, laters, strict=True)], 0.5),
            "cpu_p50": pct(cpus, 0.5),
            "cpu_p90": pct(cpus, 0.9),
            "small_identical": small_identical,
        }
    return table


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n## {title}")
    print(
        "| kind | cases | saved (sum) | saved (mean/case) | saved (median/case) | needles kept | wall p50 ms"
        " | wall p90 ms | cpu p50 / p90 ms | counted later p50 ms | memo p50 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    order = ["trajectory", "log", "json", "search", "diff", "small", "all"]
    smalls = ""
    for kind in sorted(table, key=lambda k: order.index(k) if k in order else 99):
        row = table[kind]
        needles = f"{row['kept']}/{row['needles']}" + (
            f" ({100 * row['kept'] / row['needles']:.1f} %)" if row["needles"] else ""
        )
        memo = "-" if row["memo_p50"] != row["memo_p50"] else f"{row['memo_p50']:.2f}"
        if kind == "small":
            smalls = f"small cases forwarded byte for byte: {row['small_identical']}/{row['cases']}"
        print(
            f"| {kind} | {row['cases']} | {100 * row['saved_sum']:.1f} % | {100 * row['saved_mean']:.1f} % "
            f"| {100 * row['saved_median']:.1f} % | {needles} | {row['p50']:.2f} | {row['p90']:.2f} "
            f"| {row['cpu_p50']:.2f} / {row['cpu_p90']:.2f}"
            f" | {row['later_p50']:.2f} | {memo} |"
        )
    if smalls:
        print(f"\n{smalls}")
    if "all" in table and table["all"]["later_p50"]:
        print(
            "\nwall = until the request goes on. Counted later: the token counts it did not need, for the"
            " x-headroom-tokens-* headers and stats (made in a worker thread while the app or view runs with"
            " ASGI and async Django, while the provider answers with LiteLLM); both together, all cases:"
            f" p50 {table['all']['both_p50']:.2f} ms"
        )


MB = 1_000_000


def _repeat(line: Callable[[int], str], size: int = MB) -> str:
    """Lines ``line(0)``, ``line(1)``... joined by newlines, up to ``size`` characters."""
    out: list[str] = []
    total = 0
    i = 0
    while total < size:
        out.append(line(i))
        total += len(out[-1]) + 1
        i += 1
    return "\n".join(out)


def _pytest_failure(i: int) -> str:
    return (
        f"{'_' * 30} test_case_{i} {'_' * 30}\n\n    def test_case_{i}():\n"
        f">       assert compute({i}) == {i + 1}\nE       assert {i} == {i + 1}\n"
        f"E        +  where {i} = compute({i})\n\ntests/test_mod.py:{10 + i}: AssertionError"
    )


def _unittest_failure(i: int) -> str:
    return (
        f"{'=' * 70}\nERROR: test_case_{i} (test_requests.RequestsTestCase)\n{'-' * 70}\n"
        "Traceback (most recent call last):\n"
        f'  File "/testbed/test_requests.py", line {100 + i}, in test_case_{i}\n'
        "    r = requests.get(httpbin('get'))\n"
        "AttributeError: module 'collections' has no attribute 'MutableMapping'"
    )


def _cline_result(i: int) -> str:
    """Cline's search_files answer, four results per file (see headroom.transforms.agent_search)."""
    head = ("\n" if i else "") + f"src/pkg/mod{i // 4}.py\n│----\n" if i % 4 == 0 else ""
    lines = [f"│    x = prepare({i})", f"│    value = compute_value(x{i}, y)  # {i}", "│    return value"]
    return head + "\n".join(lines) + "\n│----"


def big_shapes() -> dict[str, str]:
    """~1 MB tool outputs of each common shape, built deterministically (no randomness)."""
    records = [
        {"id": i, "name": f"item{i}", "price": i * 1.5, "tags": ["a", "b"], "error": None}
        for i in range(7700)
    ]
    indented = json.dumps([{"id": i, "name": f"item{i}"} for i in range(40_000)], indent=2)
    return {
        "json records": json.dumps(records, indent=2),
        "json cut (invalid)": indented[: indented.rfind("\n", 0, MB)],
        "grep": _repeat(
            lambda i: f"src/pkg/mod{i % 300}.py:{i % 900 + 1}:    value = compute_value(x{i}, y)  # {i}"
        ),
        "search, Cline's layout": "Found 300 results.\n\n" + _repeat(_cline_result),
        "unittest failures": _repeat(_unittest_failure),
        "pytest failures": _repeat(_pytest_failure),
        "code": _repeat(lambda i: f'def function_{i}(a, b):\n    """Doc {i}."""\n    return a + b * {i}\n'),
        "prose": _repeat(
            lambda i: (
                f"Paragraph {i}: the quick brown fox jumps over the lazy dog, again and again, number {i}."
            )
        ),
    }


def _tool_request(text: str, question: str) -> bytes:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": question},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": text},
        ],
    }
    return json.dumps(body).encode()


def _time_one(name: str, text: str, question: str, runs: int = 3) -> None:
    """First sight (``runs`` runs, each on a fresh engine: median wall and CPU time, CPU ms per MB, and the
    spread), memoized, tokens saved."""
    raw = _tool_request(text, question)
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        engine = Engine(_patient(CONFIGS["default"]()))
        clear_content_caches()
        t0, c0 = time.perf_counter(), time.thread_time()
        res = engine.compress(raw, path="/v1/chat/completions")
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.thread_time() - c0) * 1000)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    t0 = time.perf_counter()
    engine.compress(raw, path="/v1/chat/completions")
    memo = (time.perf_counter() - t0) * 1000
    size = len(text) / MB
    router = res.transforms.get("router")
    routes = ", ".join(router.notes) if router and router.notes else ""
    print(
        f"- {name} ({size:.2f} MB): first sight {wall:.1f} ms (median of {runs}, {min(walls):.0f}-"
        f"{max(walls):.0f}; CPU {cpu:.1f} ms, {cpu / size:.0f} ms per MB), memoized {memo:.1f} ms,"
        f" saved {res.tokens_saved}/{res.tokens_before} tokens{f' ({routes})' if routes else ''},"
        f" skipped={res.skipped}"
    )


def big_output_timing(cases: list[dict[str, Any]], counter: Any) -> None:
    """~1 MB tool outputs in one Chat Completions request each: log lines from the corpus, then each shape
    of :func:`big_shapes` (target: 100 ms per MB at first sight)."""
    source = next((c for c in cases if c["kind"] == "log"), None)
    if source is None:
        return
    fmt = detect_format(source["body"], source["path"])
    assert fmt is not None
    unit = EXTRACTORS[fmt](source["body"], ())[0].text
    text = (unit * (MB // len(unit) + 1))[:MB]
    text = text[: text.rfind("\n")]
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "What went wrong in this log?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": text},
        ],
    }
    raw = json.dumps(body).encode()
    _settle()
    print("\n## 1 MB tool output (one unit of ~1 MB of log lines)")
    t0 = time.perf_counter()
    counter.count(text)
    count_ms = (time.perf_counter() - t0) * 1000
    for name in ("default",):
        engine = Engine(_patient(CONFIGS[name]()))
        clear_content_caches()
        t0 = time.perf_counter()
        res = engine.compress(raw, path="/v1/chat/completions")
        first = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        engine.compress(raw, path="/v1/chat/completions")
        memo = (time.perf_counter() - t0) * 1000
        router_ms = res.transforms.get("router")
        spent = sum(s.seconds for s in res.transforms.values()) * 1000
        print(
            f"- {name}: first sight {first:.1f} ms (transforms {spent:.1f} ms,"
            f" router {router_ms.seconds * 1000 if router_ms else 0:.1f} ms), memoized {memo:.1f} ms,"
            f" saved {res.tokens_saved}/{res.tokens_before} tokens, skipped={res.skipped}"
        )
    print(
        f"- for scale, one exact token count of the 1 MB text: {count_ms:.1f} ms (the engine counts texts"
        " over 64 KiB from sixteen 2 KiB slices)"
    )
    print("\n## ~1 MB tool output by shape (default config; target: 100 ms per MB at first sight)")
    _time_one("logs (corpus)", text, "What went wrong in this log?")
    for name, shape in big_shapes().items():
        _time_one(name, shape, "why?")


def _messages_key(body: Mapping[str, Any]) -> str:
    return "input" if "input" in body and "messages" not in body else "messages"


def session_replay(
    cases: list[dict[str, Any]], memo: bool, limit: int | None, name: str = "default", counter: Any = None
) -> None:
    """Compress each session turn by turn; the first t messages of turn t+1's output must equal turn t's.

    For a configuration that rewrites sent messages on purpose (``aging``), the changes are counted
    instead, with their cache cost: the tokens of turn t's prompt from the first changed message on,
    which a provider's prompt cache can no longer serve at turn t+1 (``counter`` counts them)."""
    sessions = [c for c in cases if c["kind"] == "trajectory"]
    if limit is not None:
        seen: set[str] = set()
        picked = []
        for c in sessions:
            fmt = c["id"].split("/")[0]
            if fmt not in seen:
                seen.add(fmt)
                picked.append(c)
        sessions = picked[:limit]
    _settle()
    config = CONFIGS[name]()
    if not memo:
        config = config.model_copy(update={"limits": config.limits.model_copy(update={"memo_entries": 0})})
    engine = Engine(config)
    checked = broken = 0
    uncached = resent = 0
    times: list[float] = []
    for case in sessions:
        key = _messages_key(case["body"])
        items = case["body"][key]
        previous: list[Any] | None = None
        for t in range(1, len(items) + 1):
            body = {**case["body"], key: items[:t]}
            t0 = time.perf_counter()
            res = engine.compress(json.dumps(body).encode(), path=case["path"])
            times.append((time.perf_counter() - t0) * 1000)
            out = json.loads(res.body)[key]
            if previous is not None:
                checked += 1
                if counter is not None:
                    resent += counter.count(json.dumps(previous))
                if out[: len(previous)] != previous:
                    broken += 1
                    first = next(k for k, (a, b) in enumerate(zip(out, previous, strict=False)) if a != b)
                    if counter is not None:
                        uncached += counter.count(json.dumps(previous[first:]))
                    if config.aging is None:
                        print(f"  prefix changed: {case['id']} at turn {t}")
            previous = out
    label = "memo on (as in traffic)" if memo else "memo off (every unit recomputed)"
    print(
        f"- {name}, {label}: {len(sessions)} sessions, {checked} turn pairs, {broken} changed a sent message;"
        f" per-turn latency p50 {pct(times, 0.5):.2f} ms, p90 {pct(times, 0.9):.2f} ms"
    )
    if counter is not None and resent and not broken:
        print(f"  re-sent over all turns: {resent} tokens, every one after an unchanged prefix")
    elif counter is not None and resent:
        print(
            f"  cache cost: {uncached} of the {resent} tokens re-sent over all turns"
            f" ({uncached / resent:.1%}) came after a rewritten message: a prompt cache could not serve them"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated: " + ", ".join(CONFIGS))
    parser.add_argument("--replay-nomemo", type=int, default=4, help="sessions replayed without memo")
    parser.add_argument("--no-replay", action="store_true")
    parser.add_argument("--passes", type=int, default=3, help="timed first-sight passes per configuration")
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        print(f"corpus not found: {args.corpus} (pass --corpus PATH)", file=sys.stderr)
        return 2
    cases = load(args.corpus)
    counter = get_token_counter("o200k_base")
    how = (
        "tiktoken o200k_base (exact)" if counter.exact else "AN ESTIMATE (tiktoken o200k_base file not found)"
    )
    print(f"# Headroom compression benchmark\n\ncorpus: {args.corpus} ({len(cases)} cases); tokens: {how}")
    before = {c["id"]: counter.count(prompt_text(c["body"])) for c in cases}

    default_results, budgets = run_config("default", cases, counter, args.passes)
    print_table(
        "default: [SearchCompressor(), ContentRouter(), TagProtector()]",
        summarise(cases, default_results, counter, before),
    )
    trunc = Truncator("o200k_base")
    base = run_baseline(cases, budgets, trunc)
    print_table(
        "baseline: head+tail truncation of each unit to the default's token budget",
        summarise(cases, base, counter, before),
    )
    for name in args.configs.split(","):
        if name == "default" or name not in CONFIGS:
            continue
        results, _ = run_config(name, cases, counter, args.passes)
        print_table(name, summarise(cases, results, counter, before))
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for case in cases:
        for tname, s in default_results[case["id"]]["result"].transforms.items():
            by_kind[case["kind"]][tname] += s.tokens_saved
    print("\n## default: tokens saved per transform (of the units) by kind")
    for kind, per in by_kind.items():
        print(f"- {kind}: " + ", ".join(f"{t} {n}" for t, n in per.items()))

    big_output_timing(cases, counter)
    if not args.no_replay:
        print("\n## session replay (prefix stability), default config")
        aging = "aging" in args.configs.split(",")
        session_replay(cases, memo=True, limit=None, counter=counter if aging else None)
        if args.replay_nomemo:
            session_replay(cases, memo=False, limit=args.replay_nomemo)
        if aging:
            print("\n## session replay, aging (rewrites sent messages on purpose: their cache cost)")
            session_replay(cases, memo=True, limit=None, name="aging", counter=counter)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
