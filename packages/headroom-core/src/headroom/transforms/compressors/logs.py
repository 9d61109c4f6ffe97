"""Log compressor: template mining, repeats collapsed with counts, every important line kept.

Lines are grouped into templates in two steps: numbers are masked (one C-speed pass), then templates of the
same length and the same leading tokens whose other tokens mostly agree are merged, Drain-style, so that
user names, host names and ids in the message do not make every line unique. Kept verbatim, in order:

* the first ``keep_head`` and last ``keep_tail`` lines;
* every line that looks like an error: ``error``/``fatal``/``panic``/``critical``/``severe``/``emerg``
  as words (any case), ``...Error``, ``Exception``, ``Traceback``, ``FAILED``, ``Segmentation fault``;
  stack-trace lines (``at ...``, ``File "..."``, ``Caused by:``, ``... N more``) and the indented lines
  that follow an error;
* every line of a rare template (one that occurs at most ``rare_max`` times, or a rare variant of a
  template with few variants);
* the first line of every template, as its example;
* lines containing a phrase the user or the tool call quoted, or an id-like word of the request (a word
  of six or more characters with a digit in it: a block id, a request id, an IP).

Every other line is dropped. Each run of dropped lines becomes one marker with its line count, naming the
templates it drops the first time a marker mentions them; exact repeats of the line above say so.

Options (keyword-only):
    keep_head (int, 3): leading lines always kept.
    keep_tail (int, 3): trailing lines always kept.
    rare_max (int, 2): a template seen at most this many times is rare; all its lines are kept.
    min_lines (int, 12): fewer non-blank lines than this is not worth compressing (None).
    min_gap_chars (int, 60): runs of droppable lines with at most this many characters are kept rather
        than marked (a marker costs about 50 characters).
    lead_tokens (int, 6): templates merge only when their first ``lead_tokens`` tokens agree.
    similarity (float, 0.7): share of the other tokens that must agree for two templates to merge.
    distinct_max (int, 4): a merged template with at most this many variants is a set of distinct events,
        not one event with a parameter: a variant seen at most ``rare_max`` times is still rare.
    templates_in_marker (int, 2): how many new templates a marker names.
    min_saving (float, 0.2): the minimum fraction of characters saved, else None.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from itertools import accumulate, islice
from itertools import compress as selected
from operator import eq

from headroom.engine.units import Unit
from headroom.transforms.compressors._util import (
    detail_text,
    line_keys,
    omitted,
    quote_template,
    request_ids,
    request_terms,
    template,
)
from headroom.transforms.markers import MARKER_RE

_WILD = "<*>"
_TRACE = re.compile(r"^(?:\s++at \S|\s*+File \"|Caused by:|\s++\.\.\. \d+ more|\s*+Traceback )")
# _TRACE on lines starting with a space, a tab, C or T, found at once in "\n" + the text: each line is
# found after its \n (a literal first: a fast scan), and [^\S\n] stays on its line (on one line it is \s).
_TRACE_LINES = re.compile(
    r"\n(?=[ \tCT])(?:[^\S\n]++at \S|[^\S\n]*+File \"|Caused by:|[^\S\n]++\.\.\. \d+ more"
    r"|[^\S\n]*+Traceback )"
)
_PREFIX = re.compile(
    r"^(?:\[?(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"
    r"|<n>|<ip>|<hex>|<id>|[\[\]:/.,\- ])*"
)
# (keyword, needs a word boundary before it, case-sensitive form or None)
_KEYWORDS: tuple[tuple[str, bool, str | None], ...] = (
    ("error", False, None),
    ("exception", False, None),
    ("traceback", False, None),
    ("fatal", True, None),
    ("panic", True, None),
    ("critical", True, None),
    ("severe", True, None),
    ("emerg", True, None),
    ("failed", True, "FAILED"),
    ("segmentation fault", True, None),
)
Group = tuple[int, tuple[str, ...]]
"""A line key's token count and leading tokens: templates only merge within one group."""
_COMPARE_BUDGET = 40  # template comparisons per line, at most: keeps clustering linear


