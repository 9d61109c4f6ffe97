"""The callbacks in-process: which calls they take, what they copy, how they fail, what they report."""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import threading
from types import SimpleNamespace
from typing import Any, ClassVar

import litellm
import pytest
from contract_client import contract_client
from litellm.integrations.custom_logger import CustomLogger
from litellm.types.utils import CallTypes
from litellm_payloads import (
    anthropic_request,
    chat_request,
    expected_texts,
    made_up_words,
    responses_request,
    tool_texts,
)

import headroom.integrations.litellm as hl
from headroom.engine import Engine, WireFormat
from headroom.engine.units import Unit
from headroom.integrations.litellm import HeadroomCallback, HeadroomSDKCallback, compress_kwargs, install
from headroom.proxy.config import ProxyConfig
from headroom.transforms import Compressor

CASES = [
    ("acompletion", chat_request, WireFormat.OPENAI_CHAT),
    ("completion", chat_request, WireFormat.OPENAI_CHAT),
    ("anthropic_messages", anthropic_request, WireFormat.ANTHROPIC),
    ("aanthropic_messages", anthropic_request, WireFormat.ANTHROPIC),
    ("aresponses", responses_request, WireFormat.RESPONSES),
    ("responses", responses_request, WireFormat.RESPONSES),
    ("acompact_responses", responses_request, WireFormat.RESPONSES),
]


def proxy_data(request: dict[str, Any]) -> dict[str, Any]:
    """A request as LiteLLM's proxy hands it to pre-call hooks: the body plus the proxy's own keys."""
    return {
        **request,
        "litellm_call_id": "call-123",
        "metadata": {"user_api_key_alias": "k", "headers": {"x": "y"}},
        "litellm_metadata": {"tags": ["a"]},
        "proxy_server_request": {"url": "http://p/v1/x", "body": copy.deepcopy(request)},
        "_headroom_request_context": object(),
    }


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_hooks_are_defined_on_the_leaf_classes() -> None:
    """LiteLLM's proxy only runs ``async_pre_call_hook`` found in ``vars(type(callback))``."""
    assert "async_pre_call_hook" in vars(HeadroomCallback)
    assert "async_post_call_response_headers_hook" in vars(HeadroomCallback)
    assert "async_pre_call_deployment_hook" in vars(HeadroomSDKCallback)
    # Each class owns one stage, so a proxy request is never compressed twice.
    assert HeadroomCallback.async_pre_call_deployment_hook is CustomLogger.async_pre_call_deployment_hook
    assert HeadroomSDKCallback.async_pre_call_hook is CustomLogger.async_pre_call_hook


def test_names_do_not_collide_with_litellms_builtin_headroom_guardrail() -> None:
    for cls in (HeadroomCallback, HeadroomSDKCallback):
        assert cls.__name__ != "HeadroomGuardrail"
        assert not cls.__module__.startswith("litellm.")
    data = proxy_data(chat_request("m", "names"))
    out = run(HeadroomCallback().async_pre_call_hook(None, None, data, "acompletion"))
    assert {k for k in out if k.startswith("_headroom")} == {"_headroom_request_context"}


