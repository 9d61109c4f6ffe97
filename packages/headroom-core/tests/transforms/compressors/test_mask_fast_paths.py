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


def reference_mask(text: str) -> str:
    """The previous mask_variables: every mask run, in order."""
    text = _util._UUID.sub("<id>", text)
    text = _util._HEX.sub("<hex>", text)
    text = _util._IP.sub("<ip>", text)
    text = _util._NUM.sub("<n>", text)
    return _util._SPACE.sub(" ", text)


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
