"""The SDK callback: real LiteLLM SDK calls against the fake provider, after ``install()``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import litellm
import pytest
from litellm_payloads import anthropic_request, chat_request, expected_texts, responses_request, tool_texts
from litellm_upstream import ANSWER, COMPACTED, Upstream

import headroom.integrations.litellm as hl
from headroom.engine import WireFormat

KEY = "sk-fake-provider"


@pytest.fixture
def installed() -> Iterator[hl.HeadroomSDKCallback]:
    hl.uninstall()
    callback = hl.install()
    yield callback
    hl.uninstall()


def chat_kwargs(upstream: Upstream, tag: str, **extra: Any) -> dict[str, Any]:
    request = chat_request("openai/fake-gpt", tag, **extra)
    return {**request, "api_base": f"{upstream.url}/v1", "api_key": KEY}


def only(upstream: Upstream, mark: int, suffix: str) -> dict[str, Any]:
    received = upstream.recorder.since(mark, suffix)
    assert len(received) == 1, [r.path for r in upstream.recorder.since(mark)]
    return received[0].body


def test_acompletion_sends_compressed_body(upstream: Upstream, installed: hl.HeadroomSDKCallback) -> None:
    kwargs = chat_kwargs(upstream, "sdk-chat")
    mark = upstream.recorder.mark()
    response = asyncio.run(litellm.acompletion(**kwargs))
    assert response.choices[0].message.content == ANSWER
    sent = only(upstream, mark, "/chat/completions")
    assert tool_texts(sent, WireFormat.OPENAI_CHAT) == expected_texts(kwargs, WireFormat.OPENAI_CHAT)
    assert installed.stats()["compressed"] == 1


def test_acompletion_stream(upstream: Upstream, installed: hl.HeadroomSDKCallback) -> None:
    kwargs = chat_kwargs(upstream, "sdk-chat-stream", stream=True)
    mark = upstream.recorder.mark()

    async def collect() -> str:
        stream = await litellm.acompletion(**kwargs)
        return "".join([chunk.choices[0].delta.content or "" async for chunk in stream])

    assert asyncio.run(collect()) == ANSWER
    sent = only(upstream, mark, "/chat/completions")
    assert tool_texts(sent, WireFormat.OPENAI_CHAT) == expected_texts(kwargs, WireFormat.OPENAI_CHAT)


def test_aresponses_sends_compressed_body(upstream: Upstream, installed: hl.HeadroomSDKCallback) -> None:
    request = responses_request("openai/fake-gpt", "sdk-responses")
    request.pop("stream")
    mark = upstream.recorder.mark()
    response = asyncio.run(litellm.aresponses(**request, api_base=f"{upstream.url}/v1", api_key=KEY))
    assert response.output[0].content[0].text == ANSWER
    sent = only(upstream, mark, "/responses")
    assert tool_texts(sent, WireFormat.RESPONSES) == expected_texts(request, WireFormat.RESPONSES)


def test_anthropic_messages_sends_compressed_body(
    upstream: Upstream, installed: hl.HeadroomSDKCallback
) -> None:
    request = anthropic_request("anthropic/claude-fake", "sdk-messages")
    request.pop("stream")
    mark = upstream.recorder.mark()
    response = asyncio.run(litellm.anthropic.messages.acreate(**request, api_base=upstream.url, api_key=KEY))
    content = response["content"] if isinstance(response, dict) else response.content
    assert "".join(block["text"] for block in content) == ANSWER
    sent = only(upstream, mark, "/v1/messages")
    assert tool_texts(sent, WireFormat.ANTHROPIC) == expected_texts(request, WireFormat.ANTHROPIC)
    assert sent["system"] == request["system"]


def test_sync_completion_needs_compress_kwargs(upstream: Upstream, installed: hl.HeadroomSDKCallback) -> None:
    """Sync ``litellm.completion`` runs no request-rewriting hook: ``compress_kwargs`` is the way."""
    kwargs = chat_kwargs(upstream, "sdk-sync")
    mark = upstream.recorder.mark()
    litellm.completion(**kwargs)
    assert tool_texts(only(upstream, mark, "/chat/completions"), WireFormat.OPENAI_CHAT) == tool_texts(
        kwargs, WireFormat.OPENAI_CHAT
    )
    mark = upstream.recorder.mark()
    response = litellm.completion(**hl.compress_kwargs(kwargs))
    assert response.choices[0].message.content == ANSWER
    sent = only(upstream, mark, "/chat/completions")
    assert tool_texts(sent, WireFormat.OPENAI_CHAT) == expected_texts(kwargs, WireFormat.OPENAI_CHAT)


def test_uninstalled_sdk_sends_request_as_is(upstream: Upstream) -> None:
    callback = hl.install()
    asyncio.run(litellm.acompletion(**chat_kwargs(upstream, "sdk-before-uninstall")))
    assert callback in litellm._async_success_callback  # LiteLLM copies registered callbacks around
    hl.uninstall()
    for name in ("callbacks", "input_callback", "success_callback", "_async_success_callback"):
        assert callback not in getattr(litellm, name), name
    kwargs = chat_kwargs(upstream, "sdk-plain")
    mark = upstream.recorder.mark()
    asyncio.run(litellm.acompletion(**kwargs))
    sent = only(upstream, mark, "/chat/completions")
    assert tool_texts(sent, WireFormat.OPENAI_CHAT) == tool_texts(kwargs, WireFormat.OPENAI_CHAT)


def test_router_call_is_compressed_once(upstream: Upstream, installed: hl.HeadroomSDKCallback) -> None:
    """A Router's call goes through the same deployment hook, once per attempt."""
    params = {"model": "openai/fake-gpt", "api_base": f"{upstream.url}/v1", "api_key": KEY}
    router = litellm.Router(model_list=[{"model_name": "fake", "litellm_params": params}])
    request = chat_request("fake", "sdk-router")
    mark = upstream.recorder.mark()
    response = asyncio.run(router.acompletion(**request))
    assert response.choices[0].message.content == ANSWER
    sent = only(upstream, mark, "/chat/completions")
    assert tool_texts(sent, WireFormat.OPENAI_CHAT) == expected_texts(request, WireFormat.OPENAI_CHAT)
    assert installed.stats()["requests"] == 1


