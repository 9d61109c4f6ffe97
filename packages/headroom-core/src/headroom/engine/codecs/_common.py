"""Helpers the codecs share: text extraction, pasted-output detection, copy-on-write updates."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from headroom.engine.units import JsonPath


def is_pasted_output(text: str, tags: Sequence[str]) -> bool:
    """True when a user text carries tool output in one of the configured wrapper tags.

    ``<tag>`` followed later by ``</tag>``, found with two linear scans per tag (a backreferencing regex
    would be quadratic on hostile input such as many unclosed ``<output>`` tags).
    """
    for tag in tags:
        start = text.find(f"<{tag}>")
        if start >= 0 and text.find(f"</{tag}>", start + len(tag) + 2) >= 0:
            return True
    return False


def paste_source(
    text: str, tags: Sequence[str], large_paste_chars: int | None
) -> Literal["pasted", "large_paste"] | None:
    """How a user text is tool output: ``pasted`` (wrapped in a configured tag), ``large_paste`` (long
    enough that a person did not type it: the router rewrites only machine output in it), or None."""
    if is_pasted_output(text, tags):
        return "pasted"
    if large_paste_chars is not None and len(text) >= large_paste_chars:
        return "large_paste"
    return None


def arguments_text(value: Any) -> str | None:
    """Tool-call arguments as text: strings unchanged, anything else as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return None


def join_texts(parts: Iterable[str]) -> str | None:
    texts = [p for p in parts if p]
    return "\n".join(texts) if texts else None


def with_value(obj: Any, path: JsonPath, value: str) -> Any:
    """A copy of ``obj`` with ``value`` at ``path``; only the containers along the path are copied."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, Mapping) and isinstance(head, str):
        new_map = dict(obj)
        new_map[head] = with_value(obj[head], rest, value)
        return new_map
    if isinstance(obj, list) and isinstance(head, int):
        new_list = list(obj)
        new_list[head] = with_value(obj[head], rest, value)
        return new_list
    raise KeyError(f"path element {head!r} does not fit {type(obj).__name__}")


def apply_values(obj: Any, updates: Mapping[JsonPath, str]) -> Any:
    """``obj`` with every path in ``updates`` replaced; the input is never mutated."""
    for path, value in updates.items():
        obj = with_value(obj, path, value)
    return obj
