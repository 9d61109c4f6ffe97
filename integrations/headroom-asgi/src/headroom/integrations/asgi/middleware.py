"""HeadroomASGIMiddleware: compresses LLM request bodies on their way into any ASGI app.

The middleware holds only its configuration and engine; each intercepted request gets its own
:class:`_Responder`. Everything that is not a POST to a configured LLM path goes straight to the app.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from headroom.engine import Engine, EngineResult
from headroom.integrations.asgi._decode import DecodeError, TooLarge, decode, supported_encodings
from headroom.integrations.asgi._types import ASGIApp, Message, Receive, Scope, Send
from headroom.proxy.config import ProxyConfig

logger = logging.getLogger("headroom")

STATE_KEY = "headroom"
"""Key of the per-request :class:`RequestRecord` in ``scope["state"]`` (``request.state.headroom``)."""

COUNT_MEANWHILE_CHARS = 4096
"""Texts a request left to count at least this long are counted in a worker thread while the app runs;
shorter ones cost less than the thread hop, and are counted when the response starts."""

ENGINE_KEY = "headroom_engine"
"""Key of the engine in ``scope["state"]`` (``request.state.headroom_engine``), left for every HTTP request
the middleware sees, so a route on a mounted sub-app finds the engine of the middleware around its parent."""

HEADER_PREFIX = b"x-headroom-"
MODE_HEADER = b"x-headroom-mode"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """What Headroom did to one request, left in ``scope["state"]["headroom"]`` for the app.

    Its presence also marks the request as handled, so a second Headroom middleware passes it through.
    """

    engine: Engine
    result: EngineResult

    @property
    def summary(self) -> dict[str, Any]:
        """``EngineResult.summary()``: token counts, transforms applied, skip reason. No prompt content.

        Its first read counts the long units left unchanged, here and now; async code awaits
        :meth:`asummary` instead, which counts them in a worker thread when they are long.
        """
        return self.result.summary()

    async def asummary(self) -> dict[str, Any]:
        """:attr:`summary` for async code: the event loop counts no more than ``limits.offload_bytes``."""
        await self.result.acount_pending(self.engine.config.limits.offload_bytes)
        return self.result.summary()

    @property
    def skipped(self) -> str | None:
        """Why nothing changed (``EngineResult.skipped``), or None; counts nothing."""
        return self.result.skipped


class HeadroomASGIMiddleware:
    """Pure ASGI middleware: compresses POSTs to ``config.paths`` through :meth:`Engine.acompress`.

    ``config`` defaults to :meth:`ProxyConfig.from_env`. Pass ``engine`` instead to share one engine (its
    memo, stats and runtime switches) with other code, e.g. the FastAPI stats routes.
    """

    def __init__(
        self, app: ASGIApp, config: ProxyConfig | None = None, *, engine: Engine | None = None
    ) -> None:
        if engine is not None and config is not None and engine.config != config:
            raise ValueError("pass either config or engine, or an engine built from that config")
        self.app = app
        self.engine = engine if engine is not None else Engine(config or ProxyConfig.from_env())
        self.config = self.engine.config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.get("state")
        if not isinstance(state, dict):  # the server keeps no state: give this request its own
            state = scope["state"] = {}
        state.setdefault(ENGINE_KEY, self.engine)  # the outermost Headroom middleware's
        if scope["method"] != "POST" or not self._intercepts(scope):
            await self.app(scope, receive, send)
            return
        if isinstance(state.get(STATE_KEY), RequestRecord):
            await self.app(scope, receive, send)  # an outer Headroom middleware has done the work
            return
        await _Responder(self.app, self.engine, scope, receive, send).run()

    def _intercepts(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if self.config.matches_path(path):
            return True
        root: str = scope.get("root_path", "")
        return bool(root) and not path.startswith(root) and self.config.matches_path(root + path)

    # -- runtime control -------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The engine's running totals (``engine.stats.snapshot()``)."""
        return self.engine.stats.snapshot()

    def set_transform_enabled(self, name: str, enabled: bool) -> None:
        """Turn a configured transform on or off for later requests, without a restart."""
        self.engine.set_transform_enabled(name, enabled)


