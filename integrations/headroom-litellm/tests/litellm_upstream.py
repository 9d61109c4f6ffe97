"""A fake LLM provider: a real HTTP server on loopback that records every body it receives.

It answers ``/v1/chat/completions``, ``/v1/messages`` and ``/v1/responses`` in the OpenAI, Anthropic and
Responses shapes, as JSON or as a server-sent event stream when the request asks for ``stream``. Each answer
carries the text ``ANSWER`` so a test can check what reached the client. ``/v1/responses/compact`` answers
with one compaction item, ``/v1/messages/count_tokens`` with a count.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

ANSWER = "Upstream says: the grep found 400 callers."
CHUNKS = ("Upstream says: ", "the grep found ", "400 callers.")


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Recorder:
    """Every request the fake provider received, in order."""

    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Received) -> None:
        with self.lock:
            self.requests.append(item)

    def mark(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, mark: int, path_suffix: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.requests[mark:] if r.path.endswith(path_suffix)]


@dataclass
class Upstream:
    url: str
    recorder: Recorder


def _sse(events: list[tuple[str | None, Any]]) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            prefix = f"event: {name}\n" if name else ""
            yield f"{prefix}data: {text}\n\n".encode()

    return gen()


def _chat(body: dict[str, Any]) -> Response:
    model = body.get("model", "fake")
    created = int(time.time())
    if not body.get("stream"):
        return JSONResponse(
            {
                "id": "chatcmpl-fake-1",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": ANSWER},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 9, "total_tokens": 109},
            }
        )
    base = {"id": "chatcmpl-fake-1", "object": "chat.completion.chunk", "created": created, "model": model}
    events: list[tuple[str | None, Any]] = [
        (None, {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    ]
    events += [(None, {**base, "choices": [{"index": 0, "delta": {"content": c}}]}) for c in CHUNKS]
    events.append((None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    events.append((None, "[DONE]"))
    return StreamingResponse(_sse(events), media_type="text/event-stream")


def _messages(body: dict[str, Any]) -> Response:
    model = body.get("model", "claude-fake")
    usage = {"input_tokens": 100, "output_tokens": 9}
    if not body.get("stream"):
        return JSONResponse(
            {
                "id": "msg_fake_1",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": ANSWER}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage,
            }
        )
    start = {
        "id": "msg_fake_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 1},
    }
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    events += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": c}},
        )
        for c in CHUNKS
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 9},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return StreamingResponse(_sse(events), media_type="text/event-stream")


def _response_object(model: str, status: str, text: str | None) -> dict[str, Any]:
    output = []
    if text is not None:
        output = [
            {
                "type": "message",
                "id": "msg_fake_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ]
    return {
        "id": "resp_fake_1",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": (
            {
                "input_tokens": 100,
                "output_tokens": 9,
                "total_tokens": 109,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            }
            if text is not None
            else None
        ),
    }


def _responses(body: dict[str, Any]) -> Response:
    model = body.get("model", "fake")
    if not body.get("stream"):
        return JSONResponse(_response_object(model, "completed", ANSWER))
    item = {
        "type": "message",
        "id": "msg_fake_1",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    part = {"type": "output_text", "text": "", "annotations": []}
    events: list[tuple[str | None, Any]] = [
        (
            "response.created",
            {"type": "response.created", "response": _response_object(model, "in_progress", None)},
        ),
        (
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": item},
        ),
        (
            "response.content_part.added",
            {
                "type": "response.content_part.added",
                "item_id": "msg_fake_1",
                "output_index": 0,
                "content_index": 0,
                "part": part,
            },
        ),
    ]
    events += [
        (
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "item_id": "msg_fake_1",
                "output_index": 0,
                "content_index": 0,
                "delta": c,
            },
        )
        for c in CHUNKS
    ]
    done_part = {**part, "text": ANSWER}
    events += [
        (
            "response.output_text.done",
            {
                "type": "response.output_text.done",
                "item_id": "msg_fake_1",
                "output_index": 0,
                "content_index": 0,
                "text": ANSWER,
            },
        ),
        (
            "response.content_part.done",
            {
                "type": "response.content_part.done",
                "item_id": "msg_fake_1",
                "output_index": 0,
                "content_index": 0,
                "part": done_part,
            },
        ),
        (
            "response.output_item.done",
            {
                "type": "response.output_item.done",
                "output_index": 0,
                "item": {**item, "status": "completed", "content": [done_part]},
            },
        ),
        (
            "response.completed",
            {"type": "response.completed", "response": _response_object(model, "completed", ANSWER)},
        ),
    ]
    return StreamingResponse(_sse(events), media_type="text/event-stream")


COMPACTED = "opaque-compaction-of-the-conversation"


def _compact(body: dict[str, Any]) -> Response:
    return JSONResponse(
        {
            "id": "resp_fake_compact_1",
            "object": "response.compaction",
            "created_at": int(time.time()),
            "output": [{"type": "compaction", "id": "cmp_fake_1", "encrypted_content": COMPACTED}],
            "usage": {
                "input_tokens": 100,
                "output_tokens": 9,
                "total_tokens": 109,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
        }
    )


def _count_tokens(body: dict[str, Any]) -> Response:
    return JSONResponse({"input_tokens": len(json.dumps(body)) // 4})


def make_app(recorder: Recorder) -> Starlette:
    handlers = {
        "chat/completions": _chat,
        "messages": _messages,
        "responses": _responses,
        "responses/compact": _compact,
        "messages/count_tokens": _count_tokens,
    }

    async def handle(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return JSONResponse({"error": {"message": "invalid json"}}, status_code=400)
        recorder.add(Received(request.url.path, body, {k.lower(): v for k, v in request.headers.items()}))
        for suffix, handler in handlers.items():
            if request.url.path.rstrip("/").endswith(suffix):
                return handler(body)
        return JSONResponse({"error": {"message": "not found"}}, status_code=404)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(recorder: Recorder) -> Iterator[str]:
    """Run the fake provider on a free loopback port; yields its base URL (no trailing slash)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(make_app(recorder), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake upstream did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
