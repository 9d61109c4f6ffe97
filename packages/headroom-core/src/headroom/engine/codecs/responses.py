"""OpenAI Responses bodies. A ``cache_control`` marker (gateways accept one on a part) plays no part here,
as in the other codecs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headroom.engine.codecs._common import (
    arguments_text,
    join_texts,
    user_text_slots,
)
from headroom.engine.units import JsonPath, Slot, UnitContext, WireFormat

_TEXT_PARTS = ("input_text", "output_text", "text")
_CALLS = {"function_call": "arguments", "custom_tool_call": "input"}
_OUTPUTS = ("function_call_output", "custom_tool_call_output")


def _text_parts(content: Any, base: JsonPath) -> list[tuple[JsonPath, str]]:
    """(path, text) for a string content or each text part of a list content."""
    if isinstance(content, str):
        return [(base, content)]
    parts: list[tuple[JsonPath, str]] = []
    if isinstance(content, list):
        for j, part in enumerate(content):
            if (
                isinstance(part, Mapping)
                and part.get("type") in _TEXT_PARTS
                and isinstance(part.get("text"), str)
            ):
                parts.append(((*base, j, "text"), part["text"]))
    return parts


def extract(
    body: Mapping[str, Any], pasted_tags: Sequence[str], large_paste_chars: int | None = None
) -> list[Slot]:
    """The compressible units of a Responses body: tool-call outputs and pasted tool output."""
    items = body.get("input")
    if not isinstance(items, list):
        return []
    calls: dict[str, tuple[str | None, str | None]] = {}
    last_user: str | None = None
    last_assistant: str | None = None
    slots: list[Slot] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type", "message" if "role" in item else None)
        if not isinstance(kind, str):
            continue
        if kind in _CALLS and isinstance(item.get("call_id"), str):
            calls[item["call_id"]] = (item.get("name"), arguments_text(item.get(_CALLS[kind])))
        elif kind in _OUTPUTS:
            call_id = item.get("call_id")
            name, args = calls.get(call_id, (None, None)) if isinstance(call_id, str) else (None, None)
            ctx = UnitContext(
                format=WireFormat.RESPONSES,
                source="tool_result",
                tool_name=name if isinstance(name, str) else None,
                tool_input=args,
                user_request=last_user,
            )
            slots.extend(Slot(p, t, ctx) for p, t in _text_parts(item.get("output"), ("input", i, "output")))
        elif kind == "message":
            role = item.get("role")
            texts = _text_parts(item.get("content"), ("input", i, "content"))
            if role == "assistant":
                last_assistant = join_texts(t for _, t in texts)
            elif role == "user":
                found, person = user_text_slots(
                    texts, WireFormat.RESPONSES, pasted_tags, large_paste_chars, last_user, last_assistant
                )
                slots.extend(found)
                last_user = join_texts(person) or last_user
    return slots
