"""Token counting: tiktoken only from files already on disk, else the estimator."""

from __future__ import annotations

from pathlib import Path

import pytest

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
