"""Hypothesis strategies for request bodies in the three wire formats."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from headroom.engine.units import WireFormat

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789 ", min_size=1, max_size=12)
line = st.lists(words, min_size=1, max_size=8).map(" ".join)
short_text = st.text(min_size=0, max_size=40)
# Tool output: many lines, sometimes with characters JSON must escape, sometimes non-ASCII.
tool_output = st.lists(
    st.one_of(line, st.text(min_size=1, max_size=60).filter(lambda s: "\n" not in s and "\r" not in s)),
    min_size=1,
    max_size=80,
).map("\n".join)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=4, max_size=10).map(
    lambda s: "call_" + s
)
unknown_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def turn(draw: st.DrawFn, fmt: WireFormat) -> list[dict[str, Any]]:
    """One agent turn: an assistant tool call and its result, in ``fmt``."""
    call_id = draw(ids)
    name = draw(st.sampled_from(["bash", "read_file", "grep"]))
    args = {"command": draw(line)}
    output = draw(tool_output)
    if fmt is WireFormat.OPENAI_CHAT:
        result: Any = output if draw(st.booleans()) else [{"type": "text", "text": output}]
        return [
            {
                "role": "assistant",
                "content": draw(st.none() | short_text),
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": json.dumps(args)},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": result},
        ]
    if fmt is WireFormat.ANTHROPIC:
        assistant: list[dict[str, Any]] = []
        if draw(st.booleans()):
            assistant.append({"type": "thinking", "thinking": draw(short_text), "signature": draw(words)})
        assistant.append({"type": "tool_use", "id": call_id, "name": name, "input": args})
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id}
        block["content"] = output if draw(st.booleans()) else [{"type": "text", "text": output}]
        extra = draw(st.sampled_from(["none", "cache", "unknown"]))
        blocks: list[dict[str, Any]] = [block]
        if extra == "cache":
            block["cache_control"] = {"type": "ephemeral"}
        elif extra == "unknown":
            blocks.append({"type": "x_future_block", "payload": draw(unknown_value)})
        return [{"role": "assistant", "content": assistant}, {"role": "user", "content": blocks}]
    return [
        {"type": "function_call", "call_id": call_id, "name": name, "arguments": json.dumps(args)},
        {"type": "function_call_output", "call_id": call_id, "output": output},
    ]


def user_message(fmt: WireFormat, text: str) -> dict[str, Any]:
    if fmt is WireFormat.RESPONSES:
        return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"role": "user", "content": text}


@st.composite
def session(draw: st.DrawFn, fmt: WireFormat | None = None) -> tuple[WireFormat, dict[str, Any], list[int]]:
    """A body in ``fmt`` and the message counts after each turn (for replaying it turn by turn)."""
    fmt = fmt or draw(st.sampled_from(list(WireFormat)))
    items: list[dict[str, Any]] = []
    if fmt is WireFormat.OPENAI_CHAT:
        items.append({"role": "system", "content": draw(short_text)})
    items.append(user_message(fmt, draw(line)))
    boundaries = [len(items)]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        items.extend(draw(turn(fmt)))
        if draw(st.booleans()):
            items.append(user_message(fmt, draw(line)))
        boundaries.append(len(items))
    key = "input" if fmt is WireFormat.RESPONSES else "messages"
    body: dict[str, Any] = {"model": draw(words), key: items}
    if fmt is WireFormat.ANTHROPIC:
        body["system"] = draw(short_text)
        body["max_tokens"] = 1024
    if fmt is WireFormat.RESPONSES:
        body["instructions"] = draw(short_text)
    if draw(st.booleans()):
        body["x_unknown_top_level"] = draw(unknown_value)
    return fmt, body, boundaries


def path_for(fmt: WireFormat) -> str:
    return {
        WireFormat.OPENAI_CHAT: "/v1/chat/completions",
        WireFormat.ANTHROPIC: "/v1/messages",
        WireFormat.RESPONSES: "/v1/responses",
    }[fmt]
