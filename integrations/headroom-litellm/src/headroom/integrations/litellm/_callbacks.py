"""LiteLLM callbacks that hand requests to Headroom's engine: one for the proxy, one for the SDK."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from headroom.engine import Engine, EngineResult, WireFormat
from headroom.integrations.litellm._request import (
    PASS_THROUGH,
    bridged,
    call_id,
    call_type_name,
    merged,
    message_view,
    opted_out,
    passthrough_format,
    wire_format,
    without_own_headers,
)
from headroom.proxy.config import ProxyConfig

logger = logging.getLogger("headroom.integrations.litellm")

_PENDING_HEADERS = 4096
"""Requests whose response headers wait for LiteLLM's response-headers hook (the oldest go first). Only the
small header dicts are kept, never a body (a request's unit texts only while its counting task runs)."""


Headers = dict[str, str] | asyncio.Future[dict[str, str]]
"""A request's response headers, or the task that counts them."""


@dataclass(slots=True)
class _Waiting:
    """One request's response headers, waiting for LiteLLM's response-headers hook."""

    key: str
    """LiteLLM's call id of the request."""
    headers: Headers
    shared: bool = False
    """Another request under the same id was still waiting when this one came (a client may choose the id:
    ``x-litellm-call-id``): found by the id alone, these headers could be the other's."""


_this_request: ContextVar[_Waiting | None] = ContextVar("headroom_litellm_request", default=None)
"""The headers of the request the current task serves. The proxy runs each HTTP request in a task of its own
and both hooks in it, so the headers hook finds its own request's headers here whatever the call id (which a
client may reuse, and which LiteLLM drops from a pass-through body after the pre-call hooks). The value
never reaches another request's task."""


class _HeadroomLogger(CustomLogger):
    """What both callbacks share: an engine, its stats, and a fail-open ``compress``.

    Defines no LiteLLM hook itself: LiteLLM only runs hooks defined on the callback's own class.
    """

    def __init__(self, config: ProxyConfig | None = None, *, engine: Engine | None = None) -> None:
        super().__init__()
        self.engine = engine if engine is not None else Engine(config)

    @property
    def config(self) -> ProxyConfig:
        return self.engine.config

    def stats(self) -> dict[str, Any]:
        """Running totals of this callback's engine (no prompt content)."""
        return self.engine.stats.snapshot()

    async def compress(
        self, data: Mapping[str, Any], fmt: WireFormat | None
    ) -> tuple[dict[str, Any], EngineResult]:
        """``data`` with its messages (in format ``fmt``) compressed (a new dict), or ``data`` itself with
        the reason it was not.

        Never raises: on any failure the request goes on as it came.
        """
        if fmt is None:
            return _same(data), EngineResult(body=data, skipped="unsupported_call")
        try:
            result = await self.engine.acompress_json(message_view(data), format=fmt)
        except Exception as exc:  # the engine fails open itself; this guards the adapter's own edge
            logger.warning("headroom: passing request through after %s", type(exc).__name__, exc_info=True)
            result = EngineResult(body=data, format=fmt, skipped="error", errors=[type(exc).__name__])
            self.engine.stats.record(result)
            return _same(data), result
        if not result.changed or not isinstance(result.body, Mapping):
            return _same(data), result
        if logger.isEnabledFor(logging.INFO) and result.tokens_saved:
            totals = self.engine.stats.snapshot()
            logger.info(
                "headroom: saved %d tokens (totals %s)",
                result.tokens_saved,
                json.dumps({k: totals[k] for k in ("requests", "compressed", "tokens_saved")}),
            )
        return merged(data, result.body), result


def _same(data: Mapping[str, Any]) -> dict[str, Any]:
    return data if isinstance(data, dict) else dict(data)


class HeadroomCallback(_HeadroomLogger):
    """The LiteLLM proxy callback: compresses chat, Anthropic messages and Responses requests (compaction
    too), and pass-through requests to those endpoints (``/anthropic/v1/messages``, ...).

    ``litellm_settings: callbacks: headroom.integrations.litellm.proxy_handler`` in the proxy's config.yaml
    registers a module-level instance configured from ``HEADROOM_CONFIG`` / ``HEADROOM_*``. To configure one
    in code, create ``HeadroomCallback(config)`` in a module of your own and name that instance instead.
    """

    def __init__(self, config: ProxyConfig | None = None, *, engine: Engine | None = None) -> None:
        super().__init__(config, engine=engine)
        self._pending: OrderedDict[str, _Waiting] = OrderedDict()
        """The newest request under each call id: for a headers hook run outside the request's task."""

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any]:
        """Compress the request's messages; every other key is copied through. Returns the data to send.

        A pass-through request (``/anthropic/v1/messages``, ...) is compressed when its route is one of
        ``config.paths``. Other call types, and requests sent with ``x-headroom-mode: off``, come back as
        they were, but for Headroom's own ``x-headroom-*`` headers, never forwarded to the provider.
        """
        passthrough = call_type_name(call_type) == PASS_THROUGH
        if passthrough:
            fmt = passthrough_format(getattr(user_api_key_dict, "request_route", None), self.config)
        else:
            fmt = wire_format(call_type)
        if fmt is None:  # a pass-through body is the client's own: a "headers" key in it is its data
            return data if passthrough else without_own_headers(data)
        try:
            if opted_out(data):
                out, result = data, EngineResult(body=data, format=fmt, skipped="off")
                self.engine.stats.record(result)  # counted as every Headroom adapter counts an opt-out
            else:
                out, result = await self.compress(data, fmt)
            if self.config.telemetry.response_headers:
                self._remember(call_id(data), result)
        except Exception:
            logger.warning("headroom: passing request through", exc_info=True)
            out = data
        if passthrough:
            return out
        try:
            return without_own_headers(out)
        except Exception:
            logger.warning("headroom: headers left as they came", exc_info=True)
            return out

    async def async_post_call_response_headers_hook(
        self,
        data: dict[Any, Any],
        user_api_key_dict: Any,
        response: object,
        request_headers: dict[str, str] | None = None,
        litellm_call_info: dict[str, object] | None = None,
    ) -> dict[str, str] | None:
        """``x-headroom-*`` headers for the client (LiteLLM >= 1.82 runs this hook; earlier ones do not)."""
        try:
            key = call_id(data)
            waiting = _this_request.get()
            if waiting is not None and key in (None, waiting.key):
                _this_request.set(None)  # this request's own headers, from its task
            else:  # a hook outside the request's task: by the id alone, never another request's headers
                waiting = self._pending.get(key) if key is not None else None
                if waiting is None or waiting.shared:
                    return None
            if self._pending.get(waiting.key) is waiting:
                del self._pending[waiting.key]
            headers = waiting.headers
            if isinstance(headers, asyncio.Future):
                return None if headers.cancelled() else await headers
            return headers
        except Exception:
            logger.warning("headroom: no response headers for this request", exc_info=True)
            return None

    def _remember(self, key: str | None, result: EngineResult) -> None:
        """Keep the request's headers as text, not the result (its unit texts), until LiteLLM asks for them.

        Long units left unchanged are counted while the provider answers, as every adapter counts them:
        counting saves nothing, so the request does not wait for it.
        """
        if key is None:
            return
        offload = self.config.limits.offload_bytes
        headers: Headers
        if sum(len(unit.text) for unit in result.uncounted) < offload:
            result.count_pending()
            headers = response_headers(result)
        else:
            headers = asyncio.ensure_future(_counted_headers(result, offload))
            headers.add_done_callback(_retrieve)
        waiting = _Waiting(key, headers, shared=key in self._pending)
        _this_request.set(waiting)
        self._pending[key] = (
            waiting  # the newest under the id (a request that never got its hook is replaced)
        )
        self._pending.move_to_end(key)
        while len(self._pending) > _PENDING_HEADERS:
            dropped = self._pending.popitem(last=False)[1].headers
            if isinstance(dropped, asyncio.Future):
                dropped.cancel()


