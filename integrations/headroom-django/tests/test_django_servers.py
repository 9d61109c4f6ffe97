"""The example project under real servers (uvicorn, daphne, runserver) on loopback, with real HTTP.

The fake LLM provider records what the gateway view forwarded: exactly what the view read from the request.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from headroom_django_testing.bodies import all_formats, build_log, chat, encode
from headroom_django_testing.servers import COMMANDS, EXAMPLE, serve
from headroom_django_testing.squeeze import squeeze_config
from headroom_django_testing.upstream import SSE_EVENTS, Upstream, fake_provider

from headroom.engine import Engine
from headroom.integrations.django import load_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with fake_provider() as provider:
        yield provider


@pytest.fixture(scope="module", params=list(COMMANDS))
def server(request: pytest.FixtureRequest, upstream: Upstream) -> Iterator[str]:
    with serve(request.param, upstream.url) as base:
        yield base


def test_gateway_forwards_what_the_engine_makes_of_each_format(server: str, upstream: Upstream) -> None:
    engine = Engine(squeeze_config())
    with httpx.Client(base_url=server, timeout=30) as client:
        before = client.get("/headroom/stats").json()["requests"]
        for path, body in all_formats():
            upstream.received.clear()
            response = client.post(
                path, content=body, headers={"content-type": "application/json", "authorization": "Bearer k"}
            )
            assert response.status_code == 200, response.text
            [seen] = upstream.received
            want = engine.compress(body, path=path)
            assert want.changed
            assert seen.path == path
            assert seen.body == want.body
            assert len(seen.body) < len(body)
            assert seen.headers["authorization"] == "Bearer k"
            assert response.json() == {"id": "fake", "received_bytes": len(want.body)}
            assert int(response.headers["x-headroom-tokens-saved"]) == want.tokens_saved
        # One engine, one pass per request, whichever wiring did the work.
        assert client.get("/headroom/stats").json()["requests"] == before + 3


LEFT_ALONE = {
    "invalid json": (b'{"messages": [', "application/json"),
    "not utf-8": (
        b'{"model": "m", "messages": [{"role": "user", "content": "caf\xe9"}]}',
        "application/json",
    ),
    "nothing to compress": (
        b'{"model": "m",  "messages": [{"role": "user", "content": "hi"}]}',
        "application/json",
    ),
    "not json": (encode(chat(build_log())), "text/plain; charset=utf-8"),
}


def test_bodies_left_alone_reach_the_provider_byte_for_byte(server: str, upstream: Upstream) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        for name, (body, content_type) in LEFT_ALONE.items():
            upstream.received.clear()
            response = client.post(
                "/v1/chat/completions", content=body, headers={"content-type": content_type}
            )
            assert response.status_code == 200, name
            [seen] = upstream.received
            assert seen.body == body, name
            assert seen.headers["content-type"] == content_type, name
            assert response.headers["x-headroom-skipped"], name


def test_concurrent_requests_each_get_their_own_counts(server: str, upstream: Upstream) -> None:
    # Long enough that the tokens left for the headers are counted while the view runs (a worker thread,
    # under WSGI the middleware's pool), and each body new to the server's memo.
    bodies = [encode(chat(build_log(30 + i) + f"\nINFO concurrent request {i}")) for i in range(12)]

    def post(body: bytes) -> httpx.Response:
        return httpx.post(
            server + "/v1/chat/completions",
            content=body,
            headers={"content-type": "application/json"},
            timeout=30,
        )

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(post, bodies))
    engine = Engine(squeeze_config())
    for body, response in zip(bodies, responses, strict=True):
        want = engine.compress(body, path="/v1/chat/completions")
        assert response.status_code == 200
        assert response.json() == {"id": "fake", "received_bytes": len(want.body)}
        got = [response.headers[f"x-headroom-tokens-{k}"] for k in ("before", "after", "saved")]
        assert got == [str(want.tokens_before), str(want.tokens_after), str(want.tokens_saved)]


def test_other_routes_and_static_files_pass_untouched(server: str, upstream: Upstream) -> None:
    body = encode(chat(build_log()))
    css = (EXAMPLE / "gateway" / "static" / "gateway" / "site.css").read_bytes()
    with httpx.Client(base_url=server, timeout=30) as client:
        note = client.post("/notes", content=body, headers={"content-type": "application/json"})
        page = client.get("/static/gateway/site.css")
    assert note.status_code == 200
    assert note.content == body
    assert not [h for h in note.headers if h.startswith("x-headroom-")]
    assert page.content == css


def test_body_over_djangos_limit_fails_as_in_django(server: str, upstream: Upstream) -> None:
    body = encode(chat(build_log(3000)))
    assert len(body) > 200_000  # example_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert len(Engine(squeeze_config()).compress(body).body) < 200_000  # would fit once compressed
    upstream.received.clear()
    response = httpx.post(
        server + "/v1/chat/completions",
        content=body,
        timeout=30,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert upstream.received == []


def test_streamed_answers_are_relayed(server: str, upstream: Upstream) -> None:
    body = chat(build_log())
    body["stream"] = True
    raw = encode(body)
    upstream.received.clear()
    with httpx.stream(
        "POST", server + "/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        received = b"".join(response.iter_bytes())
    assert received == b"".join(SSE_EVENTS)
    [seen] = upstream.received
    assert seen.body == Engine(squeeze_config()).compress(raw, path="/v1/chat/completions").body


def test_the_example_as_shipped(upstream: Upstream) -> None:
    """The example's own settings and the built-in transforms: the provider gets what the engine makes."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        from gateway.settings import HEADROOM
    finally:
        sys.path.remove(str(EXAMPLE))
    engine = Engine(load_config(HEADROOM, env={}))
    with serve("uvicorn-asgi", upstream.url, settings="gateway.settings") as base:
        for path, body in all_formats():
            upstream.received.clear()
            response = httpx.post(base + path, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 200
            want = engine.compress(body, path=path)
            assert upstream.received[0].body == want.body
            if want.changed:
                assert len(want.body) < len(body)


@pytest.mark.parametrize("name", ["uvicorn-asgi", "runserver-wsgi"])
def test_a_bad_setting_stops_the_server_naming_the_key(name: str, upstream: Upstream) -> None:
    with (
        pytest.raises(RuntimeError, match=r"exited") as err,
        serve(name, upstream.url, extra_env={"HEADROOM_LIMITS__DEADLINE_MS": "0"}),
    ):
        pass
    assert "HEADROOM['limits']['deadline_ms']" in str(err.value)
    assert "HEADROOM_LIMITS__DEADLINE_MS" in str(err.value)
