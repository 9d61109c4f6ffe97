"""HeadroomASGIMiddleware under a real uvicorn server on loopback, driven by httpx over real HTTP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asgi_support import Recorder, chat_body, encode, keephead_config, load_corpus, serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from headroom.engine import Engine
from headroom.integrations.asgi import HeadroomASGIMiddleware, find_engine, find_middleware
from headroom.proxy.config import ProxyConfig
from headroom.proxy.extensions import install_headroom

CHAT = "/v1/chat/completions"


class Digest:
    """An app that keeps only the size and hash of each body it gets (for very large bodies)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        h, size, chunks, more = hashlib.sha256(), 0, 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            h.update(message.get("body", b""))
            size += len(message.get("body", b""))
            chunks += 1
            more = message.get("more_body", False)
        self.seen.append((size, h.hexdigest(), chunks))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_sse_first_event_arrives_before_the_last_is_produced() -> None:
    rec = Recorder()
    with serve(HeadroomASGIMiddleware(rec, keephead_config())) as url, httpx.Client(timeout=5) as client:
        body = encode(chat_body(stream=True))
        with client.stream("POST", f"{url}{CHAT}", content=body) as response:
            assert int(response.headers["x-headroom-tokens-saved"]) > 0
            events = response.iter_raw()
            first = next(events)
            assert first == b"data: first\n\n"
            assert not rec.release.is_set()  # the app is still waiting to produce the rest
            rec.release.set()
            rest = b"".join(events)
        assert rest == b"data: second\n\ndata: [DONE]\n\n"


def test_chunked_request_compressed_reaches_the_app_with_its_length_and_no_transfer_encoding() -> None:
    rec = Recorder()
    config = keephead_config()
    body = encode(chat_body())

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    with serve(HeadroomASGIMiddleware(rec, config)) as url, httpx.Client(timeout=5) as client:
        client.post(f"{url}{CHAT}", content=chunks(), headers={"content-type": "application/json"})
        client.post(f"{url}{CHAT}", content=chunks(), headers={"content-type": "text/plain"})
    changed, unchanged = rec.received
    assert changed.body == Engine(config).compress(body, path=CHAT).body != body
    assert changed.headers["content-length"] == str(len(changed.body))
    assert "transfer-encoding" not in changed.headers
    assert unchanged.body == body  # not compressed: the request goes on as it came, chunked
    assert unchanged.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in unchanged.headers


@pytest.fixture(scope="module")
def big_server() -> Iterator[tuple[str, Digest]]:
    app = Digest()
    with serve(HeadroomASGIMiddleware(app, ProxyConfig())) as url:
        yield url, app


