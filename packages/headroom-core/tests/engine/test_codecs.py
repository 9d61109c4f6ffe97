"""The codecs find exactly the compressible units, with the context that produced them."""

from __future__ import annotations

from typing import Any

from headroom.engine.codecs import EXTRACTORS, detect_format
from headroom.engine.units import WireFormat
from headroom.proxy.config import DEFAULT_PASTED_TAGS

PASTED = "<returncode>1</returncode>\n<output>\nTraceback (most recent call last):\nValueError: x\n</output>"


def units(fmt: WireFormat, body: dict[str, Any]) -> list[Any]:
    return EXTRACTORS[fmt](body, DEFAULT_PASTED_TAGS)


def test_openai_tool_results_carry_their_call_and_the_request() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "be brief " * 50},
            {"role": "user", "content": "find the Response class"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "grep", "arguments": '{"q": "Response"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "a.py:1:class Response:"},
            {
                "role": "tool",
                "tool_call_id": "c2",
                "content": [{"type": "text", "text": "x"}, {"type": "image_url"}],
            },
            {"role": "user", "content": PASTED},
            {"role": "user", "content": [{"type": "text", "text": "thanks"}]},
        ]
    }
    found = units(WireFormat.OPENAI_CHAT, body)
    assert [u.path for u in found] == [
        ("messages", 3, "content"),
        ("messages", 4, "content", 0, "text"),
        ("messages", 5, "content"),
    ]
    grep = found[0].context
    assert (grep.tool_name, grep.tool_input, grep.user_request) == (
        "grep",
        '{"q": "Response"}',
        "find the Response class",
    )
    assert found[1].context.tool_name is None  # an unknown call id: no invented context
    assert found[2].context.source == "pasted"


def test_anthropic_skips_thinking_and_unknown_blocks_and_reads_marked_ones_as_any_other() -> None:
    body = {
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "read the log"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "text", "text": "running cat"},
                    {"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "cat log"}},
                    {"type": "tool_use", "id": "t2", "name": "bash", "input": {"command": "cat other"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "log line", "is_error": True},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": "cached",
                        "cache_control": {"type": "x"},
                    },
                    {"type": "x_new_block", "text": "never touched"},
                    {"type": "text", "text": PASTED},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": [{"type": "text", "text": "a"}, {"type": "image", "source": {}}],
                    },
                ],
            },
        ],
    }
    found = units(WireFormat.ANTHROPIC, body)
    assert [u.path for u in found] == [
        ("messages", 2, "content", 0, "content"),
        ("messages", 2, "content", 1, "content"),  # cache_control: its text is a unit, its marker stays
        ("messages", 2, "content", 3, "text"),
        ("messages", 2, "content", 4, "content", 0, "text"),
    ]
    first, marked, pasted, _ = (u.context for u in found)
    assert marked.tool_input == '{"command": "cat other"}'

    assert first.is_error
    assert (first.tool_name, first.tool_input) == ("bash", '{"command": "cat log"}')
    assert first.user_request == "read the log"
    assert (pasted.source, pasted.tool_input) == ("pasted", "running cat")


def test_responses_outputs_and_string_input() -> None:
    body = {
        "instructions": "sys",
        "input": [
            {"type": "message", "role": "user", "content": "list files"},
            {"type": "function_call", "call_id": "f1", "name": "ls", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "f1", "output": "a\nb"},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "never touched"}]},
            {
                "type": "function_call_output",
                "call_id": "f1",
                "output": [{"type": "input_text", "text": "c"}],
            },
        ],
    }
    found = units(WireFormat.RESPONSES, body)
    assert [u.path for u in found] == [("input", 2, "output"), ("input", 4, "output", 0, "text")]
    assert found[0].context.tool_name == "ls"
    assert found[0].context.user_request == "list files"
    assert units(WireFormat.RESPONSES, {"input": "just a prompt"}) == []


def test_a_persons_words_are_never_a_unit() -> None:
    body = {"messages": [{"role": "user", "content": "please look at <output> in my template"}]}
    assert units(WireFormat.OPENAI_CHAT, body) == []


