"""Content-type detection for the ContentRouter, from a bounded sample of a text.

``detect(text)`` looks at most at ``SAMPLE_LINES`` lines from the start, middle and end (each line cut at
``LINE_CHARS``), so its cost does not grow with the unit. Every pattern here is anchored at a line start and
has no nested quantifiers: linear in the line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum
from itertools import pairwise
from operator import methodcaller

from headroom.engine.caches import content_cache
from headroom.transforms import agent_search
from headroom.transforms.commands import programs, shell_command
from headroom.transforms.compressors.listing import ANY_LINE_RE, LONG_RE, is_header, name_like, tree_line
from headroom.transforms.search import is_diagnostics, might_be_search
from headroom.transforms.search import parse as parse_search

SAMPLE_LINES = 60
LINE_CHARS = 400


class ContentType(StrEnum):
    JSON = "json"
    SEARCH = "search"
    LOGS = "logs"
    TESTS = "tests"
    DIFF = "diff"
    CODE = "code"
    HTML = "html"
    TABLE = "table"
    LISTING = "listing"
    CUT_JSON = "cut_json"
    TEXT = "text"
    DIAGNOSTICS = "diagnostics"


_TIMESTAMP = re.compile(
    r"^\s{0,4}[\[(]?(?:\d{4}[-/]\d{2}[-/]\d{2}[T ]?|\d{6} \d{6}|\d{2}/\d{2}/\d{2,4} |"
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w{0,6},? |"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\w{0,6} {1,2}\d{1,2} |"
    r"\d{2}:\d{2}:\d{2}|\d{10,13}[ .,\]])"
)
_LEVELS = "TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE"
_LEVEL = re.compile(r"^[^\n]{0,80}?\b(?:" + _LEVELS + r")\b")
_LEVEL_AT = re.compile(r"\b(?:" + _LEVELS + r")\b")
_LEVEL_CANDIDATE = re.compile(_LEVELS)
_TEST = re.compile(
    r"^(?:={3,} |_{3,} |-{3,} |[\w/.\[\]:-]{1,300} (?:PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b|"
    r"(?:PASSED|FAILED|ERROR|SKIPPED) |E {3}|>{1,2} |Traceback \(most recent call last\)|"
    r"  File \"|[\w/.-]{1,300}\.py:\d+: |Ran \d+ tests? in|OK(?: \(|$)|FAILED \(|"
    r"[.FEsxX]{6,}|test_\w+ \([\w.]+\) \.\.\. |[A-Z]\w{0,60}Warning: )"
)
_DIFF_HEADER = re.compile(
    r"^(?:diff --git |--- (?:a/|/dev/null)|\+\+\+ (?:b/|/dev/null)|@@ -\d+(?:,\d+)? \+\d+)"
)
_NL_VIEW = re.compile(r"^(?:\s{0,8}\d{1,9}[\t\u2192]|\d{5,9}(?:\| | \|))")
"""A file view's line: ``nl -ba``, ``cat -n``, Claude Code's Read (``N→text``); OpenCode's read numbers its
lines zero-padded to five digits, then ``| `` (`` |`` in later versions), from the line's first column
(psql right-aligns an id column after a blank: `` 10001 | alice``, a table, not a view)."""
_ROO_VIEW = re.compile(r"[ \t]{0,9}(\d{1,9}) \| ")
"""A line of Roo Code's (and Kilo Code's) ``read_file`` answer: the number right-aligned to the widest one
shown, `` | ``, the text (``  7 | import x``). psql writes its rows so too (`` 7 | alice | 30``): a view
is told by its numbers, which count up one by one, and from psql's padding, rule and footer (see
:func:`_view`)."""
_PSQL_RULE = re.compile(r"(?:-{1,200}\+-|\+-{1,200}\+|\(\d{1,12} rows?\)$)")
"""psql's rule under the header (``----+-------``, ``+----+`` with ``\\pset border 2``) or its footer."""
_CODE = re.compile(
    r"^\s{0,40}(?:def |class |async def |import |from \S{1,200} import |return\b|if |elif |else:|for |while |"
    r"try:|except\b|raise |with |@\w|#|//|/\*|\*|fn |func |pub |let |const |var |function |struct |impl |"
    r"package |public |private |protected |static |#include|}|\)|]|\w+\s*=\s|\w+\(.*\)[;:]?$)"
)
_HTML = re.compile(
    r"^\s{0,40}<(?:!DOCTYPE|html|head|body|div|span|p|a|table|tr|td|li|ul|script|style|meta|link)\b", re.I
)
_TABLE_SEPS = ("|", "\t", ",")
# A line of pretty-printed JSON: a key, a scalar, a string or a bracket (what ``json.dumps(indent=...)``
# writes), each alternative a fixed prefix: linear.
_JSON_LINE = re.compile(r'^\s{0,80}(?:"[^"\n]{0,200}"\s?:|"|[\[\]{}],?$|-?\d|true\b|false\b|null\b)')


