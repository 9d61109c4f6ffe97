"""TagProtector: custom XML-like tags (and configured tag names) survive compression.

One linear pass finds tags, pairs them with a stack, and swaps the protected spans for placeholders that
cannot occur in the input: each is ``S<n>E`` where ``S``/``E`` are private-use characters absent from the
text. Configured ``tags`` and small custom (non-HTML) blocks are kept whole; ``inside`` tags (output wrappers)
keep only their tags, so the content between them can still be compressed. A placeholder that a compressor
dropped, duplicated or reordered makes ``restore`` return None, and the engine keeps the original unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import Field

from headroom.engine.units import Unit
from headroom.transforms.base import Protector, Restore

_PUA_FIRST, _PUA_LAST = 0xE000, 0xF8FF
_PUA_RE = re.compile("[\ue000-\uf8ff]")
PLACEHOLDER_RE = re.compile("[\ue000-\uf8ff][0-9]+[\ue000-\uf8ff]")
"""Matches any TagProtector placeholder (compressors keep lines holding one verbatim)."""

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


@dataclass(frozen=True, slots=True)
class _Tag:
    start: int
    end: int
    name: str
    closing: bool


def is_custom_tag(name: str) -> bool:
    """True for a tag name that is not an HTML element (``system-reminder``, ``returncode``, ``x:y``...)."""
    return name.lower() not in HTML_TAGS


def _scan(text: str) -> list[_Tag]:
    tags: list[_Tag] = []
    for m in TAG_RE.finditer(text):
        attrs = m.group(3)
        if attrs.endswith("/"):
            continue  # self-closing: nothing inside to protect, and often JSX/generics in code
        tags.append(_Tag(m.start(), m.end(), m.group(2), m.group(1) == "/"))
    return tags


def _pairs(tags: Iterable[_Tag]) -> list[tuple[_Tag, _Tag]]:
    """Open/close pairs by name; a close tag pops any unclosed tags above its opener; strays are ignored."""
    stack: list[_Tag] = []
    pairs: list[tuple[_Tag, _Tag]] = []
    for tag in tags:
        if not tag.closing:
            stack.append(tag)
            continue
        for depth in range(len(stack) - 1, max(-1, len(stack) - 65), -1):
            if stack[depth].name == tag.name:
                pairs.append((stack[depth], tag))
                del stack[depth:]
                break
    return pairs


def _sentinels(text: str) -> tuple[str, str]:
    present = {ord(c) for c in _PUA_RE.findall(text)}
    free = (cp for cp in range(_PUA_FIRST, _PUA_LAST + 1) if cp not in present)
    return chr(next(free)), chr(next(free))


class TagProtector(Protector):
    """Keeps tagged blocks intact through every compressor.

    Options: ``tags`` (blocks kept whole), ``inside`` (only the tags are kept; the content may be
    compressed), ``custom`` (also keep any other non-HTML tag pair whole, up to ``max_block_chars``; larger
    custom blocks keep their tags only).
    """

    name = "tags"

    tags: list[str] = Field(default_factory=lambda: list(DEFAULT_TAGS))
    inside: list[str] = Field(default_factory=lambda: list(DEFAULT_INSIDE))
    custom: bool = True
    max_block_chars: int = Field(2000, ge=0)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The protected (start, end) spans of ``text``, sorted and disjoint."""
        if "<" not in text:
            return []
        whole, inside = set(self.tags), set(self.inside)
        found: list[tuple[int, int]] = []
        for open_, close in _pairs(_scan(text)):
            name = open_.name
            if name in whole:
                found.append((open_.start, close.end))
            elif name in inside or (self.custom and is_custom_tag(name)):
                if name not in inside and close.end - open_.start <= self.max_block_chars:
                    found.append((open_.start, close.end))
                else:
                    found.append((open_.start, open_.end))
                    found.append((close.start, close.end))
        found.sort()
        disjoint: list[tuple[int, int]] = []
        for start, end in found:
            if disjoint and start < disjoint[-1][1]:
                continue  # nested in a block already kept whole
            disjoint.append((start, end))
        return disjoint

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
        pattern = re.compile(re.escape(first) + "([0-9]+)" + re.escape(last))

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


def _identity(text: str) -> str | None:
    return text


__all__ = ["HTML_TAGS", "PLACEHOLDER_RE", "TAG_RE", "TagProtector", "is_custom_tag"]
