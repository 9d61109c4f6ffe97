"""OpenAI Responses bodies. A ``cache_control`` marker (gateways accept one on a part) plays no part here,
as in the other codecs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headroom.engine.codecs._common import (
    arguments_text,
    join_texts,
    part_index,
    paste_source,
    xml_span_slots,
    xml_tool_results,
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
                person: list[str] = []
                parts = (
                    [(j, t) for p, t in texts if (j := part_index(p)) is not None] if len(texts) > 1 else []
                )
                xml = xml_tool_results(parts)
                for path, text in texts:
                    j = part_index(path) if xml else None
                    if j is not None and j in xml:  # an XML-protocol agent's tool result, or its header
                        if (tool := xml[j]) is not None:
                            ctx = UnitContext(
                                format=WireFormat.RESPONSES,
                                source="tool_result",
                                tool_name=tool[0],
                                tool_input=tool[1],
                                user_request=last_user,
                            )
                            slots.append(Slot(path, text, ctx))
                        continue
                    if spans := xml_span_slots(path, text, WireFormat.RESPONSES, last_user):
                        slots.extend(spans)
                        continue
                    source = paste_source(text, pasted_tags, large_paste_chars)
                    if source is None:
                        person.append(text)
                    else:
                        ctx = UnitContext(
                            format=WireFormat.RESPONSES,
                            source=source,
                            tool_input=last_assistant,
                            user_request=last_user,
                        )
                        slots.append(Slot(path, text, ctx))
                last_user = join_texts(person) or last_user
    return slots
