"""Search results as coding agents' own search tools print them: their grammar, for SearchCompressor.

Several agents run ripgrep themselves and answer their model in a layout of their own, not grep's
``path:line:text``. Each starts with a count line (``Found 12 results.``), then groups results by file:

* Cline: the path, then each result (the match with a line of context either side, no line numbers)
  between ``│----`` lines, every line prefixed with ``│``.
* Roo Code, Kilo Code: ``# path``, then each result's lines as ``NNN | text``, each result closed by ``----``.
* OpenCode: ``path:``, then ``  Line N: text`` per match.
* Gemini CLI, Qwen Code: ``---`` after the count line, then ``File: path``, ``L12: text`` per match (``L12-``
  for a context line), ``---`` after each file.

A result is a group of lines (Cline's and Roo's blocks; for the others, a run of consecutive line numbers).
:func:`parse` reads the whole layout or returns None: a line that fits no rule ends the files, and more than
:data:`MAX_TRAIL` such lines mean the text is something else. :class:`SearchCompressor` ranks the results.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from headroom.engine.caches import content_cache

LEADS = ("Found ", "Showing first ")
"""How every layout's first line starts: a cheap test before :func:`parse`."""
LEAD_RE = re.compile(
    r"Found [\d,]{1,15} (?:results?\.|match(?:es|\(es\))?\b)|Showing first \d{1,9} of \d{1,9}\+ results\."
)
MAX_TRAIL = 3
"""Lines after the last file that fit no rule (a tool's notes that the results were truncated), blank lines
aside."""

_ROO_LINE = re.compile(r" {0,8}(\d{1,9}) \| ")
_OPENCODE_LINE = re.compile(r"  Line (\d{1,9}): ")
_GEMINI_LINE = re.compile(r"L(\d{1,9})[:-](?: |$)")


@dataclass(slots=True)
class Result:
    """One result: its lines as sent (a closing separator included) and the searched text of each."""

    lines: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FileResults:
    """One file's results, with the lines before them (the path line) and after them."""

    path: str
    head: list[str]
    results: list[Result]
    tail: list[str]


@dataclass(slots=True)
class AgentSearch:
    lead: list[str]
    files: list[FileResults]
    trail: list[str]


@dataclass(frozen=True, slots=True)
class _Layout:
    file: Callable[[str, str | None], str | None]
    """The path a line names as a file's first line (given the next line), or None."""
    content: Callable[[str], tuple[str, int | None] | None]
    """A result line's searched text and line number (None: the layout prints none), or None."""
    opens: str | None = None  # the line right after the path line
    closes_result: str | None = None  # the line that closes every result
    closes_file: str | None = None  # the line that closes every file


def _cline_file(line: str, following: str | None) -> str | None:
    return line if following == "│----" and line and not line.startswith("│") else None


def _cline_content(line: str) -> tuple[str, int | None] | None:
    return (line[1:], None) if line.startswith("│") and line != "│----" else None


def _roo_file(line: str, following: str | None) -> str | None:
    return line[2:] if line.startswith("# ") and len(line) > 2 else None


def _numbered(pattern: re.Pattern[str]) -> Callable[[str], tuple[str, int | None] | None]:
    def content(line: str) -> tuple[str, int | None] | None:
        m = pattern.match(line)
        return (line[m.end() :], int(m[1])) if m is not None else None

    return content


def _opencode_file(line: str, following: str | None) -> str | None:
    return line[:-1] if len(line) > 1 and line.endswith(":") and not line.startswith(" ") else None


def _gemini_file(line: str, following: str | None) -> str | None:
    return line[6:] if line.startswith("File: ") and len(line) > 6 else None


CLINE = _Layout(_cline_file, _cline_content, opens="│----", closes_result="│----")
ROO = _Layout(_roo_file, _numbered(_ROO_LINE), closes_result="----")
OPENCODE = _Layout(_opencode_file, _numbered(_OPENCODE_LINE))
GEMINI = _Layout(_gemini_file, _numbered(_GEMINI_LINE), closes_file="---")


