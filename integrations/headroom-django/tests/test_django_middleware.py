"""HeadroomMiddleware under Django's test client, in sync (WSGI-style) and async (ASGI-style) mode."""

from __future__ import annotations

import asyncio
import gc
import gzip
import inspect
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import AsyncClient, Client, override_settings
from headroom_django_testing import views
from headroom_django_testing.bodies import CHAT, MESSAGES, RESPONSES, all_formats, build_log, chat, encode
from headroom_django_testing.squeeze import Squeeze, squeeze_config

from headroom.engine import Engine, EngineResult
from headroom.transforms import Compressor

FORMATS = all_formats()
IDS = ["openai-chat", "anthropic", "responses"]


class Explodes(Compressor):
    name = "test-explodes"

    def compress(self, unit: Any) -> str | None:
        raise RuntimeError("boom")


def headroom_headers(response: Any) -> list[str]:
    return [h for h in response.headers if h.lower().startswith("x-headroom-")]


def expected(body: bytes, path: str) -> bytes:
    """What the engine, alone, makes of ``body``: the view must see exactly this."""
    result = Engine(squeeze_config()).compress(body, path=path)
    assert result.changed, "the test config must compress these bodies"
    assert isinstance(result.body, bytes)
    return result.body


@pytest.fixture
def forbid(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Fail the test if the named Engine entry point runs (proves which path the middleware took)."""

    def forbid_(name: str) -> None:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"Engine.{name} must not run in this mode")

        monkeypatch.setattr(Engine, name, refuse)

    return forbid_


@pytest.mark.parametrize(("path", "body"), FORMATS, ids=IDS)
def test_sync_view_reads_the_compressed_body(path: str, body: bytes, forbid: Any) -> None:
    want = expected(body, path)
    forbid("acompress")
    response = Client().post(path, body, content_type="application/json")
    assert response.status_code == 200
    assert response.content == want
    assert len(want) < len(body)
    assert response["x-view-content-length"] == str(len(want))
    assert "x-headroom-skipped" not in response
    assert int(response["x-headroom-tokens-saved"]) > 0
    assert response["x-headroom-transforms"] == "test-squeeze"


@pytest.mark.parametrize(("path", "body"), FORMATS, ids=IDS)
def test_async_view_reads_the_compressed_body(path: str, body: bytes, forbid: Any) -> None:
    want = expected(body, path)
    forbid("compress")
    response = asyncio.run(AsyncClient().post(path, body, content_type="application/json"))
    assert response.status_code == 200
    assert response.content == want
    assert "x-headroom-skipped" not in response


def test_async_view_reading_the_stream_gets_the_compressed_body() -> None:
    body = encode(chat(build_log()))
    response = asyncio.run(AsyncClient().post("/async" + CHAT, body, content_type="application/json"))
    assert response.content == expected(body, CHAT)
    assert response["x-view-content-length"] == str(len(response.content))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("path", [CHAT, "/async" + CHAT], ids=["body", "stream"])
def test_body_an_earlier_middleware_read_is_replaced(mode: str, path: str) -> None:
    body = encode(chat(build_log()))
    with override_settings(MIDDLEWARE=["headroom_django_testing.middleware.ReadsBody", *settings.MIDDLEWARE]):
        if mode == "sync":
            response = Client().post(path, body, content_type="application/json")
        else:
            response = asyncio.run(AsyncClient().post(path, body, content_type="application/json"))
    assert response.content == expected(body, CHAT)
    assert response["x-view-content-length"] == str(len(response.content))


def test_mount_prefix_is_matched() -> None:
    body = encode(chat(build_log()))
    response = Client().post("/mounted/llm" + CHAT, body, content_type="application/json")
    assert response.content == expected(body, CHAT)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_other_routes_and_static_files_pass_untouched(mode: str) -> None:
    body = encode(chat(build_log()))
    static = (Path(settings.STATIC_DIR) / "app.json").read_bytes()
    if mode == "sync":
        client = Client()
        note, page = (
            client.post("/notes", body, content_type="application/json"),
            client.get("/static/app.json"),
        )
    else:
        aclient = AsyncClient()

        async def both() -> tuple[Any, Any]:
            return await aclient.post("/notes", body, content_type="application/json"), await aclient.get(
                "/static/app.json"
            )

        note, page = asyncio.run(both())
    assert note.content == body
    assert not headroom_headers(note)
    assert b"".join(page.streaming_content) == static
    assert not headroom_headers(page)


@pytest.mark.parametrize(
    ("content_type", "extra"),
    [
        ("text/plain", {}),
        ("multipart/form-data; boundary=x", {}),
        ("application/json", {"headers": {"content-encoding": "br"}}),
    ],
    ids=["text", "multipart", "encoded"],
)
def test_bodies_it_does_not_read_pass_untouched(content_type: str, extra: dict[str, Any]) -> None:
    body = encode(chat(build_log()))
    response = Client().post(CHAT, body, content_type=content_type, **extra)
    assert response.content == body
    assert response["x-headroom-skipped"] in {"content_type", "content_encoding"}


def test_gzip_body_is_left_for_the_view_to_decode() -> None:
    body = gzip.compress(encode(chat(build_log())))
    response = Client().post(
        CHAT, body, content_type="application/json", headers={"content-encoding": "gzip"}
    )
    assert response.content == body
    assert response["x-headroom-skipped"] == "content_encoding"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_client_can_opt_out_per_request(mode: str) -> None:
    body = encode(chat(build_log()))
    headers = {"x-headroom-mode": "off", "x-headroom-other": "1"}
    if mode == "sync":
        response = Client().post(CHAT, body, content_type="application/json", headers=headers)
    else:
        response = asyncio.run(
            AsyncClient().post(CHAT, body, content_type="application/json", headers=headers)
        )
    assert response.content == body
    assert response["x-headroom-skipped"] == "off"


def test_charset_other_than_utf8_passes_untouched() -> None:
    body = encode(chat(build_log()))
    response = Client().post(CHAT, body, content_type="application/json; charset=latin-1")
    assert response.content == body
    assert response["x-headroom-skipped"] == "content_type"


NOT_UTF8 = (
    b'{"model": "m", "messages": [{"role": "tool", "tool_call_id": "c", "content": "caf\xe9 '
    + b"x" * 500
    + b'"}]}'
)


@pytest.mark.parametrize(
    "body", [b'{"messages": [', b"[1, 2]", b"", NOT_UTF8], ids=["broken", "array", "empty", "not-utf8"]
)
def test_unusable_json_passes_byte_for_byte(body: bytes) -> None:
    response = Client().post(CHAT, body, content_type="application/json")
    assert response.status_code == 200
    assert response.content == body
    assert response["x-headroom-skipped"] in {"invalid_json", "not_an_object"}


def test_nothing_to_compress_passes_byte_for_byte() -> None:
    body = b'{"model": "m",  "messages": [{"role": "user", "content": "hi"}]}'
    response = Client().post(CHAT, body, content_type="application/json")
    assert response.content == body
    assert response["x-view-content-length"] == str(len(body))


def test_get_and_disabled_pass_untouched() -> None:
    body = encode(chat(build_log()))
    assert Client().get(CHAT).content == b""
    with override_settings(HEADROOM={"enabled": False, "transforms": ["test-squeeze"]}):
        assert Client().post(CHAT, body, content_type="application/json").content == body


def test_failing_transform_fails_open() -> None:
    body = encode(chat(build_log()))
    with override_settings(HEADROOM={"transforms": [Explodes()]}):
        response = Client().post(CHAT, body, content_type="application/json")
    assert response.status_code == 200
    assert response.content == body


def test_response_headers_can_be_turned_off() -> None:
    body = encode(chat(build_log()))
    with override_settings(
        HEADROOM={"transforms": ["test-squeeze"], "telemetry": {"response_headers": False}}
    ):
        response = Client().post(CHAT, body, content_type="application/json")
    assert response.content == expected(body, CHAT)
    assert not headroom_headers(response)


# -- CSRF ----------------------------------------------------------------------------------------------


CSRF = [*settings.MIDDLEWARE, "django.middleware.csrf.CsrfViewMiddleware"]


def test_csrf_exempt_api_view_gets_the_compressed_body() -> None:
    body = encode(chat(build_log()))
    with override_settings(MIDDLEWARE=CSRF):
        response = Client(enforce_csrf_checks=True).post(
            "/exempt" + CHAT, body, content_type="application/json"
        )
    assert response.status_code == 200
    assert response.content == expected(body, CHAT)


def test_csrf_refuses_as_without_headroom() -> None:
    body = encode(chat(build_log()))
    with override_settings(MIDDLEWARE=CSRF):
        ours = Client(enforce_csrf_checks=True).post(CHAT, body, content_type="application/json")
    with override_settings(MIDDLEWARE=CSRF[1:]):
        alone = Client(enforce_csrf_checks=True).post(CHAT, body, content_type="application/json")
    assert alone.status_code == 403
    assert (ours.status_code, ours.content) == (alone.status_code, alone.content)


def test_form_post_to_an_llm_path_keeps_its_csrf_token_readable() -> None:
    # Headroom passes a form on unread, so CsrfViewMiddleware still finds the token in request.POST.
    token = "a" * 32
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = token
    with override_settings(MIDDLEWARE=CSRF):
        form = f"csrfmiddlewaretoken={token}&q=hello"
        response = client.post(CHAT, form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert response.content == form.encode()
    assert response["x-headroom-skipped"] == "content_type"


# -- Django's own size limit ----------------------------------------------------------------------------


def post_both_ways(path: str, body: bytes, mode: str) -> list[Any]:
    """The response with HeadroomMiddleware, and the response without it."""
    responses = []
    for middleware in (settings.MIDDLEWARE, []):
        with override_settings(MIDDLEWARE=middleware):
            if mode == "sync":
                responses.append(Client().post(path, body, content_type="application/json"))
            else:
                responses.append(asyncio.run(AsyncClient().post(path, body, content_type="application/json")))
    return responses


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("path", [CHAT, MESSAGES, RESPONSES])
def test_body_over_djangos_limit_fails_the_way_django_does(path: str, mode: str) -> None:
    body = encode(chat(build_log()))
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=len(body) - 1):
        ours, django_alone = post_both_ways(path, body, mode)
    assert django_alone.status_code == 400
    assert ours.status_code == django_alone.status_code
    assert ours.content == django_alone.content


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_view_that_handles_the_limit_still_gets_to(mode: str) -> None:
    body = encode(chat(build_log()))
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100):
        ours, django_alone = post_both_ways("/limited" + MESSAGES, body, mode)
    assert (ours.status_code, ours.content) == (413, b"too big, said the view")
    assert (django_alone.status_code, django_alone.content) == (413, b"too big, said the view")


def test_a_body_within_djangos_limit_and_over_ours_passes() -> None:
    body = encode(chat(build_log()))
    with override_settings(HEADROOM={"transforms": ["test-squeeze"], "limits": {"max_body_bytes": 1000}}):
        response = Client().post(CHAT, body, content_type="application/json")
    assert response.content == body


def test_engine_stats_count_the_requests() -> None:
    from headroom.integrations.django import get_engine

    with override_settings(HEADROOM={"transforms": ["test-squeeze"]}):
        Client().post(CHAT, encode(chat(build_log())), content_type="application/json")
        Client().post(CHAT, b"[]", content_type="application/json")
        stats = get_engine().stats.snapshot()
    assert stats["requests"] == 2
    assert stats["compressed"] == 1
    assert stats["tokens_saved"] > 0
    assert json.dumps(stats)


def test_adapter_error_fails_open(monkeypatch: pytest.MonkeyPatch) -> None:
    from headroom.integrations.django.middleware import HeadroomMiddleware

    def broken(self: Any, request: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(HeadroomMiddleware, "_passed_on", broken)
    body = encode(chat(build_log()))
    response = Client().post(CHAT, body, content_type="application/json")
    assert response.status_code == 200
    assert response.content == body
    assert response["x-headroom-skipped"] == "error"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_error_making_the_response_headers_fails_open(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: EngineResult) -> dict[str, str]:
        raise RuntimeError("bug")

    monkeypatch.setattr(EngineResult, "response_headers", broken)
    body = encode(chat(build_log()))
    with override_settings(HEADROOM={"transforms": ["test-squeeze"]}):
        if mode == "sync":
            response = Client().post(CHAT, body, content_type="application/json")
        else:
            response = asyncio.run(AsyncClient().post(CHAT, body, content_type="application/json"))
    assert response.status_code == 200
    assert response.content == expected(body, CHAT)
    assert not headroom_headers(response)


def post(mode: str, path: str, body: bytes) -> Any:
    if mode == "sync":
        return Client().post(path, body, content_type="application/json")
    return asyncio.run(AsyncClient().post(path, body, content_type="application/json"))


class Newline(Squeeze):
    """Compresses like Squeeze, under a name no HTTP header value can hold."""

    name = "test-squeeze\nnext"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_headers_the_view_set_give_way_to_ours(mode: str) -> None:
    body = encode(chat(build_log()))
    response = post(mode, "/relayed" + CHAT, body)
    assert response.content == expected(body, CHAT)
    assert "x-headroom-skipped" not in response  # the request was compressed: no stale reason from the view
    assert int(response["x-headroom-tokens-saved"]) == Engine(squeeze_config()).compress(body).tokens_saved
    with override_settings(
        HEADROOM={"transforms": ["test-squeeze"], "telemetry": {"response_headers": False}}
    ):
        untouched = post(mode, "/relayed" + CHAT, body)
    assert (untouched["x-headroom-skipped"], untouched["x-headroom-tokens-saved"]) == ("upstream", "999")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_header_django_refuses_fails_open(mode: str) -> None:
    body = encode(chat(build_log()))
    with override_settings(HEADROOM={"transforms": [Newline()]}):
        response = post(mode, "/relayed" + CHAT, body)
    assert response.status_code == 200
    assert response.content == expected(body, CHAT)
    assert not headroom_headers(response)  # none of ours, none of the view's, no half set


def test_invalid_setting_stops_the_middleware_from_loading() -> None:
    from headroom.integrations.django import HeadroomConfigError

    with (
        override_settings(HEADROOM={"limits": {"offload_bytes": -1}}),
        pytest.raises(HeadroomConfigError, match=r"HEADROOM\['limits'\]\['offload_bytes'\]"),
    ):
        Client().get("/notes")


# -- the sync path counts the request's pending tokens while the view runs --------------------------------


def unique_body(tag: str, repeats: int = 200) -> bytes:
    """A body no other test sends, so the shared engine's memo knows none of its counts."""
    return encode(chat(build_log(repeats) + f"\nINFO {tag}"))


def is_pool_thread() -> bool:
    return threading.current_thread().name.startswith("headroom-count")


def replace_view(monkeypatch: pytest.MonkeyPatch, view: Any) -> None:
    from headroom_django_testing import urls

    pattern = next(p for p in urls.urlpatterns if str(p.pattern) == "v1/chat/completions")
    monkeypatch.setattr(pattern, "callback", view)


def spy_counts(monkeypatch: pytest.MonkeyPatch) -> tuple[list[bool], threading.Event]:
    """Which threads counted a result's pending units (True: a count pool thread), and when one began."""
    in_pool: list[bool] = []
    started = threading.Event()
    real = EngineResult.count_pending

    def spy(self: EngineResult, rewritten_only: bool = False) -> None:
        if self.uncounted:
            in_pool.append(is_pool_thread())
            started.set()
        real(self, rewritten_only)

    monkeypatch.setattr(EngineResult, "count_pending", spy)
    return in_pool, started


def test_sync_path_counts_the_pending_tokens_while_the_view_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    in_pool, started = spy_counts(monkeypatch)

    def waits_for_the_count(request: Any) -> Any:
        # the view answers only once the count is under way elsewhere: it does not wait for the view
        assert started.wait(5), "the count did not start while the view ran"
        return views.echo(request)

    replace_view(monkeypatch, waits_for_the_count)
    body = unique_body("sync: counted meanwhile")
    response = Client().post(CHAT, body, content_type="application/json")
    monkeypatch.undo()
    assert response.content == expected(body, CHAT)
    assert in_pool[:1] == [True]
    want = Engine(squeeze_config()).compress(body, path=CHAT)
    assert response["x-headroom-tokens-before"] == str(want.tokens_before)
    assert response["x-headroom-tokens-after"] == str(want.tokens_after)
    assert response["x-headroom-tokens-saved"] == str(want.tokens_saved)


def test_sync_path_counts_again_when_the_count_meanwhile_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    failed = threading.Event()
    real = EngineResult._count_pending

    def fails_in_the_pool(self: EngineResult, rewritten_only: bool) -> None:
        if is_pool_thread() and self.uncounted:
            failed.set()
            raise RuntimeError("tokenizer hiccup")
        real(self, rewritten_only)

    def waits_for_the_failure(request: Any) -> Any:
        assert failed.wait(5), "no count ran while the view did"
        return views.echo(request)

    monkeypatch.setattr(EngineResult, "_count_pending", fails_in_the_pool)
    replace_view(monkeypatch, waits_for_the_failure)
    body = unique_body("sync: the count meanwhile fails")
    response = Client().post(CHAT, body, content_type="application/json")
    monkeypatch.undo()
    assert response.status_code == 200
    want = Engine(squeeze_config()).compress(body, path=CHAT)
    assert response["x-headroom-tokens-before"] == str(want.tokens_before)  # nothing lost, nothing twice
    assert response["x-headroom-tokens-saved"] == str(want.tokens_saved)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_fork_while_the_count_pool_is_being_made_leaves_the_child_free_to_make_its_own() -> None:
    """A worker forked while another thread held the pool's lock (a preforking server after a request)."""
    from headroom.integrations.django import middleware

    with middleware._pool_lock:
        pid = os.fork()
        if pid == 0:  # the child: make its own pool and count in it, or report why not
            code = 1
            try:
                result = Engine(squeeze_config()).compress(unique_body("forked", repeats=200), path=CHAT)
                counting = middleware.count_meanwhile(result)
                code = (
                    0 if counting is not None and counting.result(5) is None and not result.uncounted else 2
                )
            finally:
                os._exit(code)
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung on the pool's lock")
    assert os.waitstatus_to_exitcode(done[1]) == 0


@pytest.mark.parametrize("case", ["short", "headers off"])
def test_sync_path_uses_no_thread_when_not_worth_it(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    in_pool, _ = spy_counts(monkeypatch)
    body = unique_body(f"sync: {case}", repeats=5 if case == "short" else 200)
    telemetry = {"response_headers": case != "headers off"}
    with override_settings(HEADROOM={"transforms": ["test-squeeze"], "telemetry": telemetry}):
        response = Client().post(CHAT, body, content_type="application/json")
    monkeypatch.undo()
    assert response.content == expected(body, CHAT)
    # short: counted on the request's thread when the headers are made; headers off: not counted at all
    assert in_pool == ([False] if case == "short" else [])


# -- memory: the original body is not kept while the view runs --------------------------------------------


def holders(obj: object) -> list[str]:
    """Frames and coroutines that hold ``obj`` in a variable: the running stack, and everything suspended."""
    found = []
    frame = sys._getframe(1)
    while frame is not None:
        if any(value is obj for value in frame.f_locals.values()):
            found.append(f"frame {frame.f_code.co_qualname}")
        frame = frame.f_back
    found += [f"{type(r).__name__} {r!r}" for r in gc.get_referrers(obj) if inspect.iscoroutine(r)]
    return found


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_original_body_is_let_go_before_the_view_runs(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A gateway's view can wait a minute on the LLM: the body it replaced must not stay alive meanwhile.
    import headroom.integrations.django.middleware as mod

    originals: list[bytes] = []
    real_read_body = mod.read_body

    def keeps(request: Any) -> bytes | None:
        body = real_read_body(request)
        assert body is not None
        originals.append(body)
        return body

    seen: list[list[str]] = []

    def view(request: Any) -> Any:
        seen.append(holders(originals[0]))
        return views.echo(request)

    monkeypatch.setattr(mod, "read_body", keeps)
    replace_view(monkeypatch, view)
    body = encode(chat(build_log()))
    response = post(mode, CHAT, body)
    monkeypatch.undo()
    assert response.content == expected(body, CHAT)
    assert seen == [[]]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_with_headers_off_nothing_of_the_request_is_kept_while_the_view_runs(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The result holds the texts it left uncounted (as long as the tool output); with no headers to make
    # they are never counted, so the result must not outlive the compression.
    results: list[EngineResult] = []
    real_compress, real_acompress = Engine.compress, Engine.acompress

    def compress(self: Engine, body: Any, **kwargs: Any) -> EngineResult:
        results.append(real_compress(self, body, **kwargs))
        return results[-1]

    async def acompress(self: Engine, body: Any, **kwargs: Any) -> EngineResult:
        results.append(await real_acompress(self, body, **kwargs))
        return results[-1]

    seen: list[list[str]] = []

    def view(request: Any) -> Any:
        seen.append(holders(results[0]))
        return views.echo(request)

    monkeypatch.setattr(Engine, "compress", compress)
    monkeypatch.setattr(Engine, "acompress", acompress)
    replace_view(monkeypatch, view)
    body = unique_body(f"{mode}: headers off")
    with override_settings(
        HEADROOM={"transforms": ["test-squeeze"], "telemetry": {"response_headers": False}}
    ):
        response = post(mode, CHAT, body)
    monkeypatch.undo()
    assert response.content == expected(body, CHAT)
    assert results[0].uncounted  # there was something to hold on to
    assert seen == [[]]
    assert not headroom_headers(response)
