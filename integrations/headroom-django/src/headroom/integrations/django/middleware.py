"""``HeadroomMiddleware``: compresses the body of LLM requests before the view reads it (WSGI or ASGI).

Add ``"headroom.integrations.django.middleware.HeadroomMiddleware"`` to ``MIDDLEWARE``, above any
middleware that reads the request body. Sync under WSGI (``Engine.compress``), async under ASGI
(``Engine.acompress``); Django picks the mode from the chain around it. It follows the rules of
:class:`headroom.integrations.asgi.HeadroomASGIMiddleware`: POSTs to ``config.paths`` with a JSON (or no)
content type, ``x-headroom-mode: off`` to opt out per request, ``x-headroom-*`` response headers. The
tokens those headers need and the request did not (``EngineResult.uncounted``) are counted while the view
runs, in a worker thread, when they are long: in the event loop's executor in async mode, in a small
per-process pool (:data:`COUNT_WORKERS` threads) in sync mode.

How the body is replaced. Django has no public setter for ``request.body``. The middleware reads the body
through the public property, so Django itself caches it in ``request._body`` and re-points
``request._stream`` at a ``BytesIO`` of it (what ``read()``, ``readline()``, iteration and the upload
parsers read). It then sets those same two attributes to the compressed bytes, updates
``META["CONTENT_LENGTH"]``, removes any ``Transfer-Encoding`` and drops the cached ``request.headers``.
These attributes have kept their names and meaning since Django 1.x and are what most body-rewriting
middleware use; building a new request object instead would lose what earlier middleware attached to it
(user, session...). The middleware checks that Django cached the body where it expects and otherwise passes
the request on unchanged (fail-open), so a future Django cannot make it hand the view a wrong body.

What it passes on unread: other methods and paths, other content types, content-encoded bodies (under
ASGI, :func:`headroom.integrations.django.wrap` decodes those), requests the Headroom ASGI middleware has
already seen, and bodies over ``limits.max_body_bytes`` or over Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(the view then fails exactly as it would without Headroom: ``RequestDataTooBig``, a 400).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponseBase
from django.http.request import RawPostDataException

from headroom.engine import Engine, EngineResult
from headroom.integrations.asgi import request_record
from headroom.integrations.asgi.middleware import COUNT_MEANWHILE_CHARS
from headroom.integrations.django.conf import get_engine

logger = logging.getLogger("headroom.django")

META_PREFIX = "HTTP_X_HEADROOM_"
HEADER_PREFIX = "x-headroom-"

COUNT_WORKERS = min(4, os.cpu_count() or 1)
"""Threads counting sync requests' pending tokens while their views run (per process)."""


class HeadroomMiddleware:
    """Compress LLM request bodies for the view; see the module docstring."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.engine: Engine = get_engine()  # an invalid settings.HEADROOM fails here, at start-up
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        if not self.intercepts(request):
            return self.get_response(request)
        result = self.passed_on(request)
        if result is None:
            result = self.compress(request)
        else:
            self.engine.stats.record(result)
        if not self.engine.config.telemetry.response_headers:
            del result  # nothing is left to do after the view: hold none of the request's texts meanwhile
            return self.get_response(request)
        counting = count_meanwhile(result) if self.counts_meanwhile(result) else None
        try:
            response = self.get_response(request)
        finally:
            if counting is not None:
                counting.cancel()  # if it has not started, report() counts here (it waits for one under way)
        return self.report(response, result)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if not self.intercepts(request):
            response: HttpResponseBase = await self.get_response(request)
            return response
        result = self.passed_on(request)
        if result is None:
            result = await self.acompress(request)
        else:
            self.engine.stats.record(result)
        if not self.engine.config.telemetry.response_headers:
            del result  # as in __call__
            return cast(HttpResponseBase, await self.get_response(request))
        counting = None
        if self.counts_meanwhile(result):
            counting = asyncio.get_running_loop().run_in_executor(None, result.count_pending)
            counting.add_done_callback(_retrieve)
        response = await self.get_response(request)
        if counting is not None:
            try:
                await counting
                await result.acount_pending(self.engine.config.limits.offload_bytes)
            except Exception:  # fail open: the response goes without the headers, not counted on the loop
                logger.warning("headroom: response sent without its headers: counting failed", exc_info=True)
                return self.report(response, None)
        return self.report(response, result)

    # compress() and acompress() hold the original body only while they run, not while the view does.

    def compress(self, request: HttpRequest) -> EngineResult:
        """Read the body, compress it, hand the view the outcome (sync mode)."""
        body = read_body(request)
        if body is None:
            return EngineResult(body=None, skipped="body_unavailable")
        result = self.engine.compress(body, path=request.path)
        apply(request, body, result)
        return result

    async def acompress(self, request: HttpRequest) -> EngineResult:
        """Read the body, compress it, hand the view the outcome (async mode)."""
        if not request.META.get("CONTENT_LENGTH") or (
            declared_length(request) >= self.engine.config.limits.offload_bytes
        ):
            # Django's ASGI handler spools large bodies to disk: read them off the event loop, and
            # chunked ones too, whose size is unknown until read.
            body = await sync_to_async(read_body, thread_sensitive=False)(request)
        else:
            body = read_body(request)
        if body is None:
            return EngineResult(body=None, skipped="body_unavailable")
        result = await self.engine.acompress(body, path=request.path)
        apply(request, body, result)
        return result

    @staticmethod
    def counts_meanwhile(result: EngineResult) -> bool:
        """Whether to count the tokens ``result`` left for later (for the response headers) in a worker
        thread while the view runs: when they are long enough to be worth the hop, as the ASGI middleware
        does. Shorter ones are counted when the headers are made."""
        return sum(len(unit.text) for unit in result.uncounted) >= COUNT_MEANWHILE_CHARS

    def intercepts(self, request: HttpRequest) -> bool:
        """A POST to an LLM path that no Headroom ASGI middleware has seen already."""
        if request.method != "POST" or not self.engine.config.matches_path(request.path):
            return False
        scope = getattr(request, "scope", None)  # ASGIRequest only
        return scope is None or request_record(scope) is None

    def passed_on(self, request: HttpRequest) -> EngineResult | None:
        """Why an intercepted request goes to the view unread (as a result), or None to compress it.

        Decided from headers alone; also removes the client's ``x-headroom-*`` request headers.
        """
        try:
            return self._passed_on(request)
        except Exception:  # fail open: a bug of ours must not cost the request
            logger.warning("headroom: passing request through after an adapter error", exc_info=True)
            return EngineResult(body=None, skipped="error")

    def _passed_on(self, request: HttpRequest) -> EngineResult | None:
        mode = request.META.get(f"{META_PREFIX}MODE", "").strip().lower()
        for key in [k for k in request.META if k.startswith(META_PREFIX)]:
            del request.META[key]
        vars(request).pop("headers", None)  # HttpHeaders is a cached_property built from META
        if mode == "off":
            return EngineResult(body=None, skipped="off")
        media, _, _params = (request.META.get("CONTENT_TYPE") or "").partition(";")
        media = media.strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            return EngineResult(body=None, skipped="content_type")
        charset = (request.content_params or {}).get("charset", "utf-8").strip('"').lower()
        if charset not in ("utf-8", "utf8"):
            return EngineResult(body=None, skipped="content_type")
        if request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower() not in ("", "identity"):
            return EngineResult(body=None, skipped="content_encoding")
        length = declared_length(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > self.engine.config.limits.max_body_bytes or (limit is not None and length > limit):
            # Over Django's limit, the view's own read raises RequestDataTooBig, as without Headroom.
            return EngineResult(body=None, skipped="too_large")
        return None

    def report(self, response: HttpResponseBase, result: EngineResult | None) -> HttpResponseBase:
        """Set the ``x-headroom-*`` headers (``telemetry.response_headers``) in place of any the view set,
        as the ASGI middleware does; none at all when ``result`` is None or making or setting them fails."""
        if not self.engine.config.telemetry.response_headers:
            return response
        drop_own_headers(response)
        if result is None:
            return response
        try:
            for name, value in response_headers(result).items():
                response.headers[name] = value
        except Exception:  # fail open: the view's response goes as it is (e.g. a value Django refuses)
            drop_own_headers(response)
            logger.warning(
                "headroom: response sent without its headers after an adapter error", exc_info=True
            )
        return response


def _retrieve(counting: asyncio.Future[None]) -> None:
    """Mark a count's error as seen when the view failed before anyone awaited it (it is logged then)."""
    if not counting.cancelled() and counting.exception() is not None:
        logger.debug("headroom: count failed", exc_info=counting.exception())


