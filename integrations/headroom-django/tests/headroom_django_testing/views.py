"""Views that show what they received."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

RELEASE = threading.Event()
"""Lets :func:`stream` send its last event; a test sets it once it has the first."""


def echo(request: HttpRequest) -> HttpResponse:
    """Answers with the exact body the view read, and the Content-Length and Transfer-Encoding it was told."""
    body = request.body
    response = HttpResponse(body, content_type="application/octet-stream")
    response["x-view-content-length"] = request.headers.get("content-length", "")
    response["x-view-transfer-encoding"] = request.headers.get("transfer-encoding", "")
    response["x-view-stream-sha256"] = hashlib.sha256(body).hexdigest()
    return response


exempt_echo = csrf_exempt(echo)
""":func:`echo` for API clients: exempt from CSRF checks, as API views are."""


def relayed(request: HttpRequest) -> HttpResponse:
    """:func:`echo`, relaying ``x-headroom-*`` headers as a gateway in front of another Headroom would."""
    response = echo(request)
    response["X-Headroom-Skipped"] = "upstream"
    response["X-Headroom-Tokens-Saved"] = "999"
    return response


async def aecho(request: HttpRequest) -> HttpResponse:
    """:func:`echo` as an async view; reads through ``request.read()`` (the stream) this time."""
    body = request.read()
    response = HttpResponse(body, content_type="application/octet-stream")
    response["x-view-content-length"] = request.headers.get("content-length", "")
    return response


def handles_too_big(request: HttpRequest) -> HttpResponse:
    """A view that answers an oversized body itself (413), as some APIs do."""
    try:
        body = request.body
    except RequestDataTooBig:
        return HttpResponse("too big, said the view", status=413)
    return HttpResponse(body, content_type="application/octet-stream")


async def stream(request: HttpRequest) -> StreamingHttpResponse:
    """Server-sent events: the first at once, the last only when :data:`RELEASE` is set."""

    async def events() -> AsyncIterator[bytes]:
        yield b"data: %d\n\n" % len(request.body)
        await asyncio.to_thread(RELEASE.wait, 5)
        yield b"data: [DONE]\n\n"

    return StreamingHttpResponse(events(), content_type="text/event-stream")
