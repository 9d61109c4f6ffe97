"""Wire-format codecs: find the compressible units of a parsed request body.

Writing back is format-independent (:func:`apply_values`): only the units' strings change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from headroom.engine.codecs import anthropic, openai_chat, responses
from headroom.engine.codecs._common import apply_values
from headroom.engine.units import Slot, WireFormat


class Extractor(Protocol):
    """A codec's unit finder: the body, the pasted-output wrapper tags, the large-paste threshold."""

    def __call__(
        self, body: Mapping[str, Any], pasted_tags: Sequence[str], large_paste_chars: int | None = None, /
    ) -> list[Slot]: ...


EXTRACTORS: dict[WireFormat, Extractor] = {
    WireFormat.OPENAI_CHAT: openai_chat.extract,
    WireFormat.ANTHROPIC: anthropic.extract,
    WireFormat.RESPONSES: responses.extract,
}

_ANTHROPIC_BLOCKS = frozenset({"tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use"})


def format_from_path(path: str | None) -> WireFormat | None:
    """The wire format an HTTP path implies, or None when the path says nothing."""
    if not path:
        return None
    tail = path.rstrip("/")
    if tail.endswith("/chat/completions"):
        return WireFormat.OPENAI_CHAT
    if tail.endswith("/messages"):
        return WireFormat.ANTHROPIC
    if tail.endswith("/responses"):
        return WireFormat.RESPONSES
    return None


def format_from_body(body: Mapping[str, Any]) -> WireFormat | None:
    """The wire format a body's shape implies, or None when it fits none."""
    messages = body.get("messages")
    if isinstance(messages, list):
        if "system" in body and not isinstance(body.get("system"), type(None)):
            return WireFormat.ANTHROPIC
        for msg in messages:
            if not isinstance(msg, Mapping):
                continue
            if msg.get("role") in ("tool", "system", "developer", "function") or "tool_calls" in msg:
                return WireFormat.OPENAI_CHAT
            content = msg.get("content")
            if isinstance(content, list) and any(
                isinstance(b, Mapping) and isinstance(b.get("type"), str) and b["type"] in _ANTHROPIC_BLOCKS
                for b in content
            ):
                return WireFormat.ANTHROPIC
        return WireFormat.OPENAI_CHAT
    if "input" in body:
        return WireFormat.RESPONSES
    return None


def detect_format(body: Mapping[str, Any], path: str | None = None) -> WireFormat | None:
    """The path decides when it names an endpoint; otherwise the body's shape."""
    return format_from_path(path) or format_from_body(body)


__all__ = ["EXTRACTORS", "apply_values", "detect_format", "format_from_body", "format_from_path"]
