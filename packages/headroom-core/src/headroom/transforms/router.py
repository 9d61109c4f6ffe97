"""ContentRouter: split a unit at its structural lines, drop what earlier units already said, detect each
part's content type and hand it to the compressor for that type.

Structural lines (protected-tag placeholders, lone wrapper tags such as ``<output>``, one-line elements such
as ``<returncode>0</returncode>``, existing markers) are kept verbatim and split the unit into parts, so an
``<output>`` wrapper around a pytest run is routed as test output with its wrapper intact. The result is kept
only if it saves ``min_saving`` of the unit's tokens. :meth:`ContentRouter.route` returns the whole decision
(types, compressors, dedupe, tokens) for stats and benchmarks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import import_module
from typing import Any

from pydantic import Field

from headroom.engine.units import Earlier, Unit
from headroom.transforms.base import Compressor
from headroom.transforms.detect import ContentType, detect, is_listing_command, structural_kind
from headroom.transforms.markers import marker
from headroom.transforms.search import SearchCompressor, is_search_command
from headroom.transforms.tags import PLACEHOLDER_RE

CompressFn = Callable[..., str | None]

DEFAULT_ROUTES: dict[str, str] = {
    ContentType.JSON: "json",
    ContentType.SEARCH: "search",
    ContentType.LOGS: "logs",
    ContentType.TESTS: "testrun,logs",
    ContentType.DIFF: "diff",
    ContentType.CODE: "code",
    ContentType.HTML: "text",
    ContentType.TABLE: "logs",
    ContentType.LISTING: "listing",
    ContentType.TEXT: "text,logs",
}

# A structural tag line: a lone tag or a one-line element. With re.M each alternative is anchored at a line
# start and cannot leave the line: linear in the text. Marker and placeholder lines are found with C-level
# scans (str.find, a character-class search) and widened to their line.
TAG_LINE_RE = re.compile(
    r"^(?:[ \t]{0,8}</?[A-Za-z][\w.:-]{0,63}(?:[ \t][^<>\n]{0,300})?/?>[ \t\r]{0,8}"
    r"|<(?P<tag>[A-Za-z][\w.:-]{0,63})>[^<>\n]{0,200}</(?P=tag)>[ \t\r]{0,8})$",
    re.M,
)
_MARKER_START = "[headroom: omitted "


def structural_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every structural line of ``text`` (end excludes the newline), sorted, disjoint."""
    spans: list[tuple[int, int]] = []
    if "<" in text:
        spans.extend(m.span() for m in TAG_LINE_RE.finditer(text))
    for hit in _line_hits(text):
        spans.append(hit)
    if len(spans) > 1:
        spans = sorted(set(spans))
    return spans


def _line_hits(text: str) -> list[tuple[int, int]]:
    """Lines holding a marker or a placeholder."""
    hits: list[tuple[int, int]] = []
    positions: list[int] = []
    pos = text.find(_MARKER_START)
    while pos != -1:
        positions.append(pos)
        newline = text.find("\n", pos)
        pos = -1 if newline == -1 else text.find(_MARKER_START, newline)
    if PLACEHOLDER_RE.search(text) is not None:
        positions.extend(m.start() for m in PLACEHOLDER_RE.finditer(text))
    for pos in sorted(positions):
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        span = (start, len(text) if end == -1 else end)
        if not hits or hits[-1] != span:
            hits.append(span)
    return hits


WINDOW = 3
"""Lines per window for cross-unit dedupe: a line counts as repeated when a window of this many consecutive
lines around it occurs in an earlier unit."""
_MAX_INDEXED_CHARS = 512 * 1024


def is_structural(line: str) -> bool:
    """Lines the router never rewrites and splits parts at."""
    return "\n" not in line and structural_lines(line) == [(0, len(line))]


_NO_DEDUPE = frozenset({ContentType.JSON, ContentType.SEARCH})
"""Types whose compressors rank by the request: their parts are never folded line by line (a marker inside
JSON would also break its syntax)."""


@lru_cache(maxsize=1024)
def _windows(text: str, lossy_code: bool = False) -> frozenset[str]:
    """Every run of ``WINDOW`` consecutive lines of an earlier unit (pure; cached by content).

    Units whose compressor drops lines it judges irrelevant (search results, JSON records, and code when
    bodies are elided) are not indexed: a line folded here must still be readable in the earlier copy.
    """
    if text.count("\n") < WINDOW - 1:  # fewer lines than one window
        return frozenset()
    kind = detect(text) if lossy_code else structural_kind(text)  # only SEARCH and JSON matter then
    if kind in (ContentType.SEARCH, ContentType.JSON) or (lossy_code and kind == ContentType.CODE):
        return frozenset()
    lines = text.split("\n")
    return frozenset("\n".join(lines[i : i + WINDOW]) for i in range(len(lines) - WINDOW + 1))


