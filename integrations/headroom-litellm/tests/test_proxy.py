"""End to end: a real LiteLLM proxy, started from the example config.yaml, in front of a fake provider."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litellm_payloads import (
    anthropic_request,
    chat_request,
    expected_texts,
    made_up_words,
    responses_request,
    tool_texts,
)
from litellm_proxy import ANTHROPIC_MODEL, OPENAI_MODEL, REPO, Proxy, run_proxy
from litellm_upstream import ANSWER, COMPACTED, Upstream

from headroom.engine import WireFormat

pytestmark = pytest.mark.slow

ROUTES = {
    "chat": ("/v1/chat/completions", "/chat/completions", WireFormat.OPENAI_CHAT),
    "messages": ("/v1/messages", "/v1/messages", WireFormat.ANTHROPIC),
    "responses": ("/v1/responses", "/responses", WireFormat.RESPONSES),
}


def build(route: str, tag: str, stream: bool) -> dict[str, Any]:
    if route == "chat":
        return chat_request(OPENAI_MODEL, tag, stream=stream)
    if route == "messages":
        return anthropic_request(ANTHROPIC_MODEL, tag, stream=stream)
    return responses_request(OPENAI_MODEL, tag, stream=stream)


def answer_text(route: str, body: dict[str, Any]) -> str:
    if route == "chat":
        return str(body["choices"][0]["message"]["content"])
    if route == "messages":
        return "".join(b["text"] for b in body["content"] if b.get("type") == "text")
    return "".join(
        part["text"]
        for item in body["output"]
        if item.get("type") == "message"
        for part in item["content"]
        if part.get("type") == "output_text"
    )


def streamed_text(route: str, raw: str) -> str:
    """The answer text carried by an SSE stream, read the way each API's client reads it."""
    text = []
    for line in raw.splitlines():
        if not line.startswith("data:") or line.strip() == "data: [DONE]":
            continue
        event = json.loads(line[5:])
        if route == "chat":
            for choice in event.get("choices", []):
                text.append((choice.get("delta") or {}).get("content") or "")
        elif route == "messages" and event.get("type") == "content_block_delta":
            text.append(event["delta"].get("text", ""))
        elif route == "responses" and event.get("type") == "response.output_text.delta":
            text.append(event["delta"])
    return "".join(text)


