"""ContentRouter: split a unit at its structural lines, drop what earlier units already said, detect each
part's content type and hand it to the compressor for that type.

Structural lines (protected-tag placeholders, lone wrapper tags such as ``<output>``, one-line elements such
as ``<returncode>0</returncode>``, existing markers) are kept verbatim and split the unit into parts, so an
``<output>`` wrapper around a pytest run is routed as test output with its wrapper intact. The result is kept
only if it saves ``min_saving`` of the unit's tokens. :meth:`ContentRouter.route` returns the whole decision
(types, compressors, dedupe, tokens) for stats and benchmarks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import import_module
from itertools import compress, count
from operator import methodcaller
from typing import Any

from pydantic import Field

from headroom.engine.caches import content_cache
from headroom.engine.tokens import OnceCounter, sampled_count
from headroom.engine.units import Earlier, Unit
from headroom.transforms.base import Compressor
from headroom.transforms.commands import runs_checker
from headroom.transforms.compressors.code import outline as code_outline
from headroom.transforms.compressors.testrun import TEST_SIGNS, is_passing
from headroom.transforms.detect import ContentType, detect, is_listing_command
from headroom.transforms.markers import marker
from headroom.transforms.search import SearchCompressor, is_search_command
from headroom.transforms.tags import placeholder_lines

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
    ContentType.CUT_JSON: "logs",  # not text first: its passes cost ~40 ms per MB and seldom apply to JSON
    ContentType.TEXT: "text,logs",
    ContentType.DIAGNOSTICS: "none",  # a linter's or compiler's errors: each one is needed
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
    spans = _tag_lines(text) if "<" in text else []
    spans.extend(_line_hits(text))
    if len(spans) > 1:
        spans = sorted(set(spans))
    return spans


def _tag_lines(text: str) -> list[tuple[int, int]]:
    """The lines :data:`TAG_LINE_RE` matches: it is tried only at the start of a line whose first ``<``
    follows at most 8 blanks (every match does), found with ``str.find`` rather than a regex scan."""
    spans: list[tuple[int, int]] = []
    pos = text.find("<")
    while pos != -1:
        start = text.rfind("\n", 0, pos) + 1
        if pos - start <= 8 and not text[start:pos].strip(" \t"):
            m = TAG_LINE_RE.match(text, start)
            if m is not None:
                spans.append(m.span())
        newline = text.find("\n", pos)
        pos = -1 if newline == -1 else text.find("<", newline)
    return spans


def _line_hits(text: str) -> list[tuple[int, int]]:
    """Lines holding a marker or a placeholder, sorted, without repeats."""
    hits: list[tuple[int, int]] = []
    pos = text.find(_MARKER_START)
    while pos != -1:
        start = text.rfind("\n", 0, pos) + 1
        newline = text.find("\n", pos)
        hits.append((start, len(text) if newline == -1 else newline))
        pos = -1 if newline == -1 else text.find(_MARKER_START, newline)
    placeholders = placeholder_lines(text)
    if not hits or not placeholders:
        return hits or placeholders
    return sorted(set(hits + placeholders))


WINDOW = 2
"""Lines an earlier unit must show in a row, in the same order, for a run here to count as repeated (the
anchor of a match, which then extends as far as both texts agree)."""
Anchor = tuple[str, ...]
"""``WINDOW`` keys in a row (a tuple: hashing it reuses its strings' cached hashes, no joined copy)."""


def _anchors(keys: tuple[str, ...]) -> Iterator[Anchor]:
    """The runs of ``WINDOW`` keys, by start."""
    return zip(*(keys[k:] for k in range(WINDOW)), strict=False)


_MAX_INDEXED_CHARS = 512 * 1024
_MAX_CANDIDATES = 8
"""Earlier places tried per anchor, the most recent first (a blank pair can occur thousands of times)."""
_FOLD_MIN_TOKENS = 16
"""A repeated run is folded only if it costs at least this many tokens more than its marker."""

# A numbered file view line (``nl -ba``, ``cat -n``, Claude Code's Read): a number (right-aligned or not),
# a tab or an arrow (U+2192, Claude Code's Read), the text.
_NUMBERED = re.compile(r" {0,12}(\d{1,9})[\t\u2192]")
_ARROW = "\u2192"
# Lines a repeated run still shows: the error a traceback ends with, pytest's ``E`` lines, FAILED/ERROR
# result lines. The model needs to see that a re-run fails the same way, not look it up.
_KEEP = re.compile(r"(?:[A-Za-z_][\w.]{0,100}(?:Error|Exception|Exit|Interrupt)\b|E {2}|FAILED\b|ERROR\b)")
# Definition lines a renumbered view still shows (an edit above moved them): their new line numbers.
_DEF = re.compile(r"[ \t]{0,40}(?:async[ \t]+)?(?:def|class)[ \t]")


def is_structural(line: str) -> bool:
    """Lines the router never rewrites and splits parts at."""
    return "\n" not in line and structural_lines(line) == [(0, len(line))]


MACHINE_TYPES = frozenset(
    {ContentType.JSON, ContentType.SEARCH, ContentType.LOGS, ContentType.TESTS, ContentType.DIFF}
)
"""The types the router rewrites in a ``large_paste`` unit (a long user text without a wrapper tag): output a
program wrote. A person's prose, code or table there is left exactly as they sent it."""

_NO_DEDUPE = frozenset({ContentType.JSON, ContentType.SEARCH})
"""Types whose compressors rank by the request: their parts are never folded line by line (a marker inside
JSON would also break its syntax)."""


@dataclass(frozen=True, slots=True)
class _Lines:
    """A text's lines as dedupe compares them: ``keys`` are the lines with a file-view line number
    removed, ``numbers`` that number (or -1 where the line has none)."""

    keys: tuple[str, ...]
    numbers: tuple[int, ...]

    def anchors(self) -> dict[Anchor, list[int]]:
        """Where each run of ``WINDOW`` keys starts, in order."""
        found: dict[Anchor, list[int]] = {}
        get = found.get
        for p, anchor in enumerate(_anchors(self.keys)):
            places = get(anchor)
            if places is None:
                found[anchor] = [p]
            else:
                places.append(p)
        return found


_HIDDEN = "\n"
"""The key of an earlier line its compressor may drop: no line has a newline, so nothing matches it."""


def _split(lines: Sequence[str], text: str | None = None) -> _Lines:
    """Compare keys and line numbers of ``lines`` (``text``: the lines joined, when the caller has it):
    numbers only in a file view, where most lines other than wrapper tags are numbered (elsewhere a
    leading number and tab is data, e.g. a TSV column)."""
    if text is None:
        text = "\n".join(lines)
    if "\t" not in text and _ARROW not in text:  # the common case: no file view (C-level scans; the
        return _Lines(tuple(lines), (-1,) * len(lines))  # arrow's is O(1) in an ASCII text)
    numbered = list(map(_NUMBERED.match, lines))
    hits = len(numbered) - numbered.count(None)
    tags = text.count("\n<") + text.startswith("<")  # lines that start with "<"
    if hits < 2 or hits * 2 <= len(lines) - tags:
        return _Lines(tuple(lines), (-1,) * len(lines))
    if hits == len(lines) and _ARROW not in text:  # every line: the number is what precedes its first tab
        cut = list(map(methodcaller("split", "\t", 1), lines))
        return _Lines(tuple([c[1] for c in cut]), tuple(map(int, [c[0] for c in cut])))
    keys = tuple([line if m is None else line[m.end() :] for line, m in zip(lines, numbered, strict=True)])
    numbers = tuple([-1 if m is None else int(m[1]) for m in numbered])
    return _Lines(keys, numbers)


@dataclass(frozen=True, slots=True)
class _Indexed:
    """An earlier unit as the index holds it: its lines and where each anchor starts in them."""

    lines: _Lines
    anchors: dict[Anchor, list[int]]


_ALWAYS_LOSSY = frozenset({ContentType.SEARCH, ContentType.JSON})
"""Types whose earlier parts are never matched: their compressors keep what the request asks about."""
_LOSSY_WHEN_ROUTED = (ContentType.LOGS, ContentType.TABLE, ContentType.LISTING)
"""Types whose earlier parts are not matched when routed to a compressor (which folds lines into
templates: the earlier copy may show a line only as its template and count)."""


def _kind(
    body: str, search_command: bool, listing_command: bool = False, check_command: bool = False
) -> ContentType:
    """:func:`detect`, remembered for the last parts up to 256 KiB: a part the router typed when its unit
    came is typed again when the unit is indexed as an earlier one (for the next unit)."""
    if len(body) > 256 * 1024:
        return detect(
            body, search_command=search_command, listing_command=listing_command, check_command=check_command
        )
    return _remembered_kind(body, search_command, listing_command, check_command)


@content_cache(64)
def _remembered_kind(
    body: str, search_command: bool, listing_command: bool, check_command: bool
) -> ContentType:
    return detect(
        body, search_command=search_command, listing_command=listing_command, check_command=check_command
    )


@content_cache(1024)
def _windows(
    text: str, lossy: frozenset[ContentType] = _ALWAYS_LOSSY, min_part_chars: int = 400, unwrap: bool = True
) -> _Indexed | None:
    """The lines of an earlier unit as dedupe indexes them (pure; cached by content), or None.

    A line folded here must still be readable in the earlier copy, so the lines of the unit's parts that
    its compressor may drop are hidden: parts of the ``lossy`` types (at least :data:`_ALWAYS_LOSSY`; as
    the router routes parts, only those of ``min_part_chars`` or more), and passing-test lines a test-run
    compressor folds into a count. ``unwrap``: an :func:`envelope` is indexed by the output it carries.
    """
    if unwrap:
        text = _unwrapped(text)
    if text.count("\n") < WINDOW - 1 or len(text) > _MAX_INDEXED_CHARS:
        return None
    lines = _split(text.split("\n"), text)
    keys = list(lines.keys)
    hidden = 0
    pos = 0
    for part in split_parts(text):
        size = len(part.lines)
        body = not part.structural and sum(map(len, part.lines)) + size > min_part_chars  # gets compressed
        # typed as the router may have typed it: the unit's command is not known here, so both command
        # hints are on (a part they make lossy is hidden: hiding too much only folds less)
        if body and _kind("\n".join(part.lines), True, True) in lossy:
            keys[pos : pos + size] = [_HIDDEN] * size
            hidden += size
        pos += size
    if hidden == len(keys):
        return None
    if TEST_SIGNS.search(text) is not None:
        keys = [_HIDDEN if is_passing(key) else key for key in keys]
    lines = _Lines(tuple(keys), lines.numbers)
    return _Indexed(lines, lines.anchors())


@content_cache(1024)
def _shown_windows(text: str, unwrap: bool = True) -> _Indexed | None:
    """The lines of an earlier unit as the model was sent them (its compressed form, or the original) as
    dedupe indexes them (pure; cached by content), or None. Every line there is readable: none is hidden.
    ``unwrap``: as in :func:`_windows`."""
    if unwrap:
        text = _unwrapped(text)
    if text.count("\n") < WINDOW - 1 or len(text) > _MAX_INDEXED_CHARS:
        return None
    lines = _split(text.split("\n"), text)
    return _Indexed(lines, lines.anchors())


class _WindowIndex:
    """The earlier units of a request, indexed by runs of ``WINDOW`` lines, grown by one unit per unit.

    One index serves a whole request (it is kept on the request's :class:`Earlier` log). Each unit's
    anchors are cached by its text; the index keeps their union to skip lines no earlier unit shows, and
    answers a view of any prefix of the log by looking only at the units before its size. ``lossy`` None:
    it indexes what the model was sent (:meth:`Earlier.shown`); else the originals, with the parts of the
    ``lossy`` types hidden (see :func:`_windows`).
    """

    __slots__ = ("_found", "_lossy", "_min_part_chars", "_unwrap", "union", "units")

    def __init__(
        self, lossy: frozenset[ContentType] | None, min_part_chars: int, unwrap: bool = True
    ) -> None:
        self._lossy = lossy
        self._min_part_chars = min_part_chars
        self._unwrap = unwrap
        self.units: list[_Indexed | None] = []
        self.union: set[Anchor] = set()
        """Every anchor of every indexed unit (of any prefix: :meth:`candidates` filters by unit)."""
        self._found: dict[Anchor, tuple[int, list[tuple[int, int]]]] = {}
        """The last answer of :meth:`candidates` per anchor and the size it was for: a later unit's query
        looks only at the units indexed since, then takes the rest from it."""

    def grow(self, earlier: Earlier) -> None:
        """Index the units of ``earlier`` not indexed yet."""
        for position in range(len(self.units), len(earlier)):
            if self._lossy is None:
                self.append(_shown_windows(earlier.shown(position), self._unwrap))
            else:
                self.append(_windows(earlier[position], self._lossy, self._min_part_chars, self._unwrap))

    def append(self, indexed: _Indexed | None) -> None:
        """Index the next unit (None: a unit with nothing to match)."""
        self.units.append(indexed)
        if indexed is not None:
            self.union.update(indexed.anchors)

    def candidates(self, anchor: Anchor, size: int) -> list[tuple[int, int]]:
        """Up to ``_MAX_CANDIDATES`` places of ``anchor`` in units before ``size``, the most recent first
        (a list the caller must not change)."""
        found: list[tuple[int, int]] = []
        if anchor not in self.union:
            return found
        size = min(size, len(self.units))
        known = self._found.get(anchor)
        start, before = known if known is not None and known[0] <= size else (0, [])
        for unit in range(size - 1, start - 1, -1):
            indexed = self.units[unit]
            places = indexed.anchors.get(anchor) if indexed is not None else None
            for p in reversed(places or ()):
                found.append((unit, p))
                if len(found) == _MAX_CANDIDATES:
                    break
            else:
                continue
            break
        # the places before ``start`` follow, the most recent first: the last answer's (its first ones)
        found.extend(before[: _MAX_CANDIDATES - len(found)])
        self._found[anchor] = (size, found)
        return found

    def lines(self, unit: int) -> _Lines:
        """The indexed lines of ``unit`` (one :meth:`candidates` named)."""
        indexed = self.units[unit]
        assert indexed is not None
        return indexed.lines


@dataclass(frozen=True, slots=True)
class _Match:
    """``length`` lines from ``start`` repeat lines ``at..`` of earlier unit ``unit``; ``numbered`` tells
    whether this text's lines carry numbers, ``earlier_numbered`` whether the earlier copy's do."""

    start: int
    length: int
    unit: int
    at: int
    numbered: bool
    earlier_numbered: bool


def _extend(here: _Lines, i: int, there: _Lines, p: int) -> int:
    """How many lines from ``here[i]`` and ``there[p]`` agree: same text, and where a side is numbered, the
    numbers run on consecutively (so a range names them). A numbered line never matches an unnumbered one
    (its number would be lost), but an unnumbered view may match a numbered earlier one."""
    hk, tk, hn, tn = here.keys, there.keys, here.numbers, there.numbers
    n = min(len(hk) - i, len(tk) - p)
    if hn[i] >= 0 and tn[p] < 0:
        return 0
    j = 0
    while j < n and hk[i + j] == tk[p + j]:
        if (hn[i + j] >= 0) != (hn[i] >= 0) or (tn[p + j] >= 0) != (tn[p] >= 0):
            break
        if hn[i] >= 0 and hn[i + j] != hn[i] + j:
            break
        if tn[p] >= 0 and tn[p + j] != tn[p] + j:
            break
        j += 1
    return j


def _renumbered(here: _Lines, match: _Match, index: _WindowIndex) -> bool:
    """Whether the earlier copy of a numbered match showed it under other line numbers."""
    return index.lines(match.unit).numbers[match.at] != here.numbers[match.start]


def _matches(here: _Lines, index: _WindowIndex, size: int) -> list[_Match]:
    """Greedy left to right: at each line the longest run an earlier unit shows (ties: the most recent)."""
    found: list[_Match] = []
    keys = here.keys
    end = 0  # lines before it belong to a match already
    for i in list(compress(count(), map(index.union.__contains__, _anchors(keys)))):  # an earlier unit has
        if i < end:
            continue
        best: _Match | None = None
        for unit, p in index.candidates(keys[i : i + WINDOW], size):
            there = index.lines(unit)
            length = _extend(here, i, there, p)
            if length >= WINDOW and (best is None or length > best.length):
                best = _Match(i, length, unit, p, here.numbers[i] >= 0, there.numbers[p] >= 0)
        if best is not None:
            found.append(best)
            end = i + best.length
    return found


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
    return [Part(text[start:end].split("\n"), structural) for structural, start, end in _part_spans(text)]


def _part_spans(text: str) -> list[tuple[bool, int, int]]:
    """The parts of :func:`split_parts` as ``(structural, start, end)`` slices of ``text``."""
    spans: list[tuple[bool, int, int]] = []
    pos = 0  # start of the text not yet assigned
    for start, end in structural_lines(text):
        if start > pos:  # body lines before this structural line (without the newline before it)
            spans.append((False, pos, start - 1))
        if spans and spans[-1][0] and start == pos:
            spans[-1] = (True, spans[-1][1], end)
        else:
            spans.append((True, start, end))
        pos = end + 1
    if pos <= len(text):
        spans.append((False, pos, len(text)))
    return spans


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
    a result must save, else the original stays), ``unwrap`` (route the command output a JSON object
    carries, e.g. Codex's ``{"output": "...", "metadata": {...}}``, or a plain-text frame, e.g. Codex's
    ``Exit code:`` / ``Wall time:`` / ``Output:`` header, as that output: :func:`envelope`, :func:`frame`).
    """

    name = "router"

    routes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ROUTES))
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    dedupe: bool = True
    dedupe_min_lines: int = Field(2, ge=2)
    min_part_chars: int = Field(400, ge=0)
    min_saving: float = Field(0.1, ge=0.0, lt=1.0)
    unwrap: bool = True

    def compress(self, unit: Unit) -> str | None:
        return self.route(unit).text

    def warm_up(self) -> None:
        """Import every routed compressor now, not on the first request (a stall on the event loop)."""
        for chain in self.routes.values():
            for name in chain.split(","):
                if name.strip() not in ("", "none", "search"):
                    _load(name.strip())

    def explain(self, unit: Unit) -> tuple[str | None, str | None]:
        """The routed text and a note for the stats: ``<type>:<compressors>`` or ``<type>:<why not>``.

        The engine's entry point: the ``min_saving`` check is left to :meth:`accepts`, with the engine's
        exact counts of the whole unit, so the router counts nothing of its own.
        """
        decision = self.route(unit, check_saving=False)
        how = (
            "+".join(decision.compressors) if decision.text is not None else decision.reason.replace(" ", "_")
        )
        return decision.text, f"{decision.kind}:{how or 'none'}"

    def accepts(self, tokens_before: int, tokens_after: int) -> bool:
        return tokens_before - tokens_after >= tokens_before * self.min_saving

    def route(self, unit: Unit, *, check_saving: bool = True, frames: bool = True) -> Decision:
        """Route ``unit`` and report the decision (``.text`` is the result to use, or None).

        ``check_saving=False`` skips counting tokens and the ``min_saving`` check (the caller makes it).
        ``frames=False``: a :func:`frame` is not looked for (a frame's output is not unwrapped again: each
        level would copy and scan the rest of the text, and hostile nesting would recurse without end).
        """
        text = unit.text
        if self.unwrap:
            if (found := envelope(text)) is not None:
                decision = self._route_inner(
                    unit, found.start, found.end, found.value, check_saving, found.ascii
                )
                if decision is not None:
                    return decision
            elif frames and (framed := frame(text)) is not None:
                # the frame's output, compressed or left as it is, is the unit: the frame lines stay
                decision = self._route_inner(unit, framed.start, framed.end, None, check_saving)
                if decision is not None:  # always, for a frame
                    return decision
        # (search, listing, checker) command hints, read once a part needs them
        hints: tuple[bool, bool, bool] | None = None
        index = self._earlier_index(unit.earlier, unit.aged) if self.dedupe and unit.earlier else None
        out: list[str] = []
        changed: list[tuple[str, str]] = []  # (original piece, its replacement)
        kinds: list[str] = []
        used: list[str] = []
        deduped = 0
        for structural, start, end in _part_spans(text):
            body = text[start:end]  # its lines joined: ``out`` is joined with newlines too
            if structural:
                out.append(body)
                continue
            small = len(body) < self.min_part_chars  # too small to compress, not to fold
            if small and index is None:
                out.append(body)
                continue
            # a small part is typed only when it folds: then a JSON or search part must not
            kind = None
            if not small:
                hints = hints or _command_hints(unit)
                kind = _kind(body, *hints)
            if kind is not None:
                kinds.append(kind.value)
            if unit.context.source == "large_paste" and kind not in MACHINE_TYPES:
                out.append(body)  # a person's prose, code or table (or a small part): as sent
                continue
            pieces: list[tuple[str, bool]] = [(body, True)]
            if index is not None and kind not in _NO_DEDUPE:
                folded, n = self._dedupe(body.split("\n"), index, len(unit.earlier), unit, body)
                if n:
                    hints = hints or _command_hints(unit)
                    if (
                        kind is not None
                        or detect(body, search_command=hints[0], check_command=hints[2]) not in _NO_DEDUPE
                    ):
                        pieces = folded  # (none folded: the one piece is the body)
                        deduped += n
            rewritten: list[str] = []
            for piece, compressible in pieces:
                result = None
                if compressible and kind is not None and len(piece) >= self.min_part_chars:
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
        if not check_saving:
            return Decision(result_text, label, used, deduped, reason="compressed")
        before, after = self._tokens(unit, text, result_text, changed)
        if not self.accepts(before, after):
            return Decision(None, label, used, deduped, before, after, reason="saving below min_saving")
        return Decision(result_text, label, used, deduped, before, after, reason="compressed")

    # -- helpers -------------------------------------------------------------------------------------

    def _route_inner(
        self, unit: Unit, start: int, end: int, value: str | None, check_saving: bool, ascii_: bool = False
    ) -> Decision | None:
        """The decision for a unit that carries a command's output at ``text[start:end]``: that output
        routed as a unit of its own (typed, deduped against the earlier units' outputs, which are indexed
        unwrapped too: :func:`_unwrapped`), the rest of the text byte for byte. ``value``: the string a
        JSON literal there decodes to (an :func:`envelope`: written back encoded as it was), None for the
        plain text of a :func:`frame`. None when the output is left as it is."""
        text = unit.text
        inner_text = text[start:end] if value is None else value
        inner = Unit(inner_text, unit.context, unit.count_tokens, unit.ref, unit.earlier, unit.aged)
        decision = self.route(inner, check_saving=False, frames=value is not None)
        if decision.text is None:
            if value is not None:
                return None  # the JSON is routed as JSON
            used = ["unwrap", *decision.compressors]
            return Decision(None, decision.kind, used, decision.deduped_lines, reason=decision.reason)
        routed = decision.text if value is None else _literal(decision.text, ascii_)
        result = text[:start] + routed + text[end:]
        used = ["unwrap", *decision.compressors]
        kind, deduped = decision.kind, decision.deduped_lines
        if not check_saving:
            return Decision(result, kind, used, deduped, reason="compressed")
        before, after = _count(unit, text), _count(unit, result)
        if not self.accepts(before, after):
            return Decision(None, kind, used, deduped, before, after, reason="saving below min_saving")
        return Decision(result, kind, used, deduped, before, after, reason="compressed")

    def _compress(self, kind: ContentType, text: str, unit: Unit) -> tuple[str | None, str]:
        """The first compressor of the type's route (``"a,b"``: a, else b) that changes ``text``; for code
        in an aged unit (``ProxyConfig.aging``), its outline first."""
        chain = [n.strip() for n in self.routes.get(kind.value, "none").split(",") if n.strip()]
        part_unit = Unit(text, unit.context, unit.count_tokens, unit.ref, unit.earlier, unit.aged)
        if unit.aged and kind is ContentType.CODE:
            out = code_outline(text, part_unit, **self.options.get("outline", {}))
            if out is not None:
                return out, "outline"
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

    def _earlier_index(self, earlier: Sequence[str], aged: bool | None = None) -> _WindowIndex:
        """The request's index of earlier units (built once per request), grown to cover ``earlier``.

        Under the engine (whose log records what the model is sent for each unit) it indexes exactly that:
        a line is folded only where the model read it. Otherwise, and with aging on (``aged`` not None: an
        earlier unit's form changes when it ages, so what it showed then may be gone now), it indexes the
        originals and hides the parts a compressor may drop (:func:`_windows`), and with aging all code."""
        if not isinstance(earlier, Earlier):  # a plain sequence (a direct caller): index it once here
            earlier = Earlier.of(earlier)
        if aged is None and earlier.records_shown:
            index = earlier.derived(
                ("router.shown", self.unwrap), lambda: _WindowIndex(None, self.min_part_chars, self.unwrap)
            )
            index.grow(earlier)
            return index
        lossy = _ALWAYS_LOSSY | {k for k in _LOSSY_WHEN_ROUTED if self.routes.get(k.value, "none") != "none"}
        if self.options.get("code", {}).get("elide_bodies") or aged is not None:
            lossy |= {ContentType.CODE}
        key = ("router.windows", lossy, self.min_part_chars, self.unwrap)
        index = earlier.derived(key, lambda: _WindowIndex(lossy, self.min_part_chars, self.unwrap))
        index.grow(earlier)
        return index

    def _dedupe(
        self, lines: list[str], index: _WindowIndex, size: int, unit: Unit, text: str | None = None
    ) -> tuple[list[tuple[str, bool]], int]:
        """Split ``lines`` into pieces (their text; whether to compress it): runs the first ``size`` earlier
        units already showed become one marker line each, where the marker costs fewer tokens than the run.
        Error lines inside a run stay (:data:`_KEEP`; each once); numbered views name the line range, and the
        earlier one's where it differs (then definition lines stay too, with their new numbers). ``text``:
        the lines joined, when the caller has it."""
        here = _split(lines, text)
        pieces: list[tuple[str, bool]] = []
        fresh: list[str] = []
        total = 0
        pos = 0
        min_lines = max(WINDOW, self.dedupe_min_lines)
        shown: set[str] = set()  # lines this part shows so far: an error line is kept once
        for match in _matches(here, index, size):
            fresh.extend(lines[pos : match.start])
            shown.update(lines[pos : match.start])
            end = match.start + match.length
            start = match.start
            keep: re.Pattern[str] | None = _DEF if match.numbered else _KEEP
            if match.numbered and not _renumbered(here, match, index):
                keep = None  # the earlier copy shows these very numbered lines
            # the lines a run stops at: the kept ones (their matches found in one C-level pass), its end
            stops = (
                []
                if keep is None
                else list(compress(range(start, end), map(keep.match, here.keys[start:end])))
            )
            stops.append(end)
            for k in stops:
                if k < end and lines[k] in shown:
                    continue
                run = lines[start:k]
                folded = self._fold(run, here, start, match, index, unit) if len(run) >= min_lines else None
                if folded is None:
                    fresh.extend(run)
                    shown.update(run)
                else:
                    if fresh:
                        pieces.append(("\n".join(fresh), True))
                        fresh = []
                    pieces.append((folded, False))
                    total += len(run)
                if k < end:
                    fresh.append(lines[k])
                    shown.add(lines[k])
                start = k + 1
            pos = end
        fresh.extend(lines[pos:])
        if fresh:
            pieces.append(("\n".join(fresh), True))
        return pieces, total

    @staticmethod
    def _fold(
        run: list[str], here: _Lines, start: int, match: _Match, index: _WindowIndex, unit: Unit
    ) -> str | None:
        """The marker for ``run`` (lines ``start..`` of this part, inside ``match``), or None when the
        marker would not save :data:`_FOLD_MIN_TOKENS` tokens."""
        chars = sum(len(line) for line in run)
        if chars < 100:  # a marker is ~70 characters: cannot pay off
            return None
        detail = "repeated from earlier output"
        if match.numbered:
            first, last = here.numbers[start], here.numbers[start + len(run) - 1]
            detail = f"lines {first}-{last}, {detail}"
        there = index.lines(match.unit)
        if match.earlier_numbered:
            at = match.at + start - match.start
            first_there, last_there = there.numbers[at], there.numbers[at + len(run) - 1]
            if not match.numbered or first_there != here.numbers[start]:
                detail = f"{detail} (there lines {first_there}-{last_there})"
        folded = marker([(len(run), "lines")], unit.ref, detail)
        if chars >= 8 * len(folded):  # surely worth it (a token is at most ~8 characters of such text)
            return folded
        text = "\n".join(run)
        if not isinstance(unit.count_tokens, OnceCounter):
            return folded if _count(unit, text) >= unit.count_tokens(folded) + _FOLD_MIN_TOKENS else None
        # the engine's counter: the run's words may answer, against the marker's bytes (each token is
        # at least one) before its count
        if unit.count_tokens.floor(text) >= len(folded.encode("utf-8")) + _FOLD_MIN_TOKENS:
            return folded
        cost = unit.count_tokens(folded) + _FOLD_MIN_TOKENS
        floor, _ = unit.count_tokens.at_least(text, lambda tokens: tokens >= cost)
        return folded if floor >= cost else None


_ENVELOPE_MIN_LINES = 8
"""Lines the string of an :func:`envelope` must hold (fewer: a short message, not a command's output)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """Where a JSON text carries a command's output: the string literal ``text[start:end]`` decodes to
    ``value``; ``ascii`` tells whether it was written with ``\\u`` escapes for non-ASCII characters."""

    start: int
    end: int
    value: str
    ascii: bool


def envelope(text: str) -> Envelope | None:
    """The string that carries a command's output in a JSON object, or None.

    Codex's shell tool answers ``{"output": "<stdout and stderr>", "metadata": {"exit_code": 1, ...}}``;
    compressed as JSON, that output would stay whole. Found: a top-level string of the object (the longest,
    the first of equals) with :data:`_ENVELOPE_MIN_LINES` lines or more that holds at least half of
    ``text``, written once in ``text`` (found by re-encoding it, with or without ``\\u`` escapes).
    """
    if text[:4096].lstrip()[:1] != "{" or text.count("\\n") < _ENVELOPE_MIN_LINES:
        return None  # C-level scans rule out most JSON before it is parsed
    if not _long_string_at_middle(text):
        return None  # e.g. an object of records: told without parsing it
    try:  # not strict: TagProtector's ASCII placeholders hold raw control characters (see _literal)
        obj = json.loads(text, strict=False)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    value = max((v for v in obj.values() if isinstance(v, str)), key=len, default="")
    if value.count("\n") < _ENVELOPE_MIN_LINES or 2 * len(value) < len(text):
        return None
    for ascii_ in (False, True):
        literal = _literal(value, ascii_)
        start = text.find(literal)
        if start >= 0 and text.find(literal, start + 1) < 0:
            return Envelope(start, start + len(literal), value, ascii_)
    return None


_ESCAPED_PLACEHOLDER = re.compile(r"(?<!\\)((?:\\\\)*+)\\u0001([0-9]+)\\u0002")
"""A TagProtector placeholder of ASCII text (``\\x01N\\x02``) as ``json.dumps`` writes it (an escape: after an
even run of backslashes)."""


def _literal(value: str, ascii_: bool) -> str:
    """``value`` as a JSON string literal (``\\u`` escapes for non-ASCII characters if ``ascii_``), with
    TagProtector's ASCII placeholders raw, as the protector put them in the unit's text (restored after)."""
    literal = json.dumps(value, ensure_ascii=ascii_)
    return _ESCAPED_PLACEHOLDER.sub("\\1\x01\\2\x02", literal) if "\x01" in value else literal


_CHEAP_STEPS = 64
"""Escaped quotes (and backslashes before a quote) :func:`_long_string_at_middle` steps over, at most, in
each direction; past them it leaves the answer to ``json.loads`` (C speed): a string that holds JSON (the
output of ``cat data.json``) has an escaped quote every few characters."""


def _long_string_at_middle(text: str) -> bool:
    """Whether the unescaped quotes nearest to the middle of ``text`` enclose at least half of it: true
    of every :func:`envelope` (a literal that long spans the middle, and inside it every quote is escaped),
    seldom of other JSON, and found with a few C-level scans. True, too, when they are not found within
    :data:`_CHEAP_STEPS` escaped quotes (then parsing tells)."""
    mid = len(text) // 2
    before = _unescaped_quote(text, text.rfind('"', 0, mid), lambda q: text.rfind('"', 0, q))
    after = _unescaped_quote(text, text.find('"', mid + 1), lambda q: text.find('"', q + 1))
    if before is None or after is None:
        return True
    return before >= 0 and after >= 0 and 2 * (after - before - 1) >= len(text)


def _unescaped_quote(text: str, quote: int, step: Callable[[int], int]) -> int | None:
    """The first unescaped quote among ``quote`` and those ``step`` goes on to (-1: none; the one at 0 is
    taken as it is), or None if it is not among the first :data:`_CHEAP_STEPS`."""
    for _ in range(_CHEAP_STEPS):
        if quote <= 0:
            return quote
        escaped = _escaped(text, quote)
        if escaped is None:
            return None
        if not escaped:
            return quote
        quote = step(quote)
    return None


def _escaped(text: str, quote: int) -> bool | None:
    """Whether the quote at ``quote`` follows an odd run of backslashes (inside a JSON string); None when
    that run is longer than :data:`_CHEAP_STEPS`."""
    start = quote
    while start > 0 and text[start - 1] == "\\":
        start -= 1
        if quote - start > _CHEAP_STEPS:
            return None
    return (quote - start) % 2 == 1


@dataclass(frozen=True, slots=True)
class Frame:
    """Where a plain-text tool result carries a command's output: ``text[start:end]``; the lines before
    and after it are the agent's frame."""

    start: int
    end: int


# Codex's shell results as plain text, in its two shapes (openai/codex, codex-rs/core/src/tools/mod.rs,
# ``format_exec_output_for_model_freeform``; codex-rs/core/src/tools/context.rs,
# ``ExecCommandToolOutput::response_text`` of ``exec_command``), then what its output may start with:
# ``build_content_with_timeout``'s line and ``formatted_truncate_text``'s header
# (codex-rs/utils/output-truncation/src/lib.rs). Matched at the start only, every repeat bounded: linear.
_CODEX_HEAD = re.compile(
    r"(?:Exit code: -?[0-9]{1,10}\nWall time: [0-9]{1,12}(?:\.[0-9]{1,12})? seconds\n"
    r"(?:Total output lines: [0-9]{1,12}\n)?"
    r"|(?:Chunk ID: [^\n]{1,100}\n)?Wall time: [0-9]{1,12}\.[0-9]{4} seconds\n"
    r"(?:Process exited with code -?[0-9]{1,10}\n)?(?:Process running with session ID -?[0-9]{1,20}\n)?"
    r"(?:Original token count: [0-9]{1,12}\n)?)"
    r"Output:\n(?:command timed out after [0-9]{1,20} milliseconds\n)?"
    r"(?:Warning: truncated output \(original token count: [0-9]{1,12}\)\n"
    r"Total output lines: [0-9]{1,12}\n\n)?"
)
_CODEX_STARTS = ("Exit code: ", "Wall time: ", "Chunk ID: ")

# OpenHands' ``execute_bash`` results (All-Hands-AI/OpenHands, openhands/events/observation/commands.py,
# ``CmdOutputObservation.to_agent_observation``: prefix, output, suffix, then the metadata lines; the
# prefix and suffix lines are openhands/runtime/utils/bash.py's). The trailer's lines, the last first.
_OPENHANDS_TAIL = (
    re.compile(r"\[Command finished with exit code -?[0-9]{1,10}\]"),
    re.compile(r"\[Python interpreter: [^\n]{0,4096}\]"),
    re.compile(r"\[Current working directory: [^\n]{1,4096}\]"),
    re.compile(r"\[The command completed with exit code -?[0-9]{1,10}\.(?: CTRL\+[A-Z] was sent\.)?\]"),
)
_OPENHANDS_LAST = (
    "[Command finished with exit code ",
    "[Python interpreter: ",
    "[Current working directory: ",
)
_OPENHANDS_HEAD = re.compile(
    r"(?:\[Below is the output of the previous command\.\]\n)?"
    r"(?:\[Previous command outputs are truncated\. "
    r"Showing the last [0-9]{1,12} lines of the output below\.\]\n)?"
)


# Gemini CLI's and Qwen Code's ``run_shell_command`` results (google-gemini/gemini-cli,
# packages/core/src/tools/shell.ts, ``llmContent``): ``Output: `` and the output on the same line, then
# ``Error:``, ``Exit Code:``, ``Signal:``, ``Background PIDs:``, ``Process Group PGID:`` lines (newer
# versions write only those that say something); older ones start with ``Command:`` and ``Directory:``
# lines and may write ``Stdout:``/``Stderr:`` in place of ``Output:``.
_GEMINI_STARTS = ("Output: ", "Stdout: ", "Command: ")
_GEMINI_HEAD = re.compile(r"(?:Command: [^\n]{0,4096}\nDirectory: [^\n]{0,4096}\n)?(Output|Stdout): ")
_GEMINI_TAIL = ("Process Group PGID: ", "Background PIDs: ", "Signal: ", "Exit Code: ", "Error: ")
"""The trailer's lines, the last first (each at most once, in this order)."""


def _gemini_frame(text: str) -> tuple[int, int] | None:
    """(start, end) of the output in a Gemini CLI or Qwen Code shell result, or None."""
    head = _GEMINI_HEAD.match(text)
    if head is None:
        return None
    start, end = head.end(), len(text)
    for name in _GEMINI_TAIL:
        newline = text.rfind("\n", start, end)
        if newline >= 0 and end - newline <= 4096 and text.startswith(name, newline + 1):
            end = newline
    if head[1] == "Stdout":  # the older shape: ``Stderr: `` and its text follow the output
        stderr = text.rfind("\nStderr: ", start, end)
        if stderr < 0:
            return None
        end = stderr
    return start, end


def frame(text: str) -> Frame | None:
    """The command output a plain-text tool result carries inside its agent's frame, or None.

    Codex answers ``Exit code: 0`` / ``Wall time: 1.3 seconds`` / ``Output:`` and the output
    (``exec_command``: ``Chunk ID``, ``Wall time``, ``Process exited with code 0``, ``Output:``);
    OpenHands appends ``[Current working directory: ...]``, ``[Python interpreter: ...]`` and ``[Command
    finished with exit code 0]`` to it; Gemini CLI and Qwen Code write ``Output: `` before it and
    ``Exit Code: 1`` / ``Process Group PGID: 4242`` lines after it. Typed with its frame, such an output
    is misjudged (a JSON answer is not JSON). Found: the whole header, or a trailer ending the text, around
    an output of :data:`_ENVELOPE_MIN_LINES` lines or more. A few ``startswith`` / ``endswith`` checks
    rule out every other text.
    """
    start, end = 0, len(text)
    if text.startswith(_CODEX_STARTS):
        head = _CODEX_HEAD.match(text)
        if head is None:
            return None
        start = head.end()
    elif text.endswith("]") and text.startswith(_OPENHANDS_LAST, text.rfind("\n", max(0, end - 4200)) + 1):
        for line in _OPENHANDS_TAIL:
            newline = text.rfind("\n", 0, end)
            if newline >= 0 and line.fullmatch(text, newline + 1, end):
                end = newline
        if end == len(text):
            return None
        head = _OPENHANDS_HEAD.match(text, 0, end)
        start = head.end() if head is not None else 0
    elif text.startswith(_GEMINI_STARTS) and (found := _gemini_frame(text)) is not None:
        start, end = found
    else:
        return None
    if text.count("\n", start, end) < _ENVELOPE_MIN_LINES:
        return None  # a short answer: left as it is, with its frame
    return Frame(start, end)


def _unwrapped(text: str) -> str:
    """The command output ``text`` carries as an :func:`envelope` or a :func:`frame`, else ``text``: what
    dedupe compares."""
    found = envelope(text)
    if found is not None:
        return found.value
    framed = frame(text)
    return text if framed is None else text[framed.start : framed.end]


def _command_hints(unit: Unit) -> tuple[bool, bool, bool]:
    """Whether the unit's tool call ran a search, a listing program, and a linter or compiler."""
    context = unit.context
    return (
        is_search_command(context.tool_input, context.tool_name),
        is_listing_command(context.tool_input),
        runs_checker(context.tool_input, context.tool_name),
    )


def _count(unit: Unit, text: str) -> int:
    """Tokens of ``text``: exact up to 64 KiB, else scaled from samples (as the engine counts a unit)."""
    return sampled_count(unit.count_tokens, text)


__all__ = [
    "DEFAULT_ROUTES",
    "MACHINE_TYPES",
    "ContentRouter",
    "Decision",
    "Envelope",
    "Frame",
    "envelope",
    "frame",
    "is_structural",
    "split_parts",
    "structural_lines",
]
