"""Which LiteLLM calls Headroom compresses, and how a request dict is handed to the engine and back.

Pure functions over LiteLLM's request dict (the proxy's ``data``, the SDK's call kwargs): no LiteLLM import.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from headroom.engine.codecs import format_from_path
from headroom.engine.units import WireFormat
from headroom.proxy.config import ProxyConfig

CALL_FORMATS: dict[str, WireFormat] = {
    "completion": WireFormat.OPENAI_CHAT,
    "acompletion": WireFormat.OPENAI_CHAT,
    "anthropic_messages": WireFormat.ANTHROPIC,
    "aanthropic_messages": WireFormat.ANTHROPIC,
    "responses": WireFormat.RESPONSES,
    "aresponses": WireFormat.RESPONSES,
    "compact_responses": WireFormat.RESPONSES,
    "acompact_responses": WireFormat.RESPONSES,
}
"""LiteLLM call types (proxy route types and SDK function names, old and new) and their body formats.

The proxy passed ``completion``/``responses`` to pre-call hooks for chat and Responses up to 1.80, and
passes ``acompletion``/``aresponses`` since 1.81. ``/v1/messages`` is ``anthropic_messages`` since 1.80
(earlier proxies passed ``text_completion``, which is also the legacy ``/completions`` route, and are not
supported). ``/v1/responses/compact`` and ``litellm.acompact_responses`` are ``acompact_responses`` (a
Responses body). The SDK's deployment hook gets the function's name: ``acompletion``, ``aresponses``,
``responses`` (sync, run by its handler), ``anthropic_messages`` and ``acompact_responses`` (but where
LiteLLM's ``CallTypes`` lacks it, as in 1.94, the hook gets None and the call goes as it came). Pass-through
routes are ``pass_through_endpoint``: see :func:`passthrough_format`. Every other call type is left alone.
"""

PASS_THROUGH = "pass_through_endpoint"
"""The call type of every proxy pass-through route (``/anthropic/...``, ``/openai/...``, config.yaml's
``pass_through_endpoints``): its data is the client's body, forwarded as the hook returns it."""

MESSAGE_KEYS: tuple[str, ...] = ("messages", "system", "input")
"""The keys of a request that the engine reads; ``system`` only ever informs, it is never rewritten."""

WRITTEN_KEYS: tuple[str, ...] = ("messages", "input")
"""The keys Headroom may replace in a request. Everything else is copied through as it came."""


def call_type_name(call_type: object) -> str | None:
    """The plain string of a call type, whether LiteLLM passed a ``CallTypes`` member, a string or None."""
    if isinstance(call_type, Enum):
        value = call_type.value
        return value if isinstance(value, str) else None
    return call_type if isinstance(call_type, str) else None


def wire_format(call_type: object) -> WireFormat | None:
    """The body format of a call type Headroom compresses, or None for every other call."""
    name = call_type_name(call_type)
    return CALL_FORMATS.get(name) if name is not None else None


def passthrough_format(route: object, config: ProxyConfig) -> WireFormat | None:
    """The body format of a pass-through request, from the route the client called (LiteLLM keeps it in
    ``user_api_key_dict.request_route``): only a route that is one of ``config.paths`` (matched as a suffix,
    e.g. ``/anthropic/v1/messages``) and names an endpoint. None for every other route (``count_tokens``,
    batches, files, other providers' APIs): those bodies go on as they came."""
    if not isinstance(route, str) or not config.matches_path(route):
        return None
    return format_from_path(route)


def bridged(data: Mapping[str, Any], call_type: object) -> bool:
    """True when LiteLLM runs this call on behalf of a call in another format that Headroom compresses (a
    Responses call sent to Anthropic as a chat call, Anthropic messages sent to OpenAI as a Responses
    call): the SDK hook ran for that call already, and the request's logging object still names it."""
    outer = wire_format(getattr(data.get("litellm_logging_obj"), "call_type", None))
    return outer is not None and outer != wire_format(call_type)


def message_view(data: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a request the engine sees: only its message-bearing keys."""
    return {key: data[key] for key in MESSAGE_KEYS if key in data}


def merged(data: Mapping[str, Any], compressed: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``data`` whose message-bearing keys come from ``compressed``."""
    out = dict(data)
    for key in WRITTEN_KEYS:
        if key in compressed and key in data:
            out[key] = compressed[key]
    return out


MODE_HEADER = "x-headroom-mode"
"""A request header: ``off`` sends that request on uncompressed (the same opt-out as the ASGI middleware)."""


def opted_out(data: Mapping[str, Any]) -> bool:
    """True when the client sent ``x-headroom-mode: off`` (the proxy keeps request headers in
    ``proxy_server_request``)."""
    request = data.get("proxy_server_request")
    headers = request.get("headers") if isinstance(request, Mapping) else None
    if not isinstance(headers, Mapping):
        return False
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == MODE_HEADER:
            return isinstance(value, str) and value.strip().lower() == "off"
    return False


def without_own_headers(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without Headroom's own ``x-headroom-*`` request headers among those the proxy forwards to
    the provider (``data["headers"]``, filled when ``forward_client_headers_to_llm_api`` is on: every
    ``x-`` header goes): they are meant for Headroom. ``data`` itself when it carries none."""
    headers = data.get("headers")
    if not isinstance(headers, Mapping) or not any(_own(name) for name in headers):
        return data
    out = dict(data)
    out["headers"] = {name: value for name, value in headers.items() if not _own(name)}
    return out


def _own(name: object) -> bool:
    return isinstance(name, str) and name.lower().startswith("x-headroom-")


def call_id(data: Mapping[str, Any]) -> str | None:
    """LiteLLM's id for one request (set by the proxy before its pre-call hooks), if any."""
    value = data.get("litellm_call_id")
    if isinstance(value, str) and value:
        return value
    logging_obj = data.get("litellm_logging_obj")
    value = getattr(logging_obj, "litellm_call_id", None)
    return value if isinstance(value, str) and value else None
