"""Finding the Headroom engine serving an app, for routes and tools that report on it or control it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headroom.engine import Engine
from headroom.integrations.asgi.middleware import (
    ENGINE_KEY,
    STATE_KEY,
    HeadroomASGIMiddleware,
    RequestRecord,
)

ENGINE_ATTR = "headroom_engine"
"""Attribute of ``app.state`` where :func:`~headroom.proxy.extensions.install_headroom` puts the engine."""

_MAX_DEPTH = 64


def find_middleware(app: Any) -> HeadroomASGIMiddleware | None:
    """The outermost Headroom middleware in ``app``'s stack, following ``.app`` links.

    Works for Starlette/FastAPI apps once their middleware stack is built (at the first request or at
    startup) and for apps wrapped by hand.
    """
    current = app
    stack = getattr(app, "middleware_stack", None)
    if stack is not None:
        current = stack
    for _ in range(_MAX_DEPTH):
        if isinstance(current, HeadroomASGIMiddleware):
            return current
        current = getattr(current, "app", None)
        if current is None:
            return None
    return None


def find_engine(app: Any) -> Engine | None:
    """The engine serving ``app``: the one on ``app.state`` (install_headroom) or its middleware's."""
    engine = getattr(getattr(app, "state", None), ENGINE_ATTR, None)
    if isinstance(engine, Engine):
        return engine
    middleware = find_middleware(app)
    return middleware.engine if middleware is not None else None


def request_record(scope: Mapping[str, Any]) -> RequestRecord | None:
    """What Headroom did to the request of ``scope``, or None when it did not see it (not an LLM path)."""
    state = scope.get("state")
    record = state.get(STATE_KEY) if isinstance(state, Mapping) else None
    return record if isinstance(record, RequestRecord) else None


def scope_engine(scope: Mapping[str, Any]) -> Engine | None:
    """The engine of the Headroom middleware that saw the request of ``scope`` (the outermost one), or None.

    Unlike :func:`find_engine` it works from a sub-app mounted inside the app that carries the middleware.
    """
    state = scope.get("state")
    engine = state.get(ENGINE_KEY) if isinstance(state, Mapping) else None
    return engine if isinstance(engine, Engine) else None
