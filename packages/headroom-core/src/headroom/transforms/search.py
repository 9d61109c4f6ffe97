"""SearchCompressor: grep / ripgrep / git grep output.

Parses ``path:line:text`` matches, ``path-line-text`` context lines, ``--`` separators, ripgrep heading mode
(a path line, then ``line:text``) and Windows paths; ranks every match against the unit's context (the search
command and the user's request) with BM25 plus boosts for exact identifiers, definition lines and error
words; keeps the best matches per file within a budget, in their original order and byte for byte; and
summarises everything else in one marker line with per-file counts. Not search output -> None.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate, chain, compress, count, filterfalse, repeat
from operator import add, attrgetter, contains, itemgetter, lt, mul, not_, sub, truediv

from pydantic import Field

from headroom.engine.caches import content_cache
from headroom.engine.units import Unit
from headroom.transforms import agent_search
from headroom.transforms.base import Compressor
from headroom.transforms.commands import runs_checker, shell_command
from headroom.transforms.markers import marker
from headroom.transforms.tags import ASCII_FIRST, has_placeholder

PROBE_CHARS = 8192
PROBE_LINES = 60
"""A unit's head (at most this many lines and chars) is probed first: is it search output at all?"""

# ---- line grammar (all patterns are anchored and linear: no nested quantifiers over the same chars) ------

# path:line[:col]:text  — the path runs to the first ':' (after an optional Windows drive): it holds no ':',
# so taking all it can at once (possessive) ends where a lazy repeat would, in fewer steps.
MATCH_RE = re.compile(
    r"^(?P<path>(?:[A-Za-z]:[\\/])?[^:\n]{1,512}+):(?P<ln>\d{1,9})(?::\d{1,6})?:(?P<text>.*)"
)
# line:text / line-text under a ripgrep heading (or for a single-file grep -n).
BARE_RE = re.compile(r"^(?P<ln>\d{1,9})(?P<sep>[:-])(?P<text>.*)")
NL_VIEW_RE = re.compile(r"^\s{0,12}\d{1,9}[\t\u2192]")  # `nl -ba`, `cat -n`, Claude Code's Read (N→text)
SEARCH_COMMAND_RE = re.compile(
    r"\b(?:grep|rg|ripgrep|ag|ack|git\s+grep|findstr|select-string|search)\b", re.I
)
# possessive spaces: no modifier or keyword starts with one, so giving one back could not help (and was
# what most of a non-matching line's time went to)
DEFINITION_RE = re.compile(
    r"^\s*+(?:(?:export|pub(?:\([\w:]{1,32}\))?|public|private|protected|static|async|abstract|final|default"
    r"|inline|extern|unsafe|const|open|override|internal|sealed|data)\s++){0,4}"
    r"(?:def|class|fn|func|function|struct|interface|enum|trait|impl|type|module|object|protocol|record"
    r"|namespace|macro_rules!|union|typedef|sub|package)\b"
)
DIAGNOSTIC_RE = re.compile(
    r" ?(?:(?i:fatal error|error|warning|note|info|hint|remark)(?:\[[^\]\n]{0,40}\])?:|[A-Z]{1,4}\d{2,5}\b"
    r"|line \d{1,9}, col \d{1,9}, (?:Error|Warning) - )"
)
"""The text of a linter's or compiler's diagnostic after ``path:line[:col]:`` (mypy's `` error: ...``, gcc's
`` warning: ...``, rustc-style ``error[E0308]:``, flake8's and ruff's `` E501 ...``, pylint's
`` C0114: ...``), or after ``path:`` (ESLint's compact format: `` line 12, col 5, Error - ...``)."""
_ESLINT_UNIX_ENDS = ("[Error/", "[Warning/")
"""ESLint's unix format ends a diagnostic with ``[Error/rule]`` or ``[Warning/rule]``."""
_CHECK_CODE_END = re.compile(r"\([A-Z]{1,4}\d{2,5}\)")
"""staticcheck ends a diagnostic with its check's code: ``(SA4006)``, ``(S1000)``."""
ERROR_RE = re.compile(
    r"\b(?:error|errors|exception|fail|failed|failure|fatal|panic|traceback|warning|critical|assert\w*"
    r"|raise|throw|segfault)\b|\b[A-Za-z]{0,60}(?:Error|Exception)\b|\bFAILED\b|\bTraceback\b",
    re.I,
)
WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}|\d{1,20}")
SUBWORD_RE = re.compile(r"[A-Z]{2,40}(?=[A-Z][a-z])|[A-Z]?[a-z]{1,40}|[A-Z]{1,40}|\d{1,20}")
BACKTICK_RE = re.compile(r"`([^`\n]{1,200})`")
_STOP = """a an and are as at be by can do does for from give how i if in is it its me my of on or please show
    tell that the this to was what where which who why with you your file line lines exactly defined find
    code there here"""
STOPWORDS = frozenset(_STOP.split())


