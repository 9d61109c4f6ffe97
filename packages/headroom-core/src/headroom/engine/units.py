"""What the engine hands to transforms: a unit of tool output and the context it came from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

JsonPath = tuple[str | int, ...]


class WireFormat(StrEnum):
    """The request body formats the engine reads and writes."""

    OPENAI_CHAT = "openai"
    ANTHROPIC = "anthropic"
    RESPONSES = "responses"


@dataclass(frozen=True, slots=True)
class UnitContext:
    """Where a unit came from. Built only from the unit's own message and what precedes it."""

    format: WireFormat
    source: Literal["tool_result", "pasted"]
    tool_name: str | None = None
    tool_input: str | None = None
    """The tool call's arguments as sent (JSON text), or the assistant text before pasted output."""
    user_request: str | None = None
    """The last text a person wrote before the unit."""
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class Slot:
    """A compressible string inside a parsed body: its JSON path, its text and its context."""

    path: JsonPath
    text: str
    context: UnitContext


@dataclass(frozen=True, slots=True)
class Unit:
    """What a transform receives: the current text of a unit, its context and a token counter."""

    text: str
    context: UnitContext
    count_tokens: Callable[[str], int]
    ref: str
    """Content hash of the original unit (before any transform); omission markers carry it."""
    earlier: tuple[str, ...] = ()
    """Original texts of the units before this one in the same request (for cross-unit dedupe)."""
