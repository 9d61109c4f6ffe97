"""A contract client with no adapter at all: the engine itself. Used to test the suite."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from interface import Delivery

from headroom.engine import Engine
from headroom.proxy.config import ProxyConfig


class ReferenceClient:
    name = "reference"
    raw_bytes = True

    def __init__(self, config: ProxyConfig) -> None:
        self.engine = Engine(config)

    def rewrite(self, body: bytes) -> bytes:
        return body

    def deliver(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> Delivery:
        headers = dict(headers or {})
        mode = headers.pop("x-headroom-mode", "on")
        if headers.get("content-encoding") == "gzip":
            import gzip

            result = self.engine.compress(gzip.decompress(body), path=path)
            if result.changed:
                body = result.body
                headers.pop("content-encoding")
        elif mode != "off" and self.engine.config.matches_path(path):
            body = self.engine.compress(body, path=path).body
        body = self.rewrite(body)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        return Delivery(body=body, json=parsed, headers=headers)


@contextmanager
def contract_client(config: ProxyConfig) -> Iterator[ReferenceClient]:
    yield ReferenceClient(config)
