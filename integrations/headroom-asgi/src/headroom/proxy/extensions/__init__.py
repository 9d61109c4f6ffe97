"""Install Headroom into an existing ASGI app in one call: ``install_headroom(app, config)``."""

from __future__ import annotations

from typing import Any, TypeVar

from headroom.engine import Engine
from headroom.integrations.asgi import HeadroomASGIMiddleware
from headroom.integrations.asgi.lookup import ENGINE_ATTR
from headroom.proxy.config import ProxyConfig

AppT = TypeVar("AppT")


def install_headroom(app: AppT, config: ProxyConfig | None = None, *, engine: Engine | None = None) -> Any:
    """Add :class:`HeadroomASGIMiddleware` to ``app`` and return the app to serve.

    Apps with ``add_middleware`` (FastAPI, Starlette, LiteLLM's proxy app) get the middleware registered and
    are returned themselves; the engine is created now and kept on ``app.state.headroom_engine`` so that
    code can read its stats or switch transforms before the first request. Any other ASGI callable is
    returned wrapped. ``config`` defaults to :meth:`ProxyConfig.from_env`; ``engine`` shares an engine.
    """
    if engine is None:
        engine = Engine(config or ProxyConfig.from_env())
    elif config is not None and engine.config != config:
        raise ValueError("pass either config or engine, or an engine built from that config")
    add_middleware = getattr(app, "add_middleware", None)
    if not callable(add_middleware):
        if not callable(app):
            raise TypeError(f"install_headroom needs an ASGI app, got {type(app).__name__}")
        return HeadroomASGIMiddleware(app, engine=engine)
    add_middleware(HeadroomASGIMiddleware, engine=engine)
    state = getattr(app, "state", None)
    if state is not None:
        setattr(state, ENGINE_ATTR, engine)
    return app


__all__ = ["install_headroom"]