_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A fork while another thread held the lock (making the pool) must not leave the child stuck on it."""
    global _pool_lock
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def count_meanwhile(result: EngineResult) -> Future[None] | None:
    """``result.count_pending()`` in one of this process's :data:`COUNT_WORKERS` threads, or None if they
    take no more work (the interpreter is exiting): then the headers count on the request's thread.

    Safe to race with the request's thread: ``count_pending`` holds the result's lock, so whoever comes
    second waits for the count under way or finds nothing left; a failed count loses nothing and is made
    again when the headers are.
    """
    global _pool
    pool = _pool
    if pool is None or pool[0] != os.getpid():  # a pool made before a fork has no threads in the child
        with _pool_lock:
            if _pool is None or _pool[0] != os.getpid():
                _pool = (os.getpid(), ThreadPoolExecutor(COUNT_WORKERS, thread_name_prefix="headroom-count"))
            pool = _pool
    try:
        return pool[1].submit(result.count_pending)
    except RuntimeError:
        return None


def drop_own_headers(response: HttpResponseBase) -> None:
    """Remove every ``x-headroom-*`` header from ``response``."""
    for name in [name for name in response.headers if name.lower().startswith(HEADER_PREFIX)]:
        del response.headers[name]


def declared_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def read_body(request: HttpRequest) -> bytes | None:
    """``request.body``, or None when it cannot be read here without changing what the view would see."""
    try:
        body: bytes = request.body
    except RequestDataTooBig:
        # When Django rejects a body before reading it (Content-Length, or the size of the spooled ASGI
        # body), the request stays as it was and the view's own read raises the same error. Had Django
        # cached a truncated read instead, the view would not see the error: raise it here, where Django
        # turns it into the same 400.
        try:
            request.body  # noqa: B018
        except RequestDataTooBig:
            return None
        raise
    except RawPostDataException:
        return None  # an earlier middleware streamed the body: nothing to replace
    return body


def apply(request: HttpRequest, original: bytes, result: EngineResult) -> None:
    """Hand the view the compressed body (see the module docstring for how and why this way)."""
    if not result.changed or not isinstance(result.body, bytes):
        return
    if vars(request).get("_body") is not original:
        logger.warning("headroom: this Django does not cache request.body as expected; body left unchanged")
        return
    request._body = result.body
    request._stream = io.BytesIO(result.body)
    request.META["CONTENT_LENGTH"] = str(len(result.body))
    request.META.pop("HTTP_TRANSFER_ENCODING", None)  # a chunked body is now one of known length
    vars(request).pop("headers", None)


def response_headers(result: EngineResult) -> dict[str, str]:
    """The ``x-headroom-*`` headers describing one result, as every Headroom adapter sends them."""
    return result.response_headers()


__all__ = ["HeadroomMiddleware", "response_headers"]
