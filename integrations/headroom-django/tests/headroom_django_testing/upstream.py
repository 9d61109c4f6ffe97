"""The fake LLM provider: a real HTTP server on loopback that records what it receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SSE_EVENTS = [f'data: {{"delta": "part {i}"}}\n\n'.encode() for i in range(3)] + [b"data: [DONE]\n\n"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Upstream:
    url: str
    received: list[Received] = field(default_factory=list)


@contextmanager
def fake_provider() -> Iterator[Upstream]:
    upstream = Upstream(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            upstream.received.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            try:
                streaming = json.loads(body).get("stream") is True
            except (ValueError, AttributeError):
                streaming = False
            if streaming:  # server-sent events, then close (HTTP/1.0: no length)
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                for event in SSE_EVENTS:
                    self.wfile.write(event)
                    self.wfile.flush()
                return
            answer = json.dumps({"id": "fake", "received_bytes": len(body)}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        server.server_close()