def _layout(lines: list[str], i: int) -> _Layout | None:
    """The layout whose file rule fits line ``i``, judged with the line after it."""
    line = lines[i]
    following = lines[i + 1] if i + 1 < len(lines) else None
    if line.startswith("File: "):
        return GEMINI
    if following == "│----":
        return CLINE
    if following is not None and line.startswith("# ") and _ROO_LINE.match(following):
        return ROO
    if following is not None and line.endswith(":") and _OPENCODE_LINE.match(following):
        return OPENCODE
    return None


@content_cache(4)
def parse(text: str) -> AgentSearch | None:
    """The lead, files and trail of an agent's search answer; None when ``text`` is not one.

    Remembered (detect and :class:`SearchCompressor` both read a text): the result is shared, never change it.
    """
    lines = text.split("\n")
    if not LEAD_RE.match(lines[0]):
        return None
    n, i = len(lines), 1
    while i < n and lines[i] in ("", "---"):  # Gemini CLI puts "---" under its count line
        i += 1
    lead = lines[:i]
    layout = _layout(lines, i) if i < n else None
    if layout is None:
        return None
    files: list[FileResults] = []
    while i < n:
        path = layout.file(lines[i], lines[i + 1] if i + 1 < n else None)
        if path is None:
            break
        head = [lines[i]]
        i += 1
        if layout.opens is not None:
            if i >= n or lines[i] != layout.opens:
                return None
            head.append(lines[i])
            i += 1
        results: list[Result] = []
        current: Result | None = None
        last: int | None = None
        while i < n:
            line = lines[i]
            if current is not None and line == layout.closes_result:
                current.lines.append(line)
                if line == layout.opens and i + 1 < n and lines[i + 1] == line:
                    current.texts.append(line[1:])  # Cline: a code line "----" before the closing line
                else:
                    current = None
                i += 1
                continue
            found = layout.content(line)
            if found is None:
                break
            text_of, number = found
            # a result runs until its closing line, or (layouts without one) while line numbers run on
            if current is None or (
                layout.closes_result is None and (number is None or last is None or number != last + 1)
            ):
                current = Result()
                results.append(current)
            current.lines.append(line)
            current.texts.append(text_of)
            last = number
            i += 1
        if not results or (layout.closes_result is not None and current is not None and i < n):
            return None  # a file without results, or a result left open (but by the end of a cut text)
        tail: list[str] = []
        if layout.closes_file is not None and i < n:  # (a text cut in its last file ends without one)
            if lines[i] != layout.closes_file:
                return None
            tail.append(lines[i])
            i += 1
        while i < n and lines[i] == "":
            tail.append(lines[i])
            i += 1
        files.append(FileResults(path, head, results, tail))
    trail = lines[i:]
    if not files or len(trail) - trail.count("") > MAX_TRAIL:
        return None
    return AgentSearch(lead, files, trail)


def looks_like(lines: list[str]) -> bool:
    """A cheap check on a sample of non-blank lines (:func:`headroom.transforms.detect.sample`): the
    first is a count line, and most of the rest fit one layout's rules."""
    if len(lines) < 4 or not LEAD_RE.match(lines[0]):
        return False
    start = 2 if lines[1] == "---" else 1
    layout = _layout(lines, start)
    if layout is None:
        return False
    rest = lines[start:]
    fits = sum(
        1
        for k, line in enumerate(rest)
        if line in (layout.closes_result, layout.closes_file, layout.opens)
        or layout.content(line) is not None
        or layout.file(line, rest[k + 1] if k + 1 < len(rest) else None) is not None
    )
    return fits >= 0.8 * len(rest)


__all__ = ["LEADS", "AgentSearch", "FileResults", "Result", "looks_like", "parse"]
