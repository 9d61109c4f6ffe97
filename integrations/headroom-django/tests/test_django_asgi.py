"""get_asgi_application() and wrap(), driven with asgiref's ApplicationCommunicator."""

from __future__ import annotations

import asyncio
import gzip
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.routing import ProtocolTypeRouter
from django.conf import settings
from django.core.asgi import get_asgi_application as django_asgi_application
from django.test import override_settings
from headroom_django_testing import views
from headroom_django_testing.asgi import http_scope, request
from headroom_django_testing.bodies import CHAT, all_formats, build_log, chat, encode
from headroom_django_testing.squeeze import squeeze_config

from headroom.engine import Engine, EngineResult
from headroom.integrations.asgi import HeadroomASGIMiddleware
from headroom.integrations.django import get_asgi_application, get_engine, wrap

FORMATS = all_formats()
IDS = ["openai-chat", "anthropic", "responses"]


def expected(body: bytes, path: str) -> bytes:
    result = Engine(squeeze_config()).compress(body, path=path)
    assert result.changed
    assert isinstance(result.body, bytes)
    return result.body


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.mark.parametrize(("path", "body"), FORMATS, ids=IDS)
def test_wrapped_django_view_sees_the_compressed_body(path: str, body: bytes) -> None:
    app = get_asgi_application()
    assert isinstance(app, HeadroomASGIMiddleware)
    engine = get_engine()
    before = engine.stats.snapshot()["requests"]
    reply = run(request(app, path, body, chunks=4))
    assert reply.status == 200
    want = expected(body, path)
    assert reply.body == want
    assert len(want) < len(body)
    assert reply.headers["x-view-content-length"] == str(len(want))
    assert int(reply.headers["x-headroom-tokens-saved"]) > 0
    assert reply.headers["x-headroom-transforms"] == "test-squeeze"
    # The same engine served it once: the HeadroomMiddleware in MIDDLEWARE saw it was done and stood aside.
    assert app.engine is engine
    assert engine.stats.snapshot()["requests"] == before + 1
    assert [k for k, _ in reply.raw_headers].count(b"x-headroom-tokens-saved") == 1


def test_wrapped_app_decodes_gzip_bodies_before_django_sees_them() -> None:
    body = encode(chat(build_log()))
    reply = run(
        request(get_asgi_application(), CHAT, gzip.compress(body), headers=[(b"content-encoding", b"gzip")])
    )
    assert reply.body == expected(body, CHAT)


def test_other_routes_static_files_and_gets_pass_untouched() -> None:
    app = get_asgi_application()
    body = encode(chat(build_log()))
    note = run(request(app, "/notes", body, chunks=3))
    assert note.body == body
    assert not [h for h in note.headers if h.startswith("x-headroom-")]
    with warnings.catch_warnings():  # Django: FileResponse is a sync iterator under ASGI
        warnings.filterwarnings("ignore", "StreamingHttpResponse must consume synchronous iterators")
        page = run(request(app, "/static/app.json", method="GET", content_type=None))
    assert page.status == 200
    assert page.body == (Path(settings.STATIC_DIR) / "app.json").read_bytes()
    got = run(request(app, CHAT, method="GET", content_type=None))
    assert (got.status, got.body) == (200, b"")


def test_plain_django_asgi_with_the_middleware_compresses_in_async_mode() -> None:
    body = encode(chat(build_log()))
    reply = run(request(django_asgi_application(), "/async" + CHAT, body, chunks=5))
    assert reply.body == expected(body, CHAT)
    assert "x-headroom-skipped" not in reply.headers


@pytest.mark.parametrize("wrapped", [True, False], ids=["get_asgi_application", "MIDDLEWARE"])
def test_chunked_body_replaced_leaves_no_stale_transfer_encoding(wrapped: bool) -> None:
    body = encode(chat(build_log()))
    app = get_asgi_application() if wrapped else django_asgi_application()
    chunked = [(b"transfer-encoding", b"chunked")]
    reply = run(request(app, CHAT, body, chunks=3, content_length=False, headers=chunked))
    want = expected(body, CHAT)
    assert reply.body == want
    # the view is told the length of what it reads, and nothing that says otherwise
    assert reply.headers["x-view-content-length"] == str(len(want))
    assert reply.headers["x-view-transfer-encoding"] == ""


