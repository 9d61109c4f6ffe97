"""The FastAPI gateway example (examples/fastapi_gateway) in front of a local upstream, all over real HTTP."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi_support import chat_body, encode, keephead_config, serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from headroom.engine import Engine

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
sys.path.insert(0, str(EXAMPLES))

from fastapi_gateway.app import create_app  # noqa: E402
from fastapi_gateway.upstream import Upstream, create_upstream  # noqa: E402

JSON = {"content-type": "application/json", "authorization": "Bearer sk-test"}


def anthropic_body() -> dict[str, Any]:
    log = "\n".join(f"line {i}: GET /healthz 200" for i in range(150))
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "what failed?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "logs", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]},
        ],
    }


def responses_body() -> dict[str, Any]:
    out = "\n".join(f"record {i}" for i in range(150))
    return {
        "model": "gpt-4.1",
        "input": [
            {"role": "user", "content": "find record 7"},
            {"type": "function_call", "call_id": "c1", "name": "list", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": out},
        ],
    }


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", chat_body()),
        ("/v1/messages", anthropic_body()),
        ("/v1/responses", responses_body()),
    ],
    ids=["chat", "messages", "responses"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_gateway_forwards_compressed_bodies(path: str, body: dict[str, Any], stream: bool) -> None:
    config = keephead_config()
    memory = Upstream()
    raw = encode({**body, "stream": stream})
    expected = Engine(config).compress(raw, path=path)
    assert expected.changed
    with (
        serve(create_upstream(memory)) as upstream,
        serve(create_app(upstream, config=config)) as gateway,
        httpx.Client(base_url=gateway, timeout=30) as client,
    ):
        response = client.post(path, content=raw, headers=JSON)
        stats = client.get("/headroom/stats").json()
    assert response.status_code == 200
    got = memory.received[0]
    assert got.path == path
    assert got.body == expected.body
    assert got.headers["authorization"] == "Bearer sk-test"
    assert got.headers["content-length"] == str(len(expected.body))
    assert response.headers["x-headroom-tokens-saved"] == str(expected.tokens_saved)
    if stream:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.text.count("data: ") > 3
    else:
        usage = response.json()["usage"]
        assert usage.get("prompt_tokens", usage.get("input_tokens")) > 0
    assert stats["compressed"] == 1


def test_gateway_streams_the_first_event_before_the_upstream_finishes() -> None:
    release = threading.Event()

    async def sse(request: Request) -> StreamingResponse:
        async def events() -> Any:
            yield b'data: {"n": 1}\n\n'
            await anyio.to_thread.run_sync(release.wait, 10)
            yield b'data: {"n": 2}\n\n'
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    upstream_app = Starlette(routes=[Route("/v1/chat/completions", sse, methods=["POST"])])
    with (
        serve(upstream_app) as upstream,
        serve(create_app(upstream, config=keephead_config())) as gateway,
        httpx.Client(timeout=5) as client,
        client.stream(
            "POST", f"{gateway}/v1/chat/completions", content=encode(chat_body()), headers=JSON
        ) as r,
    ):
        chunks = r.iter_raw()
        assert next(chunks) == b'data: {"n": 1}\n\n'
        assert not release.is_set()  # the upstream has not produced the rest yet
        release.set()
        assert b"".join(chunks) == b'data: {"n": 2}\n\ndata: [DONE]\n\n'


def test_gateway_passes_bad_bodies_through_to_the_provider() -> None:
    memory = Upstream()
    with (
        serve(create_upstream(memory)) as upstream,
        serve(create_app(upstream, config=keephead_config())) as gateway,
    ):
        response = httpx.post(f"{gateway}/v1/chat/completions", content=b'{"messages": [', headers=JSON)
    assert memory.received[0].body == b'{"messages": ['
    assert response.status_code == 400  # the provider's answer, relayed
    assert response.headers["x-headroom-skipped"] == "invalid_json"
    assert json.loads(response.text)["error"]["type"] == "invalid_request_error"
