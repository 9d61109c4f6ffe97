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
from itertools import accumulate
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
    runs,
    template,
)

_WILD = "<*>"
_TRACE = re.compile(r"^(?:\s++at \S|\s*+File \"|Caused by:|\s++\.\.\. \d+ more|\s*+Traceback )")
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
    lines = text.split("\n")
    n = len(lines)
    if n < min_lines or sum(1 for line in lines if line.strip()) < min_lines:
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
    cluster_of_line, cluster_tokens, fine_of_line = _cluster(
        keys, tokens_of, group_of, lead_tokens, similarity, budget
    )
    counts = [0] * len(cluster_tokens)
    fine_counts: dict[int, int] = {}
    variants: list[set[int]] = [set() for _ in cluster_tokens]
    for c, f in zip(cluster_of_line, fine_of_line, strict=True):
        counts[c] += 1
        fine_counts[f] = fine_counts.get(f, 0) + 1
        if len(variants[c]) <= distinct_max:
            variants[c].add(f)

    starts = list(accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    low = text.lower()
    important = _important_lines(text, low, lines, starts)
    terms = [t for t in request_terms(unit) if len(t) >= 4] + request_ids(unit)
    wanted = _lines_with(low, terms, starts)
    keep = bytearray(n)
    seen: set[int] = set()
    for i in range(n):
        c = cluster_of_line[i]
        rare = counts[c] <= rare_max or (
            fine_counts[fine_of_line[i]] <= rare_max and len(variants[c]) <= distinct_max
        )
        if i < keep_head or i >= n - keep_tail or important[i] or rare or c not in seen or wanted[i]:
            keep[i] = 1
        seen.add(c)
    # An exact repeat of the line before it says nothing new: drop it (its marker counts it).
    for i in range(max(1, keep_head), n - keep_tail):
        if keep[i] and lines[i] == lines[i - 1] and lines[i].strip():
            keep[i] = 0

    out: list[str] = []
    named: set[int] = set()
    dropped = 0
    for kept, i, j in runs(keep):
        if kept:
            out.extend(lines[i:j])
            continue
        repeats = 0
        if i > 0:
            while i + repeats < j and lines[i + repeats] == lines[i - 1]:
                repeats += 1
        if repeats < j - i and sum(len(line) + 1 for line in lines[i:j]) <= min_gap_chars:
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
) -> tuple[list[int], list[list[str]], list[int]]:
    """Assign every line a template cluster. ``tokens_of``: each key's tokens; ``group_of``: each key's
    group (token count and first ``lead`` tokens), the only clusters it may join.

    Returns the per-line cluster ids, each cluster's tokens and the per-line fine (number-masked) key ids.
    """
    fine: dict[str, int] = {}
    cluster_of_fine: list[int] = []
    clusters: list[list[str]] = []
    groups: dict[Group, list[int]] = {}
    per_line: list[int] = []
    fine_ids: list[int] = []
    for key in keys:
        fid = fine.get(key)
        if fid is None:
            fid = len(cluster_of_fine)
            fine[key] = fid
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
        per_line.append(cluster_of_fine[fid])
        fine_ids.append(fid)
    return per_line, clusters, fine_ids


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
    in_trace = False
    for i, line in enumerate(lines):
        head = line[:1]
        if head in (" ", "\t", "C", "T") and _TRACE.match(line):
            flags[i] = 1
        if flags[i]:
            in_trace = True
        elif in_trace and head in (" ", "\t") and line.strip():
            flags[i] = 1
        else:
            in_trace = False
    return flags


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
    tally: dict[int, int] = {}
    first: dict[int, int] = {}
    for i in range(start + repeats, end):
        c = cluster_of_line[i]
        tally[c] = tally.get(c, 0) + 1
        first.setdefault(c, i)
    fresh = [c for c in sorted(tally, key=lambda c: -tally[c]) if c not in named and lines[first[c]].strip()]
    for c in fresh[:shown]:
        named.add(c)
        parts.append(f"{tally[c]}x {quote_template(_display(lines[first[c]], cluster_tokens[c]), 80)}")
    rest = (end - start - repeats) - sum(tally[c] for c in fresh[:shown])
    if rest and len(parts) > (1 if repeats else 0):
        parts.append(f"{rest} others")
    return detail_text(parts, 220)
