"""TagProtector: custom XML-like tags (and configured tag names) survive compression.

One linear pass finds tags, pairs them with a stack, and swaps the protected spans for placeholders that
cannot occur in the input: each is ``S<n>E`` where ``S``/``E`` are ``\\x01``/``\\x02`` in ASCII text that
holds neither (the protected text stays ASCII, so its fast paths stay open), else private-use characters
absent from the text. Configured ``tags`` and small custom (non-HTML) blocks are kept whole; ``inside``
tags (output wrappers) keep only their tags, so the content between them can still be compressed. A
placeholder that a compressor dropped, duplicated or reordered makes ``restore`` return None, and the engine
keeps the original unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from pydantic import Field

from headroom.engine.units import Unit
from headroom.transforms.base import Protector, Restore

_PUA_FIRST, _PUA_LAST = 0xE000, 0xF8FF
ASCII_FIRST, ASCII_LAST = "\x01", "\x02"
"""The sentinels of ASCII text: control characters that no blank-splitting (``str.split``, ``strip``,
``splitlines``, ``\\s``) touches, and that a C-level ``in``/``find`` spots."""
ASCII_PLACEHOLDER_RE = re.compile("\x01[0-9]+\x02")
"""The placeholders of ASCII text."""
_PUA_PLACEHOLDER_RE = re.compile("[\ue000-\uf8ff][0-9]+[\ue000-\uf8ff]")
PLACEHOLDER_RE = re.compile("[\ue000-\uf8ff][0-9]+[\ue000-\uf8ff]|\x01[0-9]+\x02")
"""Matches any TagProtector placeholder (compressors keep lines holding one verbatim)."""
_PUA_UTF8 = rb"(?:\xee[\x80-\xbf]|\xef[\x80-\xa3])[\x80-\xbf]"
PLACEHOLDER_UTF8_RE = re.compile(_PUA_UTF8 + rb"[0-9]+" + _PUA_UTF8)
""":data:`PLACEHOLDER_RE` over the UTF-8 bytes of a text (see :func:`pua_offsets`)."""


def utf8(text: str) -> bytes:
    """``text`` as UTF-8 (lone surrogates, which JSON escapes can carry, pass through)."""
    return text.encode("utf-8", "surrogatepass")


def pua_offsets(data: bytes) -> Iterator[int]:
    """Byte offsets of the private-use characters (U+E000..U+F8FF) in UTF-8 ``data``, ascending.

    Their lead bytes (EE, and EF followed by 80..A3) are found with C-level byte searches: much faster than
    a character-class scan of the text, which costs as much as reading every character in Python's regex
    engine.
    """
    ee, ef = data.find(b"\xee"), data.find(b"\xef")
    while ee != -1 or ef != -1:
        if ef == -1 or (ee != -1 and ee < ef):
            yield ee  # EE 80..BF xx: U+E000..U+EFFF
            ee = data.find(b"\xee", ee + 1)
        else:
            if data[ef + 1 : ef + 2] <= b"\xa3":  # EF 80..A3 xx: U+F000..U+F8FF
                yield ef
            ef = data.find(b"\xef", ef + 1)


# A tag: <name attrs>, </name>, <name/>. Each scan stops at the next '<' or '>', so the pass is linear.
TAG_RE = re.compile(r"<(/?)([A-Za-z][\w.:-]{0,63})((?:\s[^<>]*)?)>")

_HTML = """a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption
    cite code col colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption
    figure
    footer form h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend li link
    main map mark menu meta meter nav noscript object ol optgroup option output p param picture pre progress
    q rp rt ruby s samp script search section select slot small source span strong style sub summary sup
    table tbody td template textarea tfoot th thead time title tr track u ul var video wbr svg path g rect
    circle line polyline polygon text tspan defs use symbol marker font center big tt strike"""
HTML_TAGS = frozenset(_HTML.split())
"""HTML (and inline SVG) element names: not "custom" tags. ``output`` is HTML too, so wrappers are listed
explicitly in the options."""

DEFAULT_TAGS = ("system-reminder", "returncode", "warning", "elided_chars", "exit_code")
DEFAULT_INSIDE = (
    "output",
    "stdout",
    "stderr",
    "tool_output",
    "function_results",
    "output_head",
    "output_tail",
    "result",
)


def is_custom_tag(name: str) -> bool:
    """True for a tag name that is not an HTML element (``system-reminder``, ``returncode``, ``x:y``...)."""
    return name.lower() not in HTML_TAGS


def has_placeholder(text: str) -> bool:
    """``PLACEHOLDER_RE.search(text) is not None``, with C-level pre-checks (``\\x01``, non-ASCII)."""
    if ASCII_FIRST in text and ASCII_PLACEHOLDER_RE.search(text) is not None:
        return True
    return not text.isascii() and _PUA_PLACEHOLDER_RE.search(text) is not None


def placeholder_lines(text: str) -> list[tuple[int, int]]:
    """Lines holding a :data:`PLACEHOLDER_RE` match, sorted, without repeats: ASCII placeholders found from
    C-level searches for ``\\x01``, private-use ones in the UTF-8 bytes (C-level byte searches for
    private-use characters) and mapped back to character offsets with one forward pass."""
    ascii_spans = _ascii_placeholder_lines(text) if ASCII_FIRST in text else []
    if text.isascii():
        return ascii_spans
    spans = _pua_placeholder_lines(text)
    if ascii_spans and spans:
        return sorted(set(ascii_spans + spans))
    return ascii_spans or spans


def _ascii_placeholder_lines(text: str) -> list[tuple[int, int]]:
    """The lines holding an :data:`ASCII_PLACEHOLDER_RE` match (each ``\\x01`` found by ``str.find``)."""
    spans: list[tuple[int, int]] = []
    match = ASCII_PLACEHOLDER_RE.match
    pos = text.find(ASCII_FIRST)
    while pos != -1:
        if match(text, pos) is None:
            pos = text.find(ASCII_FIRST, pos + 1)
            continue
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        if end == -1:
            end = len(text)
        spans.append((start, end))
        pos = text.find(ASCII_FIRST, end)
    return spans


def _pua_placeholder_lines(text: str) -> list[tuple[int, int]]:
    data = utf8(text)
    spans: list[tuple[int, int]] = []
    byte_pos = char_pos = 0  # byte offset byte_pos of data is character offset char_pos of text
    line_end = -1  # byte offset of the end of the last line found
    for offset in pua_offsets(data):
        if offset < line_end:
            continue  # on a line already found
        m = PLACEHOLDER_UTF8_RE.match(data, offset)
        if m is None:
            continue
        start = data.rfind(b"\n", 0, offset) + 1
        line_end = data.find(b"\n", m.end())
        if line_end == -1:
            line_end = len(data)
        char_start = char_pos + len(data[byte_pos:start].decode("utf-8", "surrogatepass"))
        char_end = char_start + len(data[start:line_end].decode("utf-8", "surrogatepass"))
        spans.append((char_start, char_end))
        byte_pos, char_pos = line_end, char_end
    return spans


_IGNORE, _WHOLE, _INSIDE, _CUSTOM = 0, 1, 2, 3
_MAX_DEPTH = 64
"""A closing tag looks this far down the stack for its opener (bounds the pass on unbalanced input)."""


_FIRST_FREE = (chr(_PUA_FIRST), chr(_PUA_FIRST + 1))


def _sentinels(text: str) -> tuple[str, str]:
    if text.isascii():
        if ASCII_FIRST not in text and ASCII_LAST not in text:
            return ASCII_FIRST, ASCII_LAST  # the protected text stays ASCII
        return _FIRST_FREE  # no private-use character in the text: the first two are free
    data = utf8(text)
    present = {ord(data[i : i + 3].decode("utf-8")) for i in pua_offsets(data)}
    free: list[int] = []
    for cp in range(_PUA_FIRST, _PUA_LAST + 1):
        if cp not in present:
            free.append(cp)
            if len(free) == 2:
                break
    if len(free) < 2:  # the engine then leaves the unit as it was
        raise ValueError("no private-use characters left for placeholders")
    return chr(free[0]), chr(free[1])


class TagProtector(Protector):
    """Keeps tagged blocks intact through every compressor.

    Options: ``tags`` (blocks kept whole), ``inside`` (only the tags are kept; the content may be
    compressed), ``custom`` (also keep any other non-HTML tag pair whose opening tag starts a line whole, up
    to ``max_block_chars``; larger custom blocks keep their tags only).
    """

    name = "tags"

    tags: list[str] = Field(default_factory=lambda: list(DEFAULT_TAGS))
    inside: list[str] = Field(default_factory=lambda: list(DEFAULT_INSIDE))
    custom: bool = True
    max_block_chars: int = Field(2000, ge=0)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The protected (start, end) spans of ``text``, sorted and disjoint (one pass with a tag stack)."""
        if "<" not in text:
            return []
        kinds: dict[str, int] = {}
        stack: list[tuple[str, int, int]] = []  # open tags that matter: (name, start, end)
        found: list[tuple[int, int]] = []
        prev_end, first = 0, True  # prev_end: where the previous tag ended; first: no tag before this one
        for m in _tags(text):
            start, end = m.span()
            gap_start, at_first = prev_end, first
            prev_end, first = end, False
            closing, name, attrs = m.group(1, 2, 3)
            kind = kinds.get(name)
            if kind is None:
                kind = kinds[name] = self._kind(name)
            if kind == _IGNORE or attrs.endswith("/"):
                continue  # HTML, or self-closing (nothing inside; often JSX or generics in code)
            if not closing:
                if kind == _CUSTOM and not _starts_line(text, gap_start, start, at_first):
                    continue  # an inline custom tag (a grep match, JSX in a line of code): not a block
                stack.append((name, start, end))
                continue
            for depth in range(len(stack) - 1, max(-1, len(stack) - 1 - _MAX_DEPTH), -1):
                if stack[depth][0] == name:  # a close tag pops any unclosed tags above its opener
                    _, open_start, open_end = stack[depth]
                    del stack[depth:]
                    if kind == _WHOLE or (kind == _CUSTOM and end - open_start <= self.max_block_chars):
                        found.append((open_start, end))
                    else:
                        found.append((open_start, open_end))
                        found.append((start, end))
                    break
        found.sort()
        disjoint: list[tuple[int, int]] = []
        for start, end in found:
            if disjoint and start < disjoint[-1][1]:
                continue  # nested in a block already kept whole
            disjoint.append((start, end))
        return disjoint

    def _kind(self, name: str) -> int:
        if name in self.tags:
            return _WHOLE
        if name in self.inside:
            return _INSIDE
        return _CUSTOM if self.custom and is_custom_tag(name) else _IGNORE

    def protect(self, unit: Unit) -> tuple[str, Restore]:
        text = unit.text
        spans = self.spans(text)
        if not spans:
            return text, _identity
        first, last = _sentinels(text)
        parts: list[str] = []
        saved: list[str] = []
        pos = 0
        for i, (start, end) in enumerate(spans):
            parts.append(text[pos:start])
            parts.append(f"{first}{i}{last}")
            saved.append(text[start:end])
            pos = end
        parts.append(text[pos:])
        pattern = _placeholder_pattern(first, last)

        def restore(compressed: str) -> str | None:
            out: list[str] = []
            pos = 0
            expected = 0
            for m in pattern.finditer(compressed):
                if int(m.group(1)) != expected:
                    return None  # dropped, duplicated or reordered: the caller keeps the original
                out.append(compressed[pos : m.start()])
                out.append(saved[expected])
                expected += 1
                pos = m.end()
            if expected != len(saved):
                return None
            out.append(compressed[pos:])
            return "".join(out)

        return "".join(parts), restore


