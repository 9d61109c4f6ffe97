"""Test-run compressor: failures, errors, tracebacks and the summary kept; passing noise collapsed.

Understands pytest (progress dots and ``-v`` lines), unittest (``test_x (mod.Case) ... ok``, ``ERROR:``
blocks), Python warnings on stderr, ``go test`` (``=== RUN``/``--- PASS``), ``cargo test`` (``test x ... ok``)
and jest/vitest (``✓``/``√`` lines).

* Repeated failure reports (``repeats``): a unittest ``ERROR:``/``FAIL:`` block or a pytest ``___ name ___``
  section that matches an earlier one but for the test's name and numbers, ids and addresses goes (unittest:
  every line is compared but the test's own source line; pytest: the location lines, the ``E`` lines, the
  ``>`` lines below the test's own frame and any captured output); a run of them becomes one marker listing
  their test names under the report they repeat. Error lines are compared verbatim: a repeat whose error
  lines differ keeps its title and those lines. The last report of a text always stays.
* Repeated Python warnings (``repeats``): a ``path:12: ResourceWarning: msg`` record (with its source line
  and tracemalloc hint) whose category and message, numbers and addresses masked, were shown before (in
  this unit or an earlier unit of the request) goes; a run of them becomes one marker counting them by
  message. Records in pytest's warnings summary get the same. A record with ``E``/``F`` progress marks
  glued in front stays.
* Runs of at least ``min_run`` passing lines (progress lines made only of ``.``/``s``/``x``; verbose
  PASSED/SKIPPED/XFAIL/ok/PASS lines) become one marker counting them (e.g. ``412 passed, 3 skipped``).
  A progress line with an ``F`` or ``E`` in it, and every FAILED/ERROR/FAIL line, stays.
* In pytest tracebacks, a frame's source listing of at least ``min_frame_lines`` lines keeps its first
  line, every ``def``/``class`` line, every ``raise``/``except``/``assert``/``finally`` line and line
  naming an ``...Error``/``Exception``/``Warning``, and the ``frame_context`` lines above the ``>`` line;
  the rest becomes markers (``trim_frames``). A listing the output was cut in (by a harness eliding the
  middle of a long output: it runs from a ``def``/``class``/decorator line to the end of the text, or to a
  line opening with a tag or a tag placeholder, with no ``>`` line) is trimmed the same way, with the
  ``frame_context`` lines above the cut kept in place of those above the ``>`` line.
* In pytest failure sections, the docstring lines of a frame's source listing (between triple quotes,
  above the ``>`` line) become a marker when there are at least ``min_docstring`` of them; the signature,
  the code, the ``>`` line and every ``E`` line stay.
* Then the text steps run: repeated lines (the same warning location listed 40 times) and repeated
  blocks (the frames one traceback shares with an earlier one) become markers.

Returns None when the text shows no sign of a test run (a test-run sign, or a pytest ``>`` line with a
frame location ``path.py:12: `` line: the tail of a run cut in the middle of a frame).

Options (keyword-only):
    min_run (int, 3): passing lines needed for a run to be folded.
    min_docstring (int, 4): docstring lines needed in a traceback frame to be folded.
    trim_frames (bool, True): shorten long source listings in tracebacks.
    frame_context (int, 3): listing lines kept just above the failing ``>`` line.
    min_frame_lines (int, 12): shorter listings are kept whole.
    repeats (bool, True): fold repeated failure reports and repeated Python warnings.
    min_saving (float, 0.05): the minimum fraction of characters saved, else None.
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, islice, repeat
from itertools import compress as selected

from headroom.engine.units import Earlier, Unit
from headroom.transforms.compressors import text as text_compressor
from headroom.transforms.compressors._util import (
    DIGIT_CLASS,
    detail_text,
    mask_variables,
    omitted,
    quote_template,
    runs,
    templates,
)
from headroom.transforms.markers import parse_markers

TEST_SIGNS = re.compile(
    r"^=+ (?:test session starts|\d+ (?:passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?)\b"
    r"|no tests ran|FAILURES =|ERRORS =|short test summary info =)|^collected \d+ items?\b|"
    r"^Ran \d+ tests? in |^(?:OK|FAILED)(?: \(|$)|^--- (?:PASS|FAIL): |^=== RUN |"
    r"^test result: |^Tests?: [^\n]*\b(?:passed|failed)\b|^(?:PASS|FAIL) |^(?:ERROR|FAIL): \S|"
    r"^[.EFsx]*+[^\s:]{1,400}:\d{1,7}: [A-Z]\w{0,60}Warning: |"
    r"^E {2,20}[\w.]{0,200}(?:Error|Exception|Failure)\b|^_{3,} \S[^\n]{0,300} _{3,}$",
    re.M,
)
_PROGRESS = re.compile(r"^\S++ [.sxX]++(?:\s++\[\s?\d{1,3}%\])?")
_DOTS_ONLY = re.compile(r"^[.sxX]++(?:\s++\[\s?\d{1,3}%\])?")
_FRAME_KEEP = re.compile(
    r"^\s*+(?:async\s++)?(?:def|class)\s|^\s*+(?:raise|except|assert|finally)\b|Error\b|Exception\b|Warning\b"
)
_FRAME_START = re.compile(r" {4}(?:(?:async\s++)?def\s|class\s|@)")
"""The first line of a pytest frame listing: the function's ``def`` (or a decorator, or a ``class``) at
pytest's four-space indent."""
_FRAME_LOCATION = re.compile(r"^[^\s:]{1,400}\.py:\d{1,7}: (?:in \S|\w|$)", re.M)
"""pytest's frame location line: ``lib/x.py:443: ``, ``lib/x.py:2969: in savefig``, ``x.py:12: KeyError``."""
_PUA_LINE = re.compile("^[\ue000-\uf8ff]", re.M)
"""A line opening with a private-use character: a TagProtector placeholder in a text that is not ASCII."""
_PASS_WORDS = frozenset({"PASSED", "SKIPPED", "XFAIL", "XPASS"})
_STARTS = ("--- PASS:", "--- SKIP:", "=== RUN ", "=== PAUSE ", "=== CONT ", "✓ ", "√ ")


