"""Test helpers without FastAPI: a uvicorn server in a thread, a recording Starlette app, an HTTP contract
client, a test transform. (The Starlette contract cell installs headroom-asgi and Starlette only.)"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from headroom.engine.units import Unit
from headroom.integrations.asgi import request_record
from headroom.proxy.config import ProxyConfig
from headroom.transforms.base import Compressor
from headroom.transforms.markers import marker

sys.path.append(str(Path(__file__).resolve().parents[3] / "tests" / "contract"))
from interface import Delivery

LLM_PATHS = ("/v1/chat/completions", "/v1/messages", "/v1/responses")
RECORDED_PATHS = (*LLM_PATHS, "/v1/embeddings")


class KeepHead(Compressor):
    """Keeps the first ``keep`` lines of a unit and marks the rest (a stand-in for the real transforms)."""

    name = "keephead"
    keep: int = 3

    def compress(self, unit: Unit) -> str | None:
        lines = unit.text.splitlines()
        if len(lines) <= self.keep + 1:
            return None
        return "\n".join([*lines[: self.keep], marker([(len(lines) - self.keep, "lines")], unit.ref)])


def keephead_config(**limits: Any) -> ProxyConfig:
    return ProxyConfig(transforms=[KeepHead()], limits={"deadline_ms": 60_000, **limits})


def chat_body(lines: int = 200) -> dict[str, Any]:
    log = "\n".join(
        f"2024-05-01 12:00:{i % 60:02d} INFO worker-{i % 7} processed batch {i}" for i in range(lines)
    )
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
            {"role": "tool", "tool_call_id": "call_1", "content": log},
        ],
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


@dataclass
class Seen:
    body: bytes
    headers: dict[str, str]
    result: dict[str, Any] | None


@dataclass
class Log:
    """What the LLM routes of a test app received."""

    seen: list[Seen] = field(default_factory=list)


def recording_route(log: Log) -> Any:
    """A route that records the raw body, headers and Headroom's result for the request."""

    async def route(request: Request) -> Response:
        body = await request.body()
        record = request_record(request.scope)
        result = record.summary if record is not None else None
        log.seen.append(Seen(body, {k.lower(): v for k, v in request.headers.items()}, result))
        return JSONResponse({"received": len(body), "result": result})

    return route


def starlette_app(log: Log) -> Starlette:
    """A plain Starlette app whose POST routes record what they receive."""
    return Starlette(routes=[Route(p, recording_route(log), methods=["POST"]) for p in RECORDED_PATHS])


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in a thread; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
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


class HttpClient:
    """Posts each request over real HTTP and reports what the app's route received."""

    raw_bytes = True

    def __init__(self, name: str, base_url: str, log: Log) -> None:
        self.name = name
        self.log = log
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def deliver(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> Delivery:
        before = len(self.log.seen)
        sent = {"content-type": "application/json", **dict(headers or {})}
        response = self.http.post(path, content=body, headers=sent)
        if len(self.log.seen) == before:  # no route for this path: nothing reached the app
            return Delivery(body=None, json=None, status=response.status_code)
        got = self.log.seen[before]
        try:
            parsed: Any = json.loads(got.body)
        except ValueError:
            parsed = None
        return Delivery(
            body=got.body,
            json=parsed,
            headers=dict(got.headers),
            response_headers={k.lower(): v for k, v in response.headers.items()},
            status=response.status_code,
        )


@contextlib.contextmanager
def running(name: str, build: Callable[[Log], Any]) -> Iterator[HttpClient]:
    log = Log()
    with serve(build(log)) as url:
        client = HttpClient(name, url, log)
        try:
            yield client
        finally:
            client.http.close()
