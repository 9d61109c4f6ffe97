"""In-process tests of HeadroomASGIMiddleware: the ASGI protocol, message by message."""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import threading
import time
import zlib
from typing import Any

import anyio
import httpx
import pytest
import zstandard
from asgi_support import Gate, KeepHead, Recorder, chat_body, encode, keephead_config

from headroom.engine import Engine, EngineResult
from headroom.integrations.asgi import HeadroomASGIMiddleware, request_record
from headroom.proxy.config import ProxyConfig

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the servers Headroom runs under (uvicorn, daphne, hypercorn's default) are asyncio


CHAT = "/v1/chat/completions"


def http_scope(
    path: str = CHAT, method: str = "POST", headers: list[tuple[bytes, bytes]] | None = None
) -> Any:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers if headers is not None else [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }


class Feed:
    """A server's receive: gives ``messages`` in order, then waits for ``disconnect`` and reports it."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = list(messages)
        self.disconnect = anyio.Event()
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.messages:
            return self.messages.pop(0)
        await self.disconnect.wait()
        return {"type": "http.disconnect"}


def body_messages(body: bytes, chunk: int = 0) -> list[dict[str, Any]]:
    if not chunk:
        return [{"type": "http.request", "body": body, "more_body": False}]
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    return [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]


async def post(
    app: Any, body: bytes, path: str = CHAT, headers: dict[str, str] | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        hdrs = {"content-type": "application/json", **(headers or {})}
        return await client.post(path, content=body, headers=hdrs)


# -- compression -----------------------------------------------------------------------------------------


async def test_app_receives_exactly_what_the_engine_makes() -> None:
    config = keephead_config()
    rec = Recorder()
    body = encode(chat_body())
    response = await post(HeadroomASGIMiddleware(rec, config), body)
    expected = Engine(config).compress(body, path=CHAT)
    assert expected.changed
    got = rec.received[0]
    assert got.body == expected.body
    assert got.headers["content-length"] == str(len(got.body))
    assert "[headroom: omitted 197 lines" in json.loads(got.body)["messages"][2]["content"]
    assert response.headers["x-headroom-tokens-before"] == str(expected.tokens_before)
    assert response.headers["x-headroom-tokens-after"] == str(expected.tokens_after)
    assert int(response.headers["x-headroom-tokens-saved"]) == expected.tokens_saved > 0
    assert response.headers["x-headroom-transforms"] == "keephead"
    assert "x-headroom-skipped" not in response.headers
    assert "x-headroom-upstream" not in response.headers  # the app's own x-headroom-* headers are replaced
    assert got.record.summary["tokens_saved"] == expected.tokens_saved
    assert got.record.summary["changed"] is True


@pytest.mark.parametrize("chunk", [0, 4096])
async def test_a_compressed_request_does_not_keep_its_original_body_while_the_app_runs(chunk: int) -> None:
    """The app gets the compressed body; the original (and its chunks) must not stay alive meanwhile: an LLM
    call lasts seconds to minutes, and that would double the memory per request."""
    body = encode(chat_body())
    messages = body_messages(body, chunk)
    originals = [m["body"] for m in messages]  # what the server handed over: only this list may hold them
    feed = Feed(messages)
    del messages
    holders: list[list[str]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        gc.collect()
        holders.extend(
            [type(r).__name__ for r in gc.get_referrers(original) if r is not originals]
            for original in originals
        )
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    await HeadroomASGIMiddleware(app, keephead_config())(http_scope(), feed, _discard)
    assert len(holders) == len(originals)
    assert holders == [[]] * len(originals)


async def _discard(message: Any) -> None:
    return None


async def test_the_counts_left_for_later_are_made_while_the_app_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    config = keephead_config()
    app_started, count_started = threading.Event(), threading.Event()
    counting_threads: list[int] = []
    real_count_pending = EngineResult.count_pending

    def count_after_the_app_started(self: EngineResult, rewritten_only: bool = False) -> None:
        if self.uncounted:
            counting_threads.append(threading.get_ident())
            count_started.set()
            # the count waits until the app has the request: it cannot have happened on the way in
            assert app_started.wait(timeout=10)
        real_count_pending(self, rewritten_only)

    monkeypatch.setattr(EngineResult, "count_pending", count_after_the_app_started)
    rec = Recorder()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        app_started.set()
        # the app answers only once the count is under way: it cannot be waiting for the response start
        assert await anyio.to_thread.run_sync(count_started.wait, 10)
        await rec(scope, receive, send)

    prose = " ".join(f"word{i}" for i in range(3000))  # one long line that KeepHead leaves as it is
    body = chat_body()
    body["messages"].append({"role": "tool", "tool_call_id": "call_1", "content": prose})
    loop_thread = threading.get_ident()
    response = await post(HeadroomASGIMiddleware(app, config), encode(body))
    monkeypatch.undo()
    expected = Engine(config).compress(encode(body), path=CHAT)
    assert counting_threads  # counted once the request had gone on, in a worker thread
    assert loop_thread not in counting_threads
    assert response.headers["x-headroom-tokens-before"] == str(expected.tokens_before)
    assert int(response.headers["x-headroom-tokens-before"]) > expected.tokens_saved + 3000


async def test_an_app_error_while_counting_reaches_the_server_as_raised() -> None:
    class AppError(Exception):
        pass

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        assert scope["state"]["headroom"].result.uncounted  # counted meanwhile: the path that wraps
        raise AppError("boom")

    body = chat_body()
    body["messages"].append({"role": "tool", "tool_call_id": "call_1", "content": "word " * 3000})
    with pytest.raises(AppError, match="boom"):  # not an exception group
        await post(HeadroomASGIMiddleware(app, keephead_config()), encode(body))


async def test_record_read_from_async_code_counts_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    config = keephead_config()
    body = chat_body()
    prose = " ".join(f"word{i}" for i in range(8000))  # one long line that KeepHead leaves as it is
    body["messages"].append({"role": "tool", "tool_call_id": "call_1", "content": prose})
    assert len(prose) >= config.limits.offload_bytes
    tokens_before = Engine(config).compress(encode(body), path=CHAT).tokens_before
    real_count_pending = EngineResult.count_pending
    counted: list[bool] = []  # one entry per count with work to do: did it run on the event loop?

    def spy(self: EngineResult, rewritten_only: bool = False) -> None:
        if self.uncounted:
            try:
                asyncio.get_running_loop()
                counted.append(True)
            except RuntimeError:  # a worker thread has no running loop
                counted.append(False)
        real_count_pending(self, rewritten_only)

    monkeypatch.setattr(EngineResult, "count_pending", spy)
    rec = Recorder()
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        record = request_record(scope)
        assert record is not None
        seen.append(record.skipped)  # the skip reason counts nothing
        seen.append((await record.asummary())["tokens_before"])  # full counts, whoever counted them
        await rec(scope, receive, send)

    await post(HeadroomASGIMiddleware(app, config), encode(body))
    assert seen == [None, tokens_before]
    assert counted  # the middleware's own count while the app ran, and maybe the app's, waiting for it
    assert not any(counted)  # never on the event loop


async def test_mount_prefix_and_root_path_are_matched() -> None:
    config = ProxyConfig(transforms=[KeepHead()], paths=["/v1/chat/completions"])
    rec = Recorder()
    mw = HeadroomASGIMiddleware(rec, config)
    body = encode(chat_body())
    await post(mw, body, path="/gateway/v1/chat/completions")
    assert rec.received[0].body != body
    # a sub-app mounted at /v1 sees path "/chat/completions" with root_path "/v1"
    scope = http_scope("/chat/completions")
    scope["root_path"] = "/v1"
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await mw(scope, Feed(body_messages(body)), send)
    assert rec.received[1].body != body
    assert sent[0]["status"] == 200


# -- passthrough -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "ctype", "reason"),
    [
        (b'{"model": "gpt-4o", "messages": [', "application/json", "invalid_json"),
        (b'[{"role": "user", "content": "hi"}]', "application/json", "not_an_object"),
        (b'{"messages": "\xff\xfe broken"}', "application/json", "invalid_json"),
        (b"", "application/json", "invalid_json"),
        (encode(chat_body()), "text/plain", "content_type"),
        (encode(chat_body()), "application/json; charset=latin-1", "content_type"),
        (
            b"--b\r\ncontent-disposition: form-data\r\n\r\nx\r\n--b--",
            "multipart/form-data; boundary=b",
            "content_type",
        ),
        (
            encode({"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}),
            "application/json",
            "no_units",
        ),
    ],
)
async def test_bad_or_unsupported_input_passes_byte_for_byte(body: bytes, ctype: str, reason: str) -> None:
    rec = Recorder()
    response = await post(
        HeadroomASGIMiddleware(rec, keephead_config()), body, headers={"content-type": ctype}
    )
    assert response.status_code == 200
    assert rec.received[0].body == body
    assert response.headers["x-headroom-skipped"] == reason
    assert response.headers["x-headroom-tokens-saved"] == "0"


@pytest.mark.parametrize(
    ("method", "path", "scope_type"),
    [
        ("GET", CHAT, "http"),
        ("POST", "/v1/embeddings", "http"),
        ("PUT", CHAT, "http"),
        (None, CHAT, "websocket"),
    ],
)
async def test_other_traffic_goes_straight_to_the_app(method: str | None, path: str, scope_type: str) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    scope = http_scope(path, method or "GET")
    scope["type"] = scope_type
    if method is None:
        del scope["method"]

    async def receive() -> dict[str, Any]:
        raise AssertionError("the middleware must not read this request")

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("the middleware must not answer this request")

    await HeadroomASGIMiddleware(app, keephead_config())(scope, receive, send)
    assert seen == [(scope, receive, send)]  # the very same objects: nothing buffered, nothing wrapped


async def test_lifespan_passes_through() -> None:
    rec = Recorder()
    mw = HeadroomASGIMiddleware(rec, keephead_config())
    out: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    feed = Feed([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    await mw({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, feed, send)
    assert rec.lifespan == ["lifespan.startup", "lifespan.shutdown"]
    assert [m["type"] for m in out] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_off_header_skips_and_headroom_headers_are_removed() -> None:
    rec = Recorder()
    body = encode(chat_body())
    headers = {"x-headroom-mode": "OFF", "x-headroom-trace": "abc", "x-other": "kept"}
    response = await post(HeadroomASGIMiddleware(rec, keephead_config()), body, headers=headers)
    got = rec.received[0]
    assert got.body == body
    assert response.headers["x-headroom-skipped"] == "off"
    assert got.headers["x-other"] == "kept"
    assert not any(k.startswith("x-headroom-") for k in got.headers)
    # "on" or an unknown mode compresses as usual, and the header is still removed
    await post(HeadroomASGIMiddleware(rec, keephead_config()), body, headers={"x-headroom-mode": "on"})
    assert rec.received[1].body != body
    assert "x-headroom-mode" not in rec.received[1].headers


async def test_response_headers_can_be_turned_off() -> None:
    rec = Recorder()
    config = ProxyConfig(transforms=[KeepHead()], telemetry={"response_headers": False})
    response = await post(HeadroomASGIMiddleware(rec, config), encode(chat_body()))
    assert rec.received[0].body != encode(chat_body())
    assert response.headers["x-headroom-upstream"] == "spoofed"  # untouched: we add nor remove nothing
    assert not any(k.startswith("x-headroom-tokens") for k in response.headers)


async def test_disabled_config_passes_through() -> None:
    rec = Recorder()
    body = encode(chat_body())
    response = await post(HeadroomASGIMiddleware(rec, ProxyConfig(enabled=False)), body)
    assert rec.received[0].body == body
    assert response.headers["x-headroom-skipped"] == "disabled"


async def test_adapter_error_fails_open(monkeypatch: pytest.MonkeyPatch) -> None:
    import headroom.integrations.asgi.middleware as mod

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("bug")

    monkeypatch.setattr(mod, "decode", broken)
    rec = Recorder()
    body = gzip.compress(encode(chat_body()))
    response = await post(
        HeadroomASGIMiddleware(rec, keephead_config()), body, headers={"content-encoding": "gzip"}
    )
    assert response.status_code == 200
    assert rec.received[0].body == body
    assert response.headers["x-headroom-skipped"] == "error"


async def test_error_making_the_response_headers_fails_open(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: EngineResult) -> dict[str, str]:
        raise RuntimeError("bug")

    monkeypatch.setattr(EngineResult, "response_headers", broken)
    rec = Recorder()
    body = encode(chat_body())
    response = await post(HeadroomASGIMiddleware(rec, keephead_config()), body)
    assert response.status_code == 200
    assert response.json() == {"bytes": len(rec.received[0].body), "path": CHAT}  # the app's answer, whole
    assert rec.received[0].body == Engine(keephead_config()).compress(body, path=CHAT).body
    assert not any(k.startswith("x-headroom-") for k in response.headers)  # none, not the app's own


# -- content-encoding ------------------------------------------------------------------------------------


def _deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _deflate_raw),
        ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
async def test_encoded_bodies_are_decoded_when_compressed(encoding: str, pack: Any) -> None:
    config = keephead_config()
    plain = encode(chat_body())
    rec = Recorder()
    await post(HeadroomASGIMiddleware(rec, config), pack(plain), headers={"content-encoding": encoding})
    got = rec.received[0]
    assert got.body == Engine(config).compress(plain, path=CHAT).body
    assert "content-encoding" not in got.headers
    assert got.headers["content-length"] == str(len(got.body))
    # nothing to save: the original encoded bytes and headers go on untouched
    small = encode({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    await post(HeadroomASGIMiddleware(rec, config), pack(small), headers={"content-encoding": encoding})
    assert rec.received[1].body == pack(small)
    assert rec.received[1].headers["content-encoding"] == encoding


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
async def test_decompression_bomb_passes_through_still_compressed(encoding: str) -> None:
    config = keephead_config(max_decoded_bytes=1_000_000)
    padding = " " * 5_000_000
    plain = encode(chat_body(extra=padding))
    packed = gzip.compress(plain) if encoding == "gzip" else zstandard.ZstdCompressor().compress(plain)
    assert len(packed) < 100_000
    rec = Recorder()
    response = await post(HeadroomASGIMiddleware(rec, config), packed, headers={"content-encoding": encoding})
    assert rec.received[0].body == packed
    assert rec.received[0].headers["content-encoding"] == encoding
    assert response.headers["x-headroom-skipped"] == "decoded_too_large"


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
async def test_small_body_that_decodes_large_is_decoded_off_the_event_loop(
    encoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import headroom.integrations.asgi.middleware as mod

    real_decode = mod.decode
    calls: list[tuple[int, bool]] = []  # (cap, ran on the event loop)

    def spy(data: bytes, enc: str, cap: int) -> bytes:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:  # a worker thread has no running loop
            on_loop = False
        calls.append((cap, on_loop))
        return real_decode(data, enc, cap)

    monkeypatch.setattr(mod, "decode", spy)
    config = keephead_config()
    plain = encode(chat_body(extra=" " * 1_000_000))
    packed = gzip.compress(plain) if encoding == "gzip" else zstandard.ZstdCompressor().compress(plain)
    assert len(packed) < config.limits.offload_bytes // 8  # small enough to look cheap
    rec = Recorder()
    await post(HeadroomASGIMiddleware(rec, config), packed, headers={"content-encoding": encoding})
    assert rec.received[0].body == Engine(config).compress(plain, path=CHAT).body  # decoded all the same
    # the event loop decodes at most offload_bytes; the 1 MB it decodes to is made in a worker thread
    assert all(cap <= config.limits.offload_bytes for cap, on_loop in calls if on_loop)
    assert any(not on_loop and cap == config.limits.max_decoded_bytes for cap, on_loop in calls)


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", b"not gzip at all"),
        ("gzip", gzip.compress(b'{"a": 1}')[:-6]),
        ("br", b"\x1b\x00"),
        ("gzip, zstd", b"x"),
    ],
)
async def test_corrupt_or_unknown_encoding_passes_through(encoding: str, data: bytes) -> None:
    rec = Recorder()
    response = await post(
        HeadroomASGIMiddleware(rec, keephead_config()), data, headers={"content-encoding": encoding}
    )
    assert rec.received[0].body == data
    assert response.headers["x-headroom-skipped"] == "content_encoding"


# -- sizes, chunks and disconnects -----------------------------------------------------------------------


@pytest.mark.parametrize("declare_length", [True, False])
async def test_body_over_the_limit_streams_through_unmodified(declare_length: bool) -> None:
    config = keephead_config(max_body_bytes=100_000)
    body = encode(chat_body(lines=5000))
    assert len(body) > 250_000
    headers = [(b"content-type", b"application/json")]
    if declare_length:
        headers.append((b"content-length", str(len(body)).encode()))
    feed = Feed(body_messages(body, chunk=16_384))
    rec = Recorder()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await HeadroomASGIMiddleware(rec, config)(http_scope(headers=headers), feed, send)
    assert rec.received[0].body == body
    assert dict(sent[0]["headers"])[b"x-headroom-skipped"] == b"too_large"
    if declare_length:  # known too large up front: not even the first chunk is held back
        assert rec.received[0].chunks == len(body_messages(body, chunk=16_384))


async def test_chunked_body_is_reassembled_and_receive_then_delegates() -> None:
    config = keephead_config()
    body = encode(chat_body())
    feed = Feed(body_messages(body, chunk=1000))
    calls: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(await receive())
        feed.disconnect.set()
        calls.append(await receive())  # after the replay: the server's own receive
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: dict[str, Any]) -> None:
        pass

    await HeadroomASGIMiddleware(app, config)(http_scope(), feed, send)
    assert calls[0]["body"] == Engine(config).compress(body, path=CHAT).body
    assert calls[0]["more_body"] is False
    assert calls[1] == {"type": "http.disconnect"}


async def test_unexpected_message_mid_body_is_replayed_and_counted_as_an_error() -> None:
    body = encode(chat_body())
    odd = {"type": "http.unexpected"}
    feed = Feed([*body_messages(body, chunk=1000)[:2], odd])
    got: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        got.extend([await receive(), await receive()])

    async def send(message: dict[str, Any]) -> None:
        pass

    mw = HeadroomASGIMiddleware(app, keephead_config())
    await mw(http_scope(), feed, send)
    assert got == [{"type": "http.request", "body": body[:2000], "more_body": True}, odd]
    assert mw.stats()["skips"] == {"error": 1}  # not too_large: 2 kB is far below the limit


async def test_disconnect_while_buffering_ends_cleanly() -> None:
    body = encode(chat_body())
    feed = Feed([*body_messages(body, chunk=1000)[:3], {"type": "http.disconnect"}])
    app_called = False

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal app_called
        app_called = True

    sent: list[Any] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    mw = HeadroomASGIMiddleware(app, keephead_config())
    await mw(http_scope(), feed, send)
    assert not app_called
    assert sent == []
    assert mw.stats()["skips"] == {"disconnected": 1}


async def test_disconnect_during_offloaded_compression_abandons_it() -> None:
    started, release = threading.Event(), threading.Event()
    gate = Gate(started=started, release=release)
    config = ProxyConfig(transforms=[gate], limits={"offload_bytes": 0, "deadline_ms": 60_000})
    feed = Feed(body_messages(encode(chat_body())))
    app_called = False

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal app_called
        app_called = True

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing is sent to a client that left")

    async def disconnect_once_started() -> None:
        await anyio.to_thread.run_sync(started.wait, 10)
        feed.disconnect.set()

    mw = HeadroomASGIMiddleware(app, config)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(disconnect_once_started)
            with anyio.fail_after(5):
                await mw(http_scope(), feed, send)
            # the middleware returned while the worker thread is still held in the transform
            assert not release.is_set()
            assert started.is_set()
    finally:
        release.set()
    assert not app_called
    assert mw.stats()["skips"] == {"disconnected": 1}


# -- composition and runtime control ----------------------------------------------------------------------


async def test_double_application_compresses_once() -> None:
    rec = Recorder()
    inner = HeadroomASGIMiddleware(rec, keephead_config())
    outer = HeadroomASGIMiddleware(inner, keephead_config())
    body = encode(chat_body())
    response = await post(outer, body)
    assert rec.received[0].body == Engine(keephead_config()).compress(body, path=CHAT).body
    assert outer.stats()["requests"] == 1
    assert inner.stats()["requests"] == 0
    assert response.headers.get_list("x-headroom-tokens-saved") == [
        response.headers["x-headroom-tokens-saved"]
    ]


async def test_transforms_toggle_at_runtime_and_stats_add_up() -> None:
    rec = Recorder()
    mw = HeadroomASGIMiddleware(rec, keephead_config())
    body = encode(chat_body())
    await post(mw, body)
    mw.set_transform_enabled("keephead", False)
    r2 = await post(mw, body)
    mw.set_transform_enabled("KeepHead", True)
    await post(mw, body)
    assert [r.body == body for r in rec.received] == [False, True, False]
    assert r2.headers["x-headroom-skipped"] == "no_transforms"
    stats = mw.stats()
    assert stats["requests"] == 3
    assert stats["compressed"] == 2
    assert stats["tokens_saved"] == 2 * int(rec.received[0].record.summary["tokens_saved"])
    assert request_record({"state": {"headroom": rec.received[0].record}}) is rec.received[0].record
    with pytest.raises(KeyError):
        mw.set_transform_enabled("nope", False)


async def test_engine_and_config_arguments() -> None:
    engine = Engine(keephead_config())
    mw = HeadroomASGIMiddleware(Recorder(), engine=engine)
    assert mw.engine is engine
    assert mw.config is engine.config
    with pytest.raises(ValueError, match="either config or engine"):
        HeadroomASGIMiddleware(Recorder(), ProxyConfig(), engine=engine)


async def test_default_config_comes_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_ENABLED", "false")
    mw = HeadroomASGIMiddleware(Recorder())
    assert mw.config.enabled is False


async def test_zstd_without_zstandard_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    import headroom.integrations.asgi._decode as dec

    monkeypatch.setattr(dec, "_zstd", None)
    packed = zstandard.ZstdCompressor().compress(encode(chat_body()))
    rec = Recorder()
    response = await post(
        HeadroomASGIMiddleware(rec, keephead_config()), packed, headers={"content-encoding": "zstd"}
    )
    assert rec.received[0].body == packed
    assert rec.received[0].headers["content-encoding"] == "zstd"
    assert response.headers["x-headroom-skipped"] == "content_encoding"


async def test_outer_layers_see_the_record_in_the_shared_scope() -> None:
    rec = Recorder()
    seen: list[Any] = []
    inner = HeadroomASGIMiddleware(rec, keephead_config())

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        await inner(scope, receive, send)
        seen.append(request_record(scope))

    await post(outer, encode(chat_body()))
    assert seen[0] is rec.received[0].record
    assert seen[0].summary["changed"] is True


class _Fatal(BaseException):
    """Not an Exception and not a cancellation (as KeyboardInterrupt, SystemExit)."""


def _slow_count(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    real_count_pending = EngineResult.count_pending

    def slow(self: EngineResult, rewritten_only: bool = False) -> None:
        time.sleep(seconds)  # stands in for counting megabytes of units
        real_count_pending(self, rewritten_only)

    monkeypatch.setattr(EngineResult, "count_pending", slow)


def _counted_meanwhile() -> bytes:
    body = chat_body()
    body["messages"].append({"role": "tool", "tool_call_id": "call_1", "content": "word " * 3000})
    return encode(body)


@pytest.mark.parametrize("error", [ValueError("boom"), _Fatal("fatal")], ids=["Exception", "BaseException"])
async def test_whatever_the_app_raises_while_counting_reaches_the_server_at_once(
    monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    _slow_count(monkeypatch, 2.0)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        raise error

    feed = Feed(body_messages(_counted_meanwhile()))
    started = time.monotonic()
    with pytest.raises(type(error)):  # as raised, not in an exception group
        await HeadroomASGIMiddleware(app, keephead_config())(http_scope(), feed, _drop)
    assert time.monotonic() - started < 1.0  # without waiting for the count


async def test_a_cancelled_request_does_not_wait_for_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_count(monkeypatch, 2.0)
    entered = anyio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await anyio.sleep(0.2)  # the count is under way in its thread
        entered.set()
        await anyio.sleep_forever()

    mw = HeadroomASGIMiddleware(app, keephead_config())
    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        tg.start_soon(mw, http_scope(), Feed(body_messages(_counted_meanwhile())), _drop)
        await entered.wait()
        tg.cancel_scope.cancel()
    assert time.monotonic() - started < 1.0


async def test_a_count_that_fails_gives_no_partial_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    real = EngineResult._count_pending
    failed: list[bool] = []

    def hiccup(text: str) -> int:
        raise RuntimeError("tokenizer hiccup")

    def fails_once(self: EngineResult, rewritten_only: bool) -> None:
        if failed or not self.uncounted:
            real(self, rewritten_only)
            return
        failed.append(True)
        counter, self.counter = self.counter, hiccup  # the tokenizer fails in the middle of the count
        try:
            real(self, rewritten_only)
        finally:
            self.counter = counter

    monkeypatch.setattr(EngineResult, "_count_pending", fails_once)
    rec = Recorder()
    response = await post(HeadroomASGIMiddleware(rec, keephead_config()), _counted_meanwhile())
    expected = Engine(keephead_config()).compress(_counted_meanwhile(), path=CHAT)
    assert failed
    # nothing was lost: the response start counted again, exactly
    assert response.headers["x-headroom-tokens-before"] == str(expected.tokens_before)


async def _drop(message: dict[str, Any]) -> None:
    pass
