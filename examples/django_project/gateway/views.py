"""The gateway: forwards LLM requests, as the view reads them (compressed by Headroom), to the provider."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from headroom.integrations.django import get_engine

FORWARDED = (
    "authorization",
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "openai-organization",
    "openai-project",
    "content-type",
    "accept",
)


async def forward(request: HttpRequest, route: str) -> HttpResponse | StreamingHttpResponse:
    """POST the body to the provider of ``route``; stream its answer back (under ASGI) or relay it whole."""
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    base = settings.GATEWAY_UPSTREAM or settings.PROVIDERS[route]
    headers = {name: value for name, value in request.headers.items() if name.lower() in FORWARDED}
    client = httpx.AsyncClient(timeout=httpx.Timeout(600, connect=10))
    outgoing = client.build_request("POST", base.rstrip("/") + route, content=request.body, headers=headers)
    streaming = isinstance(request, ASGIRequest)  # under WSGI, Django cannot stream an async iterator
    try:
        upstream = await client.send(outgoing, stream=streaming)
    except httpx.HTTPError as exc:
        await client.aclose()
        return JsonResponse({"error": f"upstream unreachable: {type(exc).__name__}"}, status=502)
    content_type = upstream.headers.get("content-type")
    if not streaming:
        await client.aclose()
        return HttpResponse(upstream.content, status=upstream.status_code, content_type=content_type)

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        finally:
            await upstream.aclose()
            await client.aclose()

    return StreamingHttpResponse(relay(), status=upstream.status_code, content_type=content_type)


async def chat_completions(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    return await forward(request, "/v1/chat/completions")


async def messages(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    return await forward(request, "/v1/messages")


async def responses(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    return await forward(request, "/v1/responses")


def notes(request: HttpRequest) -> HttpResponse:
    """Not an LLM route: Headroom leaves its requests alone (it echoes what it got)."""
    return HttpResponse(request.body, content_type=request.content_type or "application/octet-stream")


def stats(request: HttpRequest) -> JsonResponse:
    """Headroom's running totals for this process (requests, tokens saved, skips by reason)."""
    return JsonResponse(get_engine().stats.snapshot())


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})
