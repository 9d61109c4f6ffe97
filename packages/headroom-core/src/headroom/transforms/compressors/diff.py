"""Diff compressor: every changed line and header kept, surplus context trimmed, lock files summarised.

Reads unified diffs, ``git diff`` and ``git log -p`` / ``git show`` output. Kept verbatim: commit headers
and messages, ``diff --git``/``index``/``---``/``+++``/mode lines, every hunk header (``@@ ... @@``), every
added and removed line, ``\\ No newline at end of file``, and the ``context`` context lines next to each
change. Longer runs of unchanged context become one marker each (``omitted N context lines``).

Lock files and generated files (``package-lock.json``, ``yarn.lock``, ``pnpm-lock.yaml``, ``poetry.lock``,
``uv.lock``, ``Cargo.lock``, ``go.sum``, ``*.min.js``, ``*.min.css``, ``*.map``, ``*_pb2.py``, ``*.pb.go``,
..., and anything under a build-output directory: a top-level ``build/`` or ``dist/``, or ``node_modules/``,
``__pycache__/``, ``site-packages/``, ``*.egg-info/``, ``.tox/``, ``.venv/`` at any depth) keep their file
headers; their hunks become one marker with the added/removed counts.

Options (keyword-only):
    context (int, 1): unchanged lines kept on each side of a change.
    min_run (int, 6): shorter runs of droppable context are kept (a marker costs about as much as
        three short lines, so trimming git's default three lines of context never pays).
    summarize_generated (bool, True): summarise lock and generated files.
    min_saving (float, 0.05): the minimum fraction of characters saved, else None.
"""

from __future__ import annotations

import re

from headroom.engine.units import Unit
from headroom.transforms.compressors._util import omitted

_HUNK = re.compile(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_LOCK_NAMES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lock",
        "poetry.lock",
        "uv.lock",
        "pipfile.lock",
        "pdm.lock",
        "cargo.lock",
        "gemfile.lock",
        "composer.lock",
        "go.sum",
        "flake.lock",
        "podfile.lock",
        "pubspec.lock",
        "mix.lock",
        "packages.lock.json",
        "gradle.lockfile",
    }
)
_GENERATED_SUFFIXES = (".min.js", ".min.css", ".map", "_pb2.py", "_pb2.pyi", ".pb.go", ".pb.cc", ".pb.h")
_OUTPUT_ROOTS = frozenset({"build", "dist"})
"""Build-output directories when they are the first path segment (deeper, ``build`` is often source)."""
_OUTPUT_DIRS = frozenset(
    {"node_modules", "__pycache__", "site-packages", ".tox", ".nox", ".venv", ".mypy_cache", ".pytest_cache"}
)
_OUTPUT_DIR_SUFFIXES = (".egg-info", ".dist-info")


def is_generated(path: str) -> bool:
    """True for lock files, generated files and build outputs, whose diff lines are summarised."""
    segments = path.split("/")
    name = segments[-1].lower()
    if name in _LOCK_NAMES or name.endswith(_GENERATED_SUFFIXES):
        return True
    dirs = segments[:-1]
    if dirs and dirs[0] in _OUTPUT_ROOTS:
        return True
    return any(d in _OUTPUT_DIRS or d.endswith(_OUTPUT_DIR_SUFFIXES) for d in dirs)


def compress(
    text: str,
    unit: Unit,
    *,
    context: int = 1,
    min_run: int = 6,
    summarize_generated: bool = True,
    min_saving: float = 0.05,
) -> str | None:
    """The diff with surplus context and generated files marked, or None when it is not a diff."""
    lines = text.split("\n")
    n = len(lines)
    out: list[str] = []
    path = ""
    hunks = 0
    dropped = 0
    i = 0
    while i < n:
        line = lines[i]
        if line.startswith("diff --git "):
            parts = line.split(" b/", 1)
            path = parts[1] if len(parts) == 2 else line[11:]
        elif line.startswith("+++ ") and i > 0 and lines[i - 1].startswith("--- "):
            target = line[4:].split("\t", 1)[0]
            if target != "/dev/null":
                path = target[2:] if target.startswith("b/") else target
            elif lines[i - 1][4:].startswith("a/"):
                path = lines[i - 1][6:].split("\t", 1)[0]
        match = _HUNK.match(line) if line.startswith("@@") else None
        if match is None:
            out.append(line)
            i += 1
            continue
        hunks += 1
        end = _hunk_end(lines, i + 1, match)
        body = lines[i + 1 : end]
        if summarize_generated and is_generated(path):
            j = end
            while j < n and lines[j].startswith("@@"):
                more = _HUNK.match(lines[j])
                if more is None:
                    break
                j = _hunk_end(lines, j + 1, more)
            section = lines[i:j]
            added = sum(1 for s in section if s.startswith("+"))
            removed = sum(1 for s in section if s.startswith("-"))
            ctx = len(section) - added - removed
            dropped += len(section)
            out.append(
                omitted(
                    unit,
                    [(added + removed, "changed lines"), (ctx, "other lines")],
                    f"{path} is a lock, generated or build-output file: +{added} -{removed}",
                )
            )
            i = j
            continue
        out.append(line)
        trimmed, count = _trim_context(body, unit, context, min_run)
        out.extend(trimmed)
        dropped += count
        i = end
    if not hunks or not dropped:
        return None
    result = "\n".join(out)
    if len(result) > len(text) * (1 - min_saving):
        return None
    return result


def _hunk_end(lines: list[str], start: int, match: re.Match[str]) -> int:
    """The index just past the hunk whose body starts at ``start``."""
    old = int(match.group(1)) if match.group(1) is not None else 1
    new = int(match.group(2)) if match.group(2) is not None else 1
    i = start
    n = len(lines)
    while i < n and (old > 0 or new > 0):
        line = lines[i]
        head = line[:1]
        if head == " " or line == "":
            old -= 1
            new -= 1
        elif head == "-":
            old -= 1
        elif head == "+":
            new -= 1
        elif head != "\\":
            break  # the counts lied (a truncated or hand-edited diff): stop at the first foreign line
        i += 1
    while i < n and lines[i].startswith("\\"):
        i += 1
    return i


def _trim_context(body: list[str], unit: Unit, context: int, min_run: int) -> tuple[list[str], int]:
    changed = [i for i, line in enumerate(body) if line[:1] in ("+", "-", "\\")]
    keep = bytearray(len(body))
    for i in changed:
        for k in range(max(0, i - context), min(len(body), i + context + 1)):
            keep[k] = 1
    out: list[str] = []
    dropped = 0
    i = 0
    while i < len(body):
        if keep[i]:
            out.append(body[i])
            i += 1
            continue
        j = i
        while j < len(body) and not keep[j]:
            j += 1
        if j - i < min_run:
            out.extend(body[i:j])
        else:
            out.append(omitted(unit, [(j - i, "context lines")]))
            dropped += j - i
        i = j
    return out, dropped
