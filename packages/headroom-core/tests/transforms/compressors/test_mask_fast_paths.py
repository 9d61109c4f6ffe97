"""The shared masks' fast paths equal their plain forms (kept here verbatim as references)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors import _util, testrun

# characters the masks care about: digits, hex letters, separators, blanks, non-ASCII digits and letters
ALPHABET = "0123456789abcdefABCDEFxXgz-._:/ \t\n\r,()\u00e9\u00b2\u0663"
TEXTS = st.text(alphabet=ALPHABET, max_size=80)

_REF_DIGITS = str.maketrans(dict.fromkeys("0123456789", "0") | {"-": None})


_REF_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_REF_HEX = re.compile(r"\b(?:0[xX][0-9a-fA-F]+|(?=[0-9a-fA-F]{8,}\b)[0-9]*[a-fA-F][0-9a-fA-F]*)\b")
_REF_IP = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")
_REF_NUM = re.compile(r"-?\d+")
REFERENCES = {"_UUID": _REF_UUID, "_HEX": _REF_HEX, "_IP": _REF_IP, "_NUM": _REF_NUM}


def reference_mask(text: str) -> str:
    """The previous mask_variables: every mask run, in order, with the masks in their plain forms."""
    text = _REF_UUID.sub("<id>", text)
    text = _REF_HEX.sub("<hex>", text)
    text = _REF_IP.sub("<ip>", text)
    text = _REF_NUM.sub("<n>", text)
    return re.sub(r"[ \t]+", " ", text)


def reference_ids(user_request: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for word in user_request[:20_000].split():
        word = word.strip(".,;:!?()[]{}<>'\"`").lower()
        if len(word) >= 6 and any(map(str.isdigit, word)):
            found.setdefault(word, None)
    return tuple(found)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_mask_variables_equals_every_mask_run(text: str) -> None:
    assert _util.mask_variables(text) == reference_mask(text)


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(sorted(REFERENCES)), st.text(alphabet=ALPHABET, max_size=60))
def test_each_mask_matches_where_its_plain_form_does(name: str, text: str) -> None:
    fast = getattr(_util, name)
    assert [m.span() for m in fast.finditer(text)] == [m.span() for m in REFERENCES[name].finditer(text)]


ADVERSARIAL = [
    "a" * 50_000 + "g",
    "0" * 50_000 + "x",
    "0x" * 25_000,
    "1." * 50_000,
    "-" * 50_000 + "1",
    "-1" * 50_000,
    ("deadbeef-" * 6_000) + "z",
    ("12345678-1234-1234-1234-" * 2_000) + "1234567890ab",
    "\u0663" * 30_000 + "a1" * 10_000,
]


def test_masks_are_linear_on_adversarial_input() -> None:
    """Long runs that start or almost complete a match everywhere: each mask still answers as its plain form
    (a backtracking mask would not finish here)."""
    for text in ADVERSARIAL:
        for name, reference in REFERENCES.items():
            fast = getattr(_util, name)
            assert fast.sub("<>", text) == reference.sub("<>", text), name
        assert _util.mask_variables(text) == reference_mask(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet=ALPHABET.replace("\n", ""), max_size=40), max_size=8))
def test_templates_equal_one_template_per_line(lines: list[str]) -> None:
    assert _util.templates(lines) == [_util.template(line) for line in lines]


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_line_keys_equal_the_deleting_translation(text: str) -> None:
    assert _util.line_keys(text) == re.sub("00+", "0", text.translate(_REF_DIGITS)).split("\n")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET + "abcdefghij" * 3, max_size=120))
def test_request_ids_skip_only_words_without_digits(text: str) -> None:
    assert _util._ids.__wrapped__(text) == reference_ids(text)


def test_warnings_in_masks_each_message_alone() -> None:
    lines = [
        "tests/a.py:12: ResourceWarning: unclosed file <_io.TextIOWrapper name=3 at 0x7f00aa>",
        "  f = open(p)",
        "tests/b.py:7: DeprecationWarning: call 12 took 1.5s on 10.0.0.1",
        "no warning here",
        "tests/c.py:1: UserWarning: id 123e4567-e89b-12d3-a456-426614174000  done",
    ]
    found = testrun._warnings_in(lines)
    assert sorted(found) == [0, 2, 4]
    for i, (match, (category, tpl)) in found.items():
        assert category == match.group(4)
        assert tpl == _util.template(lines[i][match.end() :])
    assert testrun._warnings_in(["plain", "text"]) == {}


ASCII_KEYS = "0123456789-_ab \t\n\r\x0b\x0c\x00\x01\x1c\x1f\x7f."


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=ASCII_KEYS, max_size=120))
def test_ascii_line_keys_equal_the_regex_keys(text: str) -> None:
    """The bytes path (blanks stood in for, digit runs joined by split) equals the regex path."""
    expected = re.sub("00+", "0", text.translate(_REF_DIGITS)).split("\n")
    assert _util._ascii_line_keys(text) == expected
    assert _util.line_keys(text * (_util._BYTES_KEYS_MIN // max(1, len(text)) + 1)) == re.sub(
        "00+", "0", (text * (_util._BYTES_KEYS_MIN // max(1, len(text)) + 1)).translate(_REF_DIGITS)
    ).split("\n")


def test_ascii_line_keys_give_way_when_every_stand_in_is_taken() -> None:
    text = "".join(map(chr, _util._STAND_INS)) + " 12-3 x\n0 0\t7"
    assert _util._ascii_line_keys(text) is None
    big = text * 1000
    assert _util.line_keys(big) == re.sub("00+", "0", big.translate(_REF_DIGITS)).split("\n")