def compress(
    text: str,
    unit: Unit,
    *,
    keep_head: int = 3,
    keep_tail: int = 3,
    rare_max: int = 2,
    min_lines: int = 12,
    min_gap_chars: int = 60,
    lead_tokens: int = 6,
    similarity: float = 0.7,
    distinct_max: int = 4,
    templates_in_marker: int = 2,
    min_saving: float = 0.2,
) -> str | None:
    """The log with repeated templates collapsed into markers, or None when it does not pay."""
    original = text.split("\n")
    cut = _view_prefixes(original)
    # a numbered view of a log: compressed without its numbers (one level of them: the bare lines are not
    # looked at again), kept lines with them
    lines = original if cut is None else [line[c:] for line, c in zip(original, cut, strict=True)]
    result = _compress(
        text if cut is None else "\n".join(lines),
        lines,
        unit,
        keep_head=keep_head,
        keep_tail=keep_tail,
        rare_max=rare_max,
        min_lines=min_lines,
        min_gap_chars=min_gap_chars,
        lead_tokens=lead_tokens,
        similarity=similarity,
        distinct_max=distinct_max,
        templates_in_marker=templates_in_marker,
        min_saving=min_saving,
    )
    if cut is None or result is None:
        return result
    view = _renumbered(result, original, cut)
    return None if view is None or len(view) > len(text) * (1 - min_saving) else view


def _compress(
    text: str,
    lines: list[str],
    unit: Unit,
    *,
    keep_head: int,
    keep_tail: int,
    rare_max: int,
    min_lines: int,
    min_gap_chars: int,
    lead_tokens: int,
    similarity: float,
    distinct_max: int,
    templates_in_marker: int,
    min_saving: float,
) -> str | None:
    """:func:`compress` for a text that is not taken as a numbered view (``lines``: its lines)."""
    n = len(lines)
    nonblank = filter(None, map(str.strip, lines))  # lazily: stops at the min_lines-th
    if n < min_lines or (min_lines > 0 and next(islice(nonblank, min_lines - 1, None), None) is None):
        return None
    keys = line_keys(text)
    if len(keys) != n:
        return None
    tokens_of = {key: key.split() for key in dict.fromkeys(keys)}
    group_of = {key: (len(tokens), tuple(tokens[:lead_tokens])) for key, tokens in tokens_of.items()}
    if 2 * len(tokens_of) >= n:  # mostly distinct lines (prose, code): often nothing can go, cheap to tell
        least = len(text) - _droppable_chars(lines, keys, group_of, rare_max)
        if least > len(text) * (1 - min_saving):
            return None  # even dropping every line that could go would not save enough (the final check)
    budget = n * _COMPARE_BUDGET
    cluster_of_line, cluster_tokens, fine_of_line, cluster_of_fine = _cluster(
        keys, tokens_of, group_of, lead_tokens, similarity, budget
    )
    # Per-line flags are built from per-template facts at C speed (maps, counters, byte-wise ORs).
    fine_counts = Counter(fine_of_line)
    counts: Counter[int] = Counter()
    for f, c in enumerate(cluster_of_fine):
        counts[c] += fine_counts[f]
    variants = Counter(cluster_of_fine)  # fine keys of each template: every one occurs
    rare_fine = [
        counts[c] <= rare_max or (fine_counts[f] <= rare_max and variants[c] <= distinct_max)
        for f, c in enumerate(cluster_of_fine)
    ]
    low = text.lower()
    terms = [t for t in request_terms(unit) if len(t) >= 4] + request_ids(unit)
    # On ASCII text a keyword or trace cue in a line is in its key too (they hold no digit and no "-"), so
    # the distinct keys, usually far fewer than the lines, are scanned for them instead of the whole text.
    by_key = _KeyText(list(tokens_of)) if text.isascii() else None
    if terms or (_may_flag(by_key.text, by_key.low) if by_key is not None else _may_flag(text, low)):
        starts = list(accumulate(map((1).__add__, map(len, lines[:-1])), initial=0))
        if by_key is not None:
            important = _important_lines_by_key(text, low, lines, starts, keys, by_key)
        else:
            important = _important_lines(text, low, lines, starts)
        wanted = _lines_with(low, terms, starts)
    else:  # no keyword, no trace cue, no request term: nothing to flag
        important = wanted = bytearray(n)
    rare = bytes(map(rare_fine.__getitem__, fine_of_line))
    keep = _or(_or(important, wanted), rare)
    for i in range(min(keep_head, n)):
        keep[i] = 1
    for i in range(max(0, n - keep_tail), n):
        keep[i] = 1
    # each template's first line: fine keys are numbered in order of their first line, so a template's
    # first line is that of its lowest-numbered fine key, and each is found by a C-level index from the last
    first_fine: dict[int, int] = {}
    for f, c in enumerate(cluster_of_fine):
        first_fine.setdefault(c, f)
    wanted_fines = set(first_fine.values())
    at = -1
    for f in range(len(cluster_of_fine)):
        at = fine_of_line.index(f, at + 1)
        if f in wanted_fines:
            keep[at] = 1
    # An exact repeat of the line before it says nothing new: drop it (its marker counts it).
    lo, hi = max(1, keep_head), n - keep_tail
    for i in selected(range(lo, max(lo, hi)), map(eq, lines[lo:hi], lines[lo - 1 : hi - 1])):
        if keep[i] and lines[i].strip():
            keep[i] = 0

    out: list[str] = []
    named: set[int] = set()
    dropped = 0
    for kept, i, j in _byte_runs(keep):
        if kept:
            out.extend(lines[i:j])
            continue
        repeats = 0
        if i > 0:
            while i + repeats < j and lines[i + repeats] == lines[i - 1]:
                repeats += 1
        if repeats < j - i and j - i <= min_gap_chars and sum(map(len, lines[i:j])) + j - i <= min_gap_chars:
            out.extend(lines[i:j])
        else:
            dropped += j - i
            detail = _gap_detail(
                lines, cluster_of_line, cluster_tokens, i, j, repeats, named, templates_in_marker
            )
            out.append(omitted(unit, [(j - i, "lines")], detail))
    if not dropped:
        return None
    result = "\n".join(out)
    if len(result) > len(text) * (1 - min_saving):
        return None
    return result