def is_passing(line: str) -> bool:
    """A line that only says tests passed (or were skipped): progress dots or a verbose pass line."""
    if len(line) > 500:
        return False
    stripped = line.strip()
    if not stripped:
        return False
    if _DOTS_ONLY.fullmatch(stripped) or _PROGRESS.fullmatch(stripped):
        return True
    if stripped.startswith(_STARTS):
        return True
    core = stripped
    if core.endswith("%]") and "[" in core:
        core = core[: core.rfind("[")].rstrip()
    if core.endswith((" ... ok", " ... expected failure")) or " ... skipped" in core:
        return True
    tokens = core.split()
    if len(tokens) < 2:
        return False
    return (
        tokens[-1] in _PASS_WORDS
        or tokens[1] in _PASS_WORDS
        or (tokens[0] in _PASS_WORDS and tokens[0] != "XPASS")
    )


_PASS_ENDS = (".", "s", "x", "X", "]")
_PASS_CUES = (" ... ", "PASS", "SKIP", "XFAIL", "=== ", "\u2713 ", "\u221a ")
"""A line :func:`is_passing` accepts ends (right-stripped) with one of ``_PASS_ENDS`` (dots and progress
lines) or holds one of ``_PASS_CUES`` (verbose pass lines, ``... ok``, go test's ``=== RUN``, check marks)."""


def _passing_lines(lines: list[str]) -> set[str]:
    """The lines :func:`is_passing` accepts, testing only the lines a C-level scan finds a cue in."""
    candidates = set(selected(lines, map(str.endswith, map(str.rstrip, lines), repeat(_PASS_ENDS))))
    text = "\n".join(lines)
    if any(cue in text for cue in _PASS_CUES):
        starts = list(accumulate(map((1).__add__, map(len, lines[:-1])), initial=0))
        for cue in _PASS_CUES:
            k = text.find(cue)
            while k >= 0:
                i = bisect_right(starts, k) - 1
                candidates.add(lines[i])
                k = text.find(cue, starts[i + 1]) if i + 1 < len(lines) else -1
    return set(filter(is_passing, candidates))


def _tally(run: list[str]) -> str:
    passed = skipped = other = 0
    for line in run:
        s = line.rstrip()
        if _PROGRESS.fullmatch(s) or _DOTS_ONLY.fullmatch(s):
            dots = s.split(" [", 1)[0].rsplit(" ", 1)[-1]
            passed += dots.count(".")
            skipped += dots.count("s")
            other += dots.count("x") + dots.count("X")
        elif "SKIP" in s or "skipped" in s:
            skipped += 1
        elif "XFAIL" in s or "XPASS" in s or "expected failure" in s:
            other += 1
        elif "=== " in s:
            continue
        else:
            passed += 1
    parts = [f"{passed} passed"] if passed else []
    if skipped:
        parts.append(f"{skipped} skipped")
    if other:
        parts.append(f"{other} xfail/xpass")
    return ", ".join(parts) or "test bookkeeping"