@dataclass(slots=True)
class _Entry:
    """One parsed line: its index in the unit, its file and kind."""

    index: int
    path: str | None
    kind: str  # "match" | "context" | "sep" | "heading" | "other"
    text: str = ""


@dataclass(slots=True)
class Parsed:
    lines: list[str]
    entries: list[_Entry]
    """One per line, in order: ``entries[k].index == k``."""
    matches: list[_Entry] = field(default_factory=list)
    heading_mode: bool = False
    separated: bool = False
    """The output used ``--`` between context groups (grep -C): kept groups are separated the same way."""


def _is_protected(line: str) -> bool:
    return has_placeholder(line)


def parse(text: str, *, allow_bare: bool = False) -> Parsed:
    """Classify every line of ``text``; ``allow_bare`` accepts ``line:text`` without a heading (grep -n on
    one file), which is only safe when the command is known to be a search."""
    lines = text.split("\n")
    entries: list[_Entry] = []  # one per line
    matches: list[_Entry] = []
    others: list[int] = []  # the lines of kind "other"
    dashes = False  # a "--" line
    plausible: dict[str, bool] = {}  # _plausible_path, per path
    current: str | None = None  # heading (ripgrep) or last match path
    heading: str | None = None
    heading_mode = False
    # literal pre-checks skip regexes that cannot match: a text without placeholders has none; a view
    # line starts with a space or digit, a bare line with a digit (isdigit covers the regexes' \d)
    protectable = has_placeholder(text)
    for i, line in enumerate(lines):
        if not line:
            entries.append(_Entry(i, None, "sep"))
            heading = None
            continue
        # C-level pre-checks before the call: a placeholder holds \x01 or a non-ASCII character
        maybe_protected = protectable and (ASCII_FIRST in line or not line.isascii())
        if line == "--" or (maybe_protected and _is_protected(line)):
            if line == "--":
                dashes = True
                entries.append(_Entry(i, None, "sep"))
            else:
                others.append(i)
                entries.append(_Entry(i, None, "other"))
            continue
        first = line[0]
        digit = first.isdigit()
        if (digit or first.isspace()) and NL_VIEW_RE.match(line):
            others.append(i)
            entries.append(_Entry(i, None, "other"))
            continue
        bare = BARE_RE.fullmatch(line) if digit else None
        if bare and (heading is not None or allow_bare):
            entry = _Entry(i, heading or "", "match" if bare["sep"] == ":" else "context", bare["text"])
            entries.append(entry)
            if entry.kind == "match":
                matches.append(entry)
            continue
        m = MATCH_RE.fullmatch(line) if ":" in line else None
        if m:
            path, _, rest_text = m.groups()  # path, line number, text
            ok = plausible.get(path)
            if ok is None:
                ok = plausible[path] = _plausible_path(path)
            if ok:
                current = path
                entry = _Entry(i, path, "match", rest_text)
                entries.append(entry)
                matches.append(entry)
                continue
        if current is not None and line.startswith(current + "-"):
            rest = BARE_RE.fullmatch(line[len(current) + 1 :])
            if rest and rest["sep"] == "-":
                entries.append(_Entry(i, current, "context", rest["text"]))
                continue
        if allow_bare and (found := path_and_text(line)) is not None:
            current = found[0]  # grep -r without -n: path:text
            entry = _Entry(i, current, "match", found[1])
            entries.append(entry)
            matches.append(entry)
            continue
        if _looks_like_path(line) and i + 1 < len(lines) and BARE_RE.match(lines[i + 1]):
            heading = line
            heading_mode = True
            entries.append(_Entry(i, line, "heading"))
            continue
        others.append(i)
        entries.append(_Entry(i, None, "other"))
    # context lines that precede their file's first match (grep -B) carry the next match's path
    for k in reversed(others):
        e = entries[k]
        if k + 1 < len(entries) and entries[k + 1].path:
            p = entries[k + 1].path
            if p and lines[e.index].startswith(p + "-"):
                rest = BARE_RE.fullmatch(lines[e.index][len(p) + 1 :])
                if rest and rest["sep"] == "-":
                    entries[k] = _Entry(e.index, p, "context", rest["text"])
    return Parsed(lines, entries, matches, heading_mode=heading_mode, separated=dashes and not heading_mode)


# The part of an ISO-8601 or dated log line before its first ':' (``2025-03-14T09``): a time, not a path.
_DATE_PREFIX_RE = re.compile(r"\d{2,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[T_]\d{1,2})?")


def _plausible_path(path: str) -> bool:
    return (
        not path.isdigit()
        and " " not in path
        and "\t" not in path
        and _DATE_PREFIX_RE.fullmatch(path) is None
    )