@pytest.mark.parametrize("wrapped", [True, False], ids=["get_asgi_application", "MIDDLEWARE"])
def test_streamed_response_reaches_the_client_as_it_is_produced(wrapped: bool) -> None:
    body = encode(chat(build_log()))
    app = get_asgi_application() if wrapped else django_asgi_application()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def talk() -> tuple[dict[str, Any], bytes, bool, bytes]:
        views.RELEASE.clear()
        communicator = ApplicationCommunicator(app, http_scope("/stream" + CHAT, headers=headers))
        await communicator.send_input({"type": "http.request", "body": body})
        start = await communicator.receive_output(10)
        first = await communicator.receive_output(10)
        released = views.RELEASE.is_set()
        views.RELEASE.set()
        rest = b""
        while True:
            message = await communicator.receive_output(10)
            rest += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(10)
        return start, first["body"], released, rest

    start, first, released, rest = run(talk())
    assert first == b"data: %d\n\n" % len(expected(body, CHAT))  # the view read the compressed body
    assert not released  # the first event came while the view was still waiting to send the last
    assert rest == b"data: [DONE]\n\n"
    head = {bytes(k).decode().lower(): bytes(v).decode() for k, v in start["headers"]}
    assert head["content-type"] == "text/event-stream"
    assert int(head["x-headroom-tokens-saved"]) > 0
    assert "content-length" not in head


def test_middleware_reads_a_chunked_body_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import headroom.integrations.django.middleware as mod

    real_read_body = mod.read_body
    on_loop: list[bool] = []

    def spy(req: Any) -> bytes | None:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # a worker thread has no running loop
            on_loop.append(False)
        return real_read_body(req)

    monkeypatch.setattr(mod, "read_body", spy)
    body = encode(chat(build_log()))
    assert len(body) >= get_engine().config.limits.offload_bytes
    # No Content-Length: Django spools the body (to disk past FILE_UPLOAD_MAX_MEMORY_SIZE) and its size is
    # unknown until read, so it is read in a worker thread like any declared-large body.
    reply = run(request(django_asgi_application(), "/async" + CHAT, body, chunks=3, content_length=False))
    assert reply.body == expected(body, CHAT)
    assert on_loop == [False]


@pytest.mark.parametrize("wrapped", [True, False], ids=["get_asgi_application", "MIDDLEWARE"])
@pytest.mark.parametrize("content_length", [True, False], ids=["content-length", "chunked"])
def test_body_over_djangos_limit_fails_the_way_django_does(wrapped: bool, content_length: bool) -> None:
    body = encode(chat(build_log()))
    assert len(expected(body, CHAT)) < 20_000 < len(body)  # it would fit once compressed
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=20_000):
        app = get_asgi_application() if wrapped else django_asgi_application()
        ours = run(request(app, CHAT, body, chunks=3, content_length=content_length))
        with override_settings(MIDDLEWARE=[]):
            alone = run(
                request(django_asgi_application(), CHAT, body, chunks=3, content_length=content_length)
            )
    assert alone.status in (400, 413)
    assert (ours.status, ours.body) == (alone.status, alone.body)


def test_middleware_counts_what_the_request_left_for_later_while_the_view_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from headroom_django_testing import urls

    count_started = threading.Event()
    counted_on_loop: list[bool] = []
    real_count_pending = EngineResult.count_pending

    def spy(self: EngineResult, rewritten_only: bool = False) -> None:
        if self.uncounted:
            try:
                asyncio.get_running_loop()
                counted_on_loop.append(True)
            except RuntimeError:  # a worker thread has no running loop
                counted_on_loop.append(False)
            count_started.set()
        real_count_pending(self, rewritten_only)

    async def waits_for_the_count(request: Any) -> Any:
        # the view answers only once the count is under way: it does not wait for the view
        assert await asyncio.to_thread(count_started.wait, 10)
        return await views.aecho(request)

    pattern = next(p for p in urls.urlpatterns if str(p.pattern) == "async/v1/chat/completions")
    monkeypatch.setattr(pattern, "callback", waits_for_the_count)
    monkeypatch.setattr(EngineResult, "count_pending", spy)
    body = encode(chat(build_log()))
    reply = run(request(django_asgi_application(), "/async" + CHAT, body))
    monkeypatch.undo()
    assert reply.body == expected(body, CHAT)
    assert counted_on_loop[:1] == [False]
    result = Engine(squeeze_config()).compress(body, path=CHAT)
    assert reply.headers["x-headroom-tokens-before"] == str(result.tokens_before)


