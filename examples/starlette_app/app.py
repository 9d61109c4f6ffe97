"""A plain Starlette app with Headroom: the middleware, plus the stats and health routes.

Its chat endpoint stands in for a model: it answers with what it received, so you can see Headroom's effect::

    uvicorn examples.starlette_app.app:app --port 8000
    curl -s localhost:8000/v1/chat/completions -H 'content-type: application/json' \\
        -d @examples/requests/agent-session.json -D - | grep -i x-headroom
    curl -s localhost:8000/headroom/stats
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from headroom.integrations.asgi import HeadroomASGIMiddleware
from headroom.integrations.fastapi import starlette_routes
from headroom.proxy.config import ProxyConfig


async def chat(request: Request) -> JSONResponse:
    """Answer like a model would, reporting the size of the prompt and what Headroom did to it."""
    body = json.loads(await request.body())
    record = request.state.headroom  # set by the middleware for every request it handles
    return JSONResponse(
        {
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
            ],
            "received_messages": len(body.get("messages", [])),
            "headroom": record.summary,
        }
    )


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("not an LLM route: Headroom lets this through untouched\n")


app = Starlette(
    routes=[Route("/", home), Route("/v1/chat/completions", chat, methods=["POST"]), *starlette_routes()],
    middleware=[Middleware(HeadroomASGIMiddleware, config=ProxyConfig.from_env())],
)