def path_and_text(line: str) -> tuple[str, str] | None:
    """``(path, text)`` of a match line without a line number (``grep -r`` without ``-n``, ``rg -N``):
    ``src/app.py:    def run():``. Only a file-like path counts: one holding a ``/`` or ``\\`` or ending
    in an extension, without blanks or ``=`` (``PATH=/usr/bin:/bin`` is no match); a text that is a number
    (``grep -c``) or starts with a line number is not one, nor are a test id (``tests/a.py::test_x PASSED``)
    and a compiler's ``path(line,col): error`` (tsc, MSVC, dotnet): they are results and errors, not
    matches to rank away. Read only when the tool call was a search."""
    path, colon, text = line.partition(":")
    if len(path) == 1 and text[:1] in ("\\", "/"):  # a Windows drive: C:\src\app.py:text
        rest, colon, text = text.partition(":")
        path += ":" + rest
    if not colon or not path or len(path) > 512 or "=" in path or not _plausible_path(path):
        return None
    if text[:1] == ":" or _compiler_location(path):
        return None
    if "/" not in path and "\\" not in path:
        dot, extension = path.rpartition(".")[1:]
        if not dot or not 0 < len(extension) <= 10 or not extension.isalnum():
            return None
    if text[:1].isdigit() and (text.isdigit() or BARE_RE.match(text) is not None):
        return None  # path:12:text, path:12-text (a numbered line) or path:12 (grep -c)
    return path, text


def _compiler_location(path: str) -> bool:
    """``path`` ends in ``(12)`` or ``(12,5)``: a diagnostic's location (``src/a.ts(12,5): error TS2304``)."""
    if not path.endswith(")"):
        return False
    inside = path[path.rfind("(") + 1 : -1]
    return inside[:1].isdigit() and inside.replace(",", "").isdigit()


def _looks_like_path(line: str) -> bool:
    return (
        len(line) <= 400
        and not line.startswith((" ", "\t", "[", "<", "#"))
        and ("/" in line or "\\" in line or "." in line)
        and ": " not in line
        and not line.endswith((":", ";", "{", ")"))
    )


def is_search_command(tool_input: str | None, tool_name: str | None = None) -> bool:
    """True when the tool call looks like a grep-like search: its tool's name or its arguments name one;
    of arguments that hold a shell command (:func:`~headroom.transforms.commands.shell_command`), only
    the command counts, not a ``description`` that says "Search for ..."."""
    if tool_name and _names_a_search(tool_name):
        return True
    if not tool_input or not _names_a_search(tool_input[:4000]):
        return False  # (most calls: one scan, no parsing)
    command = shell_command(tool_input)
    return command is None or _names_a_search(command[:4000])


_SEARCH_WORDS = ("grep", "rg", "ag", "ack", "findstr", "select-string", "search")
"""Every word :data:`SEARCH_COMMAND_RE` matches contains one of these (``ripgrep`` and ``git grep`` too)."""


def _names_a_search(text: str) -> bool:
    """``SEARCH_COMMAND_RE.search(text)``, with a substring pre-check on ASCII text (where ignoring case is
    lowering; other text can case-fold to ASCII letters, e.g. the long s, so it goes to the regex)."""
    if text.isascii():
        low = text.lower()
        if not any(word in low for word in _SEARCH_WORDS):
            return False
    return SEARCH_COMMAND_RE.search(text) is not None


def might_be_search(lines: Sequence[str], *, allow_bare: bool = False) -> bool:
    """A cheap pre-check on a few lines: at least three (or most) look like matches."""
    hits = 0
    last_miss: str | None = None  # the last line that was not a hit: a heading when it looks like a path
    for line in lines:
        if len(line) > 2000:
            line = line[:2000]
        m = MATCH_RE.match(line) if ":" in line else None
        if (
            (m and _plausible_path(m["path"]))
            or (line[:1].isdigit() and BARE_RE.match(line) and (allow_bare or _is_heading(last_miss)))
            or (allow_bare and ":" in line and path_and_text(line) is not None)
        ):
            hits += 1
            if hits >= 3:
                return True
        else:
            last_miss = line
    return False


def _is_heading(line: str | None) -> bool:
    """A ripgrep heading candidate for :func:`might_be_search` (judged only when a bare line follows)."""
    return line is not None and (":" not in line or line[1:3] in (":\\", ":/")) and _looks_like_path(line)


def is_diagnostics(parsed: Parsed) -> bool:
    """Half the matches or more are diagnostics (:data:`DIAGNOSTIC_RE`): a linter's or compiler's list of
    errors, each of which the model needs, not search results to rank and cut."""
    texts = [e.text for e in parsed.matches]
    found = sum(1 for t in texts if DIAGNOSTIC_RE.match(t) or (t.endswith(("]", ")")) and _coded_end(t)))
    return bool(texts) and 2 * found >= len(texts)


def _coded_end(text: str) -> bool:
    """Whether ``text`` ends with ESLint's ``[Error/rule]`` (or ``[Warning/rule]``) or a code ``(SA4006)``."""
    if text.endswith("]"):
        start = text.rfind("[", max(0, len(text) - 200))
        return start >= 0 and text.startswith(_ESLINT_UNIX_ENDS, start)
    start = text.rfind("(", max(0, len(text) - 12))
    return start >= 0 and _CHECK_CODE_END.fullmatch(text, start) is not None


