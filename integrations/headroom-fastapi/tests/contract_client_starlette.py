"""Contract client for Starlette: a plain Starlette app with app.add_middleware(HeadroomASGIMiddleware)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from starlette_support import HttpClient, Log, running, starlette_app

from headroom.integrations.asgi import HeadroomASGIMiddleware
from headroom.proxy.config import ProxyConfig


@contextmanager
def contract_client(config: ProxyConfig) -> Iterator[HttpClient]:
    def build(log: Log) -> Any:
        app = starlette_app(log)
        app.add_middleware(HeadroomASGIMiddleware, config=config)
        return app

    with running("starlette", build) as client:
        yield client
