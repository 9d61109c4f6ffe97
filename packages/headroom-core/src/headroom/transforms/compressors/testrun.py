"""Test-run compressor: failures, errors, tracebacks and the summary kept; passing noise collapsed.

Understands pytest (progress dots and ``-v`` lines), unittest (``test_x (mod.Case) ... ok``), ``go test``
(``=== RUN``/``--- PASS``), ``cargo test`` (``test x ... ok``) and jest/vitest (``✓``/``√`` lines).

* Runs of at least ``min_run`` passing lines (progress lines made only of ``.``/``s``/``x``; verbose
  PASSED/SKIPPED/XFAIL/ok/PASS lines) become one marker counting them (e.g. ``412 passed, 3 skipped``).
  A progress line with an ``F`` or ``E`` in it, and every FAILED/ERROR/FAIL line, stays.
* In pytest tracebacks, a frame's source listing of at least ``min_frame_lines`` lines keeps its first
  line, every ``def``/``class`` line, every ``raise``/``except``/``assert``/``finally`` line and line
  naming an ``...Error``/``Exception``/``Warning``, and the ``frame_context`` lines above the ``>`` line;
  the rest becomes markers (``trim_frames``).
* In pytest failure sections, the docstring lines of a frame's source listing (between triple quotes,
  above the ``>`` line) become a marker when there are at least ``min_docstring`` of them; the signature,
  the code, the ``>`` line and every ``E`` line stay.
* Then the text steps run: repeated lines (the same warning location listed 40 times) and repeated
  blocks (the frames one traceback shares with an earlier one) become markers.

Returns None when the text shows no sign of a test run.

Options (keyword-only):
    min_run (int, 3): passing lines needed for a run to be folded.
    min_docstring (int, 4): docstring lines needed in a traceback frame to be folded.
    trim_frames (bool, True): shorten long source listings in tracebacks.
    frame_context (int, 3): listing lines kept just above the failing ``>`` line.
    min_frame_lines (int, 12): shorter listings are kept whole.
    min_saving (float, 0.05): the minimum fraction of characters saved, else None.
"""

from __future__ import annotations

import operator
import re
from itertools import islice

from headroom.engine.units import Unit
from headroom.transforms.compressors import text as text_compressor
from headroom.transforms.compressors._util import omitted, runs

_SIGNS = re.compile(
    r"^=+ (?:test session starts|\d+ (?:passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?)\b"
    r"|no tests ran)|^Ran \d+ tests? in |^(?:OK|FAILED)(?: \(|$)|^--- (?:PASS|FAIL): |^=== RUN |"
    r"^test result: |^Tests?: [^\n]*\b(?:passed|failed)\b|^(?:PASS|FAIL) ",
    re.M,
)
_PROGRESS = re.compile(r"^\S++ [.sxX]++(?:\s++\[\s?\d{1,3}%\])?")
_DOTS_ONLY = re.compile(r"^[.sxX]++(?:\s++\[\s?\d{1,3}%\])?")
_FRAME_KEEP = re.compile(
    r"^\s*+(?:async\s++)?(?:def|class)\s|^\s*+(?:raise|except|assert|finally)\b|Error\b|Exception\b|Warning\b"
)
_PASS_WORDS = frozenset({"PASSED", "SKIPPED", "XFAIL", "XPASS"})
_STARTS = ("--- PASS:", "--- SKIP:", "=== RUN ", "=== PAUSE ", "=== CONT ", "✓ ", "√ ")


def _is_passing(line: str) -> bool:
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
    min_saving: float = 0.05,
) -> str | None:
    """The test output with passing noise collapsed, or None when it is not a test run."""
    if not _SIGNS.search(text):
        return None
    lines = text.split("\n")
    lines = text_compressor.fold_runs(lines, unit, _is_passing, min_run, _pass_marker, keep_last=False)
    # Each step below is skipped when a C-level check on the text shows it would change nothing (the
    # markers the steps before add start with "[" and hold no quotes).
    if trim_frames and (text.startswith(">") or "\n>" in text):
        lines = _trim_frames(lines, unit, frame_context, min_frame_lines)
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


def _trim_frames(lines: list[str], unit: Unit, context: int, min_lines: int) -> list[str]:
    """Shorten long source listings in pytest tracebacks.

    A listing is the run of four-space-indented (or blank) lines above a ``>`` line. Kept: its first line
    (the ``def``), every ``def``/``class`` line, every line naming an error or handling one, and the
    ``context`` lines just above the ``>`` line; each other run becomes a marker.
    """
    n = len(lines)
    keep = bytearray(b"\x01") * n
    floor = 0
    for k in range(n):
        if not lines[k].startswith(">"):
            continue
        b = k
        while b > floor and (lines[b - 1][:4] == "    " or not lines[b - 1].strip()):
            b -= 1
        while b < k and not lines[b].strip():
            b += 1
        floor = k + 1
        if k - b < min_lines:
            continue
        for i in range(b + 1, k - context):
            if not _FRAME_KEEP.search(lines[i]):
                keep[i] = 0
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
