"""What the engine hands to transforms: a unit of tool output and the context it came from."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from typing import Literal, TypeVar, cast, overload

_T = TypeVar("_T")

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
    source: Literal["tool_result", "pasted", "large_paste"]
    """``tool_result``: a tool's result block; ``pasted``: a user text wrapping output in a configured tag;
    ``large_paste``: a user text long enough to be pasted output (transforms rewrite only machine output
    in it, never a person's prose or code)."""
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
    span: tuple[int, int] | None = None
    """None: ``text`` is the whole string at ``path``; else it is ``string[start:end]`` (an XML-protocol
    agent's tool output inside a user text that also holds its header and environment details). Spans at
    one path never overlap, and a path with spans has no whole-string slot."""


@dataclass(frozen=True, slots=True)
class Unit:
    """What a transform receives: the current text of a unit, its context and a token counter."""

    text: str
    context: UnitContext
    count_tokens: Callable[[str], int]
    ref: str
    """Content hash of the original unit (before any transform); omission markers carry it."""
    earlier: Sequence[str] = ()
    """Original texts of the units before this one in the same request (for cross-unit dedupe). From the
    engine, an :class:`Earlier` view."""
    aged: bool | None = None
    """None: aging is off (``ProxyConfig.aging``); False: on, and this unit is among the newest outputs (or
    a large paste, which never ages); True: an older tool output (a tool result, or output pasted in a
    configured tag), which a transform may compact further (the router outlines file views)."""


class TextLog:
    """The original texts of one request's units, in order, and the indexes transforms derive from them;
    with ``shown`` (the engine's log), also what the model is sent for each unit.

    Append-only, so a view of its first ``n`` texts never changes. One log per request, used by the thread
    that runs the request: nothing in it is shared between requests.
    """

    __slots__ = ("_derived", "_shown", "_texts")

    def __init__(self, texts: Iterable[str] = (), *, shown: Iterable[str] | None = None) -> None:
        self._texts: list[str] = list(texts)
        self._shown: list[str] | None = None if shown is None else list(shown)
        if self._shown is not None and len(self._shown) != len(self._texts):
            raise ValueError("a shown text for every text")
        self._derived: dict[Hashable, object] = {}

    def append(self, text: str, shown: str | None = None) -> None:
        """Append a unit's original ``text`` and, when the log records it, ``shown``: the text the model
        is sent for it (None: the original, left as it was)."""
        self._texts.append(text)
        if self._shown is not None:
            self._shown.append(text if shown is None else shown)

    def __len__(self) -> int:
        return len(self._texts)

    def view(self) -> Earlier:
        """The texts so far, as a read-only view (O(1): nothing is copied)."""
        return Earlier(self, len(self._texts))


class Earlier(Sequence[str]):
    """A read-only view of the first ``len(self)`` texts of a :class:`TextLog`.

    Transforms that index earlier units (e.g. the router's dedupe windows) keep one index per request in
    :meth:`derived` and extend it as the request's units go by, instead of rebuilding it for every unit.
    """

    __slots__ = ("_log", "_size")

    def __init__(self, log: TextLog, size: int) -> None:
        if not 0 <= size <= len(log):
            raise ValueError(f"a view of {size} texts of a log of {len(log)}")
        self._log = log
        self._size = size

    @classmethod
    def of(cls, texts: Iterable[str]) -> Earlier:
        """A view of ``texts`` over a new log of its own."""
        return TextLog(texts).view()

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...

    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        if isinstance(index, slice):
            return tuple(self._log._texts[: self._size][index])
        position = index + self._size if index < 0 else index
        if not 0 <= position < self._size:
            raise IndexError("Earlier index out of range")
        return self._log._texts[position]

    def __iter__(self) -> Iterator[str]:
        return islice(self._log._texts, self._size)

    def __repr__(self) -> str:
        return f"Earlier({len(self)} texts)"

    @property
    def records_shown(self) -> bool:
        """Whether :meth:`shown` knows what the model is sent (the engine's log), not just the originals."""
        return self._log._shown is not None

    def shown(self, index: int) -> str:
        """The text the model is sent for unit ``index``: its compressed form, or the original when it was
        left as it was (or when the log does not record it: see :attr:`records_shown`)."""
        if not 0 <= index < self._size:
            raise IndexError("Earlier index out of range")
        shown = self._log._shown
        return self._log._texts[index] if shown is None else shown[index]

    def derived(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """The request's index stored under ``key``, made by ``make()`` on first use.

        Views of every length share it, so it must answer for any prefix of the log (e.g. by recording
        where each entry first occurs) and be extended by its user up to ``len(self)`` before use.
        """
        found = self._log._derived.get(key)
        if found is None:
            found = self._log._derived[key] = make()
        return cast(_T, found)
