"""Driving an ASGI application in-process with asgiref's ApplicationCommunicator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asgiref.testing import ApplicationCommunicator

TIMEOUT = 10


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def http_scope(
    path: str, method: str = "POST", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def request(
    app: Any,
    path: str,
    body: bytes = b"",
    *,
    method: str = "POST",
    content_type: bytes | None = b"application/json",
    chunks: int = 1,
    content_length: bool = True,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Reply:
    """One HTTP request; the body goes in ``chunks`` messages (without Content-Length if asked)."""
    extra = list(headers or [])
    if content_type is not None:
        extra.append((b"content-type", content_type))
    if content_length:
        extra.append((b"content-length", str(len(body)).encode()))
    communicator = ApplicationCommunicator(app, http_scope(path, method, extra))
    size = max(1, -(-len(body) // chunks))
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    for i, part in enumerate(parts):
        await communicator.send_input({"type": "http.request", "body": part, "more_body": i < len(parts) - 1})
    start = await communicator.receive_output(TIMEOUT)
    assert start["type"] == "http.response.start", start
    received = b""
    while True:
        message = await communicator.receive_output(TIMEOUT)
        received += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(TIMEOUT)
    raw = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
    return Reply(start["status"], {k.decode().lower(): v.decode() for k, v in raw}, received, raw)