class _Responder:
    """One intercepted request: read the body, compress it, hand the app what it should see."""

    def __init__(self, app: ASGIApp, engine: Engine, scope: Scope, receive: Receive, send: Send) -> None:
        self.app = app
        self.engine = engine
        self.config = engine.config
        self.scope = scope
        self.receive = receive
        self.send = send
        self.result: EngineResult | None = None
        self.pending: list[Message] = []

    async def run(self) -> None:
        headers: list[tuple[bytes, bytes]] = self.scope.get("headers", [])
        own = {k.lower(): v for k, v in headers if k.lower().startswith(HEADER_PREFIX)}
        if own:
            headers = [(k, v) for k, v in headers if not k.lower().startswith(HEADER_PREFIX)]
        mode = own.get(MODE_HEADER, b"").strip().lower()
        skip = "off" if mode == b"off" else _unsupported(headers, self.config.limits.max_body_bytes)
        if skip is not None:
            await self._forward(headers, skip, self.receive)
            return

        read = await self._read()
        if read is None:  # the client went away
            return
        raw, more = read
        del read
        if more or self.pending:  # too large, or unexpected messages: replay what we read, then delegate
            await self._forward(headers, "error" if self.pending else "too_large", self._replay(raw, more))
            return
        forwarded = await self._compress_failing_open(raw, headers)
        del raw  # the app runs below: a compressed request must not keep its original alive meanwhile
        if forwarded is None:  # the client went away while we compressed
            return
        body, headers = forwarded
        receive = self._replay(body, False)
        del body, forwarded
        await self._call_app(headers, receive)

    async def _read(self) -> tuple[bytes, bool] | None:
        """The body, up to just past ``max_body_bytes``, and whether more follows; None on a disconnect.

        A message other than ``http.request`` stops the read and waits in ``pending``, to be replayed.
        """
        chunks: list[bytes] = []
        size = 0
        limit = self.config.limits.max_body_bytes
        more = True
        while more:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self._record(EngineResult(body=None, skipped="disconnected"))
                return None
            if message["type"] != "http.request":  # not ours to interpret: replay it as it came
                self.pending.append(message)
                break
            chunk: bytes = message.get("body", b"")
            more = bool(message.get("more_body", False))
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
            if size > limit:
                break
        return b"".join(chunks), more

    async def _compress_failing_open(
        self, raw: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[bytes, list[tuple[bytes, bytes]]] | None:
        """:meth:`_compress`, or the request as it came after an error of ours."""
        try:
            return await self._compress(raw, headers)
        except Exception:  # fail open: a bug of ours must not cost the request
            logger.warning("headroom: passing request through after an adapter error", exc_info=True)
            self._record(EngineResult(body=raw, skipped="error"))
            return raw, headers

    async def _compress(
        self, raw: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[bytes, list[tuple[bytes, bytes]]] | None:
        """The body and headers to forward (the originals unless the engine changed something)."""
        encoding = _header(headers, b"content-encoding").strip().lower()
        try:
            plain = raw
            if encoding and encoding != "identity":
                plain = await self._decode(raw, encoding)
        except TooLarge:
            self._record(EngineResult(body=raw, skipped="decoded_too_large"))
            return raw, headers
        except DecodeError:
            self._record(EngineResult(body=raw, skipped="content_encoding"))
            return raw, headers

        if len(plain) < self.config.limits.offload_bytes:
            self.result = await self.engine.acompress(plain, path=self._path())
        else:
            self.result = await self._compress_watching(plain)
            if self.result is None:
                self._record(EngineResult(body=None, skipped="disconnected"))
                return None
        if not self.result.changed or not isinstance(self.result.body, bytes):
            return raw, headers
        body = self.result.body
        drop = {b"content-length", b"content-encoding", b"transfer-encoding"}
        headers = [(k, v) for k, v in headers if k.lower() not in drop]
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
        return body, headers

    async def _decode(self, raw: bytes, encoding: str) -> bytes:
        """``raw`` decoded: the event loop decodes at most ``offload_bytes``, a worker thread the rest.

        The output, not the input, is what costs: a few kilobytes of gzip or zstd can decode to megabytes.
        """
        limits = self.config.limits
        cap = limits.max_decoded_bytes
        small = min(cap, limits.offload_bytes)
        if len(raw) < small:
            try:
                return decode(raw, encoding, small)
            except TooLarge:
                if small == cap:
                    raise
        return await anyio.to_thread.run_sync(decode, raw, encoding, cap)

    async def _compress_watching(self, plain: bytes) -> EngineResult | None:
        """Compress in the engine's worker thread; abandon it if the client disconnects meanwhile."""
        result: EngineResult | None = None
        disconnected = False
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                nonlocal disconnected
                message = await self.receive()
                if message["type"] == "http.disconnect":
                    disconnected = True
                    tg.cancel_scope.cancel()
                else:
                    self.pending.append(message)

            tg.start_soon(watch)
            result = await self.engine.acompress(plain, path=self._path())
            tg.cancel_scope.cancel()
        return None if disconnected else result

    def _path(self) -> str:
        path: str = self.scope["path"]
        root: str = self.scope.get("root_path", "")
        return path if not root or path.startswith(root) else root + path

    def _replay(self, body: bytes, more_body: bool) -> Receive:
        """A receive that gives the app ``body`` once, then anything held back, then the server's own."""
        queue: list[Message] = [{"type": "http.request", "body": body, "more_body": more_body}, *self.pending]
        self.pending = []
        server_receive = self.receive

        async def receive() -> Message:
            if queue:
                return queue.pop(0)
            return await server_receive()

        return receive

    async def _forward(self, headers: list[tuple[bytes, bytes]], skipped: str, receive: Receive) -> None:
        """Pass the request on uncompressed."""
        self.result = EngineResult(body=None, skipped=skipped)
        self.engine.stats.record(self.result)
        await self._call_app(headers, receive)

    def _record(self, result: EngineResult) -> None:
        self.result = result
        self.engine.stats.record(result)

    async def _call_app(self, headers: list[tuple[bytes, bytes]], receive: Receive) -> None:
        result = self.result if self.result is not None else EngineResult(body=None, skipped="error")
        scope = self.scope  # changed in place, as Starlette's own layers do, so outer layers see the request
        if headers is not scope.get("headers"):
            scope["headers"] = headers
        state = scope.get("state")
        if not isinstance(state, dict):  # an inner layer replaced it
            state = scope["state"] = {}
        state[STATE_KEY] = RequestRecord(self.engine, result)
        if not self.config.telemetry.response_headers:
            await self.app(scope, receive, self.send)
        elif sum(len(unit.text) for unit in result.uncounted) >= COUNT_MEANWHILE_CHARS:
            await self._call_app_counting(result, receive)
        else:
            await self.app(scope, receive, _with_headers(self.send, result, self.config.limits.offload_bytes))

    async def _call_app_counting(self, result: EngineResult, receive: Receive) -> None:
        """Run the app while a worker thread counts the tokens the request left for later (for the
        response headers): the request goes on at once, and the response start waits for the count only
        if the app answers first. Whatever the app raises reaches the server as raised, at once (the count
        is abandoned: it holds its own lock, and a later reader waits for it)."""
        counted = anyio.Event()

        async def count() -> None:
            try:
                await anyio.to_thread.run_sync(result.count_pending, abandon_on_cancel=True)
            except Exception:  # the response start counts again, and fails open there
                logger.warning("headroom: could not count the request's tokens", exc_info=True)
            finally:
                counted.set()

        failure: BaseException | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(count)
            send = _with_headers(self.send, result, self.config.limits.offload_bytes, counted)
            try:
                await self.app(self.scope, receive, send)
            except anyio.get_cancelled_exc_class():
                raise  # the task group cancels the count and lets this through as it is
            except BaseException as exc:  # raised below, outside the task group, which would wrap it
                failure = exc
                tg.cancel_scope.cancel()
        if failure is not None:
            raise failure


def _unsupported(headers: list[tuple[bytes, bytes]], limit: int) -> str | None:
    """Why a request is passed on without reading its body, or None to read it."""
    ctype = _header(headers, b"content-type")
    media, _, params = ctype.partition(";")
    media = media.strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        return "content_type"
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return "content_type"
    encoding = _header(headers, b"content-encoding").strip().lower()
    if encoding and encoding != "identity" and encoding not in supported_encodings():
        return "content_encoding"
    length = _header(headers, b"content-length").strip()
    if length.isdigit() and int(length) > limit:
        return "too_large"
    return None


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _with_headers(
    send: Send, result: EngineResult, offload_chars: int, counted: anyio.Event | None = None
) -> Send:
    """``send`` with Headroom's headers set on the response start; every other message goes as it is.

    The headers are made then, once the request has gone upstream: the tokens the request did not need
    counted (units left unchanged, the rest of a rewritten unit's count) are counted off the request's
    path, while the app runs (``counted`` is set then) or here (in a worker thread when they are large).
    Should making them fail, the response goes without them (fail-open).
    """

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            try:
                if counted is not None:
                    await counted.wait()
                await result.acount_pending(offload_chars)
                extra = [
                    (k.encode(), v.encode("latin-1", "replace")) for k, v in result.response_headers().items()
                ]
            except Exception:
                logger.warning(
                    "headroom: response sent without its headers after an adapter error", exc_info=True
                )
                extra = []
            headers = [
                (k, v) for k, v in message.get("headers", ()) if not k.lower().startswith(HEADER_PREFIX)
            ]
            message = {**message, "headers": [*headers, *extra]}
        await send(message)

    return wrapped