def _pass_marker(unit: Unit, run: list[str]) -> str:
    return omitted(unit, [(len(run), "lines")], f"passing tests: {_tally(run)}")


def compress(
    text: str,
    unit: Unit,
    *,
    min_run: int = 3,
    min_docstring: int = 4,
    trim_frames: bool = True,
    frame_context: int = 3,
    min_frame_lines: int = 12,
    repeats: bool = True,
    min_saving: float = 0.05,
) -> str | None:
    """The test output with passing noise collapsed, or None when it is not a test run."""
    if not TEST_SIGNS.search(text) and not _pytest_frames(text):
        return None
    lines = text.split("\n")
    if repeats:
        if "Warning: " in text:  # else no line is a warning
            lines = fold_warnings(lines, unit)
        lines = fold_failures(lines, unit)
    passing = _passing_lines(lines)
    lines = text_compressor.fold_runs(
        lines, unit, passing.__contains__, min_run, _pass_marker, keep_last=False
    )
    # Each step below is skipped when a C-level check on the text shows it would change nothing (the
    # markers the steps before add start with "[" and hold no quotes).
    if trim_frames:
        cuts = _has_cut_lines(text)
        if cuts or text.startswith(">") or "\n>" in text or _ends_indented(text):
            lines = _trim_frames(lines, unit, frame_context, min_frame_lines, cuts)
    if '"""' in text or "'''" in text:
        lines = _fold_docstrings(lines, unit, min_docstring)
    if any(map(operator.eq, lines, islice(lines, 1, None))):
        lines = text_compressor.fold_repeats(lines, unit, 3)
    result = "\n".join(lines)
    folded = text_compressor.compress(result, unit, templates=False, min_saving=0.0)
    if folded is not None:
        result = folded
    if result == text or len(result) > len(text) * (1 - min_saving):
        return None
    return result


def _pytest_frames(text: str) -> bool:
    """A pytest ``>`` line and a frame location line: a piece of a pytest traceback."""
    return (
        (text.startswith(">") or "\n>" in text)
        and ".py:" in text
        and _FRAME_LOCATION.search(text) is not None
    )


def _has_cut_lines(text: str) -> bool:
    """Whether a line opens with a tag (``</output_head>``) or a TagProtector placeholder: where a harness
    may have cut the output (C-level searches; the private-use scan only in a text that is not ASCII)."""
    for first in ("<", "\x01"):  # each a memchr-speed search first: most texts hold neither
        if first in text and (text.startswith(first) or "\n" + first in text):
            return True
    return not text.isascii() and _PUA_LINE.search(text) is not None


def _ends_indented(text: str) -> bool:
    """Whether the last line that is not blank is indented like a listing line."""
    end = len(text.rstrip())
    return text.startswith("    ", text.rfind("\n", 0, end) + 1)


def _cut_lines(lines: list[str]) -> list[int]:
    """The lines opening with a tag or a placeholder (see :func:`_has_cut_lines`), not in order."""
    n = len(lines)
    cuts = list(selected(range(n), map(str.startswith, lines, repeat(("<", "\x01")))))
    wide = selected(range(n), map(operator.not_, map(str.isascii, lines)))
    return [*cuts, *(i for i in wide if _PUA_LINE.match(lines[i]))]


