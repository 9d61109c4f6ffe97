"""Token counting: tiktoken only from files already on disk, else the estimator."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.engine import tokens


def test_no_encoding_file_means_the_estimator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tokens, "_cache_dirs", lambda: [tmp_path])
    tokens.get_token_counter.cache_clear()
    try:
        counter = tokens.get_token_counter("o200k_base")
        assert not counter.exact
        assert counter.count("def foo(bar): return 42") > 0
    finally:
        tokens.get_token_counter.cache_clear()


def test_unknown_encoding_means_the_estimator() -> None:
    assert not tokens.get_token_counter("no_such_encoding").exact


def test_estimator_tracks_text_length() -> None:
    est = tokens.EstimatingCounter()
    short, long = est.count("error: file not found"), est.count("error: file not found\n" * 50)
    assert 3 <= short <= 8
    assert 45 * short <= long <= 65 * short


def test_exact_counter_when_the_file_is_on_disk() -> None:
    directory = tokens.encoding_cache_dir("o200k_base")
    if directory is None:
        pytest.skip("no o200k_base file on this machine (install litellm to get one)")
    counter = tokens.get_token_counter("o200k_base")
    assert counter.exact
    assert counter.count("hello world") == 2


@pytest.mark.parametrize("chunk", ["\n", " ", "=", "a", "_", "\u4e2d", "1", "=-", " \n"])
def test_estimator_is_linear_on_adversarial_runs(chunk: str) -> None:
    # 400k characters: a super-linear pattern would not finish within the test run; this one takes ~0.1 s.
    text = chunk * (400_000 // len(chunk))
    assert tokens.EstimatingCounter().count(text) > 0


def test_sampled_counter_is_exact_for_small_texts_and_close_for_large() -> None:
    inner = tokens.EstimatingCounter()
    sampled = tokens.SampledCounter(inner, exact_chars=1000, sample_chars=200)
    small = "word " * 100
    assert sampled.count(small) == inner.count(small)
    large = "".join(f"line {i}: value={i * 7} status=ok\n" for i in range(5000))
    assert abs(sampled.count(large) - inner.count(large)) / inner.count(large) < 0.05
    assert sampled.count(large) == sampled.count(large)  # fixed samples: deterministic


def test_sampled_count_follows_uneven_text() -> None:
    # prose at the start, middle and end, dense symbols between (one token per 6 chars vs per char): three
    # slices (start, middle, end: the old scheme) see only prose; sixteen spread slices see both
    prose, symbols = "lorem ipsum " * 2000, "=+-*/%" * 14000
    text = prose + symbols + prose + symbols + prose
    inner = tokens.EstimatingCounter()
    exact = inner.count(text)
    assert abs(tokens.sampled_count(inner.count, text) - exact) / exact < 0.1
    three = text[:16384] + text[len(text) // 2 : len(text) // 2 + 16384] + text[-16384:]
    assert abs(inner.count(three) * len(text) / len(three) - exact) / exact > 0.3


_BOUNDARY_CHARS = "ab Z19\n\n\n\r\t   //:.)(_-='s\u00a0\u2028\x85\x1c\x0b\x0c\u4e2d\u00e9"


def _counters() -> list[tokens.TokenCounter]:
    found: list[tokens.TokenCounter] = [tokens.EstimatingCounter()]
    for name in ("o200k_base", "cl100k_base"):
        if tokens.encoding_cache_dir(name) is not None:
            found.append(tokens.get_token_counter(name))
    return found


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=_BOUNDARY_CHARS, max_size=120))
def test_line_blocks_add_up_to_the_whole_count(text: str) -> None:
    for counter in _counters():
        blocks = tokens.line_blocks(text, counter.name)
        assert blocks is not None
        assert "".join(blocks) == text
        assert sum(counter.count(block) for block in blocks) == counter.count(text), counter.name


def test_line_blocks_cut_real_shapes_at_lines() -> None:
    view = "".join(f"{i:6}\t    return value_{i}\n" for i in range(1, 40))
    listing = "total 8\ndrwxr-xr-x 2 root root 4096 .\n/usr/lib:\n/usr/bin\n\n\nfoo\n"
    for counter in _counters():
        blocks = tokens.line_blocks(view, counter.name)
        assert blocks is not None
        # tiktoken's pieces never join a line to an indented next line; the estimator's "\n\s*" piece does
        assert len(blocks) == (39 if counter.exact else 1)
        cut = tokens.line_blocks(listing, counter.name)
        assert cut is not None
        assert sum(map(counter.count, cut)) == counter.count(listing)
    # p50k's pre-tokenizer joins a line break to the blanks after it: no cut is known
    assert tokens.line_blocks(view, "p50k_base") is None


class _Recording:
    name = "estimate"
    exact = False

    def __init__(self) -> None:
        self.seen: list[str] = []

    def count(self, text: str) -> int:
        self.seen.append(text)
        return tokens.EstimatingCounter().count(text)


def test_counting_once_tokenizes_each_distinct_line_once_and_keeps_the_totals() -> None:
    inner = _Recording()
    count = tokens.counting_once(tokens.SampledCounter(inner, exact_chars=4000), min_split_chars=64)
    original = "".join(f"line {i}: status={'ERROR' if i % 7 == 0 else 'ok'}\n" for i in range(60))
    kept = "".join(line for line in original.splitlines(keepends=True) if "ERROR" in line)
    rewritten = kept + "[... 51 lines omitted ...]\n"
    estimate = tokens.EstimatingCounter()
    assert count(original) == estimate.count(original)
    calls = len(inner.seen)
    assert calls == 60  # one call per line
    assert count(rewritten) == estimate.count(rewritten)
    assert inner.seen[calls:] == ["[... 51 lines omitted ...]\n"]  # the kept lines were known
    assert count(original) == estimate.count(original)
    assert len(inner.seen) == calls + 1
    big = "x = 1\n" * 1000  # over exact_chars: the sampled count, as without the cache
    assert count(big) == tokens.SampledCounter(estimate, exact_chars=4000).count(big)


_FLOOR_CHARS = "ab Z19\n\n\r\t  //;:.)(_-='s\u00a0\u2028\x85\x1c\x0b\u4e2d\u00e9"


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=_FLOOR_CHARS, max_size=120), threshold=st.integers(0, 80))
def test_at_least_is_a_lower_bound_that_decides_as_the_count_would(text: str, threshold: int) -> None:
    for counter in _counters():
        once = tokens.counting_once(tokens.SampledCounter(counter), min_split_chars=0)
        exact = counter.count(text)
        found, is_exact = once.at_least(text, lambda n: n >= threshold)
        if is_exact:
            assert found == exact, counter.name
        else:
            assert threshold <= found <= exact, counter.name
        assert once(text) == exact


def test_a_line_starting_with_a_slash_can_share_a_token_with_the_line_before() -> None:
    # o200k's punctuation piece takes the line breaks and slashes after it: four words, three tokens
    text = ";\n/\n/\n/"
    assert tokens.word_floor(text) <= min(counter.count(text) for counter in _counters())
    if tokens.encoding_cache_dir("o200k_base") is not None:
        assert len(text.split()) > tokens.get_token_counter("o200k_base").count(text)


def test_at_least_tokenizes_only_what_the_answer_needs() -> None:
    inner = _Recording()
    once = tokens.counting_once(tokens.SampledCounter(inner, exact_chars=4000), min_split_chars=64)
    lines = [f"line {i}: status=ok value={i * 7}\n" for i in range(60)]
    text = "".join(lines)
    once("".join(lines[:10]))  # a rewrite kept these: known
    seen = len(inner.seen)
    floor, exact = once.at_least(text, lambda n: n >= 200)
    assert not exact
    assert 200 <= floor <= tokens.EstimatingCounter().count(text)
    assert len(inner.seen) == seen  # the words of the other 50 lines were enough
    floor, exact = once.at_least(text, lambda n: n >= 10**6)  # never enough: the count itself
    assert (floor, exact) == (tokens.EstimatingCounter().count(text), True)
    assert once(text) == floor
    big = "x = 1\n" * 1000  # over exact_chars: the sample's words, scaled, else the sampled count
    assert once.at_least(big, lambda n: n >= 100) == (once.floor(big), False)
    assert once.at_least(big, lambda n: n >= 10**6) == (once(big), True)
    assert 100 <= once.floor(big) <= once(big)
    separated = "a\x1cb " * 200  # str.split takes \x1c for a blank, tokenizers do not: counted
    assert once.at_least(separated, lambda n: n >= 1) == (once(separated), True)


def _sparse_where_sampled(length: int = 200_000, samples: int = 16, sample_chars: int = 2048) -> str:
    """Words everywhere but in the slices a sampled count reads (blanks there): the sampled count is far
    below the words of the whole text."""
    chars = list("a " * (length // 2))
    step = (length - sample_chars) / (samples - 1)
    for i in range(samples):
        start = int(i * step)
        chars[start : start + sample_chars] = " " * (sample_chars - 1) + "\n"
    return "".join(chars)


def test_over_64_kib_the_floor_bounds_the_sampled_count_the_decision_uses() -> None:
    text = _sparse_where_sampled()
    for counter in _counters():
        sampled = tokens.SampledCounter(counter)
        counted = sampled.count(text)
        assert tokens.word_floor(text) > counted  # the whole text's words would overshoot
        once = tokens.counting_once(sampled)
        assert 0 <= once.floor(text) <= counted
        found, exact = once.at_least(text, lambda n, c=counted: n > c)  # "more than the count?": no
        assert (found, exact) == (counted, True)
