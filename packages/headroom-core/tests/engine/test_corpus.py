"""Every dev-corpus case goes through the default engine and comes out valid with its structure unchanged."""

from __future__ import annotations

import json
from typing import Any

from headroom.engine import Engine
from headroom.engine.codecs import EXTRACTORS, apply_values
from headroom.engine.tokens import EstimatingCounter, get_token_counter, word_floor
from headroom.proxy.config import ProxyConfig


def test_every_case_keeps_its_structure(corpus: list[dict[str, Any]]) -> None:
    engine = Engine(ProxyConfig())
    for case in corpus:
        raw = json.dumps(case["body"]).encode()
        result = engine.compress(raw, path=case["path"])
        assert not result.errors, (case["id"], result.errors)
        out = json.loads(result.body)
        assert result.format is not None
        slots = EXTRACTORS[result.format](
            case["body"], engine.config.pasted_output_tags, engine.config.pasted_output_min_chars
        )
        # Only unit texts may differ: putting the originals back restores the body exactly, so roles, ids,
        # system prompts, tool definitions and what a person wrote are all unchanged.
        assert apply_values(out, {s.path: s.text for s in slots}) == case["body"], case["id"]
        if case["kind"] == "small":
            assert result.body is raw, case["id"]


def test_every_case_finds_units_in_each_wire_format(corpus: list[dict[str, Any]]) -> None:
    engine = Engine(ProxyConfig())
    by_session: dict[str, set[int]] = {}
    for case in corpus:
        if case["kind"] == "small":
            continue
        result = engine.compress_json(case["body"], path=case["path"])
        assert result.units > 0, case["id"]
        if case["kind"] == "trajectory" and not case["id"].startswith("traj-native"):
            by_session.setdefault(case["id"].split("/", 1)[1], set()).add(result.units)
    # The same session in the three tool-call formats has the same number of tool outputs.
    assert by_session
    assert all(len(counts) == 1 for counts in by_session.values())


def test_the_word_floor_never_exceeds_a_real_count_of_any_corpus_string(corpus: list[dict[str, Any]]) -> None:
    texts: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            texts.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for case in corpus:
        walk(case["body"])
    counters = [get_token_counter(name) for name in ("o200k_base", "cl100k_base")]
    counters = [c for c in counters if c.exact] + [EstimatingCounter()]
    for counter in counters:
        for text in texts:
            if not any(separator in text for separator in "\x1c\x1d\x1e\x1f"):
                assert word_floor(text) <= counter.count(text), (counter.name, text[:80])