def looks_like_search(parsed: Parsed, *, min_matches: int = 3, min_ratio: float = 0.6) -> bool:
    """Enough of the lines are matches, context, separators or headings."""
    if len(parsed.matches) < min_matches:
        return False
    kinds = Counter(map(attrgetter("kind"), parsed.entries))
    counted = len(parsed.entries) - kinds["sep"]
    if not counted:
        return False
    return (counted - kinds["other"]) / counted >= min_ratio


# A line :func:`parse` can make a match, context line or heading starts with a digit (a bare line) or holds
# ':' (path:line:), '-' (path-line-) or a path character ('/', '\\', '.'). Anchored (each line is matched
# on its own: faster than a multi-line scan of the whole text): linear.
_MAYBE_STRUCTURED = re.compile(r"^(?:\d|[^\n:\-/\\.]*+[:\-/\\.])")


def _may_look_like_search(text: str, min_matches: int, min_ratio: float = 0.6) -> bool:
    """False when ``parse(text)`` cannot pass ``len(matches) >= min_matches`` and :func:`looks_like_search`:
    an upper bound of its structured lines, counted at C speed, is already too small."""
    lines = text.split("\n")
    counted = len(lines) - lines.count("") - lines.count("--")  # separators are not counted
    possible = len(list(filter(_MAYBE_STRUCTURED.match, lines)))  # "--" lines among them: an upper bound
    return counted > 0 and possible >= min_matches and possible / counted >= min_ratio


# ---- ranking -------------------------------------------------------------------------------------------


def terms(text: str) -> list[str]:
    """Lowercased words and identifier sub-words (``url_path_for`` -> url_path_for, url, path, for)."""
    out: list[str] = []
    for word in WORD_RE.findall(text):
        out.extend(_word_terms(word))
    return out


_COMPOUND_RE = re.compile(r"_|[a-z][A-Z]|[A-Z]{2}[a-z]")


@content_cache(65536)
def _word_terms(word: str) -> tuple[str, ...]:
    low = word.lower()
    if not _COMPOUND_RE.search(word):
        return (low,)
    return (low, *(s.lower() for part in word.split("_") for s in SUBWORD_RE.findall(part) if s))


def identifiers(text: str) -> set[str]:
    """Code-like names in a request: `backticked` words, snake_case, camelCase, dotted and call forms."""
    found: set[str] = set()
    for chunk in BACKTICK_RE.findall(text):
        found.update(w for w in WORD_RE.findall(chunk) if len(w) > 2 and w.lower() not in _KEYWORDS)
    for word in WORD_RE.findall(text):
        if len(word) > 3 and (
            "_" in word.strip("_") or (any(c.isupper() for c in word[1:]) and any(c.islower() for c in word))
        ):
            found.add(word)
    return found


_KW = "def class fn func function struct interface enum trait impl type async"
_KEYWORDS = frozenset(_KW.split())