@pytest.mark.slow
@pytest.mark.parametrize("declare_length", [True, False])
def test_50_mb_body_streams_through_unmodified(big_server: tuple[str, Digest], declare_length: bool) -> None:
    url, app = big_server
    piece = encode(chat_body(lines=2000))[:-2]  # valid-looking JSON prefix, repeated to 50 MB
    chunk = piece * (1024 * 1024 // len(piece) + 1)
    chunk = chunk[: 1024 * 1024]
    total = 50
    digest = hashlib.sha256(chunk * total).hexdigest()

    def body() -> Iterator[bytes]:
        for _ in range(total):
            yield chunk

    content: Any = chunk * total if declare_length else body()
    with httpx.Client(timeout=60) as client:
        response = client.post(f"{url}{CHAT}", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.headers["x-headroom-skipped"] == "too_large"
    size, seen_digest, chunks = app.seen[-1]
    assert (size, seen_digest) == (total * len(chunk), digest)
    assert chunks > 1  # delivered as a stream, not one buffered message


CORPUS = load_corpus()


@pytest.mark.skipif(not CORPUS, reason="dev corpus not found: set HEADROOM_CORPUS to dev-cases.jsonl.gz")
@pytest.mark.parametrize(
    "config",
    [
        ProxyConfig(limits={"deadline_ms": 60_000}),
        keephead_config(),
    ],
    ids=["default-transforms", "keephead"],
)
def test_every_corpus_case_gets_exactly_what_the_engine_makes(config: ProxyConfig) -> None:
    rec = Recorder()
    reference = Engine(config)
    changed = 0
    with serve(HeadroomASGIMiddleware(rec, config)) as url, httpx.Client(base_url=url, timeout=60) as client:
        for i, case in enumerate(CORPUS):
            body = json.dumps(case["body"]).encode()
            response = client.post(case["path"], content=body, headers={"content-type": "application/json"})
            assert response.status_code == 200, case["id"]
            expected = reference.compress(body, path=case["path"])
            assert rec.received[i].body == expected.body, case["id"]
            assert response.headers["x-headroom-tokens-saved"] == str(expected.tokens_saved), case["id"]
            changed += expected.changed
    if config.transforms[0].name == "keephead":
        assert changed >= len(CORPUS) // 2  # the comparison is not trivially "nothing happened"


# -- install_headroom -----------------------------------------------------------------------------------


def starlette_app() -> tuple[Starlette, list[bytes]]:
    bodies: list[bytes] = []

    async def chat(request: Request) -> JSONResponse:
        body = await request.body()
        bodies.append(body)
        record = request.state.headroom
        return JSONResponse(
            {"saved": record.summary["tokens_saved"], "length": request.headers["content-length"]}
        )

    async def stats(request: Request) -> JSONResponse:
        engine = find_engine(request.app)
        return JSONResponse(engine.stats.snapshot() if engine else None)

    return Starlette(routes=[Route(CHAT, chat, methods=["POST"]), Route("/stats", stats)]), bodies


def exercise(app: Any) -> list[Any]:
    """Observable behaviour of an app over real HTTP: bodies received, response bodies and headers, stats."""
    seen: list[Any] = []
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        for headers in ({}, {"x-headroom-mode": "off"}):
            r = client.post(
                CHAT, content=encode(chat_body()), headers={"content-type": "application/json", **headers}
            )
            hr = {k: v for k, v in r.headers.items() if k.startswith("x-headroom-")}
            seen.append((r.status_code, r.json(), hr))
        seen.append(untimed(client.get("/stats").json()))
    return seen


def untimed(value: Any) -> Any:
    """``value`` without its timing fields ("ms"), which differ from run to run."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k != "ms"}
    return value


def test_method_1_and_method_2_behave_identically() -> None:
    config = keephead_config()
    app1, bodies1 = starlette_app()
    app1.add_middleware(HeadroomASGIMiddleware, config=config)
    app2, bodies2 = starlette_app()
    assert install_headroom(app2, config) is app2
    first, second = exercise(app1), exercise(app2)
    assert first == second
    assert bodies1 == bodies2
    assert bodies1[0] == Engine(config).compress(encode(chat_body()), path=CHAT).body
    assert first[0][2]["x-headroom-transforms"] == "keephead"
    assert first[2]["requests"] == 2
    assert first[2]["skips"] == {"off": 1}
    # Method 2 exposes its engine before any request; Method 1 once the stack is built
    assert find_engine(app2) is find_middleware(app2).engine  # type: ignore[union-attr]
    assert find_middleware(app1) is not None


def test_install_headroom_wraps_a_bare_asgi_callable() -> None:
    rec = Recorder()
    wrapped = install_headroom(rec, keephead_config())
    assert isinstance(wrapped, HeadroomASGIMiddleware)
    assert wrapped.app is rec
    assert find_engine(wrapped) is wrapped.engine
    with serve(wrapped) as url, httpx.Client(base_url=url) as client:
        client.post(CHAT, content=encode(chat_body()), headers={"content-type": "application/json"})
    assert rec.received[0].body == Engine(keephead_config()).compress(encode(chat_body()), path=CHAT).body
    assert rec.lifespan == ["lifespan.startup", "lifespan.shutdown"]  # lifespan reached the app
    with pytest.raises(TypeError, match="needs an ASGI app"):
        install_headroom(42, keephead_config())
