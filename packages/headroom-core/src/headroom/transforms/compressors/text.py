"""Text compressor: terminal noise and repetition.

In order:

1. ANSI escape sequences (colours, cursor moves, OSC titles) are removed; one marker at the end counts them.
2. Carriage-return overwrites: a line redrawn with ``\\r`` (progress bars, spinners) keeps only what a
   terminal finally shows; a marker after it counts the overwritten states.
3. Runs of at least ``min_progress_run`` progress-bar lines (a percentage with a bar, tqdm's ``it/s``,
   pip/docker download bars) keep their last line.
4. Runs of at least ``min_repeat`` identical lines keep the first.
5. Runs of at least ``min_template_run`` lines that differ only in numbers/ids keep the first and the last.
6. A paragraph (lines between blank lines) of at least ``min_paragraph_lines`` lines that repeats an
   earlier paragraph exactly is replaced by a marker naming the line where it first appeared.
7. Any other run of at least ``min_block_lines`` lines that repeats an earlier run exactly (the shared
   frames of one traceback after another, a config dump printed twice) becomes a marker naming the
   run's last line. A repeated copy is all that goes: the first copy stays, so no line is lost.

Lines that look like errors (``error``, ``Exception``, ``Traceback``, ``FAILED``...) are never folded into
a template run or a paragraph repeat. Every omission is one marker.

Options (keyword-only):
    strip_ansi (bool, True), overwrites (bool, True), progress (bool, True), repeats (bool, True),
    templates (bool, True), paragraphs (bool, True), blocks (bool, True): switch each step.
    min_repeat (int, 3): identical lines needed for a repeat run.
    min_template_run (int, 6): lines of one template needed for a template run.
    min_progress_run (int, 3): progress lines needed for a progress run.
    min_paragraph_lines (int, 3): lines a repeated paragraph needs to be folded.
    min_block_lines (int, 4): lines a repeated block needs to be folded.
    min_saving (float, 0.05): the minimum fraction of characters saved, else None.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Callable
from itertools import compress as selected
from itertools import islice

from headroom.engine.units import Unit
from headroom.transforms.compressors._util import detail_text, line_keys, omitted, quote_template, template

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")
_PERCENT = re.compile(r"\b\d{1,3}(?:\.\d+)?%")
_BAR = re.compile(r"[█▉▊▋▌▍▎▏#=━─>|]{3}|\d(?:it/s|s/it)\b|it/s\]|\bETA\b|\beta \d")
_MARKER_START = "[headroom: omitted"
_PROGRESS_CUES = ("%", "it/s", "eta ", "ETA ")
_ERRORISH = re.compile(r"(?i:\berror\b|\bfatal\b|\bfail)|Error\b|Exception\b|Traceback|FAILED")


def compress(
    text: str,
    unit: Unit,
    *,
    strip_ansi: bool = True,
    overwrites: bool = True,
    progress: bool = True,
    repeats: bool = True,
    templates: bool = True,
    paragraphs: bool = True,
    blocks: bool = True,
    min_repeat: int = 3,
    min_template_run: int = 6,
    min_progress_run: int = 3,
    min_paragraph_lines: int = 3,
    min_block_lines: int = 4,
    min_saving: float = 0.05,
) -> str | None:
    """The text without terminal noise and repetition, or None when nothing is worth saving."""
    ansi = 0
    if strip_ansi and "\x1b" in text:
        text, ansi = _ANSI.subn("", text)
    lines = text.split("\n")
    if overwrites and "\r" in text:
        lines = fold_overwrites(lines, unit)
    # Each step below is skipped when a C-level check shows it would return its lines unchanged.
    if progress and _has_progress_cue("\n".join(lines)):
        lines = fold_runs(lines, unit, _is_progress, min_progress_run, _progress_marker, keep_last=True)
    if repeats and any(map(operator.eq, lines, islice(lines, 1, None))):
        lines = fold_repeats(lines, unit, min_repeat)
    if templates:
        lines = fold_templates(lines, unit, min_template_run)
    occurrences = Counter(lines) if paragraphs or blocks else Counter()
    blank = list(selected(occurrences, map(operator.not_, map(str.strip, occurrences))))
    if (paragraphs or blocks) and _repeats_a_nonblank_line(lines, occurrences, blank):
        if paragraphs and blank:  # one paragraph alone repeats nothing
            folded = fold_paragraphs(lines, unit, min_paragraph_lines)
            if folded != lines:
                lines, occurrences = folded, Counter(folded)
        if blocks:
            lines = fold_blocks(lines, unit, min_block_lines, occurrences)
    if ansi:
        lines.append(omitted(unit, [(ansi, "terminal control sequences")]))
    result = "\n".join(lines)
    original_len = len(text) + (ansi * 4)
    if result == text and not ansi:
        return None
    if len(result) > original_len * (1 - min_saving):
        return None
    return result


def fold_overwrites(lines: list[str], unit: Unit) -> list[str]:
    """Keep what a terminal shows of each ``\\r``-redrawn line; mark the overwritten states."""
    out: list[str] = []
    for line in lines:
        body = line[:-1] if line.endswith("\r") else line
        if "\r" not in body:
            out.append(line)
            continue
        states = [s for s in body.split("\r") if s.strip()]
        if not states:
            out.append(line)
            continue
        out.append(states[-1] + ("\r" if line.endswith("\r") else ""))
        if len(states) > 1:
            out.append(omitted(unit, [(len(states) - 1, "progress updates")], "overwritten in place"))
    return out


def _is_progress(line: str) -> bool:
    if len(line) >= 400 or (
        "%" not in line and "it/s" not in line and "eta " not in line and "ETA " not in line
    ):
        return False
    if not _BAR.search(line):
        return False
    return bool(_PERCENT.search(line)) or "it/s" in line or "eta " in line or "ETA " in line


def _has_progress_cue(text: str) -> bool:
    """A line without one of these is never a progress line (:func:`_is_progress`)."""
    return any(cue in text for cue in _PROGRESS_CUES)


def _repeats_a_nonblank_line(lines: list[str], occurrences: Counter[str], blank: list[str]) -> bool:
    """Some non-blank line occurs twice: a repeated paragraph or block needs one, so without it
    :func:`fold_paragraphs` and :func:`fold_blocks` change nothing. ``occurrences``: ``Counter(lines)``;
    ``blank``: its blank (empty or whitespace) lines."""
    blank_lines = sum(map(occurrences.__getitem__, blank))
    return len(lines) - blank_lines != len(occurrences) - len(blank)


def _progress_marker(unit: Unit, run: list[str]) -> str:
    return omitted(unit, [(len(run), "progress lines")], "earlier states of the progress bar below")


def fold_runs(
    lines: list[str],
    unit: Unit,
    predicate: Callable[[str], bool],
    min_run: int,
    make_marker: Callable[[Unit, list[str]], str],
    *,
    keep_last: bool,
) -> list[str]:
    """Fold runs of at least ``min_run`` lines matching ``predicate`` into a marker (keeping one end).

    The predicate is mapped over the lines at C level; the runs are then found with byte searches and the
    lines between them copied as slices."""
    min_run = max(min_run, 2)
    flags = bytes(map(bool, map(predicate, lines)))
    out: list[str] = []
    n = len(lines)
    pos = 0
    i = flags.find(1)
    while i >= 0:
        j = flags.find(0, i)
        j = n if j < 0 else j
        out.extend(lines[pos:i])
        run = lines[i:j]
        if len(run) < min_run:
            out.extend(run)
        elif keep_last:
            out.append(make_marker(unit, run[:-1]))
            out.append(run[-1])
        else:
            out.append(run[0])
            out.append(make_marker(unit, run[1:]))
        pos = j
        i = flags.find(1, j)
    out.extend(lines[pos:])
    return out


def fold_repeats(lines: list[str], unit: Unit, min_repeat: int) -> list[str]:
    """Runs of at least ``min_repeat`` identical non-blank lines keep the first and a marker."""
    min_repeat = max(min_repeat, 2)
    out: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        j = i + 1
        while j < n and lines[j] == lines[i]:
            j += 1
        if j - i >= min_repeat and lines[i].strip() and not lines[i].startswith(_MARKER_START):
            out.append(lines[i])
            out.append(omitted(unit, [(j - i - 1, "lines")], "repeats of the line above"))
        else:
            out.extend(lines[i:j])
        i = j
    return out


def fold_templates(lines: list[str], unit: Unit, min_run: int) -> list[str]:
    """Runs of at least ``min_run`` lines with one template (numbers, ids masked) keep first and last."""
    min_run = max(min_run, 3)
    if len(lines) < min_run:
        return lines
    keys = list(map(str.strip, line_keys("\n".join(lines))))
    if len(keys) != len(lines):
        return lines
    if not any(map(operator.eq, keys, islice(keys, 2, None))):
        return lines  # three neighbours sharing a template include lines i and i+2 sharing one
    same = list(map(operator.eq, keys, islice(keys, 1, None)))  # same[i]: lines i and i+1 share a template
    if not any(map(operator.and_, same, islice(same, 1, None))):
        return lines  # no three neighbours share a template: no run (min_run >= 3)
    out: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        j = i + 1
        key = keys[i]
        if key and not key.startswith(_MARKER_START):
            while j < n and keys[j] == key:
                j += 1
        # Lines of one template differ only in numbers, so the first line says whether they are errors.
        if j - i >= min_run and not _ERRORISH.search(lines[i]):
            out.append(lines[i])
            shown = quote_template(template(lines[i]), 80)
            out.append(omitted(unit, [(j - i - 2, "lines")], detail_text([f"{j - i - 2}x {shown}"])))
            out.append(lines[j - 1])
        else:
            out.extend(lines[i:j])
        i = j
    return out


def fold_paragraphs(lines: list[str], unit: Unit, min_lines: int) -> list[str]:
    """A paragraph repeating an earlier one exactly becomes a marker pointing at the first copy."""
    min_lines = max(min_lines, 1)
    out: list[str] = []
    seen: dict[str, int] = {}
    para: list[str] = []
    start_out = 0

    def flush() -> None:
        nonlocal para
        if len(para) >= min_lines:
            key = "\n".join(para)
            first = seen.get(key)
            if first is not None and not any(_ERRORISH.search(p) for p in para):
                detail = f"same as the paragraph at line {first + 1}"
                out.append(omitted(unit, [(len(para), "lines")], detail))
                para = []
                return
            seen.setdefault(key, start_out)
        out.extend(para)
        para = []

    for line in lines:
        if line.strip():
            if not para:
                start_out = len(out)
            para.append(line)
        else:
            flush()
            out.append(line)
    flush()
    return out


def _is_rule(line: str) -> bool:
    """A blank line or a separator made of one repeated character (``=====``, ``-----``)."""
    stripped = line.strip()
    return not stripped or (len(stripped) >= 3 and stripped == stripped[0] * len(stripped))


def fold_blocks(
    lines: list[str], unit: Unit, min_lines: int, occurrences: Counter[str] | None = None
) -> list[str]:
    """Runs of at least ``min_lines`` lines repeating an earlier run exactly become one marker each.
    ``occurrences``: ``Counter(lines)`` when the caller has it."""
    min_lines = max(min_lines, 2)
    n = len(lines)
    if n < 2 * min_lines:
        return lines
    # A repeated run is made of lines that occur more than once: only where ``min_lines`` of them follow
    # each other can one start (or be the earlier copy), so everything else is passed over unexamined.
    if occurrences is None:
        occurrences = Counter(lines)
    repeated = bytes(map((1).__lt__, map(occurrences.__getitem__, lines)))
    window = b"\x01" * min_lines
    if window not in repeated:
        return lines
    ids: dict[str, int] = {}
    seq = [ids.setdefault(line, len(ids)) for line in lines]
    markers = [line for line in occurrences if line.startswith(_MARKER_START)]
    if markers:  # a marker line stands for other lines: it is never part of a folded run (as in fold_repeats)
        marker_set = set(markers)
        flags = bytearray(repeated)
        for k, line in enumerate(lines):
            if line in marker_set:
                flags[k] = 0
                seq[k] = -1 - k  # equal to no other line
        repeated = bytes(flags)
        if window not in repeated:
            return lines
    seen: dict[tuple[int, ...], int] = {}
    out: list[str] = []
    i = 0
    while i < n:
        if not repeated[i]:  # a line that occurs once starts no repeated run
            nxt = repeated.find(window, i)
            nxt = n if nxt < 0 else nxt
            out.extend(lines[i:nxt])
            i = nxt
            continue
        key = tuple(seq[i : i + min_lines])
        first = seen.get(key) if len(key) == min_lines else None
        if first is not None and first + min_lines <= i:
            length = min_lines
            while i + length < n and first + length < i and seq[first + length] == seq[i + length]:
                length += 1
            full = length
            while length > min_lines and _is_rule(lines[i + length - 1]):
                length -= 1  # leave separators and blank lines that close the run in place
            run = lines[i : i + length]
            if sum(1 for r in run if r.strip()) >= 2 and sum(len(r) for r in run) >= 80:
                named = [r for r in run if _ERRORISH.search(r)] or [r for r in run if r.strip()]
                detail = f"same as {length} lines above, ending {quote_template(named[-1].strip(), 80)}"
                out.append(omitted(unit, [(length, "lines")], detail_text([detail])))
                i += length
            else:  # too slight to mark; step over the whole match so that no line is compared twice
                out.extend(lines[i : i + full])
                i += full
            continue
        if len(key) == min_lines:
            seen.setdefault(key, i)
        out.append(lines[i])
        i += 1
    return out