class _WindowIndex:
    """The windows of a request's earlier units, grown by one unit's windows per unit.

    One index serves a whole request (it is kept on the request's :class:`Earlier` log): the engine asks
    for the windows of units ``0..k-1`` with ``k`` growing one at a time, which is the running union.
    """

    __slots__ = ("_lossy_code", "_per_unit", "_union")

    def __init__(self, lossy_code: bool) -> None:
        self._lossy_code = lossy_code
        self._per_unit: list[frozenset[str]] = []
        self._union: set[str] = set()

    def before(self, earlier: Sequence[str]) -> Set[str]:
        """The windows of ``earlier`` (the log this index grows over, or a prefix of it). The set is
        read-only and valid until the index grows (the next unit)."""
        for position in range(len(self._per_unit), len(earlier)):
            text = earlier[position]
            windows = _windows(text, self._lossy_code) if len(text) <= _MAX_INDEXED_CHARS else frozenset()
            self._per_unit.append(windows)
            self._union |= windows
        if len(earlier) == len(self._per_unit):
            return self._union
        return frozenset().union(*self._per_unit[: len(earlier)])  # an older prefix (not the engine's order)


@dataclass(slots=True)
class Part:
    """One part of a unit: structural lines kept as they are, or a body routed by type."""

    lines: list[str]
    structural: bool
    kind: str | None = None
    compressor: str | None = None
    text: str | None = None  # the compressed text, when the compressor produced one


@dataclass(slots=True)
class Decision:
    """What the router did with a unit, for stats: its parts' types and compressors, lines deduped,
    tokens before and after, and whether the result was kept (``text`` is None when not)."""

    text: str | None
    kind: str
    compressors: list[str] = field(default_factory=list)
    deduped_lines: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    reason: str = ""


def split_parts(text: str) -> list[Part]:
    """``text`` cut into runs of structural lines and runs of body lines, in order."""
    parts: list[Part] = []
    pos = 0  # start of the text not yet assigned
    for start, end in structural_lines(text):
        if start > pos:  # body lines before this structural line (without the newline before it)
            parts.append(Part(text[pos : start - 1].split("\n"), False))
        line = text[start:end]
        if parts and parts[-1].structural and start == pos:
            parts[-1].lines.append(line)
        else:
            parts.append(Part([line], True))
        pos = end + 1
    if pos <= len(text):
        parts.append(Part(text[pos:].split("\n"), False))
    return parts


@lru_cache(maxsize=64)
def _load(name: str) -> CompressFn | None:
    """The ``compress`` function of ``headroom.transforms.compressors.<name>``, if that module exists."""
    try:
        module = import_module(f"headroom.transforms.compressors.{name}")
    except ImportError:
        return None
    fn = getattr(module, "compress", None)
    return fn if callable(fn) else None