_VIEW_PREFIX = re.compile(r" {0,12}\d{1,9}[\t\u2192]")
"""A numbered view's line prefix: ``cat -n``, ``nl -ba`` (a tab), Claude Code's Read (``→``)."""


def _view_prefixes(lines: list[str]) -> list[int] | None:
    """The length of each line's number prefix when every line but blank ones has one (a numbered view
    of a file), else None: numbers on every line would make each indented (the continuation of an error
    above it) and part of every template."""
    if not lines or _VIEW_PREFIX.match(lines[0]) is None:
        return None  # the common case, found on the first line
    cut: list[int] = []
    for line in lines:
        m = _VIEW_PREFIX.match(line)
        if m is not None:
            cut.append(m.end())
        elif line.strip():
            return None
        else:
            cut.append(0)
    return cut


def _renumbered(bare: str, lines: list[str], cut: list[int]) -> str | None:
    """The compressed form of a view without its numbers (``bare``) with each kept line numbered again
    (as in ``lines``); a marker stands for as many lines as it counts. None if they do not line up."""
    out: list[str] = []
    i, n = 0, len(lines)
    for line in bare.split("\n"):
        if i < n and line == lines[i][cut[i] :]:
            out.append(lines[i])
            i += 1
            continue
        m = MARKER_RE.fullmatch(line)
        if m is None or not m["counts"].endswith(" lines") or "," in m["counts"]:
            return None
        i += int(m["counts"].split(" ", 1)[0])
        out.append(line)
    return "\n".join(out) if i == n else None


def _droppable_chars(lines: list[str], keys: list[str], group_of: dict[str, Group], rare_max: int) -> int:
    """At least as many characters as :func:`compress` can save by dropping lines.

    A dropped line repeats the line above it, or belongs to a template seen more than ``rare_max`` times
    and is not that template's first line. Every template lies within one group of keys with the same
    token count and leading tokens (``group_of``, see :func:`_cluster`), so group sizes bound template sizes.
    """
    numbers: dict[Group, int] = {}  # small ints hash faster than the group tuples, line after line
    number_of = {key: numbers.setdefault(group, len(numbers)) for key, group in group_of.items()}
    groups = list(map(number_of.__getitem__, keys))
    big = {group for group, size in Counter(groups).items() if size > rare_max}
    first = dict(zip(reversed(groups), range(len(groups) - 1, -1, -1), strict=True))  # group -> first line
    in_big = list(selected(lines, map(big.__contains__, groups)))
    repeats = list(selected(lines[1:], map(eq, lines[1:], lines)))
    firsts = [lines[first[group]] for group in big]
    return _chars(in_big) - _chars(firsts) + _chars(repeats)


def _chars(lines: list[str]) -> int:
    """Characters of ``lines`` with a newline each."""
    return sum(map(len, lines)) + len(lines)


