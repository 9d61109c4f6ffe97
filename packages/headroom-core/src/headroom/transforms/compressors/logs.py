"""Log compressor: template mining, repeats collapsed with counts, every important line kept.

Each line is reduced to a template (uuids, hex ids, IPs and numbers masked; see ``_util.template``). Kept
verbatim, in their original order:

* the first ``keep_head`` and last ``keep_tail`` lines;
* every line that looks like an error: ERROR/FATAL/CRITICAL/SEVERE/PANIC/EMERG/ALERT levels, ``error``
  as a word, ``...Error``, ``Exception``, ``Traceback``, ``FAILED``/``failed`` at a level position is not
  enough on its own (too common in auth logs), and stack-trace lines (``at ...``, ``File "..."``,
  ``Caused by:``, ``... N more``) with their indented continuations;
* every line of a rare template (one that occurs at most ``rare_max`` times);
* the first occurrence of every template, as its example;
* lines matching a phrase the user or the tool call quoted.

Everything else is dropped; each run of dropped lines becomes one marker with its count and its most
frequent templates. Consecutive exact repeats of a kept line are dropped too and marked as such.

Options (keyword-only):
    keep_head (int, 3): leading lines always kept.
    keep_tail (int, 3): trailing lines always kept.
    rare_max (int, 2): a template seen at most this many times is rare; all its lines are kept.
    min_lines (int, 12): fewer non-blank lines than this is not worth compressing (None).
    min_gap (int, 2): runs of droppable lines this short are kept rather than marked (a marker costs
        about as much as two lines).
    templates_in_marker (int, 2): how many templates a marker names.
    min_saving (float, 0.2): the minimum fraction of characters saved, else None.
"""

from __future__ import annotations

import re
from collections import Counter

from headroom.engine.units import Unit
from headroom.transforms.compressors._util import (
    detail_text,
    omitted,
    quote_template,
    request_terms,
    template,
)

_ERROR = re.compile(
    r"\b(?:ERROR|FATAL|CRITICAL|SEVERE|PANIC|EMERG|ALERT|CRIT)\b"
    r"|\b(?i:error|fatal|panic|emerg|critical)\b"
    r"|Error\b|Exception\b|\bexception\b|Traceback|\bFAILED\b|\bSegmentation fault\b|\bKilled\b"
)
_TRACE = re.compile(r"^(?:\s+at \S|\s*File \"|Caused by:|\s+\.\.\. \d+ more|\s*Traceback )")
_PREFIX = re.compile(
    r"^[\[\]<>n:/.,\- ]*(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r"\b[\[\]<>n:/.,\- ]*)*"
)


def _display(tpl: str) -> str:
    """A template without its leading timestamp, for a marker detail."""
    shown = _PREFIX.sub("", tpl, count=1)
    return shown or tpl


def compress(
    text: str,
    unit: Unit,
    *,
    keep_head: int = 3,
    keep_tail: int = 3,
    rare_max: int = 2,
    min_lines: int = 12,
    min_gap: int = 2,
    templates_in_marker: int = 2,
    min_saving: float = 0.2,
) -> str | None:
    """The log with repeated templates collapsed into markers, or None when it does not pay."""
    lines = text.split("\n")
    n = len(lines)
    if sum(1 for line in lines if line.strip()) < min_lines:
        return None
    templates = [t.strip() for t in template(text).split("\n")]
    if len(templates) != n:  # masking never adds or removes newlines; be safe anyway
        return None
    counts = Counter(templates)
    terms = [t for t in request_terms(unit) if len(t) >= 4]

    keep = bytearray(n)
    seen: set[str] = set()
    in_trace = False
    for i, line in enumerate(lines):
        tpl = templates[i]
        important = bool(_ERROR.search(line)) or bool(_TRACE.match(line))
        if important:
            in_trace = True
        elif in_trace and line[:1] in (" ", "\t") and line.strip():
            important = True  # the indented continuation of an error or a stack trace
        else:
            in_trace = False
        if (
            i < keep_head
            or i >= n - keep_tail
            or important
            or counts[tpl] <= rare_max
            or tpl not in seen
            or (terms and any(t in line.lower() for t in terms))
        ):
            keep[i] = 1
        seen.add(tpl)
    # An exact repeat of the line before it says nothing new: drop it (the marker counts it).
    for i in range(max(1, keep_head), n - keep_tail):
        if keep[i] and lines[i] == lines[i - 1] and lines[i].strip():
            keep[i] = 0

    out: list[str] = []
    dropped_total = 0
    i = 0
    while i < n:
        if keep[i]:
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < n and not keep[j]:
            j += 1
        gap = lines[i:j]
        if len(gap) <= min_gap and not all(g == lines[i - 1] for g in gap):
            out.extend(gap)
        else:
            dropped_total += len(gap)
            out.append(_gap_marker(unit, lines[i - 1] if i else None, gap, templates[i:j], templates_in_marker))
        i = j
    if not dropped_total:
        return None
    result = "\n".join(out)
    if len(result) > len(text) * (1 - min_saving):
        return None
    return result


def _gap_marker(unit: Unit, before: str | None, gap: list[str], tpls: list[str], shown: int) -> str:
    if before is not None and all(g == before for g in gap):
        return omitted(unit, [(len(gap), "lines")], "repeats of the line above")
    tally = Counter(tpls)
    top = sorted(tally.items(), key=lambda kv: -kv[1])[:shown]
    parts = [f"{count}x {quote_template(_display(tpl), 70)}" for tpl, count in top if tpl]
    rest = len(tally) - len(top)
    if rest > 0:
        parts.append(f"{rest} more templates")
    return omitted(unit, [(len(gap), "lines")], detail_text(parts, 200))
