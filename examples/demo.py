"""Headroom at work: the FastAPI gateway in front of a local fake provider, fed the bundled example requests.

Everything runs on loopback: a fake OpenAI/Anthropic upstream (examples/fastapi_gateway/upstream.py) and the
gateway (examples/fastapi_gateway/app.py, Headroom installed) are served by uvicorn; each request in
examples/requests/ is posted to the gateway over real HTTP with httpx. For each one the demo prints what the
client sent, what reached the provider, and what Headroom reported. Exits non-zero if anything is off.

    python examples/demo.py [--requests DIR] [--show NAME]

Configuration comes from HEADROOM_* variables (e.g. HEADROOM_TRANSFORMS=search,router).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fastapi_gateway.app import create_app  # noqa: E402
from fastapi_gateway.upstream import Upstream, create_upstream  # noqa: E402

from headroom.engine import get_token_counter  # noqa: E402
from headroom.proxy.config import ProxyConfig  # noqa: E402


def path_for(file: Path) -> str:
    """The endpoint a request file goes to, by name: *.anthropic.json, *.responses.json, else chat."""
    if file.name.endswith(".anthropic.json"):
        return "/v1/messages"
    if file.name.endswith(".responses.json"):
        return "/v1/responses"
    return "/v1/chat/completions"


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def prompt_tokens(raw: bytes) -> int:
    body = json.loads(raw)
    parts = [body.get(key) for key in ("system", "instructions", "messages", "input") if key in body]
    return get_token_counter().count(json.dumps(parts, ensure_ascii=False))


def strings(value: Any) -> Iterator[str]:
    """Every string inside a parsed JSON body: the text the model reads."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def usage_tokens(answer: dict[str, Any]) -> int:
    usage = answer.get("usage", {})
    return int(usage.get("prompt_tokens", usage.get("input_tokens", 0)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=Path, default=HERE / "requests", help="directory of request bodies"
    )
    parser.add_argument(
        "--show", metavar="NAME", help="print the body the provider received for this request"
    )
    args = parser.parse_args(argv)

    files = sorted(f for f in args.requests.glob("*.json") if f.name != "needles.json")
    needles_file = args.requests / "needles.json"
    needles: dict[str, list[str]] = json.loads(needles_file.read_text()) if needles_file.exists() else {}
    if not files:
        print(f"no request bodies in {args.requests}", file=sys.stderr)
        return 2
    memory = Upstream()
    config = ProxyConfig.from_env()
    problems: list[str] = []
    counter = get_token_counter()
    print(f"Headroom demo: transforms {[t.name for t in config.transforms]}, tokens by {counter.name}")
    print("(fake provider and gateway on loopback; every request goes over real HTTP)\n")

    with serve(create_upstream(memory)) as upstream_url:
        gateway = create_app(upstream_url, config=config)
        with serve(gateway) as url, httpx.Client(base_url=url, timeout=120) as client:
            header = (
                f"{'request':31} {'endpoint':21} {'bytes sent -> received':>22} {'prompt tokens':>18} "
                f"{'saved':>5} {'kept':>5}  transforms / skipped"
            )
            print(header)
            print("-" * len(header))
            total_before = total_after = 0
            for file in files:
                raw = file.read_bytes()
                path = path_for(file)
                response = client.post(path, content=raw, headers={"content-type": "application/json"})
                if response.status_code != 200:
                    problems.append(f"{file.name}: HTTP {response.status_code}")
                    continue
                got = memory.received[-1].body
                before, after = prompt_tokens(raw), usage_tokens(response.json())
                total_before += before
                total_after += after
                h = response.headers
                saved = int(h.get("x-headroom-tokens-saved", "0"))
                what = h.get("x-headroom-transforms") or f"skipped: {h.get('x-headroom-skipped', '?')}"
                share = f"{(before - after) / before:.0%}" if before else "-"
                must = needles.get(file.name, [])
                text = "\n".join(strings(json.loads(got)))
                missing = [n for n in must if n not in text]
                kept = f"{len(must) - len(missing)}/{len(must)}" if must else "-"
                print(
                    f"{file.name:31} {path:21} {len(raw):>9,} -> {len(got):>9,} "
                    f"{before:>7,} -> {after:>7,} {share:>5} {kept:>5}  {what}"
                )
                problems += [f"{file.name}: compression dropped a key line: {n!r}" for n in missing]
                if saved == 0 and got != raw:
                    problems.append(f"{file.name}: nothing saved, yet the provider got different bytes")
                if saved > 0 and before - after <= 0:
                    problems.append(
                        f"{file.name}: headers claim {saved} saved, the provider saw no fewer tokens"
                    )
                if args.show and args.show in file.name:
                    print(json.dumps(json.loads(got), indent=2, ensure_ascii=False))
            print("-" * len(header))
            share = f"{(total_before - total_after) / total_before:.0%}" if total_before else "-"
            print(
                f"{'all requests':31} {'':21} {'':>22} {total_before:>7,} -> {total_after:>7,} {share:>5}\n"
            )

            streamed = next((f for f in files if path_for(f) == "/v1/chat/completions"), None)
            if streamed is not None:
                body = {**json.loads(streamed.read_bytes()), "stream": True}
                start = time.monotonic()
                first = None
                events = 0
                with client.stream("POST", "/v1/chat/completions", json=body) as stream:
                    saved_header = stream.headers.get("x-headroom-tokens-saved")
                    for line in stream.iter_lines():
                        if line.startswith("data: "):
                            events += 1
                            first = first if first is not None else time.monotonic() - start
                if not events or first is None:
                    problems.append("streaming: no events came through")
                else:
                    print(
                        f"streaming {streamed.name} (stream=true): {events} SSE events relayed, first after "
                        f"{first * 1000:.0f} ms of {(time.monotonic() - start) * 1000:.0f} ms; "
                        f"x-headroom-tokens-saved: {saved_header}"
                    )

            stats = client.get("/headroom/stats").json()
            print(
                f"/headroom/stats: {stats['requests']} requests, {stats['compressed']} compressed, "
                f"{stats['tokens_saved']:,} tokens saved; skips {stats['skips']}"
            )
            for name, t in stats["transforms"].items():
                print(
                    f"  {name:10} changed {t['changed']} units, "
                    f"saved {t['tokens_saved']:,} tokens in {t['ms']:.0f} ms"
                )

    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
