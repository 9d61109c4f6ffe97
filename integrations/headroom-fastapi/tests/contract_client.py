"""Contract client for FastAPI: a FastAPI app with install_headroom, served by uvicorn, driven by httpx."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fastapi_support import fastapi_app
from starlette_support import HttpClient, running

from headroom.proxy.config import ProxyConfig
from headroom.proxy.extensions import install_headroom


@contextmanager
def contract_client(config: ProxyConfig) -> Iterator[HttpClient]:
    with running("fastapi", lambda log: install_headroom(fastapi_app(log), config)) as client:
        yield client
