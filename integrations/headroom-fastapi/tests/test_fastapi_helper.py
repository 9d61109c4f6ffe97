"""headroom.integrations.fastapi on real FastAPI and Starlette apps served by uvicorn, over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi_support import Log, chat_body, encode, fastapi_app, keephead_config, serve, starlette_app
from starlette.applications import Starlette
from starlette.routing import Mount, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from headroom.engine import Engine, EngineResult
from headroom.integrations.asgi import HeadroomASGIMiddleware, find_engine
from headroom.integrations.fastapi import (
    HeadroomInfo,
    create_router,
    include_headroom_routes,
    install_headroom,
)

CHAT = "/v1/chat/completions"
JSON = {"content-type": "application/json"}


def untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k != "ms"}
    return value


def test_routes_dependency_and_result_over_http() -> None:
    log = Log()
    config = keephead_config()
    app = include_headroom_routes(install_headroom(fastapi_app(log), config))
    body = encode(chat_body())
    expected = Engine(config).compress(body, path=CHAT)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        health = client.get("/headroom/health").json()
        assert health["status"] == "ok"
        assert health["transforms"] == ["keephead"]

        r = client.post(CHAT, content=body, headers=JSON)
        assert r.json()["result"]["tokens_saved"] == expected.tokens_saved > 0
        assert log.seen[0].body == expected.body

        dep = client.post("/dependency/v1/chat/completions", content=body, headers=JSON).json()
        assert dep["result"]["changed"] is True
        assert dep["result"]["transforms"]["keephead"]["changed"] == 1
        assert dep["stats"]["requests"] == 2  # the stats include this request

        client.post(CHAT, content=body, headers={**JSON, "x-headroom-mode": "off"})
        stats = client.get("/headroom/stats").json()
    assert stats["enabled"] is True
    assert stats["transforms_enabled"] == {"keephead": True}
    assert stats["transforms"]["keephead"]["changed"] == 2
    assert stats["requests"] == 3
    assert stats["compressed"] == 2
    assert stats["tokens_saved"] == 2 * expected.tokens_saved
    assert stats["skips"] == {"off": 1}
    assert log.seen[1].result is not None
    assert log.seen[1].result["skipped"] == "off"


def test_dependency_counts_long_unchanged_units_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
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

    config = keephead_config()
    body = chat_body()
    prose = " ".join(f"word{i}" for i in range(8000))  # one long line that KeepHead leaves as it is
    body["messages"].append({"role": "tool", "tool_call_id": "call_1", "content": prose})
    assert len(prose) >= config.limits.offload_bytes
    expected = Engine(config).compress(encode(body), path=CHAT)
    assert expected.tokens_before > 8000
    monkeypatch.setattr(EngineResult, "count_pending", spy)
    app = install_headroom(fastapi_app(Log()), config)
    with serve(app) as url:
        r = httpx.post(f"{url}/dependency{CHAT}", content=encode(body), headers=JSON)
    assert r.json()["result"]["tokens_before"] == expected.tokens_before  # the route read full counts
    assert counted  # the middleware's own count while the app ran, and maybe the route's, waiting for it
    assert not any(counted)  # never on the event loop


def test_dependency_on_a_route_headroom_does_not_handle() -> None:
    app = install_headroom(FastAPI(), keephead_config())

    @app.get("/info")
    async def info(headroom: HeadroomInfo) -> dict[str, Any]:
        return {"result": headroom.result, "requests": headroom.stats["requests"]}

    with serve(app) as url:
        assert httpx.get(f"{url}/info").json() == {"result": None, "requests": 0}


def test_routes_answer_503_without_headroom() -> None:
    app = include_headroom_routes(FastAPI())
    with serve(app) as url:
        r = httpx.get(f"{url}/headroom/stats")
    assert r.status_code == 503
    assert "not installed" in r.json()["detail"]


def test_method_1_and_method_2_identical_on_fastapi() -> None:
    """app.add_middleware(HeadroomASGIMiddleware, config=...) and install_headroom(app, config) agree."""
    config = keephead_config()
    results = []
    for method in (1, 2):
        log = Log()
        app = fastapi_app(log)
        if method == 1:
            app.add_middleware(HeadroomASGIMiddleware, config=config)
        else:
            install_headroom(app, config)
        include_headroom_routes(app)
        with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            responses = [
                client.post(CHAT, content=encode(chat_body()), headers={**JSON, **extra})
                for extra in ({}, {"x-headroom-mode": "off"}, {"content-type": "text/plain"})
            ]
            seen = [
                (r.status_code, untimed(r.json()), {k: v for k, v in r.headers.items() if "headroom" in k})
                for r in responses
            ]
            stats = untimed(client.get("/headroom/stats").json())
        results.append((seen, [s.body for s in log.seen], stats))
    assert results[0] == results[1]
    assert results[0][2]["skips"] == {"off": 1, "content_type": 1}


def test_runtime_control_route_switches_a_transform() -> None:
    log = Log()
    app = install_headroom(fastapi_app(log), keephead_config())
    app.include_router(create_router(allow_control=True))
    body = encode(chat_body())
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        client.post(CHAT, content=body, headers=JSON)
        off = client.put("/headroom/transforms/keephead", json={"enabled": False})
        assert off.json()["transforms_enabled"] == {"keephead": False}
        client.post(CHAT, content=body, headers=JSON)
        client.put("/headroom/transforms/keephead", json={"enabled": True})
        client.post(CHAT, content=body, headers=JSON)
        assert client.put("/headroom/transforms/nope", json={"enabled": True}).status_code == 404
        assert client.put("/headroom/transforms/keephead", json={"enabled": "maybe"}).status_code == 422
    assert [s.body == body for s in log.seen] == [False, True, False]
    assert find_engine(app).stats.snapshot()["compressed"] == 2  # type: ignore[union-attr]


def test_control_route_is_off_by_default() -> None:
    app = include_headroom_routes(install_headroom(FastAPI(), keephead_config()))
    with serve(app) as url:
        r = httpx.put(f"{url}/headroom/transforms/keephead", json={"enabled": False})
    assert r.status_code in (404, 405)


def test_starlette_app_with_add_middleware_and_stats_routes() -> None:
    log = Log()
    app = starlette_app(log)
    app.add_middleware(HeadroomASGIMiddleware, config=keephead_config())
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/headroom/stats").json()["requests"] == 0
        r = client.post(CHAT, content=encode(chat_body()), headers=JSON)
        assert int(r.headers["x-headroom-tokens-saved"]) > 0
        stats = client.get("/headroom/stats").json()
        health = client.get("/headroom/health").json()
    assert stats["compressed"] == 1
    assert health["transforms"] == ["keephead"]


def test_mounted_sub_app_paths_are_compressed() -> None:
    log = Log()
    config = keephead_config()
    outer = Starlette(routes=[Mount("/gateway", app=fastapi_app(log))])
    outer.add_middleware(HeadroomASGIMiddleware, config=config)
    body = encode(chat_body())
    with serve(outer) as url:
        r = httpx.post(f"{url}/gateway{CHAT}", content=body, headers=JSON)
    assert r.status_code == 200
    assert log.seen[0].body == Engine(config).compress(body, path=f"/gateway{CHAT}").body != body


def test_routes_on_a_mounted_sub_app_find_the_parents_engine() -> None:
    """Headroom installed on the parent; the stats routes and the dependency live on a mounted FastAPI app."""
    log = Log()
    inner = include_headroom_routes(fastapi_app(log))

    @inner.get("/info")
    async def info(headroom: HeadroomInfo) -> dict[str, Any]:
        return {"requests": headroom.stats["requests"], "result": headroom.result}

    outer = install_headroom(FastAPI(), keephead_config())
    outer.mount("/api", inner)
    with serve(outer) as url, httpx.Client(base_url=url, timeout=30) as client:
        r = client.post(f"/api{CHAT}", content=encode(chat_body()), headers=JSON)
        stats = client.get("/api/headroom/stats")
        health = client.get("/api/headroom/health")
        info_r = client.get("/api/info")
    assert int(r.headers["x-headroom-tokens-saved"]) > 0
    assert stats.status_code == 200, stats.text
    assert stats.json()["compressed"] == 1
    assert health.json()["transforms"] == ["keephead"]
    assert info_r.json() == {"requests": 1, "result": None}
    assert find_engine(inner) is None  # found through the request, not the sub-app


def test_the_outermost_middleware_engine_is_the_one_routes_see() -> None:
    inner_app = include_headroom_routes(FastAPI())
    inner = HeadroomASGIMiddleware(inner_app, keephead_config())
    outer = Starlette(routes=[Mount("/api", app=inner)])
    outer_mw = HeadroomASGIMiddleware(outer, keephead_config())
    with serve(outer_mw) as url, httpx.Client(base_url=url, timeout=30) as client:
        client.post(f"/api{CHAT}", content=encode(chat_body()), headers=JSON)
        stats = client.get("/api/headroom/stats").json()
    assert stats["compressed"] == 1
    assert outer_mw.engine.stats.snapshot()["compressed"] == 1
    assert inner.engine.stats.snapshot()["requests"] == 0  # the outer one did the work, and counts it


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_websocket_and_lifespan_pass_through() -> None:
    events: list[str] = []

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        text = await ws.receive_text()
        await ws.send_text(f"echo:{text}:{ws.scope['state'].get('ready')}")
        await ws.close()

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        events.append("startup")
        yield {"ready": "yes"}
        events.append("shutdown")

    app = Starlette(routes=[WebSocketRoute(CHAT, echo)], lifespan=lifespan)
    install_headroom(app, keephead_config())
    with TestClient(app) as client:
        with client.websocket_connect(CHAT) as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "echo:hi:yes"
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


@pytest.mark.parametrize("prefix", ["/admin/headroom", "/hr"])
def test_custom_prefix(prefix: str) -> None:
    app = include_headroom_routes(install_headroom(FastAPI(), keephead_config()), prefix=prefix)
    with serve(app) as url:
        assert httpx.get(f"{url}{prefix}/health").json()["status"] == "ok"
