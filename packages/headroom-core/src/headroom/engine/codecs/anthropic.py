"""Anthropic Messages bodies.

``cache_control`` plays no part here: a block carrying one is read like any other (the marker stays where
the client put it; only unit texts are ever rewritten). See docs/architecture.md, "Cache breakpoints".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headroom.engine.codecs._common import (
    arguments_text,
    join_texts,
    paste_source,
    xml_span_slots,
    xml_tool_results,
)
from headroom.engine.units import Slot, UnitContext, WireFormat


def _plain_text(block: Any) -> str | None:
    if isinstance(block, Mapping) and block.get("type") == "text" and isinstance(block.get("text"), str):
        return str(block["text"])
    return None


def _pasted_context(
    text: str, tags: Sequence[str], large_paste_chars: int | None, before: str | None, request: str | None
) -> UnitContext | None:
    """The context of a user text that is tool output (``before``: the assistant text before it)."""
    source = paste_source(text, tags, large_paste_chars)
    if source is None:
        return None
    return UnitContext(format=WireFormat.ANTHROPIC, source=source, tool_input=before, user_request=request)


def extract(
    body: Mapping[str, Any], pasted_tags: Sequence[str], large_paste_chars: int | None = None
) -> list[Slot]:
    """The compressible units of a Messages body: ``tool_result`` text and pasted tool output."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    uses: dict[str, tuple[str | None, str | None]] = {}
    last_user: str | None = None
    last_assistant: str | None = None
    slots: list[Slot] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping):
            continue
        role = msg.get("role")
        content = msg.get("content")
        if role == "assistant":
            texts: list[str] = []
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                for block in content:
                    if not isinstance(block, Mapping):
                        continue
                    if block.get("type") in ("tool_use", "server_tool_use") and isinstance(
                        block.get("id"), str
                    ):
                        uses[block["id"]] = (block.get("name"), arguments_text(block.get("input")))
                    elif (text := _plain_text(block)) is not None:
                        texts.append(text)
            last_assistant = join_texts(texts)
            continue
        if role != "user":
            continue

        paste = (pasted_tags, large_paste_chars, last_assistant, last_user)
        person: list[str] = []
        if isinstance(content, str):
            if spans := xml_span_slots(("messages", i, "content"), content, WireFormat.ANTHROPIC, last_user):
                slots.extend(spans)
            elif (pasted_ctx := _pasted_context(content, *paste)) is None:
                person.append(content)
            else:
                slots.append(Slot(("messages", i, "content"), content, pasted_ctx))
        elif isinstance(content, list):
            xml = xml_tool_results(
                [(j, t) for j, b in enumerate(content) if (t := _plain_text(b)) is not None]
            )
            for j, block in enumerate(content):
                if not isinstance(block, Mapping):
                    continue
                if j in xml:  # an XML-protocol agent's tool result (or its header), sent as text
                    if (tool := xml[j]) is not None:
                        ctx = UnitContext(
                            format=WireFormat.ANTHROPIC,
                            source="tool_result",
                            tool_name=tool[0],
                            tool_input=tool[1],
                            user_request=last_user,
                        )
                        slots.append(Slot(("messages", i, "content", j, "text"), block["text"], ctx))
                elif block.get("type") == "tool_result":
                    tool_id = block.get("tool_use_id")
                    name, args = uses.get(tool_id, (None, None)) if isinstance(tool_id, str) else (None, None)
                    ctx = UnitContext(
                        format=WireFormat.ANTHROPIC,
                        source="tool_result",
                        tool_name=name if isinstance(name, str) else None,
                        tool_input=args,
                        user_request=last_user,
                        is_error=block.get("is_error") is True,
                    )
                    inner = block.get("content")
                    base = ("messages", i, "content", j, "content")
                    if isinstance(inner, str):
                        slots.append(Slot(base, inner, ctx))
                    elif isinstance(inner, list):
                        for k, sub in enumerate(inner):
                            text = _plain_text(sub)
                            if text is not None:
                                slots.append(Slot((*base, k, "text"), text, ctx))
                elif (text := _plain_text(block)) is not None:
                    at = ("messages", i, "content", j, "text")
                    if spans := xml_span_slots(at, text, WireFormat.ANTHROPIC, last_user):
                        slots.extend(spans)
                    elif (pasted_ctx := _pasted_context(text, *paste)) is None:
                        person.append(text)
                    else:
                        slots.append(Slot(("messages", i, "content", j, "text"), text, pasted_ctx))
        last_user = join_texts(person) or last_user
    return slots