def _cluster(
    keys: list[str],
    tokens_of: dict[str, list[str]],
    group_of: dict[str, Group],
    lead: int,
    threshold: float,
    budget: int,
) -> tuple[list[int], list[list[str]], list[int], list[int]]:
    """Assign every line a template cluster. ``tokens_of``: each key's tokens; ``group_of``: each key's
    group (token count and first ``lead`` tokens), the only clusters it may join.

    Returns the per-line cluster ids, each cluster's tokens, the per-line fine (number-masked) key ids and
    each fine key's cluster. Keys are clustered once each, in the order of their first line.
    """
    fine: dict[str, int] = {}
    cluster_of_fine: list[int] = []
    clusters: list[list[str]] = []
    groups: dict[Group, list[int]] = {}
    for key in dict.fromkeys(keys):
        fine[key] = len(cluster_of_fine)
        tokens = tokens_of[key]
        group = groups.setdefault(group_of[key], [])
        best = -1
        best_score = -1.0
        body = len(tokens) - lead
        for cid in group[-20:]:
            if budget <= 0:
                break
            budget -= 1
            if body <= 0:
                score = 1.0  # same length, same (whole) leading tokens: the same template
            else:
                ctoks = clusters[cid]
                same = sum(1 for a, b in zip(ctoks[lead:], tokens[lead:], strict=True) if a == b)
                score = same / body
            if score >= threshold and score > best_score:
                best, best_score = cid, score
        if best < 0:
            best = len(clusters)
            clusters.append(tokens)
            group.append(best)
        else:
            ctoks = clusters[best]
            clusters[best] = [a if a == b else _WILD for a, b in zip(ctoks, tokens, strict=True)]
        cluster_of_fine.append(best)
    fine_ids = list(map(fine.__getitem__, keys))
    return list(map(cluster_of_fine.__getitem__, fine_ids)), clusters, fine_ids, cluster_of_fine


def _or(a: bytes | bytearray, b: bytes | bytearray) -> bytearray:
    """Byte-wise OR of two equally long 0/1 flag strings."""
    n = len(a)
    return bytearray((int.from_bytes(a, "big") | int.from_bytes(b, "big")).to_bytes(n, "big"))


def _byte_runs(keep: bytearray) -> Iterator[tuple[bool, int, int]]:
    """:func:`runs` for 0/1 flags, each run found with one C-level search."""
    n = len(keep)
    i = 0
    while i < n:
        flag = keep[i] == 1
        j = keep.find(b"\x00" if flag else b"\x01", i + 1)
        j = n if j < 0 else j
        yield flag, i, j
        i = j


_TRACE_CUES = ("at ", 'File "', "Caused by:", "... ", "Traceback ")
"""Every :data:`_TRACE_LINES` match holds one of these."""


def _may_flag(text: str, low: str) -> bool:
    """False when :func:`_important_lines` flags nothing: no keyword and no trace cue anywhere."""
    return any(word in low for word, _, _ in _KEYWORDS) or any(cue in text for cue in _TRACE_CUES)


def _important_lines(text: str, low: str, lines: list[str], starts: list[int]) -> bytearray:
    """1 for every error-like line, stack-trace line, and indented continuation of either."""
    n = len(lines)
    flags = bytearray(n)
    for word, boundary, exact in _KEYWORDS:
        pos = low.find(word)
        while pos >= 0:
            ok = not (boundary and pos > 0 and low[pos - 1].isalnum())
            if ok and exact is not None:
                ok = text.startswith(exact, pos)
            line_no = bisect_right(starts, pos) - 1
            if ok:
                flags[line_no] = 1
                nxt = starts[line_no + 1] if line_no + 1 < n else len(text)
                pos = low.find(word, nxt)
            else:
                pos = low.find(word, pos + 1)
    trace = any(cue in text for cue in _TRACE_CUES)
    for m in _TRACE_LINES.finditer("\n" + text) if trace else ():  # m.start(): the line's start in ``text``
        flags[bisect_right(starts, m.start()) - 1] = 1
    _flag_continuations(lines, flags)
    return flags


class _KeyText:
    """The distinct line keys of a text joined by newlines (as is and lower-cased) and where each starts."""

    __slots__ = ("keys", "low", "starts", "text")

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.text = "\n".join(keys)
        self.low = self.text.lower()
        self.starts = list(accumulate(map((1).__add__, map(len, keys[:-1])), initial=0))

    def holding(self, word: str, *, exact: bool = False) -> set[str]:
        """The keys whose lower-cased form contains ``word`` (with ``exact``: whose own form does)."""
        text = self.text if exact else self.low
        found: set[str] = set()
        pos = text.find(word)
        while pos >= 0:
            k = bisect_right(self.starts, pos) - 1
            found.add(self.keys[k])
            if k + 1 >= len(self.keys):
                break
            pos = text.find(word, self.starts[k + 1])
        return found


def _flags_word(line: str, low: str, word: str, boundary: bool, exact: str | None) -> bool:
    """:func:`_important_lines`'s keyword test on one line (``low`` is the line lower-cased)."""
    pos = low.find(word)
    while pos >= 0:
        if not (boundary and pos > 0 and low[pos - 1].isalnum()) and (
            exact is None or line.startswith(exact, pos)
        ):
            return True
        pos = low.find(word, pos + 1)
    return False