async def _counted_headers(result: EngineResult, offload_chars: int) -> dict[str, str]:
    await result.acount_pending(offload_chars)
    return response_headers(result)


def _retrieve(task: asyncio.Future[dict[str, str]]) -> None:
    """Mark a counting task's failure as seen: its request just gets no headers."""
    if not task.cancelled():
        task.exception()


class HeadroomSDKCallback(_HeadroomLogger):
    """The LiteLLM SDK callback: compresses ``acompletion``, ``aresponses`` and Anthropic ``messages`` calls.

    Runs in ``async_pre_call_deployment_hook``, which LiteLLM's async SDK entry points (and a Router's calls
    through them) run just before the request goes out. Register it with :func:`install`.
    """

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        """The call's kwargs with its messages compressed, or None (LiteLLM then keeps its own kwargs).

        A call LiteLLM makes to carry out another one (see :func:`bridged`) is left alone: its messages were
        compressed, once, as the caller's.
        """
        try:
            if bridged(kwargs, call_type):
                return None
            out, result = await self.compress(kwargs, wire_format(call_type))
        except Exception:
            logger.warning("headroom: passing request through", exc_info=True)
            return None
        return out if result.changed else None


def response_headers(result: EngineResult) -> dict[str, str]:
    """One request's ``x-headroom-*`` response headers: the same set every Headroom adapter sends."""
    return result.response_headers()