def send(
    proxy: Proxy, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[httpx.Response, str]:
    with (
        httpx.Client(timeout=60) as client,
        client.stream(
            "POST", proxy.url + path, json=body, headers={**proxy.headers, **(headers or {})}
        ) as response,
    ):
        raw = response.read().decode()
    return response, raw


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_upstream_gets_compressed_body_and_client_gets_answer(
    proxy: Proxy, upstream: Upstream, route: str, stream: bool
) -> None:
    path, upstream_path, fmt = ROUTES[route]
    request = build(route, f"{route}-{stream}", stream)
    mark = upstream.recorder.mark()

    response, raw = send(proxy, path, request)

    assert response.status_code == 200, raw[:2000]
    received = upstream.recorder.since(mark, upstream_path)
    assert len(received) == 1, [r.path for r in upstream.recorder.since(mark)]
    sent = received[0].body
    original = tool_texts(request, fmt)
    assert tool_texts(sent, fmt) == expected_texts(request, fmt)
    assert sum(map(len, tool_texts(sent, fmt))) < sum(map(len, original)) / 2
    assert "[headroom: omitted" in "".join(tool_texts(sent, fmt))
    if stream:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert streamed_text(route, raw) == ANSWER
    else:
        assert answer_text(route, json.loads(raw)) == ANSWER
    if route == "messages":
        assert sent["system"] == request["system"]
    assert int(response.headers["x-headroom-tokens-saved"]) > 0
    assert int(response.headers["x-headroom-tokens-before"]) > int(
        response.headers["x-headroom-tokens-after"]
    )
    assert "x-headroom-transforms" in response.headers


def test_request_headroom_cannot_use_passes_unchanged(proxy: Proxy, upstream: Upstream) -> None:
    """A Responses request whose input is a bare string has nothing Headroom can read: it goes on as sent."""
    request = {"model": OPENAI_MODEL, "input": "Say hello. " + "x" * 5000}
    mark = upstream.recorder.mark()
    response, raw = send(proxy, "/v1/responses", request)
    assert response.status_code == 200, raw[:2000]
    assert answer_text("responses", json.loads(raw)) == ANSWER
    (received,) = upstream.recorder.since(mark, "/responses")
    assert received.body["input"] == request["input"]
    assert response.headers.get("x-headroom-tokens-saved") == "0"
    assert response.headers.get("x-headroom-skipped") == "no_units"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_long_unchanged_output_is_counted_in_the_headers(
    proxy: Proxy, upstream: Upstream, stream: bool
) -> None:
    """A long tool output Headroom leaves as it was is counted while the provider answers: sent as it came,
    and still in the response headers."""
    request = chat_request(OPENAI_MODEL, f"unchanged-{stream}", stream=stream)
    request["messages"][3]["content"] = made_up_words(8000) + f" {stream}"
    request["messages"][5]["content"] = "ok"
    mark = upstream.recorder.mark()
    response, raw = send(proxy, "/v1/chat/completions", request)
    assert response.status_code == 200, raw[:2000]
    (received,) = upstream.recorder.since(mark, "/chat/completions")
    assert received.body["messages"][3]["content"] == request["messages"][3]["content"]
    assert response.headers["x-headroom-skipped"] == "nothing_to_save"
    assert int(response.headers["x-headroom-tokens-before"]) > 1000


def test_client_can_opt_out_per_request(proxy: Proxy, upstream: Upstream) -> None:
    request = chat_request(OPENAI_MODEL, "opt-out")
    mark = upstream.recorder.mark()
    response, raw = send(proxy, "/v1/chat/completions", request, {"x-headroom-mode": "off"})
    assert response.status_code == 200, raw[:2000]
    (received,) = upstream.recorder.since(mark, "/chat/completions")
    fmt = WireFormat.OPENAI_CHAT
    assert tool_texts(received.body, fmt) == tool_texts(request, fmt)
    assert response.headers["x-headroom-skipped"] == "off"


@pytest.fixture(scope="module")
def forwarding_proxy(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """A proxy that forwards the client's ``x-`` headers to the provider (off by default in LiteLLM), with
    two pass-through endpoints of its own to the fake provider's ``/v1/messages``, one behind LiteLLM's
    auth."""
    endpoint = {"target": f"{upstream.url}/v1/messages", "headers": {"x-api-key": "sk-fake-provider"}}
    settings = {
        "forward_client_headers_to_llm_api": True,
        "pass_through_endpoints": [
            {**endpoint, "path": "/team-claude/v1/messages", "auth": True},
            {**endpoint, "path": "/open-claude/v1/messages"},
        ],
    }
    with run_proxy(upstream.url, tmp_path_factory.mktemp("forwarding"), "enabled: true\n", settings) as p:
        yield p


@pytest.mark.parametrize("mode", ["off", "on"])
def test_headroom_headers_are_not_forwarded_to_the_provider(
    forwarding_proxy: Proxy, upstream: Upstream, mode: str
) -> None:
    request = chat_request(OPENAI_MODEL, f"forwarded-{mode}")
    mark = upstream.recorder.mark()
    headers = {"x-headroom-mode": mode, "x-trace-id": f"trace-{mode}"}
    response, raw = send(forwarding_proxy, "/v1/chat/completions", request, headers)
    assert response.status_code == 200, raw[:2000]
    (received,) = upstream.recorder.since(mark, "/chat/completions")
    assert received.headers.get("x-trace-id") == f"trace-{mode}"  # the proxy does forward x- headers
    assert not any(name.startswith("x-headroom-") for name in received.headers)
    fmt = WireFormat.OPENAI_CHAT
    if mode == "off":  # and the header still did its job
        assert response.headers["x-headroom-skipped"] == "off"
        assert tool_texts(received.body, fmt) == tool_texts(request, fmt)
    else:
        assert int(response.headers["x-headroom-tokens-saved"]) > 0


def test_short_chat_is_forwarded_as_sent(proxy: Proxy, upstream: Upstream) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "ping"},
        {"role": "assistant", "content": None, "tool_calls": [_call("c9", "date")]},
        {"role": "tool", "tool_call_id": "c9", "content": "Fri Nov 27 03:00:00 UTC 2026"},
    ]
    mark = upstream.recorder.mark()
    response, raw = send(proxy, "/v1/chat/completions", {"model": OPENAI_MODEL, "messages": messages})
    assert response.status_code == 200, raw[:2000]
    (received,) = upstream.recorder.since(mark, "/chat/completions")
    assert [m.get("content") for m in received.body["messages"]] == [m["content"] for m in messages]