class ContentRouter(Compressor):
    """Detects each unit's content type and routes it to that type's compressor.

    Options: ``routes`` (content type -> compressor name; ``"none"`` leaves a type alone), ``options``
    (keyword options per compressor name, e.g. ``{"code": {...}}``; ``"search"`` takes SearchCompressor's
    fields), ``dedupe`` (fold runs of lines an earlier unit already showed), ``dedupe_min_lines``,
    ``min_part_chars`` (smaller parts are left as they are), ``min_saving`` (fraction of the unit's tokens
    a result must save, else the original stays).
    """

    name = "router"

    routes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ROUTES))
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    dedupe: bool = True
    dedupe_min_lines: int = Field(4, ge=2)
    min_part_chars: int = Field(400, ge=0)
    min_saving: float = Field(0.1, ge=0.0, lt=1.0)

    def compress(self, unit: Unit) -> str | None:
        return self.route(unit).text

    def warm_up(self) -> None:
        """Import every routed compressor now, not on the first request (a stall on the event loop)."""
        for chain in self.routes.values():
            for name in chain.split(","):
                if name.strip() not in ("", "none", "search"):
                    _load(name.strip())

    def explain(self, unit: Unit) -> tuple[str | None, str | None]:
        """The routed text and a note for the stats: ``<type>:<compressors>`` or ``<type>:<why not>``."""
        decision = self.route(unit)
        how = (
            "+".join(decision.compressors) if decision.text is not None else decision.reason.replace(" ", "_")
        )
        if decision.deduped_lines:
            how = f"dedupe+{how}"
        return decision.text, f"{decision.kind}:{how or 'none'}"

    def route(self, unit: Unit) -> Decision:
        """Route ``unit`` and report the decision (``.text`` is the result to use, or None)."""
        text = unit.text
        parts = split_parts(text)
        search_cmd = is_search_command(unit.context.tool_input, unit.context.tool_name)
        listing_cmd = is_listing_command(unit.context.tool_input)
        windows = self._earlier_windows(unit.earlier) if self.dedupe and unit.earlier else None
        out: list[str] = []
        changed: list[tuple[str, str]] = []  # (original piece, its replacement)
        kinds: list[str] = []
        used: list[str] = []
        deduped = 0
        for part in parts:
            if part.structural:
                out.extend(part.lines)
                continue
            body = "\n".join(part.lines)
            if len(body) < self.min_part_chars:
                out.extend(part.lines)
                continue
            kind = detect(body, search_command=search_cmd, listing_command=listing_cmd)
            kinds.append(kind.value)
            pieces: list[tuple[list[str], bool]] = [(part.lines, True)]
            if windows and kind not in _NO_DEDUPE:
                pieces, n = self._dedupe(part.lines, windows, unit)
                deduped += n
            rewritten: list[str] = []
            for piece_lines, compressible in pieces:
                piece = "\n".join(piece_lines)
                result = None
                if compressible and len(piece) >= self.min_part_chars:
                    result, name = self._compress(kind, piece, unit)
                    if result is not None and name not in used:
                        used.append(name)
                rewritten.append(piece if result is None else result)
            new_body = "\n".join(rewritten)
            out.append(new_body)
            if new_body != body:
                changed.append((body, new_body))
        label = kinds[0] if len(set(kinds)) == 1 else ("mixed" if kinds else "none")
        if deduped:
            used.insert(0, "dedupe")
        result_text = "\n".join(out)
        if result_text == text:
            return Decision(None, label, used, deduped, reason="nothing to save")
        before, after = self._tokens(unit, text, result_text, changed)
        if before - after < before * self.min_saving:
            return Decision(None, label, used, deduped, before, after, reason="saving below min_saving")
        return Decision(result_text, label, used, deduped, before, after, reason="compressed")

    # -- helpers -------------------------------------------------------------------------------------

    def _compress(self, kind: ContentType, text: str, unit: Unit) -> tuple[str | None, str]:
        """The first compressor of the type's route (``"a,b"``: a, else b) that changes ``text``."""
        chain = [n.strip() for n in self.routes.get(kind.value, "none").split(",") if n.strip()]
        part_unit = Unit(text, unit.context, unit.count_tokens, unit.ref, unit.earlier)
        for name in chain:
            if name == "none":
                break
            if name == "search":
                out = SearchCompressor(**self.options.get("search", {})).compress(part_unit)
            else:
                fn = _load(name)
                out = fn(text, part_unit, **self.options.get(name, {})) if fn is not None else None
            if isinstance(out, str) and out != text:
                return out, name
        return None, chain[0] if chain else "none"

    @staticmethod
    def _tokens(unit: Unit, text: str, result: str, changed: list[tuple[str, str]]) -> tuple[int, int]:
        """Tokens of the unit before and after: the parts that changed are counted exactly, the unchanged
        rest is extrapolated at their chars-per-token rate (exact when everything changed)."""
        if not changed:
            return _count(unit, text), _count(unit, result)
        orig_chars = sum(len(o) for o, _ in changed)
        orig_tokens = sum(_count(unit, o) for o, _ in changed)
        rest = max(0, len(text) - orig_chars)
        before = orig_tokens + round(rest * orig_tokens / max(1, orig_chars))
        return before, before - orig_tokens + sum(_count(unit, r) for _, r in changed)

    def _earlier_windows(self, earlier: Sequence[str]) -> Set[str]:
        """The windows of the earlier units, from the request's index (built once per request)."""
        lossy_code = bool(self.options.get("code", {}).get("elide_bodies"))
        if not isinstance(earlier, Earlier):  # a plain sequence (a direct caller): index it once here
            earlier = Earlier.of(earlier)
        index = earlier.derived(("router.windows", lossy_code), lambda: _WindowIndex(lossy_code))
        return index.before(earlier)

    def _dedupe(
        self, lines: list[str], windows: Set[str], unit: Unit
    ) -> tuple[list[tuple[list[str], bool]], int]:
        """Split ``lines`` into pieces: runs an earlier unit already showed become one marker line."""
        n = len(lines)
        covered = bytearray(n)
        for i in range(n - WINDOW + 1):
            if "\n".join(lines[i : i + WINDOW]) in windows:
                covered[i : i + WINDOW] = b"\x01" * WINDOW
        pieces: list[tuple[list[str], bool]] = []
        fresh: list[str] = []
        total = 0
        i = 0
        while i < n:
            if covered[i] != 1:
                fresh.append(lines[i])
                i += 1
                continue
            j = i
            while j < n and covered[j] == 1:
                j += 1
            run = lines[i:j]
            if len(run) >= self.dedupe_min_lines and sum(len(r) for r in run) >= 120:
                if fresh:
                    pieces.append((fresh, True))
                    fresh = []
                pieces.append(
                    ([marker([(len(run), "lines")], unit.ref, "repeated from earlier output")], False)
                )
                total += len(run)
            else:
                fresh.extend(run)
            i = j
        if fresh:
            pieces.append((fresh, True))
        return pieces, total


def _count(unit: Unit, text: str) -> int:
    """Tokens of ``text``: exact up to 64 KiB, else scaled from an exact count of three 16 KiB samples."""
    if len(text) <= 65536:
        return unit.count_tokens(text)
    size = 16384
    mid = len(text) // 2
    chunk = text[:size] + text[mid : mid + size] + text[-size:]
    return round(unit.count_tokens(chunk) * len(text) / len(chunk))


__all__ = ["DEFAULT_ROUTES", "ContentRouter", "Decision", "is_structural", "split_parts", "structural_lines"]
