"""Code compressor: signatures, decorators and docstring summaries kept; long bodies elided (opt-in).

With ``elide_bodies=False`` (the default) code is left exactly as it is (None): a file view is what the
agent is about to edit, and a lossy view of it is not a safe default. (Measured: the only lossless
reductions left, blank-line runs and trailing spaces, cost more as markers than they save in tokens.)

With ``elide_bodies=True``, for Python (indentation) and brace languages (C, Go, Rust, Java, JS/TS...):

* kept: imports, module-level statements, ``class`` lines, decorators, every ``def``/``fn``/``func``/
  ``function`` signature (all its lines), the first line of each docstring, and any function whose name
  the user or the tool call mentions, whole;
* a function body longer than ``max_body_lines`` is elided, except its error handling (``except``,
  ``raise``, ``finally``, ``catch``, ``throw`` lines and lines naming an ``...Error``/``Exception``/
  ``Warning``) and the first line of nested definitions; each elided run becomes one marker naming the
  function; the methods of a class are
  handled one by one.

``nl -ba``/``cat -n`` line-number prefixes (and Claude Code's ``N→``) are understood and kept on every
kept line.

:func:`outline` serves ``ProxyConfig.aging``: the router outlines the code of an aged unit (an older
file view), whatever ``elide_bodies`` says.

Options (keyword-only):
    elide_bodies (bool, False): elide long function bodies.
    max_body_lines (int, 6): bodies up to this many lines stay whole.
    min_saving (float, 0.1): the minimum fraction of characters saved, else None.
"""

from __future__ import annotations

import re

from headroom.engine.units import Unit
from headroom.transforms.compressors._util import omitted, request_identifiers

_NUMBERED = re.compile(r"^[ \t]{0,12}+\d{1,9}+(?:\t|\u2192|  |: | \| )")  # Read's N→text, Roo's N | text
_PY_DEF = re.compile(r"^[ \t]*+(?:async[ \t]++)?def[ \t]++(\w+)")
_PY_CLASS = re.compile(r"^[ \t]*+class[ \t]++\w")
_BRACE_DEF = re.compile(
    r"^[ \t]*+(?>(?:(?:export|default|public|private|protected|internal|static|async|pub(?:\([a-z]+\))?|"
    r"unsafe|extern|virtual|override|final|inline|const)[ \t]++)*)"
    r"(?:function[ \t]*\*?[ \t]*(\w+)|func[ \t]+(?:\([^)\n]{0,200}\)[ \t]*)?(\w+)|fn[ \t]+(\w+)|"
    r"[\w<>\[\],.*&: ]{1,200}?[ \t*&](\w+)[ \t]*\()"
)
_ERRORISH = re.compile(r"^\s*(?:except\b|raise\b|finally\b|catch\b|throw\b)|Error\b|Exception\b|Warning\b")
_CONTROL = frozenset({"if", "for", "while", "switch", "catch", "return", "else", "do", "try", "with"})


def compress(
    text: str,
    unit: Unit,
    *,
    elide_bodies: bool = False,
    max_body_lines: int = 6,
    min_saving: float = 0.1,
) -> str | None:
    """The code with long bodies elided (when enabled), or None when nothing is worth saving."""
    if not elide_bodies:
        return None
    lines = text.split("\n")
    prefix_len = _prefix_lengths(lines)
    code = [line[p:] for line, p in zip(lines, prefix_len, strict=True)]
    wanted = {w.rsplit(".", 1)[-1] for w in request_identifiers(unit)}
    if any(_PY_DEF.match(c) or _PY_CLASS.match(c) for c in code):
        out = _elide_python(lines, code, unit, max_body_lines, wanted)
    else:
        out = _elide_braces(lines, code, unit, max_body_lines, wanted)
    result = "\n".join(out)
    if result == text or len(result) > len(text) * (1 - min_saving):
        return None
    return result


def _prefix_lengths(lines: list[str]) -> list[int]:
    """Length of each line's ``nl``/``cat -n`` number prefix, when most lines carry one; else zeros."""
    nonblank = [line for line in lines if line.strip()]
    if not nonblank:
        return [0] * len(lines)
    numbered = [_NUMBERED.match(line) for line in lines]
    if sum(1 for m in numbered if m) < 0.8 * len(nonblank):
        return [0] * len(lines)
    return [m.end() if m else 0 for m in numbered]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _elide_python(
    lines: list[str], code: list[str], unit: Unit, max_body: int, wanted: set[str]
) -> list[str]:
    out: list[str] = []
    n = len(lines)
    i = 0
    while i < n:
        m = _PY_DEF.match(code[i])
        if m is None:
            out.append(lines[i])
            i += 1
            continue
        name = m.group(1)
        indent = _indent(code[i])
        sig_end = _signature_end(code, i)
        out.extend(lines[i : sig_end + 1])
        body_start = sig_end + 1
        j = body_start
        while j < n and (not code[j].strip() or _indent(code[j]) > indent):
            j += 1
        while j > body_start and not code[j - 1].strip():
            j -= 1  # trailing blank lines belong to what follows
        body = list(range(body_start, j))
        if len(body) <= max_body or name in wanted:
            out.extend(lines[body_start:j])
            i = j
            continue
        kept_doc = _docstring_head(code, body_start, j)
        out.extend(lines[body_start : body_start + kept_doc])
        pad = " " * (len(lines[body_start]) - len(code[body_start]) + _indent(code[body_start]))
        out.extend(_elide(lines, code, body_start + kept_doc, j, unit, name, pad))
        i = j
    return out