def sample(text: str) -> list[str]:
    """Up to ``SAMPLE_LINES`` lines from the head, middle and tail, each at most ``LINE_CHARS`` long."""
    third = SAMPLE_LINES // 3
    window = third * LINE_CHARS
    if len(text) <= 3 * window:
        lines = text.split("\n")
        if len(lines) > SAMPLE_LINES:
            mid = len(lines) // 2
            lines = lines[:third] + lines[mid - third // 2 : mid + third // 2] + lines[-third:]
    else:
        mid = len(text) // 2
        head = text[:window].split("\n")[:third]
        middle = text[mid : mid + window].split("\n")[1 : third + 1]
        tail = text[-window:].split("\n")[-third:]
        lines = head + middle + tail
    if max(map(len, lines), default=0) <= LINE_CHARS:
        return lines
    return [line[:LINE_CHARS] for line in lines]


def _ratio(lines: Sequence[str], pattern: re.Pattern[str]) -> float:
    return sum(map(bool, map(pattern.match, lines))) / len(lines) if lines else 0.0


def _has_level(line: str) -> bool:
    """``_LEVEL.match(line)`` for a line without newlines, faster: a level word is a whole word (``\\b`` on
    both sides), so it starts where a bare level word starts, and :data:`_LEVEL` wants it within 80 chars."""
    for m in _LEVEL_CANDIDATE.finditer(line, 0, 89):  # a start <= 80 plus the longest word (8)
        if m.start() > 80:
            return False
        if _LEVEL_AT.match(line, m.start()):
            return True
    return False


def _share_at_least(
    lines: Sequence[str], pattern: re.Pattern[str] | Callable[[str], object], share: float
) -> bool:
    """``_ratio(lines, pattern) >= share``, stopping as soon as the answer is known."""
    n = len(lines)
    if not n:
        return share <= 0.0
    match = pattern.match if isinstance(pattern, re.Pattern) else pattern
    hits = 0
    for i, line in enumerate(lines):
        if match(line):
            hits += 1
            if hits / n >= share:  # more hits can only raise the share
                return True
        elif (hits + n - 1 - i) / n < share:  # even if every line left matched
            return False
    return hits / n >= share


def _table_like(lines: Sequence[str]) -> bool:
    if len(lines) < 4:
        return False
    joined = "\n".join(lines)
    for sep in _TABLE_SEPS:
        if 2 * joined.count(sep) < 3 * len(lines):
            continue  # 80 % of the lines with 2 or more would make 1.6 per line at least
        counts = Counter(map(methodcaller("count", sep), lines))
        n, freq = counts.most_common(1)[0]
        if n >= 2 and freq / len(lines) >= 0.8:
            return True
    return False


def detect(
    text: str, *, search_command: bool = False, listing_command: bool = False, check_command: bool = False
) -> ContentType:
    """The content type of ``text`` judged from a bounded sample. ``listing_command``: the tool call ran
    ``ls``/``find``/``tree`` (see :func:`is_listing_command`), so a listing needs less evidence.
    ``check_command``: it ran a linter or compiler (:func:`~headroom.transforms.commands.runs_checker`), so
    grep-shaped lines are its diagnostics, not search results."""
    kind, head, lines, joined = _structure(text, search_command, check_command)
    if kind is not None:
        return kind
    if listing_command and _listing_like(lines, True):
        return ContentType.LISTING
    # ``joined`` (the sample's lines joined) rules out with one C-level scan what no line can hold
    if " test session starts " in joined and any(
        line.startswith("==") and " test session starts " in line for line in lines[:20]
    ):
        return ContentType.TESTS
    tests = _ratio(lines, _TEST)
    if (
        tests >= 0.15
        and ("=" * 5 in joined or "Ran " in joined)
        and any(("=" * 5 in line or "Ran " in line) and _TEST.match(line) for line in lines)
    ):
        return ContentType.TESTS
    if _share_at_least(lines, _TIMESTAMP, 0.5) or _share_at_least(lines, _has_level, 0.5):
        return ContentType.LOGS
    if head.startswith("<") and _share_at_least(lines, _HTML, 0.2):
        return ContentType.HTML
    if _share_at_least(lines, _CODE, 0.45):
        return ContentType.CODE
    if not listing_command and _listing_like(lines, False):
        return ContentType.LISTING
    if _table_like(lines):
        return ContentType.TABLE
    if tests >= 0.3:
        return ContentType.TESTS
    if _cut_json(head, lines):
        return ContentType.CUT_JSON
    return ContentType.TEXT


def _cut_json(head: str, lines: Sequence[str]) -> bool:
    """A JSON document cut short (a truncated tool output): it opens like JSON (the test
    :func:`_structure` makes) but does not close, and nearly every sampled line is a line of JSON."""
    if head[:1] not in ("{", "[") or len(lines) < 8:
        return False
    inner = head[:200].lstrip("[ \n\r\t")
    if not (head[0] == "{" or inner.startswith(("{", '"')) or inner[:1] in "-0123456789"):
        return False
    return _share_at_least(lines, _JSON_LINE, 0.9)


_LISTING_PROGRAMS = frozenset({"ls", "find", "tree", "fd", "fdfind", "exa", "eza", "lsd", "dir"})
_LISTING_WORDS = ("ls", "find", "tree", "fd", "exa", "eza", "dir")
"""Every name in :data:`_LISTING_PROGRAMS` holds one of these."""


@content_cache(256)
def is_listing_command(tool_input: str | None) -> bool:
    """True when the tool call's shell command (a ``command``/``cmd`` argument, or the text itself) runs a
    listing program (``ls``, ``find``, ``tree``, ``fd``, ...) in any of its ``&&``/``;``/``|`` steps."""
    if not tool_input:
        return False
    # a program's name is in the command as written, or spelled with JSON's \u escapes: one C-level scan
    # per word rules out most tool calls
    if "\\u" not in tool_input and not any(word in tool_input for word in _LISTING_WORDS):
        return False
    command = shell_command(tool_input)
    return command is not None and any(
        program in _LISTING_PROGRAMS for program, _ in programs(command[:2000])
    )


def _has_extension(name: str) -> bool:
    """``name`` (or a path) ends in ``.ext`` with a letter in it, after a name character."""
    name = name.rstrip("/*@")
    dot = name.rfind(".")
    if dot <= 0 or name[dot - 1] in "./" or dot == len(name) - 1 or len(name) - dot > 12:
        return False
    ext = name[dot + 1 :]
    return ext.isalnum() and not ext.isdigit()


def _listing_like(lines: Sequence[str], hinted: bool) -> bool:
    """A directory listing: ``ls -l`` entries, ``tree`` lines, ``ls -R`` sections, or bare names and
    paths of which many have a file extension or a slash."""
    n = len(lines)
    if n < 3 or _ratio(lines, ANY_LINE_RE) < 0.5:  # one C-level pass rules out most text
        return False
    long_n = tree_n = header_n = name_n = ext_n = 0
    for line in lines:
        if line[:1] in "-dlcbpsD?" and LONG_RE.match(line):
            long_n += 1
        elif tree_line(line):
            tree_n += 1
        elif is_header(line):
            header_n += 1
        elif name_like(line):
            name_n += 1
            if "/" in line or _has_extension(line):
                ext_n += 1
        elif line.startswith("total ") and line[6:].strip().isdigit():
            header_n += 1
    if long_n >= 3 and long_n + header_n >= 0.6 * n:
        return True
    if tree_n >= 3 and tree_n >= 0.5 * n:
        return True
    if header_n >= 2 and header_n + name_n >= 0.8 * n and ext_n >= 0.3 * name_n:
        return True
    if n >= 4 and name_n >= 0.8 * n and ext_n >= 0.4 * name_n:
        return True
    return hinted and long_n + tree_n + header_n + name_n >= 0.6 * n


def _view(lines: Sequence[str], joined: str) -> re.Pattern[str] | None:
    """The numbering of a file view (:data:`_NL_VIEW` or :data:`_ROO_VIEW`) that numbers at least 60 % of
    ``lines`` (``joined``: them joined with newlines), or None. A Roo view's numbers also count up one by
    one (80 % of the steps between numbered lines: the sample's gaps, a new range or file make the rest),
    no line is psql's rule or footer, and a number is flush left or the text opens with Roo's
    ``File: <path>`` header (psql pads every cell with a blank)."""
    if _share_at_least(lines, _NL_VIEW, 0.6):
        return _NL_VIEW
    if " | " not in joined or not _share_at_least(lines, _ROO_VIEW, 0.6):  # one C-level scan first
        return None
    found = [m for m in map(_ROO_VIEW.match, lines) if m is not None]
    numbers = [int(m[1]) for m in found]
    ones = sum(1 for a, b in pairwise(numbers) if b == a + 1)
    if ones < 0.8 * (len(numbers) - 1) or any(map(_PSQL_RULE.match, lines)):
        return None
    if not lines[0].startswith("File: ") and all(m.start(1) for m in found):
        return None
    return _ROO_VIEW


def _log_view(lines: Sequence[str], view: re.Pattern[str] = _NL_VIEW) -> bool:
    """A numbered view (``cat -n``, Claude Code's Read, ``view`` numbering its lines) of a log: half its
    lines, numbers aside, are log lines. Every other numbered view is a file view, of code to edit."""
    body = [line[m.end() :] for line in lines[:3] if (m := view.match(line)) is not None]
    if view is _ROO_VIEW and not body:  # after a header (``File: app.log``, a truncation notice)
        body = [line[m.end() :] for m, line in zip(map(view.match, lines), lines, strict=True) if m][:3]
    if not any(_TIMESTAMP.match(line) or _has_level(line) for line in body):
        return False  # a code view, told by its first lines (a log's lines are alike): cheap
    body = [line[m.end() :] for line in lines if (m := view.match(line)) is not None]
    return _share_at_least(body, _TIMESTAMP, 0.5) or _share_at_least(body, _has_level, 0.5)


def _structure(
    text: str, search_command: bool, check_command: bool = False
) -> tuple[ContentType | None, str, list[str], str]:
    """The structural checks, in detect's order: (the type they decide or None, the head, the sample's
    lines that are not blank, those lines joined with newlines)."""
    head = text[:4096].lstrip()
    if not head:
        if text.strip():
            return _structure(text.lstrip(), search_command, check_command)
        return ContentType.TEXT, head, [], ""
    tail = text[-4096:].rstrip()
    if head[0] in "{[" and tail[-1:] in ("}", "]"):
        inner = head[:200].lstrip("[ \n\r\t")
        json_like = head[0] == "{" or inner.startswith(("{", '"', "]")) or inner[:1] in "-0123456789"
        # a log line may open and close like JSON; one line alone is no log (an MCP result, a tool's
        # JSON answer: ``[{"title": "ERROR on save", ...}]``), whatever words it starts with
        log_like = _TIMESTAMP.match(head) is not None or _LEVEL.match(head[:120]) is not None
        if json_like and (not log_like or "\n" not in text.strip()):
            return ContentType.JSON, head, [], ""
    lines = list(filter(str.strip, sample(text)))
    if not lines:
        return ContentType.TEXT, head, lines, ""
    joined = "\n".join(lines)
    if (joined.startswith("@@") or "\n@@" in joined) and _ratio(lines, _DIFF_HEADER) * len(lines) >= 2:
        return ContentType.DIFF, head, lines, joined
    if (
        head.startswith(agent_search.LEADS)
        and agent_search.looks_like(lines)
        and agent_search.parse(text) is not None  # the whole text, as SearchCompressor reads it
    ):
        # an agent's own search tool's answer (before views: Roo's results of many lines number alike)
        return ContentType.SEARCH, head, lines, joined
    if (view := _view(lines, joined)) is not None:
        return (ContentType.LOGS if _log_view(lines, view) else ContentType.CODE), head, lines, joined
    if might_be_search(lines, allow_bare=search_command):
        parsed = parse_search(joined, allow_bare=search_command)
        structured = sum(1 for e in parsed.entries if e.kind in ("match", "context", "heading"))
        if len(parsed.matches) >= 3 and structured / len(lines) >= 0.6:
            diagnostics = check_command or is_diagnostics(parsed)
            kind = ContentType.DIAGNOSTICS if diagnostics else ContentType.SEARCH
            return kind, head, lines, joined
    return None, head, lines, joined


__all__ = ["ContentType", "detect", "is_listing_command", "sample"]
