"""Headroom for LiteLLM: a proxy callback and an SDK callback, both thin wrappers around the engine.

Proxy (config.yaml)::

    litellm_settings:
      callbacks: headroom.integrations.litellm.proxy_handler

``proxy_handler`` is built on first use from ``HEADROOM_CONFIG`` (a ProxyConfig file) and ``HEADROOM_*``
variables, defaults otherwise. For a config built in code, put
``handler = HeadroomCallback(ProxyConfig(...))`` in a module of your own and name that instance in
``callbacks``.

SDK::

    from headroom.integrations.litellm import install
    install()                       # or install(ProxyConfig(...)); idempotent
    await litellm.acompletion(model=..., messages=...)

Synchronous ``litellm.completion()`` runs no hook that may rewrite the request, so ``install()`` cannot reach
it: pass its kwargs through :func:`compress_kwargs` (``litellm.completion(**compress_kwargs(kwargs))``), or
use ``litellm.acompletion``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import litellm

from headroom.engine import Engine
from headroom.integrations.litellm._callbacks import HeadroomCallback, HeadroomSDKCallback, response_headers
from headroom.integrations.litellm._request import CALL_FORMATS, merged, message_view, wire_format
from headroom.proxy.config import ProxyConfig

if TYPE_CHECKING:
    proxy_handler: HeadroomCallback

_lock = threading.Lock()
_proxy_handler: HeadroomCallback | None = None
_default_engine: Engine | None = None


def __getattr__(name: str) -> Any:
    """``proxy_handler`` is created on first access, so importing this module for the SDK stays cheap."""
    global _proxy_handler
    if name != "proxy_handler":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _lock:
        if _proxy_handler is None:
            _proxy_handler = HeadroomCallback(ProxyConfig.from_env())
            _log_to_stderr()
        return _proxy_handler


def _log_to_stderr() -> None:
    """In a LiteLLM proxy nobody configures the ``headroom`` logger: give it a handler, so that
    ``telemetry.log_level`` takes effect. Handlers already set up (on it or on the root logger) are kept."""
    log = logging.getLogger("headroom")
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        log.addHandler(handler)


def installed() -> HeadroomSDKCallback | None:
    """The SDK callback registered in ``litellm.callbacks``, if any."""
    for callback in litellm.callbacks:
        if isinstance(callback, HeadroomSDKCallback):
            return callback
    return None


def install(config: ProxyConfig | None = None) -> HeadroomSDKCallback:
    """Register Headroom's SDK callback in ``litellm.callbacks`` and return it.

    Idempotent: a second call returns the registered callback, unless it passes a different ``config``,
    which replaces it. ``config=None`` reads ``HEADROOM_CONFIG`` / ``HEADROOM_*`` on the first install.
    Do not install it inside a LiteLLM proxy: there ``proxy_handler`` does the work.
    """
    with _lock:
        current = installed()
        if current is not None and (config is None or config == current.config):
            return current
        if current is not None:
            _remove(current)
        callback = HeadroomSDKCallback(config if config is not None else ProxyConfig.from_env())
        litellm.callbacks.append(callback)
        return callback


def uninstall() -> None:
    """Remove Headroom's SDK callback from ``litellm.callbacks`` (no-op when absent)."""
    with _lock:
        current = installed()
        if current is not None:
            _remove(current)


def _sync_engine() -> Engine:
    global _default_engine
    callback = installed()
    if callback is not None:
        return callback.engine
    with _lock:
        if _default_engine is None:
            _default_engine = Engine(ProxyConfig.from_env())
        return _default_engine


_CALLBACK_LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_input_callback",
    "_async_success_callback",
    "_async_failure_callback",
)
"""Where LiteLLM keeps (or copies) registered callbacks."""


def _remove(callback: HeadroomSDKCallback) -> None:
    for name in _CALLBACK_LISTS:
        registered = getattr(litellm, name, None)
        if isinstance(registered, list):
            registered[:] = [c for c in registered if c is not callback]


def compress_kwargs(
    kwargs: Mapping[str, Any], call_type: str = "completion", *, engine: Engine | None = None
) -> dict[str, Any]:
    """Synchronous compression of a LiteLLM call's kwargs, for ``litellm.completion`` / ``litellm.responses``.

    Uses ``engine``, else the installed SDK callback's engine (so its stats add up), else one configured from
    ``HEADROOM_CONFIG`` / ``HEADROOM_*``. Only the message-bearing keys change; on any failure the kwargs
    come back as they were.
    """
    fmt = wire_format(call_type)
    if fmt is None:
        return dict(kwargs)
    try:
        result = (engine or _sync_engine()).compress_json(message_view(kwargs), format=fmt)
    except Exception:
        return dict(kwargs)
    if not result.changed or not isinstance(result.body, Mapping):
        return dict(kwargs)
    return merged(kwargs, result.body)


__all__ = [
    "CALL_FORMATS",
    "HeadroomCallback",
    "HeadroomSDKCallback",
    "compress_kwargs",
    "install",
    "installed",
    "proxy_handler",
    "response_headers",
    "uninstall",
]