@pytest.mark.parametrize(("call_type", "build", "fmt"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("as_enum", [False, True], ids=["str", "enum"])
def test_compresses_supported_calls_and_copies_other_keys(
    call_type: str, build: Any, fmt: Any, as_enum: bool
) -> None:
    if as_enum and call_type not in {c.value for c in CallTypes}:
        pytest.skip(f"this LiteLLM's CallTypes has no {call_type}: its proxy passes the string")
    request = build("m", call_type)
    data = proxy_data(request)
    before = copy.deepcopy({k: v for k, v in data.items() if k != "_headroom_request_context"})
    callback = HeadroomCallback()

    out = run(callback.async_pre_call_hook(None, None, data, CallTypes(call_type) if as_enum else call_type))

    assert tool_texts(out, fmt) == expected_texts(request, fmt)
    assert {k: v for k, v in data.items() if k != "_headroom_request_context"} == before  # input not mutated
    assert list(out) == list(data)
    for key in data:
        if key not in ("messages", "input"):
            assert out[key] is data[key], key
    assert callback.stats()["compressed"] == 1
    assert callback.stats()["tokens_saved"] > 0


@pytest.mark.parametrize(
    "call_type",
    [
        "aembedding",
        "atext_completion",
        "text_completion",
        "aimage_generation",
        "_arealtime",
        "aget_responses",
        "pass_through_endpoint",
        "acreate_batch",
        "_aresponses_websocket",
        None,
        "no_such_call",
    ],
)
def test_leaves_other_calls_alone(call_type: str | None) -> None:
    data = proxy_data(chat_request("m", "other"))
    callback = HeadroomCallback()
    out = run(callback.async_pre_call_hook(None, None, data, call_type))
    assert out is data
    assert callback.stats()["requests"] == 0


def test_engine_failure_passes_request_through(monkeypatch: pytest.MonkeyPatch) -> None:
    callback = HeadroomCallback()

    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(callback.engine, "acompress_json", boom)
    data = proxy_data(chat_request("m", "boom"))
    out = run(callback.async_pre_call_hook(None, None, data, "acompletion"))
    assert out is data
    assert callback.stats()["skips"] == {"error": 1}  # counted, as the engine counts its own failures
    sdk = HeadroomSDKCallback()
    monkeypatch.setattr(sdk.engine, "acompress_json", boom)
    assert run(sdk.async_pre_call_deployment_hook(dict(data), CallTypes.acompletion)) is None


def test_adapter_failure_passes_request_through(monkeypatch: pytest.MonkeyPatch) -> None:
    callback = HeadroomCallback()

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(callback, "_remember", boom)
    data = proxy_data(chat_request("m", "adapter-bug"))
    assert run(callback.async_pre_call_hook(None, None, data, "acompletion")) is data
    # the request goes on as it came, but Headroom's own headers are still not forwarded to the provider
    data["headers"] = {"x-headroom-mode": "on", "x-trace-id": "t"}
    out = run(callback.async_pre_call_hook(None, None, data, "acompletion"))
    assert out["headers"] == {"x-trace-id": "t"}
    assert out["messages"] is data["messages"]
    monkeypatch.setattr(callback, "_pending", None)
    assert run(callback.async_post_call_response_headers_hook(data, None, None)) is None
    sdk = HeadroomSDKCallback()
    monkeypatch.setattr(sdk, "compress", boom)
    assert run(sdk.async_pre_call_deployment_hook(dict(data), CallTypes.acompletion)) is None


@pytest.mark.parametrize(
    "data",
    [
        {"model": "m", "messages": "not a list"},
        {"model": "m", "messages": [None, 3, {"role": "tool"}, {"role": "tool", "content": {"x": 1}}]},
        {"model": "m"},
        {"model": "m", "input": 42},
    ],
)
def test_odd_bodies_pass_through(data: dict[str, Any]) -> None:
    for call_type in ("acompletion", "anthropic_messages", "aresponses"):
        out = run(HeadroomCallback().async_pre_call_hook(None, None, data, call_type))
        assert out is data


_COMPRESSING_THREADS: list[int] = []


class _ThreadSpy(Compressor):
    """A compressor that takes no unit and notes the thread each unit is compressed on."""

    name: ClassVar[str] = "thread-spy"

    def compress(self, unit: Unit) -> str | None:
        _COMPRESSING_THREADS.append(threading.get_ident())
        return None


@pytest.mark.parametrize("offload_bytes", [0, 1 << 30], ids=["large", "small"])
def test_large_body_is_compressed_off_the_event_loop(offload_bytes: int) -> None:
    config = ProxyConfig(
        transforms=[_ThreadSpy(), *ProxyConfig().transforms], limits={"offload_bytes": offload_bytes}
    )
    request = chat_request("m", f"offload-{offload_bytes}")
    _COMPRESSING_THREADS.clear()
    out = run(HeadroomCallback(config).async_pre_call_hook(None, None, dict(request), "acompletion"))
    # this thread runs the event loop: a large body is compressed elsewhere, a small one right here
    assert len(_COMPRESSING_THREADS) == 2
    assert (threading.get_ident() in _COMPRESSING_THREADS) is (offload_bytes > 0)
    assert tool_texts(out, WireFormat.OPENAI_CHAT) == expected_texts(request, WireFormat.OPENAI_CHAT, config)


def test_response_headers_report_each_request_once() -> None:
    callback = HeadroomCallback()
    data = proxy_data(chat_request("m", "headers"))

    async def exchange() -> tuple[Any, Any]:  # one event loop, as in the proxy: counted while it answers
        out = await callback.async_pre_call_hook(None, None, data, "acompletion")
        return out, await callback.async_post_call_response_headers_hook(out, None, None)

    out, headers = run(exchange())
    result = Engine().compress_json(chat_request("m", "headers"), format=WireFormat.OPENAI_CHAT)
    assert headers["x-headroom-tokens-saved"] == str(result.tokens_saved)
    assert headers["x-headroom-transforms"] == ",".join(result.applied)
    assert run(callback.async_post_call_response_headers_hook(out, None, None)) is None
    other = run(callback.async_post_call_response_headers_hook({"litellm_call_id": "unknown"}, None, None))
    assert other is None


def test_a_call_id_sent_twice_at_once_gets_each_request_its_own_headers() -> None:
    """Clients may choose LiteLLM's call id (``x-litellm-call-id``). Two requests in flight under one id, each
    in its own task as the proxy serves them, get their own headers; a headers hook outside a request's task,
    which has only the id to go by, gets none rather than maybe the other's. Both are in the stats."""
    callback = HeadroomCallback()
    first = proxy_data(chat_request("m", "same-id-1"))
    second = proxy_data(chat_request("m", "same-id-2"))
    second["messages"][-1] = {**second["messages"][-1], "content": second["messages"][-1]["content"] * 2}
    second["litellm_call_id"] = first["litellm_call_id"]
    hook = callback.async_post_call_response_headers_hook

    async def overlapping() -> list[Any]:
        both_sent = asyncio.Event()
        sent: list[dict[str, Any]] = []

        async def request(data: dict[str, Any], first_one: bool) -> Any:
            out = await callback.async_pre_call_hook(None, None, data, "acompletion")
            sent.append(out)
            if first_one:
                await both_sent.wait()  # the first is answered after the second was sent
            else:
                both_sent.set()
            return await hook(out, None, None)

        a = asyncio.create_task(request(first, True))
        b = asyncio.create_task(request(second, False))
        answers = list(await asyncio.gather(a, b))
        # a third in flight under the id, its hook run from another task: the id alone cannot tell
        third = asyncio.create_task(callback.async_pre_call_hook(None, None, dict(first), "acompletion"))
        fourth = asyncio.create_task(callback.async_pre_call_hook(None, None, dict(second), "acompletion"))
        await asyncio.gather(third, fourth)
        answers.append(await hook(dict(first), None, None))
        return answers

    answers = run(overlapping())
    expected = [
        Engine().compress_json(chat_request("m", "same-id-1"), format=WireFormat.OPENAI_CHAT),
        Engine().compress_json({**second, "litellm_call_id": None}, format=WireFormat.OPENAI_CHAT),
    ]
    assert [h["x-headroom-tokens-before"] for h in answers[:2]] == [str(r.tokens_before) for r in expected]
    assert expected[0].tokens_before != expected[1].tokens_before
    assert answers[2] is None
    assert callback.stats()["requests"] == 4


def test_long_unchanged_units_are_counted_while_the_provider_answers() -> None:
    """Counting what Headroom leaves as it was saves nothing: the request does not wait for it (as in the
    other adapters, it is counted after the request went on); the response headers still carry it."""
    callback = HeadroomCallback()
    call = {"id": "c1", "type": "function", "function": {"name": "cat", "arguments": "{}"}}
    data = {
        "model": "m",
        "litellm_call_id": "long-unchanged",
        "messages": [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": made_up_words(8000)},
        ],
    }
    assert len(data["messages"][1]["content"]) >= callback.config.limits.offload_bytes

    async def exchange() -> tuple[Any, int, Any]:
        out = await callback.async_pre_call_hook(None, None, data, "acompletion")
        counted_before_sending = callback.stats()["tokens_before"]
        headers = await callback.async_post_call_response_headers_hook(out, None, None)
        return out, counted_before_sending, headers

    out, counted_before_sending, headers = run(exchange())
    assert out is data
    assert counted_before_sending == 0
    assert headers["x-headroom-skipped"] == "nothing_to_save"
    assert int(headers["x-headroom-tokens-before"]) == callback.stats()["tokens_before"] > 1000


def test_x_headroom_mode_off_skips_the_request() -> None:
    callback = HeadroomCallback()
    data = proxy_data(chat_request("m", "off-header"))
    data["proxy_server_request"]["headers"] = {"X-Headroom-Mode": " OFF ", "user-agent": "t"}
    out = run(callback.async_pre_call_hook(None, None, data, "acompletion"))
    assert out is data
    headers = run(callback.async_post_call_response_headers_hook(out, None, None))
    assert headers["x-headroom-skipped"] == "off"
    assert headers["x-headroom-tokens-saved"] == "0"
    assert callback.stats()["skips"] == {"off": 1}  # as the ASGI and Django adapters count it
    assert callback.stats()["requests"] == 1
    data["proxy_server_request"]["headers"] = {"x-headroom-mode": "on"}
    assert run(callback.async_pre_call_hook(None, None, data, "acompletion")) is not data


@pytest.mark.parametrize("call_type", ["acompletion", "acreate_batch"])
@pytest.mark.parametrize("mode", ["off", "on"])
def test_own_headers_are_dropped_from_the_forwarded_ones(call_type: str, mode: str) -> None:
    # with forward_client_headers_to_llm_api the proxy puts the client's x- headers in data["headers"]
    data = proxy_data(chat_request("m", f"forward-{mode}"))
    data["proxy_server_request"]["headers"] = {"X-Headroom-Mode": mode, "x-trace-id": "t"}
    data["headers"] = {"X-Headroom-Mode": mode, "x-trace-id": "t"}
    out = run(HeadroomCallback().async_pre_call_hook(None, None, data, call_type))
    assert out["headers"] == {"x-trace-id": "t"}
    assert data["headers"] == {"X-Headroom-Mode": mode, "x-trace-id": "t"}  # the caller's dict is left as is
    assert out["proxy_server_request"] is data["proxy_server_request"]
    if mode == "off" or call_type == "acreate_batch":
        assert out["messages"] is data["messages"]


def test_response_headers_can_be_turned_off() -> None:
    callback = HeadroomCallback(ProxyConfig(telemetry={"response_headers": False}))
    data = proxy_data(chat_request("m", "quiet"))
    out = run(callback.async_pre_call_hook(None, None, data, "acompletion"))
    assert out is not data
    assert run(callback.async_post_call_response_headers_hook(out, None, None)) is None


def test_disabled_config_forwards_everything() -> None:
    callback = HeadroomCallback(ProxyConfig(enabled=False))
    data = proxy_data(chat_request("m", "off"))
    assert run(callback.async_pre_call_hook(None, None, data, "acompletion")) is data
    assert callback.stats()["skips"] == {"disabled": 1}


def test_proxy_handler_reads_headroom_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    config_file = tmp_path / "headroom.json"
    config_file.write_text('{"limits": {"min_tokens_saved": 50}}')
    monkeypatch.setenv("HEADROOM_CONFIG", str(config_file))
    monkeypatch.setenv("HEADROOM_ENABLED", "false")
    # LiteLLM's own built-in headroom guardrail reads these; they are no ProxyConfig field and are ignored.
    monkeypatch.setenv("HEADROOM_API_BASE", "https://compress.example")
    monkeypatch.setenv("HEADROOM_API_KEY", "secret")
    module = importlib.reload(hl)
    try:
        handler = module.proxy_handler
        assert isinstance(handler, HeadroomCallback)
        assert handler.config.enabled is False
        assert handler.config.limits.min_tokens_saved == 50
        assert module.proxy_handler is handler
    finally:
        monkeypatch.delenv("HEADROOM_CONFIG")
        monkeypatch.delenv("HEADROOM_ENABLED")
        importlib.reload(hl)


def test_install_is_idempotent_and_replaceable() -> None:
    hl.uninstall()
    try:
        first = install()
        assert install() is first
        assert sum(isinstance(c, HeadroomSDKCallback) for c in litellm.callbacks) == 1
        assert install(first.config) is first
        other = install(ProxyConfig(limits={"min_tokens_saved": 99}))
        assert other is not first
        assert [c for c in litellm.callbacks if isinstance(c, HeadroomSDKCallback)] == [other]
    finally:
        hl.uninstall()
    assert hl.installed() is None


def test_compress_kwargs_for_sync_completion() -> None:
    kwargs = {**chat_request("m", "sync"), "api_key": "secret", "temperature": 0}
    out = compress_kwargs(kwargs)
    assert tool_texts(out, WireFormat.OPENAI_CHAT) == expected_texts(kwargs, WireFormat.OPENAI_CHAT)
    assert out["api_key"] == "secret"
    assert out["temperature"] == 0
    assert compress_kwargs(kwargs, "aembedding") == kwargs


def test_contract_client_matches_the_engine() -> None:
    config = ProxyConfig()
    request = chat_request("m", "contract")
    body = json.dumps(request).encode()
    with contract_client(config) as client:
        assert client.raw_bytes is False
        got = client.deliver("/v1/chat/completions", body)
        assert got.json == Engine(config).compress_json(request).body
        assert int(got.response_headers["x-headroom-tokens-saved"]) > 0
        assert client.deliver("/v1/embeddings", body).json == request
        assert client.deliver("/v1/chat/completions", b"{not json").status == 400


def test_sdk_hook_keeps_litellm_message_objects() -> None:
    """SDK users append the previous response's ``Message`` object to ``messages``: it is passed on as is."""
    request = chat_request("m", "message-object")
    assistant = litellm.Message(role="assistant", content="Let me grep.")
    kwargs = {**request, "messages": [*request["messages"][:2], assistant, *request["messages"][2:]]}
    out = run(HeadroomSDKCallback().async_pre_call_deployment_hook(kwargs, CallTypes.acompletion))
    assert out is not None
    assert out["messages"][2] is assistant
    assert tool_texts(out, WireFormat.OPENAI_CHAT) == expected_texts(kwargs, WireFormat.OPENAI_CHAT)


def test_pending_response_headers_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests whose headers hook never runs (LiteLLM errors) cannot grow memory without bound."""
    from headroom.integrations.litellm import _callbacks

    monkeypatch.setattr(_callbacks, "_PENDING_HEADERS", 3)
    callback = HeadroomCallback()
    small = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    for i in range(5):
        run(callback.async_pre_call_hook(None, None, {**small, "litellm_call_id": f"id-{i}"}, "acompletion"))
    assert list(callback._pending) == ["id-2", "id-3", "id-4"]
    assert all(isinstance(v.headers, dict) for v in callback._pending.values())
    hook = callback.async_post_call_response_headers_hook
    assert run(hook({"litellm_call_id": "id-0"}, None, None)) is None
    headers = run(hook({"litellm_call_id": "id-4"}, None, None))
    assert headers["x-headroom-skipped"] == "no_units"


def passthrough_data(request: dict[str, Any]) -> dict[str, Any]:
    """A pass-through body as LiteLLM hands it to pre-call hooks: the client's body and a logging object."""
    return {
        **request,
        "litellm_logging_obj": SimpleNamespace(litellm_call_id="pt-1", call_type="pass_through"),
    }


def route(path: str | None) -> SimpleNamespace:
    """``user_api_key_dict`` as far as the hook reads it: the route the client called."""
    return SimpleNamespace(request_route=path)


PASS_THROUGH_ROUTES = [
    ("/anthropic/v1/messages", anthropic_request, WireFormat.ANTHROPIC),
    ("/openai/v1/chat/completions", chat_request, WireFormat.OPENAI_CHAT),
    ("/azure/openai/deployments/gpt/chat/completions", chat_request, WireFormat.OPENAI_CHAT),
    ("/my-claude/v1/messages/", anthropic_request, WireFormat.ANTHROPIC),
]


@pytest.mark.parametrize(
    ("path", "build", "fmt"), PASS_THROUGH_ROUTES, ids=[r[0] for r in PASS_THROUGH_ROUTES]
)
def test_pass_through_to_a_configured_path_is_compressed(path: str, build: Any, fmt: WireFormat) -> None:
    request = build("m", path)
    data = passthrough_data(request)
    callback = HeadroomCallback()
    out = run(callback.async_pre_call_hook(route(path), None, data, "pass_through_endpoint"))
    assert tool_texts(out, fmt) == expected_texts(request, fmt)
    assert {k: v for k, v in out.items() if k != "messages"} == {
        k: v for k, v in data.items() if k != "messages"
    }
    assert tool_texts(data, fmt) == tool_texts(request, fmt)  # input not mutated
    assert callback.stats()["compressed"] == 1


@pytest.mark.parametrize(
    "path",
    [
        "/anthropic/v1/messages/count_tokens",
        "/anthropic/v1/messages/batches",
        "/gemini/v1beta/models/gemini-2.5-pro:generateContent",
        "/bedrock/model/claude/invoke",
        "/openai/v1/threads/{thread_id}/messages",
        None,
    ],
)
def test_pass_through_to_other_routes_is_left_alone(path: str | None) -> None:
    data = passthrough_data(anthropic_request("m", "other-route"))
    callback = HeadroomCallback()
    assert run(callback.async_pre_call_hook(route(path), None, data, "pass_through_endpoint")) is data
    assert callback.stats()["requests"] == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"model": "m", "messages": "not a list"}, {"model": "m", "messages": [None, {"role": "user"}]}],
    ids=["empty", "string", "odd-list"],
)
def test_odd_pass_through_bodies_go_as_they_came(body: dict[str, Any]) -> None:
    """A pass-through body may be anything the client sent (a multipart upload arrives as ``{}``)."""
    data = passthrough_data(body)
    callback = HeadroomCallback()
    out = run(
        callback.async_pre_call_hook(route("/anthropic/v1/messages"), None, data, "pass_through_endpoint")
    )
    assert out is data


