"""Headroom for FastAPI and Starlette: stats and health routes, and a dependency for route handlers.

```python
from fastapi import FastAPI
from headroom.integrations.fastapi import HeadroomInfo, include_headroom_routes, install_headroom

app = install_headroom(FastAPI(), config)     # or app.add_middleware(HeadroomASGIMiddleware, config=config)
include_headroom_routes(app)                  # GET /headroom/stats, GET /headroom/health

@app.post("/v1/chat/completions")
async def chat(headroom: HeadroomInfo) -> dict: ...   # headroom.result: what was done to this request
```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse
from starlette.routing import Route

from headroom.engine import Engine
from headroom.integrations.asgi import (
    HeadroomASGIMiddleware,
    RequestRecord,
    find_engine,
    request_record,
    scope_engine,
)
from headroom.proxy.extensions import install_headroom

NOT_INSTALLED = "Headroom is not installed on this app (install_headroom or add_middleware first)"


@dataclass(frozen=True, slots=True)
class HeadroomContext:
    """What a route can know about Headroom: the engine, its totals, and this request's result."""

    engine: Engine
    record: RequestRecord | None
    """None when Headroom did not handle this request (not a POST to an LLM path)."""

    @property
    def stats(self) -> dict[str, Any]:
        """The engine's running totals, read now."""
        return self.engine.stats.snapshot()

    @property
    def result(self) -> dict[str, Any] | None:
        """``EngineResult.summary()`` of this request: tokens before/after/saved, transforms, skip reason."""
        return self.record.summary if self.record is not None else None


def engine_for(request: Request) -> Engine | None:
    """The engine serving ``request``: the one that handled it, else that of the Headroom middleware it
    passed (on this app or one it is mounted in), else the app's."""
    record = request_record(request.scope)
    if record is not None:
        return record.engine
    return scope_engine(request.scope) or find_engine(request.app)


async def get_headroom(request: Request) -> HeadroomContext:
    """FastAPI dependency: Headroom's engine, stats and this request's result (503 if not installed).

    The result's token counts are completed here, in a worker thread when the units left unchanged are
    long, so that reading ``result`` in the route does not count them on the event loop.
    """
    record = request_record(request.scope)
    engine = engine_for(request)
    if engine is None:
        raise HTTPException(status_code=503, detail=NOT_INSTALLED)
    if record is not None:
        await record.result.acount_pending(engine.config.limits.offload_bytes)
    return HeadroomContext(engine=engine, record=record)


HeadroomInfo = Annotated[HeadroomContext, Depends(get_headroom)]
"""Annotate a route parameter with this to receive a :class:`HeadroomContext`."""


def stats_payload(engine: Engine) -> dict[str, Any]:
    """The JSON behind GET /headroom/stats."""
    active = {t.name for t in engine.transforms}
    return {
        **engine.stats.snapshot(),
        "enabled": engine.config.enabled,
        "transforms_enabled": {t.name: t.name in active for t in engine.config.transforms},
    }


def health_payload(engine: Engine) -> dict[str, Any]:
    """The JSON behind GET /headroom/health."""
    return {
        "status": "ok",
        "enabled": engine.config.enabled,
        "transforms": [t.name for t in engine.transforms],
        "token_counter": engine.counter.name,
        "tokens_exact": engine.counter.exact,
    }


class TransformSwitch(BaseModel):
    """Body of PUT /headroom/transforms/{name}."""

    enabled: bool


def create_router(prefix: str = "/headroom", *, allow_control: bool = False) -> APIRouter:
    """An APIRouter with GET ``{prefix}/stats`` and ``{prefix}/health``.

    With ``allow_control``, also PUT ``{prefix}/transforms/{name}`` with ``{"enabled": bool}`` to switch a
    transform at runtime; protect it like any admin route.
    """
    router = APIRouter(prefix=prefix, tags=["headroom"])

    @router.get("/stats")
    async def headroom_stats(headroom: HeadroomInfo) -> dict[str, Any]:
        return stats_payload(headroom.engine)

    @router.get("/health")
    async def headroom_health(headroom: HeadroomInfo) -> dict[str, Any]:
        return health_payload(headroom.engine)

    if allow_control:

        @router.put("/transforms/{name}")
        async def headroom_switch(
            name: str, switch: TransformSwitch, headroom: HeadroomInfo
        ) -> dict[str, Any]:
            try:
                headroom.engine.set_transform_enabled(name, switch.enabled)
            except KeyError as exc:
                raise HTTPException(status_code=404, detail=str(exc.args[0])) from exc
            return stats_payload(headroom.engine)

    return router


def include_headroom_routes(
    app: FastAPI, prefix: str = "/headroom", *, allow_control: bool = False
) -> FastAPI:
    """Add the stats and health routes to ``app`` and return it."""
    app.include_router(create_router(prefix, allow_control=allow_control))
    return app


async def _starlette_stats(request: Request) -> JSONResponse:
    engine = engine_for(request)
    if engine is None:
        return JSONResponse({"detail": NOT_INSTALLED}, status_code=503)
    return JSONResponse(stats_payload(engine))


async def _starlette_health(request: Request) -> JSONResponse:
    engine = engine_for(request)
    if engine is None:
        return JSONResponse({"detail": NOT_INSTALLED}, status_code=503)
    return JSONResponse(health_payload(engine))


def starlette_routes(prefix: str = "/headroom") -> list[Route]:
    """The stats and health routes for a plain Starlette app: ``Starlette(routes=starlette_routes())``."""
    return [Route(f"{prefix}/stats", _starlette_stats), Route(f"{prefix}/health", _starlette_health)]


__all__ = [
    "HeadroomASGIMiddleware",
    "HeadroomContext",
    "HeadroomInfo",
    "create_router",
    "engine_for",
    "get_headroom",
    "health_payload",
    "include_headroom_routes",
    "install_headroom",
    "starlette_routes",
    "stats_payload",
]
