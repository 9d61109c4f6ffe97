"""Django's ASGI application behind :class:`headroom.integrations.asgi.HeadroomASGIMiddleware`.

In ``myproject/asgi.py``::

    from headroom.integrations.django import get_asgi_application

    application = get_asgi_application()  # instead of django.core.asgi.get_asgi_application()

or, around an application you build yourself (a Channels ``ProtocolTypeRouter`` or its ``"http"`` entry)::

    application = ProtocolTypeRouter({"http": wrap(django_asgi_app), "websocket": ...})

The config is ``settings.HEADROOM``, validated when the application is built: a bad setting stops the
server at start-up with the offending key named (the same messages ``manage.py check`` gives).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from headroom.integrations.django.conf import fit_to_django, get_engine
from headroom.proxy.config import ProxyConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def get_asgi_application() -> ASGIApp:
    """A drop-in for ``django.core.asgi.get_asgi_application``: sets Django up, returns the wrapped app."""
    from django.core.asgi import get_asgi_application as django_asgi_application

    return wrap(django_asgi_application())


def wrap(app: ASGIApp, *, config: ProxyConfig | None = None) -> ASGIApp:
    """``app`` behind the Headroom ASGI middleware, with ``config`` or else ``settings.HEADROOM``.

    Either way ``limits.max_body_bytes`` is capped at ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (see
    :func:`~headroom.integrations.django.conf.fit_to_django`).

    With the settings' config, the middleware shares its engine (memo, stats) with
    :class:`~headroom.integrations.django.middleware.HeadroomMiddleware`, which leaves alone the requests
    the ASGI middleware has seen. Other scope types (websocket, lifespan) pass through untouched.
    """
    from headroom.integrations.asgi import HeadroomASGIMiddleware

    if config is not None:
        return HeadroomASGIMiddleware(app, config=fit_to_django(config))
    return HeadroomASGIMiddleware(app, engine=get_engine())


__all__ = ["get_asgi_application", "wrap"]