def _trim_frames(lines: list[str], unit: Unit, context: int, min_lines: int, cuts: bool = False) -> list[str]:
    """Shorten long source listings in pytest tracebacks.

    A listing is the run of four-space-indented (or blank) lines above a ``>`` line, or above a cut (the
    end of the text, a tag or placeholder line) when it opens with a ``def``/``class``/decorator line.
    Kept: its first line (the ``def``), every ``def``/``class`` line, every line naming an error or
    handling one, and the ``context`` lines just above the ``>`` line or the cut; each other run becomes a
    marker.
    """
    n = len(lines)
    keep = bytearray(b"\x01") * n
    floor = 0
    ends = list(selected(range(n), map(str.startswith, lines, repeat(">"))))  # the ``>`` lines
    cut_at = {*_cut_lines(lines), n} if cuts else {n}  # the cuts: tag or placeholder lines, the end
    for k in sorted({*ends, *cut_at}) if cuts else [*ends, n]:
        cut = k in cut_at
        b = k
        while b > floor and (lines[b - 1][:4] == "    " or not lines[b - 1].strip()):
            b -= 1
        while b < k and not lines[b].strip():
            b += 1
        floor = k + 1
        if cut:
            while k > b and not lines[k - 1].strip():
                k -= 1  # blank lines before the cut are not the lines it came after
            if k - b < min_lines or not _FRAME_START.match(lines[b]):
                continue  # short, or not a frame's listing (a unittest traceback's code line opens none)
        if k - b < min_lines:
            continue
        for i in range(b + 1, k - context):
            if not _FRAME_KEEP.search(lines[i]):
                keep[i] = 0
    if 0 not in keep:
        return lines  # no listing long enough to shorten
    out: list[str] = []
    for kept, i, j in runs(keep):
        if kept or j - i == 1:
            out.extend(lines[i:j])
        else:
            indent = len(lines[i]) - len(lines[i].lstrip(" "))
            out.append(" " * min(indent, 12) + omitted(unit, [(j - i, "source lines")], "traceback listing"))
    return out


def _fold_docstrings(lines: list[str], unit: Unit, min_lines: int) -> list[str]:
    """Fold docstrings inside pytest frame listings (lines indented by four spaces before a ``>`` line)."""
    out: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if line.startswith("    ") and stripped[:3] in ('"""', "'''") and not _closes(stripped):
            quote = stripped[:3]
            j = i + 1
            limit = min(n, i + 400)
            while j < limit and quote not in lines[j] and (lines[j][:4] == "    " or not lines[j].strip()):
                j += 1
            inner = j - i - 1
            if j < n and quote in lines[j] and inner >= min_lines and _in_frame(lines, j + 1):
                out.append(line)
                out.append(omitted(unit, [(inner, "docstring lines")]))
                out.append(lines[j])
                i = j + 1
                continue
        out.append(line)
        i += 1
    return out


def _closes(stripped: str) -> bool:
    """True when a line opening a docstring also closes it."""
    return len(stripped) >= 6 and stripped.endswith(stripped[:3])


def _in_frame(lines: list[str], start: int) -> bool:
    """True when the listing continues, indented, down to a pytest ``>`` line."""
    for k in range(start, min(len(lines), start + 400)):
        line = lines[k]
        if line.startswith(">"):
            return True
        if line and not line.startswith("    "):
            return False
    return False


# -- repeated failure reports ---------------------------------------------------------------------------

_UT_HEAD = re.compile(r"(?:ERROR|FAIL|UNEXPECTED SUCCESS): (\S{1,300})(?: \(([^()\n]{0,300})\))?")
_LOCATION = re.compile(r"^[^\s:]{1,400}:\d{1,7}: ")
_PYWARN = re.compile(r"^( {0,4})([.EFsx]*+)([^\s:]{1,400}:\d{1,7}): ([A-Z]\w{0,60}Warning): ")
_NEEDLE = re.compile(r"Error\b|Exception\b|Traceback \(|FAILED|\bFATAL\b|\bERROR\b")
_DETAIL_NAMES = 3000
_MAX_INDEXED_CHARS = 512 * 1024


@dataclass(slots=True)
class _Report:
    """One failure report: a unittest ``ERROR:``/``FAIL:`` block or a pytest ``___ name ___`` section."""

    start: int
    end: int
    name: str
    key: tuple[str, ...]  # masked lines: equal keys mean the same failure but for the test
    needles: tuple[str, ...]  # error lines, compared verbatim


def _rule(line: str, char: str) -> bool:
    """``line`` is ``char`` repeated, 20 times or more (checked without building a string)."""
    return len(line) >= 20 and line[0] == char and not line.strip(char)


def _pytest_title(line: str) -> str | None:
    """The name in a pytest section title (``____ test_x[a] ____``), or None."""
    if len(line) < 8 or len(line) > 600 or not line.startswith("___") or not line.endswith("___"):
        return None
    inner = line.strip("_")
    name = inner.strip()
    return name if name and inner[0] == " " else None


