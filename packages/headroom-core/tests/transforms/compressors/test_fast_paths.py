"""logs / text fast paths equal the previous per-line versions (kept here verbatim as references)."""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors import logs, text
from headroom.transforms.compressors._util import line_keys, runs

from .helpers import make_unit

LINES = [
    "", "   ", "  {", "  },", "ERROR boom", "Traceback (most recent call last):", '  File "/x.py", line 3',
    "    at com.x.Y(Y.java:1)", "Caused by: java.io.IOException", "\t... 12 more", "C", "T", "\u00a0indented",
    "    continuation", "Fatal: no", "info ok 1", "info ok 2", "=====", 'File "/y.py"', "\x0b at x", "\r",
]  # fmt: skip


def reference_important_lines(text: str, low: str, lines: list[str], starts: list[int]) -> bytearray:
    """The previous version: a per-line trace scan."""
    n = len(lines)
    flags = bytearray(n)
    for word, boundary, exact in logs._KEYWORDS:
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
        if head in (" ", "\t", "C", "T") and logs._TRACE.match(line):
            flags[i] = 1
        if flags[i]:
            in_trace = True
        elif in_trace and head in (" ", "\t") and line.strip():
            flags[i] = 1
        else:
            in_trace = False
    return flags


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=60))
def test_important_lines_equal_the_per_line_scan(lines: list[str]) -> None:
    body = "\n".join(lines)
    starts = list(accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    got = logs._important_lines(body, body.lower(), lines, starts)
    assert got == reference_important_lines(body, body.lower(), lines, starts)


@settings(max_examples=200, deadline=None)
@given(
    flags=st.lists(st.sampled_from([0, 1]), max_size=40), other=st.lists(st.sampled_from([0, 1]), max_size=40)
)
def test_byte_runs_and_or_equal_the_plain_forms(flags: list[int], other: list[int]) -> None:
    keep = bytearray(flags)
    assert list(logs._byte_runs(keep)) == list(runs(keep))
    other = (other + [0] * len(flags))[: len(flags)]
    assert logs._or(keep, bytes(other)) == bytearray(a | b for a, b in zip(flags, other, strict=True))


def reference_fold_blocks(lines: list[str], unit: Any, min_lines: int) -> list[str]:
    """The previous version: every repeated line examined."""
    min_lines = max(min_lines, 2)
    n = len(lines)
    if n < 2 * min_lines:
        return lines
    ids: dict[str, int] = {}
    seq = [ids.setdefault(line, len(ids)) for line in lines]
    repeated = bytearray(len(ids))
    first_seen = bytearray(len(ids))
    for v in seq:
        if first_seen[v]:
            repeated[v] = 1
        first_seen[v] = 1
    seen: dict[tuple[int, ...], int] = {}
    out: list[str] = []
    i = 0
    while i < n:
        if not repeated[seq[i]]:  # a line that occurs once starts no repeated run
            out.append(lines[i])
            i += 1
            continue
        key = tuple(seq[i : i + min_lines])
        first = seen.get(key) if len(key) == min_lines else None
        if first is not None and first + min_lines <= i:
            length = min_lines
            while i + length < n and first + length < i and seq[first + length] == seq[i + length]:
                length += 1
            full = length
            while length > min_lines and text._is_rule(lines[i + length - 1]):
                length -= 1  # leave separators and blank lines that close the run in place
            run = lines[i : i + length]
            if sum(1 for r in run if r.strip()) >= 2 and sum(len(r) for r in run) >= 80:
                named = [r for r in run if text._ERRORISH.search(r)] or [r for r in run if r.strip()]
                detail = f"same as {length} lines above, ending {text.quote_template(named[-1].strip(), 80)}"
                out.append(text.omitted(unit, [(length, "lines")], text.detail_text([detail])))
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


BLOCK_LINES = ["a = 1", "b = 2", "c = 3", "d = 4", "  {", "  },", "", "-----", "ValueError: x", "one", "two"]


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.sampled_from(BLOCK_LINES), min_size=1, max_size=80), min_lines=st.integers(2, 5))
def test_fold_blocks_equals_the_full_scan(lines: list[str], min_lines: int) -> None:
    unit = make_unit("\n".join(lines))
    assert text.fold_blocks(lines, unit, min_lines) == reference_fold_blocks(lines, unit, min_lines)


# lines where a keyword is glued to digits or "-" (which a line key drops), cased, at a line start or not
KEYED_LINES = [
    *(line for line in LINES if line.isascii()),
    "err-or 12", "ERR0R", "xerror", "1error", "-error", "job FAILED-2", "job Failed 3", "3FAILED", "fail-ed",
    "Segmentation fault (core dumped)", "segmentation-fault", "paniced", "a.panic b", "at 12", "  at 3 x",
    "block-1 severe", "emergency 7", "0critical", "Exception: 9", "\tat x-1", "Traceback 2",
]  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(lines=st.lists(st.sampled_from(KEYED_LINES), min_size=1, max_size=60))
def test_important_lines_by_key_equal_the_per_line_scan(lines: list[str]) -> None:
    body = "\n".join(lines)
    starts = list(accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    keys = line_keys(body)
    by_key = logs._KeyText(list(dict.fromkeys(keys)))
    got = logs._important_lines_by_key(body, body.lower(), lines, starts, keys, by_key)
    assert got == reference_important_lines(body, body.lower(), lines, starts)


def reference_fold_runs(
    lines: list[str], unit: Any, predicate: Any, min_run: int, make_marker: Any, *, keep_last: bool
) -> list[str]:
    """The previous fold_runs: a line-by-line loop."""
    min_run = max(min_run, 2)
    out: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        if not predicate(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < n and predicate(lines[j]):
            j += 1
        run = lines[i:j]
        if len(run) < min_run:
            out.extend(run)
        elif keep_last:
            out.append(make_marker(unit, run[:-1]))
            out.append(run[-1])
        else:
            out.append(run[0])
            out.append(make_marker(unit, run[1:]))
        i = j
    return out


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(st.sampled_from(["ok", "x", "", "ok ", "y"]), max_size=40),
    min_run=st.integers(0, 5),
    keep_last=st.booleans(),
)
def test_fold_runs_equals_the_line_loop(lines: list[str], min_run: int, keep_last: bool) -> None:
    unit = make_unit("\n".join(lines))

    def marker(_: Any, run: list[str]) -> str:
        return f"<{len(run)} folded: {'|'.join(run)}>"

    def is_ok(line: str) -> bool:
        return line.startswith("ok")

    got = text.fold_runs(lines, unit, is_ok, min_run, marker, keep_last=keep_last)
    assert got == reference_fold_runs(lines, unit, is_ok, min_run, marker, keep_last=keep_last)