class BM25:
    """Okapi BM25 over a list of tokenised documents, with the usual non-negative IDF."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(d) for d in docs]
        self.lengths = [len(d) for d in docs]
        self.avg = (sum(self.lengths) / len(docs)) if docs else 0.0
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def score(self, query: Iterable[str], i: int) -> float:
        doc, length = self.docs[i], self.lengths[i]
        norm = self.k1 * (1 - self.b + self.b * length / self.avg) if self.avg else self.k1
        total = 0.0
        for t in set(query):
            tf = doc.get(t)
            if tf:
                total += self.idf[t] * tf * (self.k1 + 1) / (tf + norm)
        return total


_WORD_OR_BREAK_RE = re.compile(WORD_RE.pattern + r"|\n")


_ERROR_WORDS = (
    "error", "exception", "fail", "fatal", "panic", "traceback", "warning", "critical", "assert", "raise",
    "throw", "segfault",
)  # fmt: skip
"""Every match of :data:`ERROR_RE` holds one of these, ignoring ASCII case (checked on ASCII text only:
other text can case-fold to ASCII letters, e.g. the long s)."""


def _error_lines(texts: list[str], joined: str, starts: list[int]) -> set[int]:
    """The indices of ``texts`` that :data:`ERROR_RE` finds something in; a literal scan of the joined
    text picks the candidates."""
    if not joined.isascii():
        return {i for i, text in enumerate(texts) if ERROR_RE.search(text)}
    low = joined.lower()
    candidates: set[int] = set()
    for word in _ERROR_WORDS:
        k = low.find(word)
        while k >= 0:
            i = bisect_right(starts, k) - 1
            candidates.add(i)
            k = low.find(word, starts[i + 1])
    return {i for i in sorted(candidates) if ERROR_RE.search(texts[i])}


def _count_terms(
    tokens: list[str], extra: dict[str, int], offsets: dict[str, tuple[int, ...]], picked: set[str]
) -> tuple[list[int], list[tuple[int, ...]], list[int]]:
    """For ``tokens`` holding documents separated by ``\\n`` tokens: each document's term count (a word
    yields one term plus ``extra.get(word, 0)``), and the ``offsets`` of each hit word with its document.
    One pass over ``tokens`` picks the breaks, the hit words and the words with extra terms (``picked``
    holds them all); the rest runs over those."""
    mask = list(map(picked.__contains__, tokens))
    seq = list(compress(tokens, mask))
    is_break = list(map("\n".__eq__, seq))
    breaks = list(compress(compress(count(), mask), is_break))  # their positions in ``tokens``
    words = map(sub, map(sub, [*breaks, len(tokens)], [-1, *breaks]), repeat(1))  # per document
    extras = list(accumulate(map(extra.get, seq, repeat(0)), initial=0))
    at_end = [0, *map(extras.__getitem__, [*compress(count(), is_break), len(seq)])]
    lengths = list(map(add, words, map(sub, at_end[1:], at_end[:-1])))
    is_hit = list(map(offsets.__contains__, seq))
    found = list(map(offsets.__getitem__, compress(seq, is_hit)))
    return lengths, found, list(compress(accumulate(is_break), is_hit))  # a hit's document: breaks before it


def _count_keys(tf: Counter[int], found: list[tuple[int, ...]], docs: list[int]) -> None:
    """Count ``offset + doc`` in ``tf`` for each offset in ``found[i]`` (not empty) and ``docs[i]``: the
    first offsets of all, then the second offsets of those that have one, and so on."""
    j = 0
    while found:
        tf.update(map(add, map(itemgetter(j), found), docs))
        j += 1
        more = list(map(lt, repeat(j), map(len, found)))
        found, docs = list(compress(found, more)), list(compress(docs, more))


def _bm25_scores(paths: Sequence[str], texts: Sequence[str], joined: str, query: list[str]) -> list[float]:
    """``[BM25([terms(f"{p} {t}") for p, t in ...]).score(query, i) for i ...]``, equal to the bit, without
    a term counter per document. A document's terms are its path's then its text's (no word spans the
    space): each distinct path is tokenised once, the texts (``joined`` by ``\\n``) in one pass; lengths
    come from running sums of per-word term counts; the query's hits are counted per (term, document) in
    one Counter; each term's parts are added only to the documents holding it, in ``BM25.score``'s order
    (adding nothing elsewhere keeps every sum: ``x + 0.0 == x``)."""
    n = len(texts)
    qset = set(query)  # BM25.score sums in this order
    if not n or not qset:
        return [0.0] * n
    uniq = list(dict.fromkeys(paths))
    path_text = "\n".join(uniq)
    if path_text.count("\n") != len(uniq) - 1 or joined.count("\n") != n - 1:  # a line holding a break
        bm25 = BM25([terms(f"{p} {t}") for p, t in zip(paths, texts, strict=True)])
        return [bm25.score(query, i) for i in range(n)]
    k1, b = 1.2, 0.75
    path_tokens = _WORD_OR_BREAK_RE.findall(path_text)
    tokens = _WORD_OR_BREAK_RE.findall(joined)
    distinct = list(dict.fromkeys(chain(tokens, path_tokens)))  # in order: the words' memory is read in order
    is_lower = list(map(str.islower, distinct))
    lower = list(compress(distinct, is_lower))  # no upper-case letter: each is its own lowercase
    other = list(compress(distinct, map(not_, is_lower)))  # upper-case letters, or no letter at all
    # a compound holds '_' or an upper-case letter (so a word of digits is none)
    compounds = chain(
        compress(lower, map(contains, lower, repeat("_"))),
        filter(_COMPOUND_RE.search, filterfalse(str.isdigit, other)),
    )
    extra = {word: len(_word_terms(word)) - 1 for word in compounds}
    slot = {t: i * n for i, t in enumerate(qset)}  # a (term, document) pair's key: slot[term] + document
    probe = re.compile("|".join(map(re.escape, sorted(qset))))  # a hit word holds a term, lowercased
    offsets: dict[str, tuple[int, ...]] = {}  # a hit word -> the slot of each query term it yields
    for word in chain(filter(probe.search, lower), compress(other, map(probe.search, map(str.lower, other)))):
        slots = tuple(slot[t] for t in _word_terms(word) if t in qset)
        if slots:
            offsets[word] = slots
    if not offsets:
        return [0.0] * n
    picked = {"\n", *offsets, *extra}
    path_lengths, path_found, path_docs = _count_terms(path_tokens, extra, offsets, picked)
    text_lengths, found, docs = _count_terms(tokens, extra, offsets, picked)
    pids = list(map(dict(zip(uniq, count())).__getitem__, paths))
    lengths = list(map(add, map(path_lengths.__getitem__, pids), text_lengths))
    avg = sum(lengths) / n
    tf: Counter[int] = Counter()  # every (term, document) hit as the key slot[term] + document, counted
    _count_keys(tf, found, docs)
    if path_found:  # a path's hits count on every document with that path
        per_path: list[tuple[int, ...]] = [()] * len(uniq)
        for p, offs in zip(path_docs, path_found, strict=True):
            per_path[p] += offs
        found = list(map(per_path.__getitem__, pids))
        some = list(map(bool, found))
        _count_keys(tf, list(compress(found, some)), list(compress(count(), some)))
    keys = sorted(tf)
    if avg:  # BM25.score's norm per document: k1 * (1 - b + b * length / avg)
        ratios = map(truediv, map(mul, repeat(b), lengths), repeat(avg))
        norms = list(map(mul, repeat(k1), map(add, repeat(1 - b), ratios)))
    else:
        norms = [k1] * n
    scores = [0.0] * n
    for start in slot.values():
        lo, hi = bisect_left(keys, start), bisect_left(keys, start + n)
        if lo == hi:
            continue
        idf = math.log(1 + (n - (hi - lo) + 0.5) / ((hi - lo) + 0.5))
        fs = list(map(tf.__getitem__, keys[lo:hi]))
        numerators = {f: idf * f * (k1 + 1) for f in set(fs)}  # per term frequency (few)
        if hi - lo == n:  # every document holds the term (its keys are in document order)
            parts = map(truediv, map(numerators.__getitem__, fs), map(add, fs, norms))
            scores = list(map(add, scores, parts))
            continue
        docs_t = list(map(sub, keys[lo:hi], repeat(start)))
        parts = map(truediv, map(numerators.__getitem__, fs), map(add, fs, map(norms.__getitem__, docs_t)))
        # scores[d] += part, for each document d holding the term
        list(map(scores.__setitem__, docs_t, map(add, map(scores.__getitem__, docs_t), parts)))
    return scores


def _distinct_hits(words: set[str], texts: list[str], joined: str, starts: list[int]) -> dict[int, int]:
    """Line index -> how many distinct ``words`` (:func:`whole_words`) it holds, for the lines ``texts``
    (``joined`` by ``\\n``, ``starts`` their offsets)."""
    pattern = whole_words(words)
    if pattern is None:
        return {}
    if len(words) == 1 and joined.count(next(iter(words))) > len(texts) // 8:  # one word, on many lines
        return dict.fromkeys(compress(count(), map(pattern.search, texts)), 1)
    found = list(pattern.finditer(joined))  # never across a line break
    lines = map(sub, map(bisect_right, repeat(starts), map(re.Match.start, found)), repeat(1))
    return dict(Counter(map(itemgetter(0), set(zip(lines, map(re.Match.group, found), strict=True)))))


def score_matches(parsed: Parsed, query_text: str, request: str) -> list[float]:
    """A relevance score per match: BM25 + exact identifiers + definition lines + error words."""
    matches = parsed.matches
    return score_lines([e.path or "" for e in matches], [e.text for e in matches], query_text, request)


def score_lines(paths: Sequence[str], texts: Sequence[str], query_text: str, request: str) -> list[float]:
    """A relevance score per line of search output (its file's path and its text), as :func:`score_matches`.

    Equal, to the bit, to scoring each line with :class:`BM25` over ``terms(f"{path} {text}")``, but only
    the query's terms are counted per line (document lengths come from one cached count per word), and
    the identifier and error patterns run once over all lines' texts."""
    return _score_lines(paths, texts, query_text, request)[0]


def _score_lines(
    paths: Sequence[str], texts: Sequence[str], query_text: str, request: str
) -> tuple[list[float], list[int]]:
    """:func:`score_lines`, and the indices of the definition lines (:data:`DEFINITION_RE`)."""
    query = [t for t in terms(f"{query_text} {request}") if t not in STOPWORDS]
    texts = list(texts)
    joined = "\n".join(texts)
    scores = _bm25_scores(paths, texts, joined, query)
    starts = list(map(add, accumulate(map(len, texts), initial=0), count()))  # + 1 per line break
    ident_hits = _distinct_hits(identifiers(request) | identifiers(query_text), texts, joined, starts)
    defines = list(compress(count(), map(DEFINITION_RE.match, texts)))
    # each line's boosts in this order: identifiers, definition, error words (a boost of 0.0 changes nothing)
    hit = list(ident_hits)  # scores[i] += 4.0 * distinct
    boosts = map(mul, repeat(4.0), ident_hits.values())
    list(map(scores.__setitem__, hit, map(add, map(scores.__getitem__, hit), boosts)))
    for i in defines:
        scores[i] += 2.0 + (6.0 if i in ident_hits else 0.0)
    for i in _error_lines(texts, joined, starts):
        scores[i] += 1.5
    return scores, defines


def must_keep(entry: _Entry, request_idents: set[str]) -> bool:
    """Needle-class matches: definitions of what the user asks about."""
    return _must_keep(entry, whole_words(request_idents))


def whole_words(words: set[str]) -> re.Pattern[str] | None:
    """A pattern finding any of ``words`` as a whole word (None for no words)."""
    if not words:
        return None
    # ``(?<!\w)`` before a word, checked as a lookbehind over the word after it: the pattern then starts
    # with the words' first characters, which the regex engine scans for
    alternatives = (f"{w}(?<!\\w{w})" for w in map(re.escape, sorted(words)))
    return re.compile(r"(?:" + "|".join(alternatives) + r")(?!\w)")


def _must_keep(entry: _Entry, wanted: re.Pattern[str] | None) -> bool:
    if wanted is None or DEFINITION_RE.match(entry.text) is None:
        return False
    return wanted.search(entry.text) is not None


# ---- the transform -------------------------------------------------------------------------------------


AGENT_PATH_CHARS = 256
"""How much of a path (its end) is scored with each line of an agent's search answer (see
:meth:`SearchCompressor.compress_agent`): the cost stays linear in the text whatever the paths' length."""


class SearchCompressor(Compressor):
    """Keeps the most relevant grep/ripgrep matches per file and summarises the rest in one marker.

    Options: ``max_matches`` (kept matches in all), ``max_per_file``, ``context`` (context lines kept
    around a kept match), ``min_matches`` (smaller outputs pass through).
    """

    name = "search"

    max_matches: int = Field(24, ge=1)
    max_per_file: int = Field(4, ge=1)
    context: int = Field(1, ge=0)
    min_matches: int = Field(30, ge=1)
    max_summary_files: int = Field(200, ge=1)

    def compress(self, unit: Unit) -> str | None:
        ctx = unit.context
        if unit.text.startswith(agent_search.LEADS):
            found = agent_search.parse(unit.text)
            if found is not None:
                return self.compress_agent(found, unit)
        if unit.text.count(":") < self.min_matches:
            return None  # every match line holds a ':' (path:line: or line:), so too few matches
        allow_bare = is_search_command(ctx.tool_input, ctx.tool_name)
        if not might_be_search(unit.text[:PROBE_CHARS].split("\n")[:PROBE_LINES], allow_bare=allow_bare):
            return None  # a bounded head decides: most units are not search output
        if not _may_look_like_search(unit.text, self.min_matches):
            return None  # too few lines could be matches, context or headings: no need to parse them all
        if runs_checker(ctx.tool_input, ctx.tool_name):
            return None  # a linter's or compiler's diagnostics (see is_diagnostics), not search results
        parsed = parse(unit.text, allow_bare=allow_bare)
        if len(parsed.matches) < self.min_matches or not looks_like_search(parsed) or is_diagnostics(parsed):
            return None
        return self.compress_parsed(parsed, unit)

    def compress_parsed(self, parsed: Parsed, unit: Unit) -> str | None:
        ctx = unit.context
        request = ctx.user_request or ""
        matches = parsed.matches
        texts = [e.text for e in matches]
        scores, defines = _score_lines([e.path or "" for e in matches], texts, ctx.tool_input or "", request)
        wanted = whole_words(identifiers(request))
        # best first, ties in order (a stable sort, reversed, keeps equal keys in order)
        order = sorted(range(len(matches)), key=scores.__getitem__, reverse=True)
        per_file: Counter[str] = Counter()
        keep: set[int] = set()  # indices into parsed.matches
        if wanted is not None:  # definitions of what the user asks about (best first, bounded)
            for i in sorted(defines, key=scores.__getitem__, reverse=True):
                if len(keep) >= 2 * self.max_matches:
                    break
                if wanted.search(texts[i]) is not None:
                    keep.add(i)
                    per_file[matches[i].path or ""] += 1
        for i in order:
            if len(keep) >= self.max_matches:
                break
            path = parsed.matches[i].path or ""
            if i in keep or per_file[path] >= self.max_per_file:
                continue
            keep.add(i)
            per_file[path] += 1
        if len(keep) >= len(parsed.matches):
            return None
        return self._render(parsed, {parsed.matches[i].index for i in keep}, unit.ref)

    def compress_agent(self, found: agent_search.AgentSearch, unit: Unit) -> str | None:
        """An agent's own search answer (:mod:`headroom.transforms.agent_search`): results (groups of lines)
        are ranked by their best line, kept as :meth:`compress_parsed` keeps matches, and rendered in the
        agent's layout; a result holding a protected tag is always kept."""
        where = [(f, r) for f in found.files for r in f.results]
        if len(where) < self.min_matches:
            return None
        ctx = unit.context
        request = ctx.user_request or ""
        owners = [k for k, (_, r) in enumerate(where) for _ in r.texts]
        texts = [t for _, r in where for t in r.texts]
        # a file's path is printed once but scored with each of its lines: only its end (the name) counts
        paths = [f.path[-AGENT_PATH_CHARS:] for f, r in where for _ in r.texts]
        scores = score_lines(paths, texts, ctx.tool_input or "", request)
        # each result's best line (its lines are consecutive in ``texts``; -inf for a result without any)
        ends = list(accumulate(len(r.texts) for _, r in where))
        spans = map(slice, [0, *ends[:-1]], ends)
        best = list(map(partial(max, default=float("-inf")), map(scores.__getitem__, spans)))
        wanted = whole_words(identifiers(request))
        defines = (
            {owners[i] for i in compress(count(), map(DEFINITION_RE.match, texts)) if wanted.search(texts[i])}
            if wanted is not None
            else set()
        )
        order = sorted(range(len(where)), key=best.__getitem__, reverse=True)  # stable: ties stay in order
        keep: set[int] = set()
        if has_placeholder(unit.text):  # a protected tag stays: its result, or (on a path line) its file's
            k = 0
            for f in found.files:
                whole = any(map(_is_protected, f.head))
                for r in f.results:
                    if whole or any(map(_is_protected, r.lines)):
                        keep.add(k)
                    k += 1
        # definitions of what the user asks about (best first, bounded)
        keep.update([k for k in order if k in defines][: 2 * self.max_matches])
        per_file = Counter(where[k][0].path for k in keep)
        for k in order:
            if len(keep) >= self.max_matches:
                break
            path = where[k][0].path
            if k not in keep and per_file[path] < self.max_per_file:
                keep.add(k)
                per_file[path] += 1
        if len(keep) >= len(where):
            return None
        return self._render_agent(found, keep, unit.ref)

    def _render_agent(self, found: agent_search.AgentSearch, keep: set[int], ref: str) -> str:
        out = list(found.lead)
        omitted: dict[str, int] = {}
        dropped_files = 0
        k = 0
        for f in found.files:
            kept = [r for j, r in enumerate(f.results, k) if j in keep]
            k += len(f.results)
            if len(kept) < len(f.results):
                omitted[f.path] = omitted.get(f.path, 0) + len(f.results) - len(kept)
            if not kept:
                dropped_files += 1
                continue
            out += f.head
            for r in kept:
                out += r.lines
            out += f.tail
        out += found.trail
        while out and out[-1] == "":
            out.pop()
        shown = list(omitted)
        parts = [f"{p} {omitted[p]}" for p in shown[: self.max_summary_files]]
        if len(shown) > self.max_summary_files:
            rest = sum(omitted[p] for p in shown[self.max_summary_files :])
            parts.append(f"{len(shown) - self.max_summary_files} more files {rest}")
        counts = [(sum(omitted.values()), "results"), (dropped_files, "files")]
        out.append(marker(counts, ref, "per file: " + ", ".join(parts)))
        return "\n".join(out)

    def _render(self, parsed: Parsed, kept_lines: set[int], ref: str) -> str:
        entries = parsed.entries
        n = len(entries)
        keep = [e.kind == "other" for e in entries]
        for k in kept_lines:  # entries[k] is line k's
            keep[k] = True
        # context lines near a kept match (same file, no separator in between)
        for k in sorted(kept_lines):
            e = entries[k]
            for step in (-1, 1):
                j, left = k + step, self.context
                while 0 <= j < n and left > 0 and entries[j].kind == "context" and entries[j].path == e.path:
                    keep[j] = True
                    j += step
                    left -= 1
        # headings of files with something kept
        kept_paths = {e.path for e in compress(entries, keep) if e.kind in ("match", "context")}
        if parsed.heading_mode:  # (only then are there headings)
            for k, e in enumerate(entries):
                if e.kind == "heading" and e.path in kept_paths:
                    keep[k] = True

        out: list[str] = []
        omitted_matches: Counter[str] = Counter()
        omitted_context = 0
        files_order: list[str] = []
        seen_files: set[str] = set()
        gap = False
        for k, e in enumerate(entries):
            if e.kind in ("match", "context", "heading") and e.path is not None and e.path not in seen_files:
                seen_files.add(e.path)
                files_order.append(e.path)
            if keep[k]:
                if (
                    gap
                    and out
                    and out[-1] != "--"
                    and e.kind in ("match", "context")
                    and not parsed.heading_mode
                ):
                    out.append("--")
                if e.kind == "heading" and out and out[-1] != "":
                    out.append("")
                out.append(parsed.lines[e.index])
                gap = False
                continue
            if e.kind == "match":
                omitted_matches[e.path or ""] += 1
                gap = True
            elif e.kind == "context":
                omitted_context += 1
                gap = True
            elif e.kind in ("sep", "heading"):
                gap = True
        while out and out[-1] in ("", "--"):
            out.pop()
        total = sum(omitted_matches.values())
        dropped_files = [p for p in files_order if p not in kept_paths]
        shown = [p for p in files_order if omitted_matches[p]]
        detail_parts = [f"{p or '(no path)'} {omitted_matches[p]}" for p in shown[: self.max_summary_files]]
        if len(shown) > self.max_summary_files:
            rest = sum(omitted_matches[p] for p in shown[self.max_summary_files :])
            detail_parts.append(f"{len(shown) - self.max_summary_files} more files {rest}")
        # the output of a search in one file names none: there is no file to count by
        detail = None if shown == [""] else "per file: " + ", ".join(detail_parts)
        counts = [(total, "matches"), (omitted_context, "context lines"), (len(dropped_files), "files")]
        out.append(marker(counts, ref, detail))
        return "\n".join(out)


__all__ = [
    "BM25",
    "Parsed",
    "SearchCompressor",
    "is_diagnostics",
    "is_search_command",
    "looks_like_search",
    "might_be_search",
    "parse",
    "terms",
]
