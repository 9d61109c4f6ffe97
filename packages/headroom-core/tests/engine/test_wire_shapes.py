"""Real-shaped request bodies through the real transforms: only unit texts change, odd shapes pass through.

Shapes follow the providers' request references: OpenAI Chat Completions (content parts, refusal, legacy
``function`` role), Anthropic Messages (tool_result with image blocks, thinking and server-tool blocks,
documents, search results, ``cache_control`` on blocks and at the top level), OpenAI Responses (items,
``function_call_output``/``custom_tool_call_output`` with string or part outputs, the shell tools'
``local_shell_call_output`` and ``shell_call_output``, reasoning, references).
A ``cache_control`` marker stays where the client put it, and the text it marks is compressed exactly as it
would be unmarked: a breakpoint that moves every turn must find the same prefix it cached.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from headroom.engine import Engine, WireFormat
from headroom.engine.codecs import EXTRACTORS, apply_values
from headroom.proxy.config import ProxyConfig
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector
from headroom.transforms.commands import shell_command
from headroom.transforms.detect import is_listing_command
from headroom.transforms.search import is_search_command

LOG = "\n".join(
    f"2024-05-01T10:{i // 60:02d}:{i % 60:02d}Z INFO worker-{i % 7} processed job id={i * 13} in {i % 50}ms"
    for i in range(400)
)
GREP = "\n".join(f"src/pkg/mod{i % 30}.py:{i}:    result = compute(item_{i}, flag=True)" for i in range(400))
CACHED = {"type": "ephemeral"}
PATHS = {
    WireFormat.OPENAI_CHAT: "/v1/chat/completions",
    WireFormat.ANTHROPIC: "/v1/messages",
    WireFormat.RESPONSES: "/v1/responses",
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()]))


def openai_body() -> dict[str, Any]:
    return {
        "model": "gpt-4o",
        "temperature": 1.0,
        "top_p": 1,
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "You are a coding agent."}]},
            {
                "role": "user",
                "name": "alice",
                "content": [
                    {"type": "text", "text": "find the failures"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,AAAA", "detail": "high"},
                    },
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                    {"type": "file", "file": {"file_id": "file-abc", "filename": "a.pdf"}},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "refusal", "refusal": "no"}],
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": '{"c":1}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": LOG},
            {"role": "assistant", "content": None, "function_call": {"name": "grep", "arguments": "{}"}},
            {"role": "function", "name": "grep", "content": GREP},
            {"role": "tool", "tool_call_id": "call_1", "content": LOG, "cache_control": CACHED},
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": [
                    {"type": "text", "text": GREP},
                    {"type": "text", "text": LOG, "cache_control": CACHED},
                ],
            },
            {"role": "user", "content": [{"type": "text", "text": f"<output>\n{LOG}\n</output>"}]},
        ],
    }


def anthropic_body() -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "temperature": 1.0,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": CACHED}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "why does the build fail?"},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": LOG}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "look at the log", "signature": "EqQBCgIYAhIM"},
                    {"type": "redacted_thinking", "data": "EmwKAhgBEgy"},
                    {
                        "type": "server_tool_use",
                        "id": "srvtoolu_1",
                        "name": "web_search",
                        "input": {"query": "e"},
                    },
                    {
                        "type": "web_search_tool_result",
                        "tool_use_id": "srvtoolu_1",
                        "content": [
                            {"type": "web_search_result", "url": "https://x", "encrypted_content": "a"}
                        ],
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_01",
                        "name": "bash",
                        "input": {"cmd": "make", "n": 1.0},
                    },
                    {"type": "tool_use", "id": "toolu_02", "name": "grep", "input": {"q": "x"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": LOG, "is_error": True},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_02",
                        "content": [
                            {"type": "text", "text": GREP},
                            {
                                "type": "image",
                                "source": {"type": "base64", "media_type": "image/png", "data": "iV"},
                            },
                            {"type": "text", "text": LOG, "cache_control": CACHED},
                        ],
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01",
                        "content": LOG,
                        "cache_control": CACHED,
                    },
                    {
                        "type": "search_result",
                        "source": "s",
                        "title": "t",
                        "content": [{"type": "text", "text": LOG}],
                    },
                    {"type": "text", "text": "continue"},
                ],
            },
        ],
    }


def responses_body() -> dict[str, Any]:
    return {
        "model": "gpt-5",
        "instructions": "be terse",
        "temperature": 1.0,
        "input": [
            {"role": "developer", "content": "rules"},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "check the log"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "auto"},
                ],
            },
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "bash", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": LOG},
            {"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_2", "name": "grep", "input": "x"},
            {
                "type": "custom_tool_call_output",
                "call_id": "call_2",
                "output": [
                    {"type": "input_text", "text": GREP},
                    {"type": "input_image", "image_url": "https://x/y"},
                ],
            },
            {"type": "item_reference", "id": "msg_0"},
            {
                "type": "computer_call_output",
                "call_id": "call_3",
                "output": {"type": "computer_screenshot", "image_url": "data:image/png;base64,AA"},
            },
            {
                "type": "local_shell_call",
                "id": "lsc_0",
                "call_id": "lsc_1",
                "action": {"type": "exec", "command": ["bash", "-lc", "tail -n 400 app.log"], "env": {}},
                "status": "completed",
            },
            {"type": "local_shell_call_output", "id": "lsc_1", "output": LOG},  # (``id``: the call's)
            {"type": "shell_call", "call_id": "sh_1", "action": {"commands": ["rg -n compute src"]}},
            {
                "type": "shell_call_output",
                "call_id": "sh_1",
                "max_output_length": 100000,
                "output": [{"stdout": GREP, "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}],
            },
        ],
    }


CASES = {
    WireFormat.OPENAI_CHAT: (
        openai_body,
        [
            ("messages", 3, "content"),
            ("messages", 5, "content"),
            ("messages", 6, "content"),
            ("messages", 7, "content", 0, "text"),
            ("messages", 7, "content", 1, "text"),
            ("messages", 8, "content", 0, "text"),
        ],
    ),
    WireFormat.ANTHROPIC: (
        anthropic_body,
        [
            ("messages", 2, "content", 0, "content"),
            ("messages", 2, "content", 1, "content", 0, "text"),
            ("messages", 2, "content", 1, "content", 2, "text"),
            ("messages", 2, "content", 2, "content"),
        ],
    ),
    WireFormat.RESPONSES: (
        responses_body,
        [
            ("input", 4, "output"),
            ("input", 6, "output", 0, "text"),
            ("input", 10, "output"),
            ("input", 12, "output", 0, "stdout"),
        ],
    ),
}


@pytest.mark.parametrize("fmt", list(WireFormat))
def test_only_the_texts_of_units_change(engine: Engine, fmt: WireFormat) -> None:
    make, expected = CASES[fmt]
    body = make()
    raw = json.dumps(body, separators=(",", ":")).encode()
    slots = EXTRACTORS[fmt](body, engine.config.pasted_output_tags, engine.config.pasted_output_min_chars)
    # Documents, images, search results and other item types are never units; marked texts are.
    assert [s.path for s in slots] == expected
    result = engine.compress(raw, path=PATHS[fmt])
    assert result.changed
    assert not result.errors
    out = json.loads(result.body)
    assert all(_at(out, s.path) != s.text for s in slots)  # every unit was compressed
    assert apply_values(out, {s.path: s.text for s in slots}) == body
    assert b'"temperature":1.0,' in result.body  # a float stays a float, in place
    assert result.body.startswith(raw[:40])


def test_the_shell_tools_outputs_know_their_commands() -> None:
    """The Responses API's ``local_shell`` and ``shell`` tools: an output is read with its call's command
    (a search's output is ranked as one; a listing's as a listing)."""
    body = responses_body()
    slots = {s.path: s for s in EXTRACTORS[WireFormat.RESPONSES](body, (), None)}
    local, shell = slots["input", 10, "output"].context, slots["input", 12, "output", 0, "stdout"].context
    assert (local.tool_name, shell_command(local.tool_input)) == (
        "local_shell",
        "bash -lc tail -n 400 app.log",
    )
    assert (shell.tool_name, shell_command(shell.tool_input)) == ("shell", "rg -n compute src")
    assert is_search_command(shell.tool_input, shell.tool_name)
    assert not is_search_command(local.tool_input, local.tool_name)
    body["input"][11]["action"]["commands"] = ["cd src", "ls -R"]
    body["input"][12]["output"][0]["stdout"] = "\n".join(f"mod{i}.py" for i in range(300))
    (listing,) = [s for s in EXTRACTORS[WireFormat.RESPONSES](body, (), None) if s.path[1] == 12]
    assert is_listing_command(listing.context.tool_input)
    assert not is_listing_command(local.tool_input)


def _at(obj: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


@pytest.mark.parametrize("automatic", [False, True])
def test_a_moving_cache_breakpoint_finds_the_prefix_it_cached(automatic: bool) -> None:
    """Clients mark the newest block each turn (or ask for that with a top-level ``cache_control``): a
    block's text is the same marked or not, so the prefix cached at one turn's breakpoint is the prefix
    the next turn sends. A fresh engine per turn: nothing remembered between them."""
    config = ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()])
    outputs = [LOG, GREP, LOG.replace("INFO", "WARN"), GREP.replace("compute", "apply")]
    sent: dict[int, str] = {}
    for turn in range(1, len(outputs) + 1):
        messages: list[dict[str, Any]] = [{"role": "user", "content": "why does the build fail?"}]
        for k in range(turn):
            use = {"type": "tool_use", "id": f"t{k}", "name": "bash", "input": {"n": k}}
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": f"t{k}", "content": outputs[k]}
            if k == turn - 1 and not automatic:
                result["cache_control"] = CACHED
            messages += [{"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
        body: dict[str, Any] = {"model": "m", "max_tokens": 9, "messages": messages}
        if automatic:
            body["cache_control"] = CACHED
        out = json.loads(Engine(config).compress(json.dumps(body), path="/v1/messages").body)
        assert out.get("cache_control") == body.get("cache_control")
        for k in range(turn):
            block = out["messages"][2 + 2 * k]["content"][0]
            assert ("cache_control" in block) is (k == turn - 1 and not automatic)  # where the client put it
            assert block["content"] != outputs[k]  # compressed, marked or not
            assert block["content"] == sent.setdefault(k, block["content"])  # and the same on every turn


# A malformed part, then a valid unit: the odd part passes through untouched and the rest still compresses.
MALFORMED: list[tuple[WireFormat, dict[str, Any], tuple[str | int, ...]]] = [
    (
        WireFormat.OPENAI_CHAT,
        {
            "messages": [
                {"role": "assistant", "tool_calls": 5},
                {"role": "tool", "tool_call_id": "c", "content": LOG},
            ]
        },
        ("messages", 1, "content"),
    ),
    (
        WireFormat.ANTHROPIC,
        {
            "messages": [
                {"role": "user", "content": [{"type": {"a": 1}}, {"type": ["text"], "text": "x"}]},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t", "name": "bash", "input": {}}],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": LOG}]},
            ]
        },
        ("messages", 2, "content", 0, "content"),
    ),
    (
        WireFormat.RESPONSES,
        {
            "input": [
                {"type": {"x": 1}, "call_id": "c"},
                {"type": "function_call_output", "call_id": "c", "output": LOG},
            ]
        },
        ("input", 1, "output"),
    ),
]


@pytest.mark.parametrize(("fmt", "body", "unit"), MALFORMED)
@pytest.mark.parametrize("by_path", [True, False])
def test_malformed_parts_pass_through_without_errors(
    engine: Engine, fmt: WireFormat, body: dict[str, Any], unit: tuple[str | int, ...], by_path: bool
) -> None:
    result = engine.compress(json.dumps(body), path=PATHS[fmt] if by_path else None)
    assert (result.errors, result.skipped, result.format) == ([], None, fmt)
    out = json.loads(result.body)
    assert _at(out, unit) != LOG
    assert apply_values(out, {unit: LOG}) == body


def test_a_number_no_float_holds_passes_the_body_through_exactly(engine: Engine) -> None:
    """Re-encoding a parsed ``1E400`` would write ``Infinity`` (not JSON): such a body goes on as sent.
    Numbers a float does hold keep their value (``-1e5`` is written ``-100000.0``)."""
    log = json.dumps(LOG)
    raw = f'{{"model":"m","seed":1E400,"messages":[{{"role":"tool","tool_call_id":"c","content":{log}}}]}}'
    result = engine.compress(raw, path="/v1/chat/completions")
    assert (result.changed, result.skipped, result.body) == (False, "number_out_of_range", raw)
    fine = raw.replace("1E400", "-1e5")
    result = engine.compress(fine, path="/v1/chat/completions")
    assert result.changed
    assert isinstance(result.body, str)
    assert json.loads(result.body)["seed"] == -1e5


def test_a_lone_surrogate_anywhere_in_the_body_does_not_stop_compression(engine: Engine) -> None:
    tool = json.dumps({"role": "tool", "tool_call_id": "c", "content": LOG})
    raw = f'{{"model":"m","user":"\\ud800x","messages":[{tool}]}}'
    result = engine.compress(raw, path="/v1/chat/completions")
    assert (result.changed, result.errors) == (True, [])
    assert isinstance(result.body, str)
    assert json.loads(result.body)["user"] == "\ud800x"  # still the escape the client sent