def _user_text_bodies(text: str) -> dict[WireFormat, dict[str, Any]]:
    return {
        WireFormat.OPENAI_CHAT: {"messages": [{"role": "user", "content": text}]},
        WireFormat.ANTHROPIC: {"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]},
        WireFormat.RESPONSES: {
            "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}]
        },
    }


def test_a_long_user_text_is_a_large_paste_unit_in_every_format() -> None:
    diff = "diff --git a/x.py b/x.py\n" + "+added line\n" * 2000
    for fmt, body in _user_text_bodies(diff).items():
        found = EXTRACTORS[fmt](body, DEFAULT_PASTED_TAGS, 16384)
        assert [u.context.source for u in found] == ["large_paste"], fmt
        assert found[0].text == diff
        assert EXTRACTORS[fmt](body, DEFAULT_PASTED_TAGS, None) == [], fmt  # the threshold turned off
        assert EXTRACTORS[fmt](body, DEFAULT_PASTED_TAGS, len(diff) + 1) == [], fmt  # one char short
    tagged = "<output>\n" + "x\n" * 10000 + "</output>"
    for fmt, body in _user_text_bodies(tagged).items():
        assert [u.context.source for u in EXTRACTORS[fmt](body, DEFAULT_PASTED_TAGS, 16384)] == ["pasted"]


def test_a_large_paste_is_not_the_persons_request_for_later_units() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "why does the build fail?"},
            {"role": "user", "content": "E" * 20000},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "function": {"name": "ls"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "a.py"},
        ]
    }
    found = EXTRACTORS[WireFormat.OPENAI_CHAT](body, DEFAULT_PASTED_TAGS, 16384)
    assert [u.context.source for u in found] == ["large_paste", "tool_result"]
    assert found[1].context.user_request == "why does the build fail?"


def test_malformed_shapes_yield_no_units_instead_of_errors() -> None:
    for fmt in WireFormat:
        for body in ({"messages": "x"}, {"messages": [1, None, {"role": "tool"}]}, {"input": {"a": 1}}, {}):
            assert units(fmt, body) == []


def test_format_detection() -> None:
    assert detect_format({"messages": []}, "/openai/v1/chat/completions") is WireFormat.OPENAI_CHAT
    assert detect_format({"messages": []}, "/v1/messages") is WireFormat.ANTHROPIC
    assert detect_format({"input": []}, "/v1/responses") is WireFormat.RESPONSES
    assert detect_format({"system": "s", "messages": []}) is WireFormat.ANTHROPIC
    assert detect_format({"messages": [{"role": "tool", "content": ""}]}) is WireFormat.OPENAI_CHAT
    assert detect_format({"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}) is (
        WireFormat.ANTHROPIC
    )
    assert detect_format({"input": "hi"}) is WireFormat.RESPONSES
    assert detect_format({"prompt": "hi"}) is None


def test_pasted_output_detection_is_linear_on_unclosed_tags() -> None:
    # 400k characters of unclosed wrappers: the old backreferencing regex took seconds at 64 KB.
    hostile = "<output>" * 50_000
    assert units(WireFormat.OPENAI_CHAT, {"messages": [{"role": "user", "content": hostile}]}) == []
    assert len(
        units(WireFormat.OPENAI_CHAT, {"messages": [{"role": "user", "content": hostile + "</output>"}]})
    )


def _asked_then_called(fmt: WireFormat, mark: dict[str, Any]) -> dict[str, Any]:
    """A person's question (its text part carrying ``mark``), a tool call and the call's output."""
    question = {
        "type": "input_text" if fmt is WireFormat.RESPONSES else "text",
        "text": "why is it slow?",
        **mark,
    }
    if fmt is WireFormat.OPENAI_CHAT:
        return {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "user", "content": [question]},
                {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "top"}}]},
                {"role": "tool", "tool_call_id": "c", "content": "cpu 99%"},
            ]
        }
    if fmt is WireFormat.ANTHROPIC:
        return {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "user", "content": [question]},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "c", "name": "top", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "c", "content": "cpu 99%"}],
                },
            ]
        }
    return {
        "input": [
            {"role": "user", "content": "hi"},
            {"role": "user", "content": [question]},
            {"type": "function_call", "call_id": "c", "name": "top", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "cpu 99%"},
        ]
    }


def test_a_cache_breakpoint_does_not_change_the_context_of_later_units() -> None:
    # Clients move their breakpoints every turn: a unit's context must be the same with or without one.
    for fmt in WireFormat:
        for mark in ({}, {"cache_control": {"type": "ephemeral"}}):
            (found,) = units(fmt, _asked_then_called(fmt, mark))
            assert found.context.user_request == "why is it slow?", (fmt, mark)
    chat = _asked_then_called(WireFormat.OPENAI_CHAT, {})
    chat["messages"][1] = {
        "role": "user",
        "content": "why is it slow?",
        "cache_control": {"type": "ephemeral"},
    }
    (found,) = units(WireFormat.OPENAI_CHAT, chat)
    assert found.context.user_request == "why is it slow?"