def _banner(line: str) -> bool:
    """A pytest banner: ``==== short test summary info ====``, ``==== 1 failed in 2s ====``."""
    return len(line) >= 8 and line.startswith("==") and line.endswith("==") and " " in line


def _reports(lines: list[str]) -> list[_Report]:
    """Every unittest failure block and pytest failure section, in order (one linear pass).

    Only lines starting with ``=``, ``-`` or ``_`` can open or close a report (rules, banners, titles):
    those are found at C speed and the others are passed over."""
    found: list[_Report] = []
    masked: dict[str, tuple[str, ...]] = {}  # shared by the reports' maskers
    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...], int]] = {}  # pytest sections' line roles
    n = len(lines)
    marks = list(selected(range(n), map(str.startswith, lines, repeat(("=", "-", "_")))))
    titles = {
        k: t for k in marks if lines[k].startswith("___") and (t := _pytest_title(lines[k])) is not None
    }

    def unittest_end(j: int) -> bool:
        return j + 1 < n and (
            (_rule(lines[j], "=") and _UT_HEAD.fullmatch(lines[j + 1]) is not None)
            or (_rule(lines[j], "-") and lines[j + 1].startswith("Ran "))
        )

    # where a unittest block or a pytest section ends (a report runs to the first one after its start)
    unittest_ends = [*filter(unittest_end, (j for j in marks if lines[j][0] != "_")), n]
    pytest_ends = [*(j for j in marks if j in titles or _banner(lines[j])), n]

    k = 0
    while k < len(marks):
        i = marks[k]
        line = lines[i]
        head = _UT_HEAD.fullmatch(lines[i + 1]) if line[0] == "=" and i + 1 < n and _rule(line, "=") else None
        title = titles.get(i) if head is None else None
        if head is not None:
            j = unittest_ends[bisect_left(unittest_ends, i + 2)]
            found.append(_unittest_report(lines, i, j, head.group(1), masked))
        elif title is not None:
            j = pytest_ends[bisect_left(pytest_ends, i + 1)]
            found.append(_pytest_report(lines, i, j, title, masked, shapes))
        else:
            k += 1
            continue
        k = bisect_left(marks, j, k)
    return found


# Blocks equal under DIGIT_CLASS (ASCII digits 2-9 -> "1") mask equally: the masks see only digit classes.
_DIGIT_CLASS = DIGIT_CLASS


def _mask(lines: list[str], name: str, masked: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """``lines`` masked for comparison: the test's name, then numbers, ids and addresses. The lines are
    masked as one block (no mask spans a line break, so this equals masking each line alone); ``masked``
    memoizes by the block with its digits mapped to their class (:data:`_DIGIT_CLASS`), so repeated reports
    that differ only in numbers are masked once."""
    words = name.split()
    word = words[-1] if words else name
    block = "\n".join(lines).replace(word, "<test>")
    short = word.split("[", 1)[0].rsplit(".", 1)[-1]
    if short and short != word:
        block = block.replace(short, "<test>")
    cheap = block.translate(_DIGIT_CLASS)
    key = masked.get(cheap)
    if key is None:
        key = masked[cheap] = tuple(line.strip() for line in mask_variables(block).split("\n"))
    return key


def _is_needle(line: str) -> bool:
    """``_NEEDLE.search(line)``, after a literal pre-check (every match contains one of these words)."""
    return (
        "Error" in line
        or "Exception" in line
        or "Traceback (" in line
        or "FAILED" in line
        or "FATAL" in line
        or "ERROR" in line
    ) and _NEEDLE.search(line) is not None


def _unittest_report(
    lines: list[str], start: int, end: int, name: str, masked: dict[str, tuple[str, ...]]
) -> _Report:
    key: list[str] = []
    needles: list[str] = []
    in_traceback = False
    skip = -1
    for k in range(start + 2, end):
        line = lines[k]
        if k == skip:
            continue
        if line.startswith("Traceback "):
            in_traceback = True
        elif line.startswith("  File ") and line.endswith(f" in {name}"):
            skip = k + 1  # the test's own source line: it differs from test to test
        if (in_traceback and line[:1].strip() and not line.startswith("Traceback ")) or _is_needle(line):
            needles.append(line)
        key.append(line)
    return _Report(start, end, name, _mask(key, name, masked) if needles else (), tuple(needles))


def _pytest_report(
    lines: list[str],
    start: int,
    end: int,
    name: str,
    masked: dict[str, tuple[str, ...]],
    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...], int]],
) -> _Report:
    body = lines[start + 1 : end]
    # which lines are needles and key lines depends on digit classes only: memoized like the masks
    cheap = "\n".join(body).translate(_DIGIT_CLASS)
    shape = shapes.get(cheap)
    if shape is None:
        shape = shapes[cheap] = _pytest_shape(body)
    needle_at, key_at, errors = shape
    key = _mask(list(map(body.__getitem__, key_at)), name, masked) if errors else ()
    return _Report(start, end, name, key, tuple(map(body.__getitem__, needle_at)))


