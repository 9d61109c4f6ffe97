"""OpenAI Chat Completions bodies (and LiteLLM's request dict, which has the same shape).

``cache_control`` (on a text part, or on a whole message in LiteLLM's form) plays no part here: the marker
stays where the client put it; only unit texts are ever rewritten. See docs/architecture.md, "Cache
breakpoints".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headroom.engine.codecs._common import (
    arguments_text,
    join_texts,
    user_text_slots,
)
from headroom.engine.units import JsonPath, Slot, UnitContext, WireFormat


def _text_parts(content: Any, base: JsonPath) -> list[tuple[JsonPath, str]]:
    """(path, text) for a string content or each plain text part of a list content."""
    if isinstance(content, str):
        return [(base, content)]
    parts: list[tuple[JsonPath, str]] = []
    if isinstance(content, list):
        for j, part in enumerate(content):
            if isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(((*base, j, "text"), part["text"]))
    return parts


def extract(
    body: Mapping[str, Any], pasted_tags: Sequence[str], large_paste_chars: int | None = None
) -> list[Slot]:
    """The compressible units of a Chat Completions body, in order."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    calls: dict[str, tuple[str | None, str | None]] = {}
    last_user: str | None = None
    last_assistant: str | None = None
    slots: list[Slot] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping):
            continue
        role = msg.get("role")
        texts = _text_parts(msg.get("content"), ("messages", i, "content"))
        if role == "assistant":
            tool_calls = msg.get("tool_calls")
            for call in tool_calls if isinstance(tool_calls, list) else ():
                if isinstance(call, Mapping) and isinstance(call.get("id"), str):
                    fn = call.get("function")
                    fn = fn if isinstance(fn, Mapping) else {}
                    calls[call["id"]] = (fn.get("name"), arguments_text(fn.get("arguments")))
            last_assistant = join_texts(t for _, t in texts)
        elif role in ("tool", "function"):
            call_id = msg.get("tool_call_id")
            known = calls.get(call_id) if isinstance(call_id, str) else None
            name, args = known if known is not None else (msg.get("name"), None)
            ctx = UnitContext(
                format=WireFormat.OPENAI_CHAT,
                source="tool_result",
                tool_name=name if isinstance(name, str) else None,
                tool_input=args,
                user_request=last_user,
            )
            slots.extend(Slot(path, text, ctx) for path, text in texts)
        elif role == "user":
            found, person = user_text_slots(
                texts, WireFormat.OPENAI_CHAT, pasted_tags, large_paste_chars, last_user, last_assistant
            )
            slots.extend(found)
            last_user = join_texts(person) or last_user
    return slots
