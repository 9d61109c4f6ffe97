"""Contract client for the pure ASGI middleware: a recording ASGI app behind HeadroomASGIMiddleware, served by
a real uvicorn on loopback and driven by httpx."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.append(str(Path(__file__).resolve().parents[3] / "tests" / "contract"))

from asgi_support import Recorder, serve
from interface import Delivery

from headroom.integrations.asgi import HeadroomASGIMiddleware
from headroom.proxy.config import ProxyConfig


class RecordingClient:
    """Sends each request over real HTTP and reports what the app behind the middleware received."""

    raw_bytes = True

    def __init__(self, name: str, base_url: str, recorder: Recorder) -> None:
        self.name = name
        self.recorder = recorder
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def deliver(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> Delivery:
        sent = {"content-type": "application/json", **dict(headers or {})}
        before = len(self.recorder.received)
        response = self.http.post(path, content=body, headers=sent)
        got = self.recorder.received[before]
        return Delivery(
            body=got.body,
            json=_parse(got.body),
            headers=dict(got.headers),
            response_headers={k.lower(): v for k, v in response.headers.items()},
            status=response.status_code,
        )


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


@contextmanager
def contract_client(config: ProxyConfig) -> Iterator[RecordingClient]:
    recorder = Recorder()
    with serve(HeadroomASGIMiddleware(recorder, config)) as url:
        client = RecordingClient("asgi", url, recorder)
        try:
            yield client
        finally:
            client.http.close()
