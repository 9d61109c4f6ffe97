"""Per-request counting: the pieces tiktoken counts separately add up to the count of the whole text."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.engine import tokens

# Characters where tiktoken's pre-tokenizer is subtle: newlines, other blanks, "/" (punctuation pieces take
# trailing newlines and slashes), contractions, digits, other scripts, Unicode spaces.
ALPHABET = ["a", "B", "1", " ", "  ", "\t", "\n", "\n\n", "\r\n", "/", ".", "'s", ":", "\u00a0", "\u3000"]
ALPHABET += ["\u00e9", "\u4e2d", "\x1c", "\x85", "=", "-", "#", "<x>", "def ", "    ", "\n/", "\n "]


def _tiktoken() -> tokens.TiktokenCounter:
    counter = tokens.get_token_counter("o200k_base")
    if not isinstance(counter, tokens.TiktokenCounter):
        pytest.skip("no o200k_base file on this machine (install litellm to get one)")
    return counter


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=300))
def test_pieces_add_up_to_the_whole(chunks: list[str]) -> None:
    counter = _tiktoken()
    text = "".join(chunks)
    every, tokens._PIECE_LINES = tokens._PIECE_LINES, 0  # cut at every place allowed
    try:
        pieces = tokens.counting_pieces(text)
    finally:
        tokens._PIECE_LINES = every
    assert "".join(pieces) == text
    assert sum(counter.count(p) for p in pieces) == counter.count(text)


def test_pieces_add_up_on_the_corpus(corpus: list[dict[str, Any]]) -> None:
    from headroom.engine.codecs import EXTRACTORS, detect_format
    from headroom.proxy.config import ProxyConfig

    counter = _tiktoken()
    config = ProxyConfig()
    cut = 0
    for case in corpus:
        fmt = detect_format(case["body"], case["path"])
        assert fmt is not None
        for slot in EXTRACTORS[fmt](case["body"], config.pasted_output_tags, config.pasted_output_min_chars):
            pieces = tokens.counting_pieces(slot.text)
            cut += len(pieces) - 1
            assert sum(counter.count(p) for p in pieces) == counter.count(slot.text)
    assert cut > 1000  # the texts were really cut


def test_request_counter_matches_the_counter() -> None:
    inner = _tiktoken()
    sampled = tokens.SampledCounter(inner, exact_chars=2000, sample_chars=300)
    text = "".join(f"line {i}: status=ok path=/a/b/{i}\n  detail {i * 3}\n" for i in range(400))
    for counter in (inner, sampled, tokens.SampledCounter(tokens.EstimatingCounter())):
        count = tokens.request_counter(counter)
        for sample in (text, text[:1500], text[:1500] + "tail", "", "x"):
            assert count(sample) == counter.count(sample)
            assert count(sample) == counter.count(sample)  # remembered
