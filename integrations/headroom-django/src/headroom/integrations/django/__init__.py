"""Headroom for Django.

* ``INSTALLED_APPS += ["headroom.integrations.django"]``: validates ``settings.HEADROOM`` in
  ``manage.py check`` (:mod:`.checks`).
* ASGI: :func:`get_asgi_application` (a drop-in for Django's) and :func:`wrap` (:mod:`.asgi`).
* WSGI or ``MIDDLEWARE``: :class:`HeadroomMiddleware` (:mod:`.middleware`).

Names load lazily, so importing this package needs neither configured settings nor the ASGI middleware.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headroom.integrations.django.asgi import get_asgi_application, wrap
    from headroom.integrations.django.conf import HeadroomConfigError, get_config, get_engine, load_config
    from headroom.integrations.django.middleware import HeadroomMiddleware

_HOMES = {
    "get_asgi_application": "asgi",
    "wrap": "asgi",
    "HeadroomConfigError": "conf",
    "get_config": "conf",
    "get_engine": "conf",
    "load_config": "conf",
    "HeadroomMiddleware": "middleware",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'headroom.integrations.django' has no attribute {name!r}")
    return getattr(import_module(f"headroom.integrations.django.{home}"), name)


__all__ = [
    "HeadroomConfigError",
    "HeadroomMiddleware",
    "get_asgi_application",
    "get_config",
    "get_engine",
    "load_config",
    "wrap",
]
