"""Test helpers: a real uvicorn server in a thread, recording FastAPI/Starlette apps, a test transform."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from headroom.engine.units import Unit
from headroom.integrations.asgi import request_record
from headroom.integrations.fastapi import HeadroomInfo, starlette_routes
from headroom.proxy.config import ProxyConfig
from headroom.transforms.base import Compressor
from headroom.transforms.markers import marker

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


def fastapi_app(log: Log) -> FastAPI:
    """A FastAPI app whose POST routes record what they receive; one uses the HeadroomInfo dependency."""
    app = FastAPI()
    for path in RECORDED_PATHS:
        app.add_api_route(path, recording_route(log), methods=["POST"])

    @app.post("/dependency/v1/chat/completions")
    async def with_dependency(headroom: HeadroomInfo) -> dict[str, Any]:
        return {"result": headroom.result, "stats": headroom.stats}

    return app


def starlette_app(log: Log) -> Starlette:
    """A plain Starlette app with the same recording routes and Headroom's stats/health routes."""
    routes = [Route(p, recording_route(log), methods=["POST"]) for p in RECORDED_PATHS]
    return Starlette(routes=[*routes, *starlette_routes()])


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