def _pytest_shape(body: list[str]) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """A pytest section's needle lines and key lines (indices into ``body``), and its count of errors."""
    key: list[int] = []
    needles: list[int] = []
    errors = 0
    failing = 0  # ``>`` lines seen: the first is the test's own line and differs from test to test
    captured = False
    for k, line in enumerate(body):
        error = line.startswith("E ")
        errors += error
        failing += line.startswith(">")
        captured = captured or (line.startswith("---") and " Captured " in line)
        if error or _is_needle(line):
            needles.append(k)
        if error or captured or _LOCATION.match(line) or (failing > 1 and line.startswith(">")):
            key.append(k)
    return tuple(needles), tuple(key), errors


def _names(pending: list[tuple[str, str]]) -> str:
    """``same as A above: b, c; same as D above: e`` for (representative, name) pairs, in order."""
    by_rep: dict[str, list[str]] = {}
    for rep, name in pending:
        by_rep.setdefault(rep, []).append(name)
    text = "; ".join(f"same as {rep} above: {', '.join(names)}" for rep, names in by_rep.items())
    text = " ".join(text.replace("|", "¦").split())
    if len(text) > _DETAIL_NAMES:
        text = text[: _DETAIL_NAMES - 3].rstrip() + "..."
    return text


def fold_failures(lines: list[str], unit: Unit, min_lines: int = 3) -> list[str]:
    """Failure reports that repeat an earlier one but for the test's name (and numbers, ids, addresses)
    become one marker per run listing their names. A repeat whose error lines differ keeps its title and
    those lines."""
    reports = _reports(lines)
    if len(reports) < 2:
        return lines
    first: dict[tuple[str, ...], tuple[_Report, set[str]]] = {}  # key -> (representative, lines shown)
    verdict: dict[int, tuple[_Report, list[str]]] = {}  # start -> (representative, lines kept)
    for report in reports:
        if not report.key or report.end == len(lines):  # the last line always stays
            continue
        group = first.get(report.key)
        if group is None:
            first[report.key] = (report, set(report.needles))
            continue
        rep, shown = group
        kept = [line for line in dict.fromkeys(report.needles) if line not in shown]
        shown.update(kept)
        if report.end - report.start - len(kept) - (1 if kept else 0) >= min_lines:
            verdict[report.start] = (rep, kept)
    if not verdict:
        return lines
    out: list[str] = []
    pending: list[tuple[str, str]] = []
    dropped = 0
    by_start = {r.start: r for r in reports}
    i = 0
    n = len(lines)
    for start in [*sorted(verdict), n]:  # the lines between folded reports are copied in slices
        if start > i:
            if pending:
                out.append(omitted(unit, [(dropped, "lines"), (len(pending), "tests")], _names(pending)))
                pending, dropped = [], 0
            out.extend(lines[i:start])
            i = start
        if start == n:
            break
        report = by_start[i]
        rep, kept = verdict[i]
        span = _original_lines(lines, report.start, report.end)  # a marker a step before us made counts
        if kept:
            title = report.start + (1 if _rule(lines[report.start], "=") else 0)
            out.append(lines[title])
            out.extend(kept)
            dropped += span - len(kept) - 1
        else:
            dropped += span
        pending.append((rep.name, report.name))
        i = report.end
    if pending:
        out.append(omitted(unit, [(dropped, "lines"), (len(pending), "tests")], _names(pending)))
    return out


def _original_lines(lines: list[str], start: int, end: int) -> int:
    """How many original lines ``lines[start:end]`` stand for: a marker line counts the lines it omitted."""
    total = end - start
    for k in range(start, end):
        if lines[k].startswith("[headroom: omitted "):
            for marker in parse_markers(lines[k]):
                total += sum(n for n, kind in marker.counts if kind == "lines") - 1
    return total


# -- repeated Python warnings -----------------------------------------------------------------------------


