"""A FastAPI LLM gateway with Headroom installed.

It forwards OpenAI Chat Completions, OpenAI Responses and Anthropic Messages requests to an upstream provider
with httpx, streaming responses through chunk by chunk. Headroom compresses the tool output in each request
on the way in and reports what it saved in ``x-headroom-*`` response headers and at ``/headroom/stats``.

Run it in front of the real providers::

    OPENAI_BASE_URL=https://api.openai.com ANTHROPIC_BASE_URL=https://api.anthropic.com \\
        uvicorn examples.fastapi_gateway.app:app --port 8080

then point an SDK at it (``OpenAI(base_url="http://127.0.0.1:8080/v1")``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse

from headroom.integrations.fastapi import include_headroom_routes, install_headroom
from headroom.proxy.config import ProxyConfig

OPENAI_PATHS = ("/v1/chat/completions", "/v1/responses")
ANTHROPIC_PATHS = ("/v1/messages",)
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def _forwardable(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in items if k.lower() not in HOP_BY_HOP]


def create_app(
    openai_url: str, anthropic_url: str | None = None, config: ProxyConfig | None = None
) -> FastAPI:
    """The gateway: OpenAI paths go to ``openai_url``, Anthropic's to ``anthropic_url`` (default: same)."""
    upstreams = dict.fromkeys(OPENAI_PATHS, openai_url)
    upstreams.update(dict.fromkeys(ANTHROPIC_PATHS, anthropic_url or openai_url))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(600.0, connect=10.0)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            app.state.upstream = client
            yield

    app = FastAPI(title="LLM gateway with Headroom", lifespan=lifespan)

    async def forward(request: Request) -> StreamingResponse:
        client: httpx.AsyncClient = request.app.state.upstream
        url = upstreams[request.url.path] + request.url.path
        upstream_request = client.build_request(
            request.method,
            url,
            params=request.query_params,
            headers=_forwardable(request.headers.items()),
            content=await request.body(),  # what Headroom left of the body
        )
        response = await client.send(upstream_request, stream=True)
        relayed = StreamingResponse(
            response.aiter_raw(),  # streamed as it arrives, content-encoding untouched
            status_code=response.status_code,
            background=BackgroundTask(response.aclose),
        )
        relayed.raw_headers.extend(
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in _forwardable(response.headers.multi_items())
        )
        return relayed

    for path in upstreams:
        app.add_api_route(path, forward, methods=["POST"], include_in_schema=True)

    install_headroom(app, config)
    include_headroom_routes(app)
    return app


def app_from_env() -> FastAPI:
    """The gateway configured from ``OPENAI_BASE_URL``, ``ANTHROPIC_BASE_URL`` and ``HEADROOM_*``."""
    return create_app(
        os.environ.get("OPENAI_BASE_URL", "https://api.openai.com"),
        os.environ.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
        ProxyConfig.from_env(),
    )


app = app_from_env()
