"""The one omission-marker grammar every transform uses.

A marker stands on a line of its own where content was dropped::

    [headroom: omitted 118 lines, 2 files; 116x "INFO PacketResponder <n> terminating" | ref 3f2a9c1b5d7e]

Grammar (one line, no newline inside)::

    marker := "[headroom: omitted " counts [ "; " detail ] " | ref " REF "]"
    counts := COUNT " " KIND { ", " COUNT " " KIND }
    COUNT  := [0-9]+            KIND := [a-z][a-z ]*  (plural noun: lines, matches, records, files, ...)
    detail := free text without newlines (what was dropped, e.g. per-file counts or a repeated template)
    REF    := 12 lowercase hex digits: the start of the SHA-256 of the original unit's text

Every marker in a unit carries that unit's ``ref``, so originals can later be retrieved by it without any
change to the markers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

REF_LENGTH = 12

MARKER_RE = re.compile(
    r"\[headroom: omitted (?P<counts>\d+ [a-z][a-z ]*(?:, \d+ [a-z][a-z ]*)*)"
    r"(?:; (?P<detail>[^\n]*?))? \| ref (?P<ref>[0-9a-f]{12})\]"
)
_COUNT_RE = re.compile(r"(?<!\d)(\d+) ([a-z][a-z ]*)")  # not from inside a number: linear on long digit runs


def unit_ref(text: str) -> str:
    """The reference a unit's markers carry: a prefix of the SHA-256 of its original text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:REF_LENGTH]


@dataclass(frozen=True, slots=True)
class Marker:
    """A parsed marker."""

    counts: tuple[tuple[int, str], ...]
    detail: str | None
    ref: str

    @property
    def total(self) -> int:
        return sum(n for n, _ in self.counts)


def marker(counts: Sequence[tuple[int, str]], ref: str, detail: str | None = None) -> str:
    """Render a marker. ``counts`` are (count, plural kind) pairs; zero counts are left out."""
    kept = [(n, kind) for n, kind in counts if n > 0]
    if not kept:
        raise ValueError("a marker says what was dropped: give at least one non-zero count")
    for _, kind in kept:
        if not re.fullmatch(r"[a-z][a-z ]*", kind):
            raise ValueError(f"marker kind {kind!r} must be lowercase words")
    text = "[headroom: omitted " + ", ".join(f"{n} {kind}" for n, kind in kept)
    if detail:
        text += "; " + " ".join(detail.split())
    return f"{text} | ref {ref}]"


def parse_markers(text: str) -> Iterator[Marker]:
    """Every marker in ``text``, in order."""
    for match in MARKER_RE.finditer(text):
        counts = tuple((int(n), kind.strip()) for n, kind in _COUNT_RE.findall(match["counts"]))
        yield Marker(counts=counts, detail=match["detail"], ref=match["ref"])
