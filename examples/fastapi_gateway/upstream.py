"""A local stand-in for OpenAI and Anthropic: answers the three LLM endpoints and records what it received.

It speaks just enough of each API for SDKs and the demo: a non-streaming answer, or server-sent events when
the request says ``"stream": true``. ``usage`` reports the prompt tokens of what actually arrived, so the
effect of Headroom is visible from the client side. No network is involved.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from headroom.engine import get_token_counter

ANSWER = "Here is what I found in the tool output."


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Upstream:
    """The fake provider's memory: every request it received, in order."""

    received: list[Received] = field(default_factory=list)


def prompt_tokens(body: dict[str, Any]) -> int:
    """Tokens of the prompt as received: messages (or input), system text and instructions."""
    parts = [body.get(key) for key in ("system", "instructions", "messages", "input") if key in body]
    return get_token_counter().count(json.dumps(parts, ensure_ascii=False))


def _sse(events: list[tuple[str | None, dict[str, Any] | str]]) -> AsyncIterator[bytes]:
    async def stream() -> AsyncIterator[bytes]:
        for name, data in events:
            payload = data if isinstance(data, str) else json.dumps(data)
            prefix = f"event: {name}\n" if name else ""
            yield f"{prefix}data: {payload}\n\n".encode()
            await asyncio.sleep(0.02)  # a model thinks between tokens

    return stream()


def _words() -> list[str]:
    return [w + " " for w in ANSWER.split(" ")]


def chat(body: dict[str, Any], tokens: int) -> Response:
    usage = {"prompt_tokens": tokens, "completion_tokens": 9, "total_tokens": tokens + 9}
    if body.get("stream"):
        base = {"id": "chatcmpl-local", "object": "chat.completion.chunk", "model": body.get("model")}
        events: list[tuple[str | None, dict[str, Any] | str]] = [
            (None, {**base, "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]})
            for w in _words()
        ]
        events.append(
            (None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage})
        )
        events.append((None, "[DONE]"))
        return StreamingResponse(_sse(events), media_type="text/event-stream")
    return JSONResponse(
        {
            "id": "chatcmpl-local",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}
            ],
            "usage": usage,
        }
    )


def messages(body: dict[str, Any], tokens: int) -> Response:
    usage = {"input_tokens": tokens, "output_tokens": 9}
    if body.get("stream"):
        events: list[tuple[str | None, dict[str, Any] | str]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {"id": "msg_local", "role": "assistant", "content": [], "usage": usage},
                },
            ),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
        ]
        events += [
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}},
            )
            for w in _words()
        ]
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_stop", {"type": "message_stop"}),
        ]
        return StreamingResponse(_sse(events), media_type="text/event-stream")
    return JSONResponse(
        {
            "id": "msg_local",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [{"type": "text", "text": ANSWER}],
            "stop_reason": "end_turn",
            "usage": usage,
        }
    )


def responses(body: dict[str, Any], tokens: int) -> Response:
    usage = {"input_tokens": tokens, "output_tokens": 9, "total_tokens": tokens + 9}
    final = {
        "id": "resp_local",
        "object": "response",
        "status": "completed",
        "model": body.get("model"),
        "output": [
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": ANSWER}]}
        ],
        "usage": usage,
    }
    if body.get("stream"):
        events: list[tuple[str | None, dict[str, Any] | str]] = [
            ("response.output_text.delta", {"type": "response.output_text.delta", "delta": w})
            for w in _words()
        ]
        events.append(("response.completed", {"type": "response.completed", "response": final}))
        return StreamingResponse(_sse(events), media_type="text/event-stream")
    return JSONResponse(final)


def create_upstream(memory: Upstream | None = None) -> Starlette:
    """The fake provider app; ``memory`` collects what it receives."""
    memory = memory if memory is not None else Upstream()
    handlers = {"/v1/chat/completions": chat, "/v1/messages": messages, "/v1/responses": responses}

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        memory.received.append(Received(request.url.path, raw, dict(request.headers)))
        try:
            body = json.loads(raw)
        except ValueError:
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": "body is not JSON"}}, 400
            )
        if not isinstance(body, dict):
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": "expected an object"}}, 400
            )
        return handlers[request.url.path](body, prompt_tokens(body))

    app = Starlette(routes=[Route(path, endpoint, methods=["POST"]) for path in handlers])
    app.state.memory = memory
    return app