def test_pass_through_engine_failure_passes_request_through(monkeypatch: pytest.MonkeyPatch) -> None:
    callback = HeadroomCallback()

    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(callback.engine, "acompress_json", boom)
    data = passthrough_data(anthropic_request("m", "pt-boom"))
    out = run(
        callback.async_pre_call_hook(route("/anthropic/v1/messages"), None, data, "pass_through_endpoint")
    )
    assert out is data
    assert callback.stats()["skips"] == {"error": 1}


def test_pass_through_follows_configured_paths() -> None:
    data = passthrough_data(anthropic_request("m", "paths"))
    callback = HeadroomCallback(ProxyConfig(paths=["/v1/chat/completions"]))
    out = run(
        callback.async_pre_call_hook(route("/anthropic/v1/messages"), None, data, "pass_through_endpoint")
    )
    assert out is data
    assert callback.stats()["requests"] == 0


def test_pass_through_response_headers_come_from_the_requests_own_task() -> None:
    """LiteLLM drops the logging object from a pass-through body before the response-headers hook: the
    request's headers are found through its task, and no other task gets them."""
    callback = HeadroomCallback()
    data = passthrough_data(anthropic_request("m", "pt-headers"))
    path = route("/anthropic/v1/messages")

    async def exchange() -> Any:
        out = await callback.async_pre_call_hook(path, None, data, "pass_through_endpoint")
        out.pop("litellm_logging_obj")
        return await callback.async_post_call_response_headers_hook(out, path, None)

    headers = run(exchange())
    assert int(headers["x-headroom-tokens-saved"]) > 0
    assert run(callback.async_post_call_response_headers_hook({}, path, None)) is None  # another task


