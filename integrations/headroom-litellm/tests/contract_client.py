"""The shared contract suite's client for LiteLLM (see tests/contract/interface.py).

It drives the proxy hook in-process the way LiteLLM's proxy does: the body parsed into LiteLLM's ``data`` dict
(with the keys the proxy adds before its pre-call hooks), ``async_pre_call_hook`` with the call type of the
route, then the response-headers hook. What "the app behind" receives is the data the hook returned,
restricted to the keys of the request (LiteLLM hands on a parsed object, so ``raw_bytes`` is False).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import (read by litellm)

from headroom.integrations.litellm import HeadroomCallback
from headroom.proxy.config import ProxyConfig

_CONTRACT = Path(__file__).resolve().parents[3] / "tests" / "contract"
if str(_CONTRACT) not in sys.path:
    sys.path.append(str(_CONTRACT))

from interface import Delivery  # noqa: E402

ROUTE_CALL_TYPES = {
    "/chat/completions": "acompletion",
    "/messages": "anthropic_messages",
    "/responses": "aresponses",
    "/embeddings": "aembedding",
    "/completions": "atext_completion",
}


def call_type_for(path: str) -> str:
    """The call type LiteLLM's proxy passes for a route (``pass_through_endpoint`` for anything else)."""
    tail = path.rstrip("/")
    for suffix, call_type in ROUTE_CALL_TYPES.items():
        if tail.endswith(suffix):
            return call_type
    return "pass_through_endpoint"


class LiteLLMContractClient:
    name = "litellm"
    raw_bytes = False

    def __init__(self, config: ProxyConfig) -> None:
        self.callback = HeadroomCallback(config)

    def deliver(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> Delivery:
        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            parsed = None
        if not isinstance(parsed, dict):
            # LiteLLM's proxy rejects a body that is not a JSON object before any hook runs.
            return Delivery(body=None, json=None, status=400)
        request_headers = {k.lower(): v for k, v in (headers or {}).items()}
        data = {
            **parsed,
            "litellm_call_id": str(uuid.uuid4()),
            "metadata": {"user_api_key_alias": "contract", "headers": request_headers},
            "proxy_server_request": {"url": path, "method": "POST", "headers": request_headers},
        }
        out, response_headers = asyncio.run(self._run(data, call_type_for(path)))
        # LiteLLM does not forward the client's headers to the provider (unless an operator turns on
        # forward_client_headers_to_llm_api), so the provider receives none of them.
        return Delivery(
            body=None,
            json={key: out[key] for key in parsed if key in out},
            headers={},
            response_headers=response_headers,
        )

    async def _run(self, data: dict[str, Any], call_type: str) -> tuple[dict[str, Any], dict[str, str]]:
        out = await self.callback.async_pre_call_hook(None, None, data, call_type)
        extra = await self.callback.async_post_call_response_headers_hook(out, None, None)
        return out, dict(extra or {})


@contextlib.contextmanager
def contract_client(config: ProxyConfig) -> Iterator[LiteLLMContractClient]:
    yield LiteLLMContractClient(config)
