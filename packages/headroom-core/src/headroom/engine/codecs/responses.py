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
_CALLS = {
    "function_call": "arguments",
    "custom_tool_call": "input",
    "local_shell_call": "action",
    "shell_call": "action",
}
"""Call items and the key of what they ask for (the shell tools' ``action``: ``{"command": [argv]}`` for
``local_shell``, ``{"commands": [...]}`` for ``shell``)."""
_OUTPUTS = ("function_call_output", "custom_tool_call_output", "local_shell_call_output")
_SHELL_TOOLS = {"local_shell_call": "local_shell", "shell_call": "shell"}
_STREAMS = ("stdout", "stderr")
"""The texts of each entry of a ``shell_call_output``'s ``output`` list (its ``outcome`` stays as it is)."""


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


def _stream_texts(output: Any, base: JsonPath) -> list[tuple[JsonPath, str]]:
    """(path, text) for the ``stdout`` and ``stderr`` of each entry of a ``shell_call_output`` (not empty)."""
    texts: list[tuple[JsonPath, str]] = []
    if isinstance(output, list):
        for j, entry in enumerate(output):
            if isinstance(entry, Mapping):
                texts.extend(
                    ((*base, j, key), text)
                    for key in _STREAMS
                    if isinstance(text := entry.get(key), str) and text
                )
    return texts


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
            name = _SHELL_TOOLS.get(kind, item.get("name"))
            calls[item["call_id"]] = (name, arguments_text(item.get(_CALLS[kind])))
        elif kind in _OUTPUTS or kind == "shell_call_output":
            # a local_shell_call_output names its call by ``id`` (the call's call_id)
            call_id = item.get("call_id") or (item.get("id") if kind == "local_shell_call_output" else None)
            name, args = calls.get(call_id, (None, None)) if isinstance(call_id, str) else (None, None)
            ctx = UnitContext(
                format=WireFormat.RESPONSES,
                source="tool_result",
                tool_name=name if isinstance(name, str) else None,
                tool_input=args,
                user_request=last_user,
            )
            read = _stream_texts if kind == "shell_call_output" else _text_parts
            slots.extend(Slot(p, t, ctx) for p, t in read(item.get("output"), ("input", i, "output")))
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