def test_a_reused_call_id_after_an_abandoned_request_holds_no_growing_memory() -> None:
    """A client that always sends the same ``x-litellm-call-id``, one of whose requests ends before the
    headers hook runs (a client that went away): what is kept under the id does not grow."""
    callback = HeadroomCallback()
    data = proxy_data(chat_request("m", "reused-id"))
    hook = callback.async_post_call_response_headers_hook

    async def request(answered: bool) -> None:
        out = await callback.async_pre_call_hook(None, None, dict(data), "acompletion")
        if answered:
            await hook(out, None, None)

    async def requests() -> None:
        await asyncio.create_task(request(False))  # abandoned: no hook
        for _ in range(50):
            await asyncio.create_task(request(True))

    run(requests())
    assert callback.stats()["requests"] == 51
    assert not callback._pending  # the abandoned request's headers went with the next one under its id


def test_a_call_id_reused_after_an_abandoned_request_gets_its_headers_again() -> None:
    callback = HeadroomCallback()
    data = proxy_data(chat_request("m", "reused-after-abandon"))
    hook = callback.async_post_call_response_headers_hook

    async def later() -> Any:
        out = await callback.async_pre_call_hook(None, None, dict(data), "acompletion")
        return await hook(out, None, None)

    async def requests() -> Any:  # each in a task of its own, as the proxy serves them
        await asyncio.create_task(callback.async_pre_call_hook(None, None, dict(data), "acompletion"))
        return await asyncio.create_task(later())  # abandoned above (no hook); this one comes later, alone

    headers = run(requests())
    assert headers is not None
    assert int(headers["x-headroom-tokens-saved"]) > 0


@pytest.mark.parametrize("path", ["/anthropic/v1/messages", "/vertex-ai/v1/projects/p/models/m:predict"])
def test_a_pass_through_body_keeps_its_own_headers_key(path: str) -> None:
    """On a pass-through route ``data`` is the client's own body: a ``headers`` key there is its data, not the
    headers LiteLLM forwards, and Headroom's ``x-headroom-*`` names in it are not Headroom's to drop."""
    callback = HeadroomCallback()
    body = {**anthropic_request("m", "pt-headers"), "headers": {"x-headroom-mode": "field", "a": "b"}}
    data = passthrough_data(body)
    out = run(callback.async_pre_call_hook(route(path), None, data, "pass_through_endpoint"))
    assert out["headers"] == {"x-headroom-mode": "field", "a": "b"}
    if path.endswith("/messages"):
        assert out["messages"] != data["messages"]  # compressed all the same
    else:
        assert out is data