def test_middleware_sends_no_headers_when_the_count_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def hiccup(self: EngineResult, rewritten_only: bool = False) -> None:
        if self.uncounted:
            raise RuntimeError("tokenizer hiccup")

    monkeypatch.setattr(EngineResult, "_count_pending", hiccup)
    body = encode(chat(build_log() + "\nINFO a line no other test sends"))  # not in the shared memo
    reply = run(request(django_asgi_application(), "/async" + CHAT, body))
    monkeypatch.undo()
    assert reply.status == 200
    assert reply.body == expected(body, CHAT)  # the view got the compressed body all the same
    assert "x-headroom-tokens-before" not in reply.headers  # fail open: no headers, no partial count


def test_explicit_config_is_fitted_to_djangos_limit() -> None:
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=5000):
        app = wrap(django_asgi_application(), config=squeeze_config())
    assert isinstance(app, HeadroomASGIMiddleware)
    assert app.config.limits.max_body_bytes == 5000
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=None):
        assert get_engine().config.limits.max_body_bytes == squeeze_config().limits.max_body_bytes


def test_channels_router_wrapped_whole_or_by_its_http_entry() -> None:
    body = encode(chat(build_log()))
    django_app = django_asgi_application()
    for app in (
        wrap(ProtocolTypeRouter({"http": django_app})),
        ProtocolTypeRouter({"http": wrap(django_app)}),
    ):
        assert run(request(app, CHAT, body)).body == expected(body, CHAT)


async def echo_socket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    message = await receive()
    await send({"type": "websocket.send", "text": message["text"]})
    await send({"type": "websocket.close", "code": 1000})


def test_websockets_pass_through_a_wrapped_router() -> None:
    app = wrap(ProtocolTypeRouter({"http": django_asgi_application(), "websocket": echo_socket}))
    text = build_log(50)

    async def talk() -> list[dict[str, Any]]:
        scope = {"type": "websocket", "path": CHAT, "headers": [], "query_string": b"", "subprotocols": []}
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "websocket.connect"})
        out = [await communicator.receive_output(5)]
        await communicator.send_input({"type": "websocket.receive", "text": text})
        out += [await communicator.receive_output(5), await communicator.receive_output(5)]
        await communicator.wait(5)
        return out

    accept, echoed, close = run(talk())
    assert accept["type"] == "websocket.accept"
    assert echoed == {"type": "websocket.send", "text": text}
    assert close["type"] == "websocket.close"


def test_invalid_setting_stops_get_asgi_application() -> None:
    from headroom.integrations.django import HeadroomConfigError

    with (
        override_settings(HEADROOM={"paths": [7]}),
        pytest.raises(HeadroomConfigError, match=r"\['paths'\]\[0\]"),
    ):
        get_asgi_application()


SYNC_BELOW = [
    "headroom.integrations.django.middleware.HeadroomMiddleware",
    "headroom_django_testing.middleware.SyncOnly",
]


@pytest.mark.parametrize("wrapped", [True, False], ids=["get_asgi_application", "MIDDLEWARE"])
def test_middleware_in_sync_mode_under_asgi(wrapped: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # A sync-only middleware below it puts HeadroomMiddleware in sync mode inside Django's ASGI handler:
    # it compresses with Engine.compress in Django's request thread, or stands aside for the ASGI wrapper.
    body = encode(chat(build_log() + f"\nINFO sync mode under ASGI, wrapped={wrapped}"))
    with override_settings(MIDDLEWARE=SYNC_BELOW):
        app = get_asgi_application() if wrapped else django_asgi_application()
        if not wrapped:

            async def refuse(*args: Any, **kwargs: Any) -> Any:
                raise AssertionError("Engine.acompress must not run in sync mode")

            monkeypatch.setattr(Engine, "acompress", refuse)
        engine = get_engine()
        before = engine.stats.snapshot()["requests"]
        reply = run(request(app, CHAT, body, chunks=2))
        monkeypatch.undo()
        assert engine.stats.snapshot()["requests"] == before + 1  # one pass, whichever did it
    want = Engine(squeeze_config()).compress(body, path=CHAT)
    assert reply.status == 200
    assert reply.body == want.body
    assert reply.headers["x-view-content-length"] == str(len(want.body))
    assert reply.headers["x-headroom-tokens-saved"] == str(want.tokens_saved)
    assert [k for k, _ in reply.raw_headers].count(b"x-headroom-tokens-saved") == 1