def _important_lines_by_key(
    text: str, low: str, lines: list[str], starts: list[int], keys: list[str], by_key: _KeyText
) -> bytearray:
    """:func:`_important_lines` of an ASCII text, each keyword looked for in the distinct keys first: only
    the lines of a key that holds it can hold it (a key drops only digits and ``-``, which no keyword and no
    trace cue holds), and only those lines are tested, each as :func:`_important_lines` tests it."""
    n = len(lines)
    flags = bytearray(n)
    for word, boundary, exact in _KEYWORDS:
        # a word with a case-sensitive form flags only lines holding that form (which is the word in capitals)
        holding = by_key.holding(word) if exact is None else by_key.holding(exact, exact=True)
        if not holding:
            continue
        for i in selected(range(n), map(holding.__contains__, keys)):
            if not flags[i]:
                line = lines[i]
                if _flags_word(line, low[starts[i] : starts[i] + len(line)], word, boundary, exact):
                    flags[i] = 1
    if any(cue in by_key.text for cue in _TRACE_CUES):
        for m in _TRACE_LINES.finditer("\n" + text):
            flags[bisect_right(starts, m.start()) - 1] = 1
    _flag_continuations(lines, flags)
    return flags


def _flag_continuations(lines: list[str], flags: bytearray) -> None:
    """An indented, non-blank line right after a flagged one (or its continuation) is flagged too."""
    n = len(lines)
    k = flags.find(1)
    while k >= 0:
        j = k + 1
        while j < n and not flags[j] and lines[j][:1] in (" ", "\t") and lines[j].strip():
            flags[j] = 1
            j += 1
        k = flags.find(1, j)


def _lines_with(low: str, terms: list[str], starts: list[int]) -> bytearray:
    """1 for every line containing one of ``terms`` (lower-case) in ``low``, the lower-cased text.

    A term found on more than a twentieth of the lines (at least 5) does not single anything out (a service
    name the tool call was filtered by, say): it flags nothing.
    """
    n = len(starts)
    flags = bytearray(n)
    limit = max(5, n // 20)
    for term in terms:
        hits: list[int] = []
        pos = low.find(term)
        while pos >= 0 and len(hits) <= limit:
            line_no = bisect_right(starts, pos) - 1
            hits.append(line_no)
            if line_no + 1 >= n:
                break
            pos = low.find(term, starts[line_no + 1])
        if len(hits) <= limit:
            for line_no in hits:
                flags[line_no] = 1
    return flags


def _display(line: str, tokens: list[str]) -> str:
    """The template of a cluster for a marker: its example line masked, without the leading timestamp."""
    pretty = template(line).split()
    if len(pretty) == len(tokens):
        pretty = [_WILD if t == _WILD else p for p, t in zip(pretty, tokens, strict=True)]
    shown = " ".join(pretty)
    match = _PREFIX.match(shown)
    end = match.end() if match else 0
    if "<n>" not in shown[:end] and not any(c.isalpha() for c in shown[:end]):
        end = 0  # no timestamp in front (just punctuation, e.g. a path): keep the line as it is
    while end > 0 and shown[end - 1] in "[(":
        end -= 1  # keep the bracket that opens the message, e.g. "[notice]"
    return shown[end:] or shown


def _gap_detail(
    lines: list[str],
    cluster_of_line: list[int],
    cluster_tokens: list[list[str]],
    start: int,
    end: int,
    repeats: int,
    named: set[int],
    shown: int,
) -> str:
    """What a run of dropped lines held: leading repeats of the line above, templates not named before."""
    parts = []
    if repeats:
        parts.append(
            "repeats of the line above" if repeats == end - start else f"{repeats} repeats of the line above"
        )
    part = cluster_of_line[start + repeats : end]
    tally = Counter(part)  # in order of first line, as the sort below needs for ties
    first = dict(zip(reversed(part), range(end - 1, start + repeats - 1, -1), strict=True))
    fresh = [c for c in sorted(tally, key=lambda c: -tally[c]) if c not in named and lines[first[c]].strip()]
    for c in fresh[:shown]:
        named.add(c)
        parts.append(f"{tally[c]}x {quote_template(_display(lines[first[c]], cluster_tokens[c]), 80)}")
    rest = (end - start - repeats) - sum(tally[c] for c in fresh[:shown])
    if rest and len(parts) > (1 if repeats else 0):
        parts.append(f"{rest} others")
    return detail_text(parts, 220)
