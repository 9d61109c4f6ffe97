"""Small helpers the compressors share: request terms, marker lines, line templates.

Every regular expression here is linear: no nested or overlapping quantifiers that can backtrack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence

from headroom.engine.caches import content_cache
from headroom.engine.units import Unit
from headroom.transforms.markers import marker

_QUOTED = re.compile(r"'([^'\n]{2,200})'|\"([^\"\n]{2,200})\"|`([^`\n]{2,200})`")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{2,80}")

# Masks for line templates, applied in order. Each starts with a character class, so the regex engine skips
# at C speed to the next position that can start a match, and each attempt there stops at a word start (a
# lookbehind for the ``\b`` in front) or after one run of digits or hex digits: linear.
# They equal ``\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b``,
# ``\b(?:0[xX][0-9a-fA-F]+|(?=[0-9a-fA-F]{8,}\b)[0-9]*[a-fA-F][0-9a-fA-F]*)\b``,
# ``\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`` and ``-?\d+`` with the first character taken out of each:
# ``\b`` before a word character is ``(?<!\w)``, checked once that character is read.
_UUID = re.compile(
    r"[0-9a-fA-F](?<!\w[0-9a-fA-F])[0-9a-fA-F]{7}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_HEX = re.compile(
    r"[0-9a-fA-F](?<!\w[0-9a-fA-F])(?:(?<=0)[xX][0-9a-fA-F]+"
    r"|(?=[0-9a-fA-F]{7,}\b)(?:(?<=[a-fA-F])[0-9a-fA-F]*|(?<=[0-9])[0-9]*[a-fA-F][0-9a-fA-F]*))\b"
)
_IP = re.compile(r"\d(?<!\w\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")
_NUM = re.compile(r"[-\d](?:(?<=-)\d+|(?<!-)\d*)")
_SPACE = re.compile(r"[ \t]+")
# Every ASCII character has an entry and none is deleted ("-" is removed by str.replace first): str.translate
# then stays on its ASCII fast path (a deletion or a missing key would leave it for a per-character lookup).
_DIGITS = str.maketrans({chr(c): chr(c) for c in range(128)} | dict.fromkeys("123456789", "0"))
_DIGIT_RUN = re.compile("00+")
DIGIT_CLASS = str.maketrans({chr(c): chr(c) for c in range(128)} | dict.fromkeys("23456789", "1"))
"""ASCII digits 2-9 -> ``1`` (``0`` stays: ``0x`` starts a hex id), every other ASCII character to itself (so
``str.translate`` stays on its ASCII fast path). Texts equal under this map mask equally."""

_DETAIL_MAX = 160


def request_terms(unit: Unit) -> list[str]:
    """Phrases the user or the tool call named: quoted strings and string values of the tool input.

    Lower-cased, deduplicated, in first-seen order.
    """
    return list(terms_of(unit.context.user_request, unit.context.tool_input))


def request_ids(unit: Unit) -> list[str]:
    """Id-like words of the user's request (a digit in them, at least six characters: block ids, request
    ids, IPs, hashes), lower-cased, in first-seen order. Found by splitting, not by a regex."""
    return list(_ids(unit.context.user_request))


def request_identifiers(unit: Unit) -> set[str]:
    """Identifier-like words (3+ chars) in the user's request and the quoted terms."""
    return set(identifiers_of(unit.context.user_request, unit.context.tool_input))


# The request-derived word lists below are pure functions of the context strings, which every part of every
# unit of a request shares: cached by value (thread-safe, no per-request state), each request computes them
# once instead of once per part.


@content_cache(64)
def _quoted(user_request: str) -> tuple[str, ...]:
    """The quoted phrases of a request, in order: one scan per request, not per tool call."""
    return tuple(m.group(1) or m.group(2) or m.group(3) or "" for m in _QUOTED.finditer(user_request))


@content_cache(64)
def _request_words(user_request: str) -> frozenset[str]:
    """The identifier-like words of a request: one scan per request, not per tool call."""
    return frozenset(_IDENT.findall(user_request))


@content_cache(256)
def terms_of(user_request: str | None, tool_input: str | None) -> tuple[str, ...]:
    """:func:`request_terms` from the request and the tool input themselves (cached)."""
    found: list[str] = list(_quoted(user_request)) if user_request else []
    if tool_input:
        try:
            args = json.loads(tool_input)
        except ValueError:
            args = None
        if isinstance(args, dict):
            found.extend(v for v in args.values() if isinstance(v, str) and len(v) <= 200)
    seen: dict[str, None] = {}
    for term in found:
        term = term.strip().lower()
        if len(term) >= 2:
            seen.setdefault(term, None)
    return tuple(seen)


@content_cache(256)
def _ids(user_request: str | None) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for word in (user_request or "")[:20_000].split():
        if len(word) < 6 or word.isalpha():  # stripping only shortens it; a letter is never a digit
            continue
        word = word.strip(".,;:!?()[]{}<>'\"`").lower()
        if len(word) >= 6 and any(map(str.isdigit, word)):
            found.setdefault(word, None)
    return tuple(found)


@content_cache(256)
def identifiers_of(user_request: str | None, tool_input: str | None) -> frozenset[str]:
    """:func:`request_identifiers` from the request and the tool input themselves (cached)."""
    words: set[str] = set(_request_words(user_request)) if user_request else set()
    for term in terms_of(user_request, tool_input):
        words.update(_IDENT.findall(term))
    return frozenset(words)