class _WarningIndex:
    """Where each warning key (category, masked message) first occurs among a request's earlier units,
    grown unit by unit (kept on the request's :class:`Earlier` log, like the router's windows)."""

    __slots__ = ("_first", "_size")

    def __init__(self) -> None:
        self._first: dict[tuple[str, str], int] = {}
        self._size = 0

    def before(self, earlier: Sequence[str]) -> set[tuple[str, str]]:
        """The keys of the warnings in ``earlier`` (the log this index grows over, or a prefix of it)."""
        for position in range(self._size, len(earlier)):
            text = earlier[position]
            if "Warning: " in text and len(text) <= _MAX_INDEXED_CHARS:
                for key in _warnings_in(text.split("\n")).values():
                    self._first.setdefault(key[1], position)
        self._size = max(self._size, len(earlier))
        return {key for key, position in self._first.items() if position < len(earlier)}


def _warnings_in(lines: list[str]) -> dict[int, tuple[re.Match[str], tuple[str, str]]]:
    """Each warning record's first line (by index): its match and its key, the category and the
    :func:`template` of the message. The messages are masked together, as one block (:func:`templates`)."""
    matches = {
        i: match
        for i in selected(range(len(lines)), map(str.__contains__, lines, repeat("Warning: ")))
        if len(lines[i]) <= 2000 and (match := _PYWARN.match(lines[i])) is not None
    }
    masked = templates([lines[i][match.end() :] for i, match in matches.items()])
    return {
        i: (match, (match.group(4), tpl)) for (i, match), tpl in zip(matches.items(), masked, strict=True)
    }


def _earlier_warnings(unit: Unit) -> set[tuple[str, str]]:
    """The warning keys an earlier unit of the request already showed."""
    earlier = unit.earlier
    if not earlier:
        return set()
    if not isinstance(earlier, Earlier):
        earlier = Earlier.of(earlier)
    return earlier.derived(("testrun.warnings",), _WarningIndex).before(earlier)


def fold_warnings(lines: list[str], unit: Unit) -> list[str]:
    """Python warnings (``path:12: ResourceWarning: msg``, their source line and the tracemalloc hint) that
    repeat a warning shown earlier (in this unit or an earlier one) but for numbers, ids and addresses:
    runs of them become one marker counting them by message."""
    n = len(lines)
    seen = _earlier_warnings(unit)
    found = _warnings_in(lines)
    out: list[str] = []
    run: dict[tuple[str, str], int] = {}
    dropped: list[str] = []
    dots = 0
    i = 0
    while i < n:
        line = lines[i]
        hit = found.get(i)
        if hit is None:
            if run:
                out.extend(_warnings_marker(unit, run, dropped, dots))
                run, dropped, dots = {}, [], 0
            out.append(line)
            i += 1
            continue
        match, key = hit
        category = match.group(4)
        deeper = match.group(1) + " "
        j = i + 1
        while j < n and j - i <= 3 and lines[j].startswith((deeper, "\t")) and lines[j].strip():
            j += 1
        if j < n and lines[j].startswith(category + ": ") and "tracemalloc" in lines[j]:
            j += 1
        lead = match.group(2)
        if key in seen and j < n and "E" not in lead and "F" not in lead:
            run[key] = run.get(key, 0) + 1
            dropped.extend(lines[i:j])
            dots += len(lead)
        else:
            if run:
                out.extend(_warnings_marker(unit, run, dropped, dots))
                run, dropped, dots = {}, [], 0
            seen.add(key)
            out.extend(lines[i:j])
        i = j
    if run:
        out.extend(_warnings_marker(unit, run, dropped, dots))
    return out


def _warnings_marker(unit: Unit, run: dict[tuple[str, str], int], dropped: list[str], dots: int) -> list[str]:
    """The marker for a run of repeated warnings, or the run itself when the marker is not shorter."""
    parts = [f"{count}x {cat} {quote_template(msg, 40)}" for (cat, msg), count in list(run.items())[:3]]
    if len(run) > 3:
        parts.append(f"{sum(list(run.values())[3:])} others")
    detail = "repeats of warnings shown earlier: " + detail_text(parts, 300)
    if dots:
        detail += f"; {dots} progress marks"
    line = omitted(unit, [(len(dropped), "lines"), (sum(run.values()), "warnings")], detail)
    return [line] if len(line) < sum(len(d) + 1 for d in dropped) else dropped
