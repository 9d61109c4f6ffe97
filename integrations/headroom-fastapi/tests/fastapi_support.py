"""Test helpers for FastAPI: the recording FastAPI app (the rest is in starlette_support)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette_support import (
    RECORDED_PATHS,
    HttpClient,
    KeepHead,
    Log,
    Seen,
    chat_body,
    encode,
    keephead_config,
    recording_route,
    running,
    serve,
)
from starlette_support import starlette_app as bare_starlette_app

from headroom.integrations.fastapi import HeadroomInfo, starlette_routes

__all__ = [
    "HttpClient",
    "KeepHead",
    "Log",
    "Seen",
    "chat_body",
    "encode",
    "fastapi_app",
    "keephead_config",
    "running",
    "serve",
    "starlette_app",
]


def fastapi_app(log: Log) -> FastAPI:
    """A FastAPI app whose POST routes record what they receive; one uses the HeadroomInfo dependency."""
    app = FastAPI()
    for path in RECORDED_PATHS:
        app.add_api_route(path, recording_route(log), methods=["POST"])

    @app.post("/dependency/v1/chat/completions")
    async def with_dependency(headroom: HeadroomInfo) -> dict[str, Any]:
        return {"result": headroom.result, "stats": headroom.stats}

    return app


def starlette_app(log: Log) -> Starlette:
    """The recording Starlette app with Headroom's stats and health routes."""
    app = bare_starlette_app(log)
    app.router.routes.extend(starlette_routes())
    return app
