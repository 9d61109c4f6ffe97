"""Test helpers: a real uvicorn server in a thread, a recording ASGI app, a test transform, the corpus."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from pydantic import Field

from headroom.engine.units import Unit
from headroom.proxy.config import ProxyConfig
from headroom.transforms.base import Compressor
from headroom.transforms.markers import marker

REPO = Path(__file__).resolve().parents[3]


# -- a transform that always has something to do, so tests see changed bodies --------------------------


class KeepHead(Compressor):
    """Keeps the first ``keep`` lines of a unit and marks the rest (a stand-in for the real transforms)."""

    name = "keephead"
    keep: int = 3

    def compress(self, unit: Unit) -> str | None:
        lines = unit.text.splitlines()
        if len(lines) <= self.keep + 1:
            return None
        dropped = len(lines) - self.keep
        return "\n".join([*lines[: self.keep], marker([(dropped, "lines")], unit.ref)])


class Gate(Compressor):
    """Blocks in the worker thread until released: lets a test disconnect while compression runs."""

    name = "gate"
    started: Any = Field(default=None, exclude=True)
    release: Any = Field(default=None, exclude=True)

    def compress(self, unit: Unit) -> str | None:
        self.started.set()
        self.release.wait(10)
        return None


def keephead_config(**limits: Any) -> ProxyConfig:
    return ProxyConfig(transforms=[KeepHead()], limits={"deadline_ms": 60_000, **limits})


def tool_log(lines: int = 200) -> str:
    return "\n".join(
        f"2024-05-01 12:00:{i % 60:02d} INFO worker-{i % 7} processed batch {i}" for i in range(lines)
    )


def chat_body(lines: int = 200, **extra: Any) -> dict[str, Any]:
    """An OpenAI chat request whose one tool result is long enough to compress."""
    return {
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "Why did the worker stall?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "logs", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": tool_log(lines)},
        ],
        **extra,
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


# -- a recording app ----------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    method: str
    headers: dict[str, str]
    body: bytes
    chunks: int
    record: Any


@dataclass
class Recorder:
    """A pure ASGI app that records each HTTP request it gets and answers with a small JSON document.

    A body with ``"stream": true`` gets three server-sent events; the last waits for ``release``
    (a threading.Event) so a test can check
    that the first event reached the client while the app was still producing.
    """

    received: list[Received] = field(default_factory=list)
    lifespan: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.lifespan.append(message["type"])
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert scope["type"] == "http"
        parts: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            parts.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(parts)
        state = scope.get("state") or {}
        self.received.append(
            Received(
                path=scope["path"],
                method=scope["method"],
                headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
                body=body,
                chunks=len(parts),
                record=state.get("headroom"),
            )
        )
        if _wants_stream(body):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            await send({"type": "http.response.body", "body": b"data: first\n\n", "more_body": True})
            await anyio.to_thread.run_sync(self.release.wait, 10)
            await send({"type": "http.response.body", "body": b"data: second\n\n", "more_body": True})
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
            return
        answer = json.dumps({"bytes": len(body), "path": scope["path"]}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"x-headroom-upstream", b"spoofed")],
            }
        )
        await send({"type": "http.response.body", "body": answer})


def _wants_stream(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("stream") is True


# -- a real server --------------------------------------------------------------------------------------


@contextlib.contextmanager
def serve(app: Any, **options: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in a thread; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=options.pop("lifespan", "auto"), **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


# -- the dev corpus -------------------------------------------------------------------------------------


def corpus_path() -> Path:
    return Path(os.environ.get("HEADROOM_CORPUS", REPO.parent / "shared" / "corpus" / "dev-cases.jsonl.gz"))


def load_corpus() -> list[dict[str, Any]]:
    """The dev corpus cases, or [] when the file is absent."""
    path = corpus_path()
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
