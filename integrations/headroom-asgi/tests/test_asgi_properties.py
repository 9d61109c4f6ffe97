"""Property tests: whatever the body and however it is chunked, the app gets the engine's output or the
original bytes, exactly once, followed by the server's own receive."""

from __future__ import annotations

import json
from typing import Any

import anyio
from asgi_support import KeepHead, tool_log
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.engine import Engine
from headroom.integrations.asgi import HeadroomASGIMiddleware
from headroom.proxy.config import ProxyConfig

CONFIG = ProxyConfig(transforms=[KeepHead()], limits={"deadline_ms": 60_000, "max_body_bytes": 50_000})
ENGINE = Engine(CONFIG)

json_bodies = st.builds(
    lambda lines, extra: json.dumps(
        {
            "model": "m",
            "messages": [{"role": "tool", "tool_call_id": "c", "content": tool_log(lines)}],
            **extra,
        }
    ).encode(),
    st.integers(0, 800),
    st.dictionaries(
        st.sampled_from(["stream", "user", "n"]), st.integers() | st.text(max_size=5), max_size=2
    ),
)
bodies = st.binary(max_size=3000) | json_bodies | st.text(max_size=300).map(str.encode)


def deliver(body: bytes, chunk: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    chunk = max(chunk, len(body) // 500)  # at most ~500 messages
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)
    ]
    got: list[dict[str, Any]] = []
    headers: dict[str, str] = {}
    app_started: Any = None

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await app_started.wait()  # like a server: the client stays until it has its answer
        return {"type": "http.disconnect"}

    async def app(scope: Any, rcv: Any, send: Any) -> None:
        app_started.set()
        headers.update({k.decode(): v.decode() for k, v in scope["headers"]})
        while True:
            message = await rcv()
            got.append(message)
            if message["type"] == "http.disconnect":
                return

    async def send(message: Any) -> None:
        return None

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }

    async def main() -> None:
        nonlocal app_started
        app_started = anyio.Event()
        await HeadroomASGIMiddleware(app, engine=Engine(CONFIG))(scope, receive, send)

    anyio.run(main)
    return got, headers


@settings(max_examples=50, deadline=None)
@given(body=bodies, chunk=st.integers(1, 4096).map(lambda n: n if n < 100 else n * 8))
def test_app_gets_engine_output_or_original_exactly(body: bytes, chunk: int) -> None:
    got, headers = deliver(body, chunk)
    assert got[-1] == {"type": "http.disconnect"}  # after the body: the server's own receive
    received = b"".join(m.get("body", b"") for m in got[:-1])
    if len(body) > CONFIG.limits.max_body_bytes:
        assert received == body
        return
    expected = ENGINE.compress(body, path="/v1/chat/completions")
    assert received == (expected.body if expected.changed else body)
    assert headers["content-length"] == str(len(received))
    assert not got[0].get("more_body")  # small bodies are replayed as one message
