"""Contract client for FastAPI: a FastAPI app with install_headroom, served by uvicorn, driven by httpx."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.append(str(Path(__file__).resolve().parents[3] / "tests" / "contract"))

from fastapi_support import Log, fastapi_app, serve
from interface import Delivery

from headroom.proxy.config import ProxyConfig
from headroom.proxy.extensions import install_headroom


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


@contextmanager
def running(name: str, build: Callable[[Log], Any]) -> Iterator[HttpClient]:
    log = Log()
    with serve(build(log)) as url:
        client = HttpClient(name, url, log)
        try:
            yield client
        finally:
            client.http.close()


@contextmanager
def contract_client(config: ProxyConfig) -> Iterator[HttpClient]:
    with running("fastapi", lambda log: install_headroom(fastapi_app(log), config)) as client:
        yield client