def test_proxy_reads_headroom_config_and_logs_totals_without_prompt(proxy: Proxy) -> None:
    """HEADROOM_CONFIG set log_level INFO: the proxy logs savings; no prompt text appears with them."""
    response, raw = send(proxy, "/v1/chat/completions", chat_request(OPENAI_MODEL, "logged"))
    assert response.status_code == 200, raw[:2000]
    log = proxy.log_text()
    lines = [line for line in log.splitlines() if "headroom: saved" in line]
    assert lines, log[-3000:]
    assert not any("compute_value" in line for line in lines)


def _call(call_id: str, name: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


EXAMPLES = {
    "agent-session.json": ("/v1/chat/completions", "/chat/completions", WireFormat.OPENAI_CHAT, OPENAI_MODEL),
    "oncall-logs.anthropic.json": ("/v1/messages", "/v1/messages", WireFormat.ANTHROPIC, ANTHROPIC_MODEL),
    "support-orders.responses.json": ("/v1/responses", "/responses", WireFormat.RESPONSES, OPENAI_MODEL),
}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_requests_through_the_proxy(proxy: Proxy, upstream: Upstream, name: str) -> None:
    """The repository's example requests (real agent traffic shapes, with tools) through the real proxy."""
    path, upstream_path, fmt, model = EXAMPLES[name]
    request = {**json.loads((REPO / "examples" / "requests" / name).read_text()), "model": model}
    mark = upstream.recorder.mark()
    response, raw = send(proxy, path, request)
    assert response.status_code == 200, raw[:2000]
    (received,) = upstream.recorder.since(mark, upstream_path)
    assert tool_texts(received.body, fmt) == expected_texts(request, fmt)
    assert int(response.headers["x-headroom-tokens-saved"]) > 0


PASS_THROUGH = {
    "anthropic": ("/anthropic/v1/messages", "/v1/messages", WireFormat.ANTHROPIC, "x-api-key"),
    "openai": (
        "/openai_passthrough/v1/chat/completions",
        "/v1/chat/completions",
        WireFormat.OPENAI_CHAT,
        "api-key",
    ),
}


@pytest.mark.parametrize(
    ("route", "stream"),
    [("anthropic", False), ("anthropic", True), ("openai", False)],
    ids=["anthropic-json", "anthropic-sse", "openai-json"],
)
def test_pass_through_route_is_compressed(proxy: Proxy, upstream: Upstream, route: str, stream: bool) -> None:
    """LiteLLM's pass-through routes (``/anthropic/v1/messages``, which Claude Code may be pointed at, and
    ``/openai_passthrough/...``) forward the client's body as the pre-call hook returns it."""
    path, upstream_path, fmt, credential = PASS_THROUGH[route]
    if fmt is WireFormat.ANTHROPIC:
        request = anthropic_request("claude-sonnet-4-5-20250929", f"pass-through-{stream}", stream=stream)
    else:
        request = chat_request(OPENAI_MODEL, "pass-through-openai")
    mark = upstream.recorder.mark()

    response, raw = send(proxy, path, request, {"anthropic-version": "2023-06-01"})

    assert response.status_code == 200, raw[:2000]
    (received,) = upstream.recorder.since(mark, upstream_path)
    assert received.headers[credential] == "sk-fake-provider"  # it went the pass-through way
    assert_compressed_pass_through(request, received.body, fmt)
    kind = "messages" if fmt is WireFormat.ANTHROPIC else "chat"
    if stream:
        assert streamed_text(kind, raw) == ANSWER
    else:
        assert answer_text(kind, json.loads(raw)) == ANSWER
    assert int(response.headers["x-headroom-tokens-saved"]) > 0
    assert int(response.headers["x-headroom-tokens-before"]) > int(
        response.headers["x-headroom-tokens-after"]
    )


def assert_compressed_pass_through(request: dict[str, Any], sent: dict[str, Any], fmt: WireFormat) -> None:
    """Only the tool outputs changed: the rest of the body reached the provider as the client sent it."""
    assert tool_texts(sent, fmt) == expected_texts(request, fmt)
    assert "[headroom: omitted" in "".join(tool_texts(sent, fmt))
    assert {k: v for k, v in sent.items() if k != "messages"} == {
        k: v for k, v in request.items() if k != "messages"
    }
    assert sent["messages"][:2] == request["messages"][:2]


@pytest.mark.parametrize("path", ["/team-claude/v1/messages", "/open-claude/v1/messages"])
def test_configured_pass_through_endpoint_is_compressed(
    forwarding_proxy: Proxy, upstream: Upstream, path: str
) -> None:
    """``general_settings.pass_through_endpoints`` in config.yaml (with and without ``auth``), whose paths
    end in one of Headroom's ``paths``."""
    request = anthropic_request("claude-sonnet-4-5-20250929", f"configured-{path}")
    mark = upstream.recorder.mark()
    response, raw = send(forwarding_proxy, path, request)
    assert response.status_code == 200, raw[:2000]
    (received,) = upstream.recorder.since(mark, "/v1/messages")
    assert received.headers["x-api-key"] == "sk-fake-provider"
    assert_compressed_pass_through(request, received.body, WireFormat.ANTHROPIC)
    assert answer_text("messages", json.loads(raw)) == ANSWER
    assert int(response.headers["x-headroom-tokens-saved"]) > 0


def test_pass_through_route_not_in_paths_is_forwarded_as_sent(proxy: Proxy, upstream: Upstream) -> None:
    """``/anthropic/v1/messages/count_tokens`` is not one of the paths Headroom compresses: its body goes on
    as sent."""
    request = anthropic_request("claude-sonnet-4-5-20250929", "count-tokens")
    request.pop("stream")
    request.pop("max_tokens")
    mark = upstream.recorder.mark()
    response, raw = send(
        proxy, "/anthropic/v1/messages/count_tokens", request, {"anthropic-version": "2023-06-01"}
    )
    assert response.status_code == 200, raw[:2000]
    (received,) = upstream.recorder.since(mark, "/v1/messages/count_tokens")
    assert received.body == request
    assert not any(name.startswith("x-headroom-") for name in response.headers)


def test_short_pass_through_request_is_forwarded_as_sent(proxy: Proxy, upstream: Upstream) -> None:
    request = {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "ping"}],
    }
    mark = upstream.recorder.mark()
    response, raw = send(proxy, "/anthropic/v1/messages", request, {"anthropic-version": "2023-06-01"})
    assert response.status_code == 200, raw[:2000]
    (received,) = upstream.recorder.since(mark, "/v1/messages")
    assert received.body == request
    assert response.headers["x-headroom-skipped"] == "no_units"


def test_responses_compaction_is_compressed(proxy: Proxy, upstream: Upstream) -> None:
    """``/v1/responses/compact`` runs the pre-call hook as ``acompact_responses``: a Responses body."""
    request = responses_request(OPENAI_MODEL, "compact")
    request.pop("stream")
    mark = upstream.recorder.mark()
    response, raw = send(proxy, "/v1/responses/compact", request)
    assert response.status_code == 200, raw[:2000]
    (received,) = upstream.recorder.since(mark, "/responses/compact")
    fmt = WireFormat.RESPONSES
    assert tool_texts(received.body, fmt) == expected_texts(request, fmt)
    assert "[headroom: omitted" in "".join(tool_texts(received.body, fmt))
    assert json.loads(raw)["output"][0]["encrypted_content"] == COMPACTED
    assert int(response.headers["x-headroom-tokens-saved"]) > 0