def mask_variables(text: str) -> str:
    """``text`` with uuids, hex ids, IPs and numbers masked and runs of blanks made one space. A mask that
    cannot match (no ``-`` for a uuid, no ``.`` for an IP, no double blank or tab) is not run."""
    if "-" in text:
        text = _UUID.sub("<id>", text)
    text = _HEX.sub("<hex>", text)
    if "." in text:
        text = _IP.sub("<ip>", text)
    text = _NUM.sub("<n>", text)
    return _SPACE.sub(" ", text) if "  " in text or "\t" in text else text


def template(line: str) -> str:
    """The line with its variable parts masked: uuids, hex ids, IPs and numbers."""
    return mask_variables(line).strip()


def templates(lines: Sequence[str]) -> list[str]:
    """:func:`template` of each of ``lines`` (none holding a newline), masked as one block: no mask spans a
    line break or sees past one, so this is the same, with one regex pass per mask instead of one per line.

    Lines equal but for their digits 2-9 (``fd=3`` and ``fd=4``) mask equally: the masks tell digits apart
    only from ``0`` (``0x``), and every digit ends up masked. So each distinct such form is masked once."""
    if not lines:
        return []
    forms = "\n".join(lines).translate(DIGIT_CLASS).split("\n")
    distinct = list(dict.fromkeys(forms))
    masked = dict(zip(distinct, mask_variables("\n".join(distinct)).split("\n"), strict=True))
    return [masked[form].strip() for form in forms]


def line_keys(text: str) -> list[str]:
    """A cheap grouping key for every line of ``text`` (split on ``\\n``): digit runs become one ``0``
    and ``-`` is dropped (so ``blk_-12`` and ``blk_34`` agree). C-speed passes only."""
    if len(text) >= _BYTES_KEYS_MIN and text.isascii():
        keys = _ascii_line_keys(text)
        if keys is not None:
            return keys
    return _DIGIT_RUN.sub("0", text.replace("-", "").translate(_DIGITS)).split("\n")


_BYTES_KEYS_MIN = 8192
"""Shorter texts take the regex path: its fixed cost is lower."""
_BLANKS = b" \t\n\r\x0b\x0c"
"""The bytes ``bytes.split()`` splits on."""
_STAND_INS = bytes([*range(0x09), *range(0x0E, 0x20), 0x7F])
"""Control bytes that ``bytes.split()`` does not split on: stand-ins for the blanks of a text."""
_NOT_STAND_INS = bytes(sorted(set(range(256)) - set(_STAND_INS)))


def _ascii_line_keys(text: str) -> list[str] | None:
    """:func:`line_keys` of ASCII ``text``, or None when it holds too many control bytes for the trick.

    The blanks become control bytes the text does not hold and the digits become spaces, in one
    ``bytes.translate`` (which drops ``-`` too); ``bytes.split`` and ``join`` then make each digit run one
    space (a C loop over the runs, not one regex match per run), and a second translate turns the spaces
    into ``0`` and the stand-ins back into the blanks they stand for."""
    data = text.encode("ascii")
    held = set(data.translate(None, _NOT_STAND_INS))  # the control bytes the text holds: usually none
    stand_ins = bytes(c for c in _STAND_INS if c not in held)[: len(_BLANKS)]
    if len(stand_ins) < len(_BLANKS):
        return None
    there = bytes.maketrans(_BLANKS + b"0123456789", stand_ins + b" " * 10)
    runs = b" ".join((b"_" + data.translate(there, b"-") + b"_").split())[1:-1]  # "_": keep the ends
    back = bytes.maketrans(stand_ins + b" ", _BLANKS + b"0")
    return runs.translate(back).decode("ascii").split("\n")


def detail_text(parts: Iterable[str], limit: int = _DETAIL_MAX) -> str:
    """Join detail parts for a marker: one line, no ``|`` (which ends the detail), at most ``limit`` chars."""
    text = ", ".join(parts).replace("|", "¦")
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


def quote_template(tpl: str, limit: int = 90) -> str:
    """A template shown in a marker detail: quoted, shortened."""
    if len(tpl) > limit:
        tpl = tpl[: limit - 3].rstrip() + "..."
    return '"' + tpl.replace('"', "'") + '"'


def runs(keep: Sequence[int]) -> Iterator[tuple[bool, int, int]]:
    """``(kept, start, end)`` for each maximal run of equal flags in ``keep``, in order."""
    n = len(keep)
    i = 0
    while i < n:
        flag = bool(keep[i])
        j = i + 1
        while j < n and bool(keep[j]) == flag:
            j += 1
        yield flag, i, j
        i = j


def omitted(unit: Unit, counts: Sequence[tuple[int, str]], detail: str | None = None) -> str:
    """A marker line for ``unit`` (the one grammar)."""
    return marker(counts, unit.ref, detail or None)


def worth_it(unit: Unit, original: str, compressed: str, min_saving: float) -> bool:
    """True when ``compressed`` saves at least ``min_saving`` of the tokens of ``original``."""
    if compressed == original:
        return False
    before = unit.count_tokens(original)
    if before <= 0:
        return False
    return unit.count_tokens(compressed) <= before * (1 - min_saving)