@lru_cache(maxsize=16)
def _placeholder_pattern(first: str, last: str) -> re.Pattern[str]:
    """The placeholders ``<first><n><last>``, compiled once per pair of sentinels (as ``re`` caches)."""
    return re.compile(re.escape(first) + "([0-9]+)" + re.escape(last))


def _tags(text: str) -> Iterator[re.Match[str]]:
    """``TAG_RE.finditer(text)``: every match starts with ``<``, so each is tried only where a C-level
    search finds one, and the search goes on after a match as finditer's does."""
    find, match = text.find, TAG_RE.match
    pos = find("<")
    while pos >= 0:
        m = match(text, pos)
        if m is None:
            pos = find("<", pos + 1)
        else:
            yield m
            pos = find("<", m.end())


def _starts_line(text: str, gap_start: int, start: int, at_first: bool) -> bool:
    """Only blanks between the line start and ``start``; ``gap_start`` is where the previous tag ended (or 0
    when ``at_first``: no tag before), so a tag on the same line earlier means it does not start the line."""
    newline = text.rfind("\n", gap_start, start)
    if newline != -1:
        return not text[newline + 1 : start].strip(" \t")
    return at_first and not text[gap_start:start].strip(" \t")


def _identity(text: str) -> str | None:
    return text


__all__ = [
    "ASCII_FIRST",
    "ASCII_LAST",
    "ASCII_PLACEHOLDER_RE",
    "HTML_TAGS",
    "PLACEHOLDER_RE",
    "PLACEHOLDER_UTF8_RE",
    "TAG_RE",
    "TagProtector",
    "has_placeholder",
    "is_custom_tag",
    "placeholder_lines",
    "pua_offsets",
    "utf8",
]
