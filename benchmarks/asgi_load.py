"""Load benchmark of HeadroomASGIMiddleware under a real uvicorn server on loopback.

Starts the same pure ASGI app twice in server subprocesses, bare and behind the middleware, and drives each
with an httpx async load generator (bounded by time), in alternating rounds so both see the same machine:

(a) non-LLM routes (GET /ping, POST /v1/embeddings): throughput and p99, middleware vs bare (target >= 98 %);
(b) LLM routes with the dev-corpus bodies: throughput, p50/p99, middleware vs bare;
and the worst event-loop lag seen by a ticker task inside each server (target <= 50 ms).

Also times the middleware's own cost on a non-LLM request in-process (no network): ns per call.

    python benchmarks/asgi_load.py [--corpus PATH] [--seconds 4] [--rounds 3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "dev-cases.jsonl.gz"
TICK = 0.005

# -- the server side ---------------------------------------------------------------------------------------


class App:
    """A small pure ASGI app: /ping, any POST (reads the body, answers its size), /__lag (ticker report)."""

    def __init__(self) -> None:
        self.lags: list[float] = [0.0]
        self.ticker: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(TICK)
            self.lags.append(loop.time() - start - TICK)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.ticker = asyncio.get_running_loop().create_task(self.tick())
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["method"] == "POST":
            size, more = 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                size += len(message.get("body", b""))
                more = message.get("more_body", False)
            payload = b'{"bytes":%d}' % size
        elif scope["path"] == "/__lag":
            lags, self.lags = sorted(self.lags), [0.0]
            report = {
                "max_lag_ms": lags[-1] * 1000,
                "p99_lag_ms": lags[int(0.99 * (len(lags) - 1))] * 1000,
                "cpu_s": time.process_time(),  # the whole server process, worker threads included
            }
            payload = json.dumps(report).encode()
        else:
            payload = b"pong"
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": payload})


def build_app(mode: str) -> Any:
    app: Any = App()
    if mode == "headroom":
        from headroom.integrations.asgi import HeadroomASGIMiddleware
        from headroom.proxy.config import ProxyConfig

        app = HeadroomASGIMiddleware(app, ProxyConfig.from_env())
    return app


def serve(mode: str) -> None:
    """Server subprocess: print the port, then serve until killed."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(build_app(mode), log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def server(mode: str, env: dict[str, str]):  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        import httpx

        for _ in range(200):
            try:
                httpx.get(f"{url}/ping", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


# -- the client side ---------------------------------------------------------------------------------------


@dataclass
class Run:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    warmup_lag_ms: float
    lag_ms: float
    p99_lag_ms: float
    cpu_s: float
    """Server CPU time spent during the measured window."""

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / max(1, self.requests) * 1e6

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def load(url: str, make: Callable[[Any, int], Awaitable[Any]], seconds: float, concurrency: int) -> Run:
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        for i in range(concurrency):  # warm the connections (and the engine's lazy imports)
            await make(client, i)
        warm = (await client.get("/__lag")).json()  # also resets the ticker
        deadline = time.perf_counter() + seconds
        start = time.perf_counter()

        async def worker(w: int) -> None:
            nonlocal errors
            i = w
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                response = await make(client, i)
                latencies.append(time.perf_counter() - t0)
                errors += response.status_code != 200
                i += concurrency

        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        elapsed = time.perf_counter() - start
        end = (await client.get("/__lag")).json()
    return Run(
        len(latencies),
        elapsed,
        latencies,
        errors,
        warm["max_lag_ms"],
        end["max_lag_ms"],
        end["p99_lag_ms"],
        end["cpu_s"] - warm["cpu_s"],
    )


def in_process_overhead(iterations: int = 200_000) -> tuple[float, float]:
    """ns per call of the bare app and of the middleware on a GET to a non-LLM path (no network)."""
    from headroom.integrations.asgi import HeadroomASGIMiddleware
    from headroom.proxy.config import ProxyConfig

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    wrapped = HeadroomASGIMiddleware(app, ProxyConfig())
    scope = {"type": "http", "method": "GET", "path": "/ping", "root_path": "", "headers": []}

    async def receive() -> Any:
        return {}

    async def send(message: Any) -> None:
        return None

    async def timed(target: Any) -> float:
        start = time.perf_counter_ns()
        for _ in range(iterations):
            await target(scope, receive, send)
        return (time.perf_counter_ns() - start) / iterations

    bare = min(asyncio.run(timed(app)) for _ in range(3))
    mw = min(asyncio.run(timed(wrapped)) for _ in range(3))
    return bare, mw


def corpus_bodies(path: Path) -> list[tuple[str, bytes]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    return [(c["path"], json.dumps(c["body"]).encode()) for c in cases]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=["bare", "headroom"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--corpus", type=Path, default=Path(os.environ.get("HEADROOM_CORPUS", DEFAULT_CORPUS))
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/headroom rounds")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--engine-concurrency",
        type=int,
        help="limits.max_concurrency of the server's engine (default: the config default or HEADROOM_*)",
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    bare_ns, mw_ns = in_process_overhead()
    print(f"in-process, GET /ping: bare app {bare_ns:.0f} ns/call, with middleware {mw_ns:.0f} ns/call "
          f"(+{mw_ns - bare_ns:.0f} ns)")  # fmt: skip

    async def ping(client: Any, i: int) -> Any:
        return await client.get("/ping")

    embed = json.dumps({"model": "text-embedding-3-small", "input": "x" * 2000}).encode()

    async def embeddings(client: Any, i: int) -> Any:
        return await client.post(
            "/v1/embeddings", content=embed, headers={"content-type": "application/json"}
        )

    workloads: list[tuple[str, Callable[[Any, int], Awaitable[Any]]]] = [
        ("GET /ping (non-LLM)", ping),
        ("POST /v1/embeddings (non-LLM)", embeddings),
    ]
    if args.corpus.exists():
        bodies = corpus_bodies(args.corpus)

        async def llm(client: Any, i: int) -> Any:
            path, body = bodies[i % len(bodies)]
            return await client.post(path, content=body, headers={"content-type": "application/json"})

        workloads.append((f"POST LLM routes, {len(bodies)} corpus bodies", llm))
    else:
        print(f"corpus not found at {args.corpus}: skipping the LLM-route workload (set HEADROOM_CORPUS)")

    results: dict[tuple[str, str], list[Run]] = {}
    env = dict(os.environ)
    if args.engine_concurrency:
        env["HEADROOM_LIMITS__MAX_CONCURRENCY"] = str(args.engine_concurrency)
    print(f"engine worker threads: {env.get('HEADROOM_LIMITS__MAX_CONCURRENCY', 'config default')}")
    with server("bare", env) as bare_url, server("headroom", env) as hr_url:
        urls = {"bare": bare_url, "headroom": hr_url}
        for name, make in workloads:
            for r in range(args.rounds):
                order = ("bare", "headroom") if r % 2 == 0 else ("headroom", "bare")
                for mode in order:
                    run = asyncio.run(load(urls[mode], make, args.seconds, args.concurrency))
                    results.setdefault((name, mode), []).append(run)

    print(f"\nuvicorn on loopback, httpx load generator, concurrency {args.concurrency}, "
          f"{args.rounds} alternating rounds x {args.seconds:.0f} s; median round shown")  # fmt: skip
    print(
        f"{'workload':40} {'mode':8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>8} {'err':>4} {'cpu us/req':>10} "
        f"{'lag p99':>7} {'lag max':>7} {'warm-up':>7}"
    )
    worst = worst_p99 = first = 0.0
    for name, _ in workloads:
        medians: dict[str, Run] = {}
        for mode in ("bare", "headroom"):
            runs = results[(name, mode)]
            run = medians[mode] = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]
            cpu = statistics.median(r.cpu_us_per_request for r in runs)
            lag, lag99 = max(r.lag_ms for r in runs), max(r.p99_lag_ms for r in runs)
            warm = max(r.warmup_lag_ms for r in runs)
            if mode == "headroom":
                worst, worst_p99, first = max(worst, lag), max(worst_p99, lag99), max(first, warm)
            print(
                f"{name:40} {mode:8} {run.rps:>7.0f} {run.pct(0.5):>7.2f} {run.pct(0.99):>8.2f} "
                f"{sum(r.errors for r in runs):>4} {cpu:>10.0f} {lag99:>7.1f} {lag:>7.1f} {warm:>7.1f}"
            )
        wall = medians["headroom"].rps / medians["bare"].rps
        capacity = statistics.median(
            r.cpu_us_per_request for r in results[(name, "bare")]
        ) / statistics.median(r.cpu_us_per_request for r in results[(name, "headroom")])
        print(
            f"{'':40} {'ratio':8} {wall:>7.1%} (wall-clock)   server capacity by CPU/request: {capacity:.1%}"
        )
    print(
        f"\nevent-loop lag with Headroom under load: worst {worst:.1f} ms, worst p99 {worst_p99:.1f} ms "
        f"(target <= 50 ms); during warm-up (first requests): {first:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