def _signature_end(code: list[str], start: int) -> int:
    """The index of the line that ends a (possibly multi-line) ``def`` signature."""
    depth = 0
    for k in range(start, min(len(code), start + 60)):
        line = code[k].split("#", 1)[0]
        depth += line.count("(") + line.count("[") - line.count(")") - line.count("]")
        if depth <= 0 and line.rstrip().endswith(":"):
            return k
    return start


def _docstring_head(code: list[str], start: int, end: int) -> int:
    """How many leading body lines to keep: the first line of a docstring, if the body opens with one."""
    if start >= end:
        return 0
    first = code[start].strip()
    if first[:3] in ('"""', "'''") or first[:4] in ('r"""', "r'''"):
        return 1
    return 0


def _elide_braces(
    lines: list[str], code: list[str], unit: Unit, max_body: int, wanted: set[str]
) -> list[str]:
    out: list[str] = []
    n = len(lines)
    i = 0
    while i < n:
        c = code[i]
        m = _BRACE_DEF.match(c) if c.rstrip().endswith("{") else None
        name = next((g for g in m.groups() if g), None) if m else None
        if m is None or name is None or name in _CONTROL:
            out.append(lines[i])
            i += 1
            continue
        depth = 0
        j = i
        while j < n:
            depth += code[j].count("{") - code[j].count("}")
            if depth <= 0:
                break
            j += 1
        if j >= n:  # unbalanced (a partial view): leave the rest as it is
            out.extend(lines[i:])
            break
        body = j - i - 1
        out.append(lines[i])
        if body <= max_body or name in wanted:
            out.extend(lines[i + 1 : j + 1])
        else:
            pad = " " * (len(lines[i]) - len(c) + _indent(c) + 4)
            out.extend(_elide(lines, code, i + 1, j, unit, name, pad))
            out.append(lines[j])
        i = j + 1
    return out


def _kept_in_body(line: str) -> bool:
    """Lines an elided body still shows: error handling and nested definitions' signature lines."""
    if _ERRORISH.search(line) or _PY_DEF.match(line) or _PY_CLASS.match(line):
        return True
    return line.rstrip().endswith("{") and _BRACE_DEF.match(line) is not None


def _elide(
    lines: list[str], code: list[str], start: int, end: int, unit: Unit, name: str, pad: str
) -> list[str]:
    """Lines ``start:end`` of a body: error handling kept, every other run of two or more lines marked."""
    out: list[str] = []
    k = start
    while k < end:
        if _kept_in_body(code[k]):
            out.append(lines[k])
            k += 1
            continue
        g = k
        while g < end and not _kept_in_body(code[g]):
            g += 1
        if g - k <= 1:
            out.extend(lines[k:g])
        else:
            out.append(pad + omitted(unit, [(g - k, "lines")], f"body of {name}"))
        k = g
    return out


# -- outlines of aged file views (ProxyConfig.aging) ---------------------------------------------------

_CODE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def outline(text: str, unit: Unit, *, min_run: int = 3, min_saving: float = 0.1) -> str | None:
    """An aged file view reduced to its outline, or None when that saves too little.

    Kept: definition lines (``def``, ``class``, brace-language functions), decorators, error handling and
    error words, and lines naming an identifier of the request that looks like code (dotted,
    ``snake_case``, ``camelCase`` or with digits: plain English words would keep every line). Other
    runs of ``min_run`` or more lines go. In a numbered view (``nl``, ``cat -n``) the kept lines' numbers
    show where each run was, and one marker, where the first run was, counts them all; elsewhere each run
    becomes a marker.
    """
    lines = text.split("\n")
    prefix_len = _prefix_lengths(lines)
    numbered = any(prefix_len)
    code = [line[p:] for line, p in zip(lines, prefix_len, strict=True)]
    wanted = _code_identifiers(unit)
    dotted = [w for w in wanted if "." in w]
    keep = [_outline_line(c, wanted, dotted) for c in code]
    out: list[str] = []
    runs: list[tuple[int, int]] = []  # (position in out, lines dropped) of each run, when numbered
    i, n = 0, len(lines)
    while i < n:
        if keep[i]:
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < n and not keep[j]:
            j += 1
        if j - i < min_run:
            out.extend(lines[i:j])
        elif numbered:
            runs.append((len(out), j - i))
        else:
            out.append(omitted(unit, [(j - i, "lines")], "outlined"))
        i = j
    if runs:
        dropped = sum(size for _, size in runs)
        detail = f"in {len(runs)} runs, outlined: the line numbers show where"
        out.insert(runs[0][0], omitted(unit, [(dropped, "lines")], detail))
    result = "\n".join(out)
    if len(result) > len(text) * (1 - min_saving):
        return None
    return result


def _code_identifiers(unit: Unit) -> frozenset[str]:
    """The request's names that look like code: dotted (``self.backoff``, found as written), or a word in
    ``snake_case``, ``camelCase`` or with digits."""
    found: set[str] = set()
    for word in request_identifiers(unit):
        inner = word.strip("_.")
        if "." in inner or "_" in inner or inner[1:] != inner[1:].lower() or not inner.isalpha():
            found.add(word.strip("."))
    return frozenset(found)


def _outline_line(code: str, wanted: frozenset[str], dotted: list[str]) -> bool:
    stripped = code.strip()
    if not stripped:
        return False
    if stripped.startswith("@") or _PY_DEF.match(code) or _PY_CLASS.match(code) or _ERRORISH.search(code):
        return True
    if stripped.endswith("{"):
        m = _BRACE_DEF.match(code)
        name = next((g for g in m.groups() if g), None) if m else None
        if name is not None and name not in _CONTROL:
            return True
    if not wanted:
        return False
    return any(w in wanted for w in _CODE_WORD.findall(code)) or any(w in code for w in dotted)