def test_sync_responses_is_compressed(upstream: Upstream, installed: hl.HeadroomSDKCallback) -> None:
    """LiteLLM's sync ``responses()`` runs the deployment hook itself (1.94 and later)."""
    request = responses_request("openai/fake-gpt", "sdk-sync-responses")
    request.pop("stream")
    mark = upstream.recorder.mark()
    response = litellm.responses(**request, api_base=f"{upstream.url}/v1", api_key=KEY)
    assert response.output[0].content[0].text == ANSWER
    sent = only(upstream, mark, "/responses")
    assert tool_texts(sent, WireFormat.RESPONSES) == expected_texts(request, WireFormat.RESPONSES)


@pytest.mark.parametrize("bridge", ["responses-to-messages", "messages-to-responses"])
def test_bridged_call_is_compressed_once(
    upstream: Upstream, installed: hl.HeadroomSDKCallback, bridge: str
) -> None:
    """LiteLLM runs a call its provider lacks as another call type, deployment hook included (Responses on
    Anthropic becomes a chat call, Anthropic messages on OpenAI a Responses call): compressed once."""
    mark = upstream.recorder.mark()
    if bridge == "responses-to-messages":
        request = responses_request("anthropic/claude-fake", bridge)
        request.pop("stream")
        asyncio.run(litellm.aresponses(**request, api_base=upstream.url, api_key=KEY))
        fmt, sent, sent_fmt = WireFormat.RESPONSES, only(upstream, mark, "/v1/messages"), WireFormat.ANTHROPIC
    else:
        request = anthropic_request("openai/fake-gpt", bridge)
        request.pop("stream")
        asyncio.run(litellm.anthropic.messages.acreate(**request, api_base=f"{upstream.url}/v1", api_key=KEY))
        fmt, sent, sent_fmt = WireFormat.ANTHROPIC, only(upstream, mark, "/responses"), WireFormat.RESPONSES
    assert tool_texts(sent, sent_fmt) == expected_texts(request, fmt)
    assert installed.stats()["requests"] == 1
    assert installed.stats()["compressed"] == 1


def test_acompact_responses_sends_compressed_body(
    upstream: Upstream, installed: hl.HeadroomSDKCallback
) -> None:
    """``litellm.acompact_responses`` runs the deployment hook once. LiteLLMs whose ``CallTypes`` lacks it
    (1.94) pass the hook no call type and no logging object: nothing tells what the call is; it goes as is."""
    request = responses_request("openai/fake-gpt", "sdk-compact")
    request.pop("stream")
    mark = upstream.recorder.mark()
    response = asyncio.run(litellm.acompact_responses(**request, api_base=f"{upstream.url}/v1", api_key=KEY))
    assert response.output[0].encrypted_content == COMPACTED
    sent = only(upstream, mark, "/responses/compact")
    if "acompact_responses" in {c.value for c in litellm.types.utils.CallTypes}:
        assert tool_texts(sent, WireFormat.RESPONSES) == expected_texts(request, WireFormat.RESPONSES)
        assert installed.stats()["compressed"] == 1
    else:
        assert tool_texts(sent, WireFormat.RESPONSES) == tool_texts(request, WireFormat.RESPONSES)
        assert installed.stats()["requests"] == 0


@pytest.mark.parametrize("call", ["responses-on-anthropic", "compact_responses"])
def test_sync_calls_without_a_hook_need_compress_kwargs(
    upstream: Upstream, installed: hl.HeadroomSDKCallback, call: str
) -> None:
    """Sync ``litellm.responses()`` to a provider without a Responses API becomes a sync chat call, and
    sync ``litellm.compact_responses()`` runs no hook either: both go as sent; ``compress_kwargs`` helps."""
    if call == "compact_responses":
        request = responses_request("openai/fake-gpt", "sdk-sync-compact")
        send, base, suffix, sent_fmt = (
            litellm.compact_responses,
            f"{upstream.url}/v1",
            "/compact",
            WireFormat.RESPONSES,
        )
    else:
        request = responses_request("anthropic/claude-fake", "sdk-sync-bridge")
        send, base, suffix, sent_fmt = litellm.responses, upstream.url, "/v1/messages", WireFormat.ANTHROPIC
    request.pop("stream")
    mark = upstream.recorder.mark()
    send(**request, api_base=base, api_key=KEY)
    assert tool_texts(only(upstream, mark, suffix), sent_fmt) == tool_texts(request, WireFormat.RESPONSES)
    assert installed.stats()["requests"] == 0
    mark = upstream.recorder.mark()
    send(**hl.compress_kwargs(request, call.split("-")[0]), api_base=base, api_key=KEY)
    sent = only(upstream, mark, suffix)
    assert tool_texts(sent, sent_fmt) == expected_texts(request, WireFormat.RESPONSES)
    assert installed.stats()["compressed"] == 1
