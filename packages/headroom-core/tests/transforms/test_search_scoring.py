"""score_matches / parse fast paths: equal, to the bit, to the plain per-match computation they replace."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.transforms.search import (
    BM25,
    DEFINITION_RE,
    ERROR_RE,
    STOPWORDS,
    Parsed,
    _may_look_like_search,
    identifiers,
    looks_like_search,
    parse,
    score_matches,
    terms,
)


def reference_scores(parsed: Parsed, query_text: str, request: str) -> list[float]:
    """The straightforward scoring: a BM25 term counter per match, each pattern run per match."""
    docs = [terms(f"{e.path or ''} {e.text}") for e in parsed.matches]
    bm25 = BM25(docs)
    query = [t for t in terms(f"{query_text} {request}") if t not in STOPWORDS]
    idents = identifiers(request) | identifiers(query_text)
    ident_re = (
        re.compile(r"(?<![\w])(?:" + "|".join(map(re.escape, sorted(idents))) + r")(?![\w])")
        if idents
        else None
    )
    scores: list[float] = []
    for i, e in enumerate(parsed.matches):
        s = bm25.score(query, i)
        hits = set(ident_re.findall(e.text)) if ident_re else set()
        s += 4.0 * len(hits)
        if DEFINITION_RE.match(e.text) is not None:
            s += 2.0 + (6.0 if hits else 0.0)
        if ERROR_RE.search(e.text):
            s += 1.5
        scores.append(s)
    return scores


WORDS = [
    "compute_value", "computeValue", "HTTPServer", "url_path_for", "def", "class", "error", "Errors",
    "ValueError", "raise", "FAILED", "x1", "42", "src", "pkg", "value", "\u017fegfault", "données", "ERROR",
    "fail", "assertEqual", "_private", "a" * 120, "é", "    ", "(", ")", ":", "=", "#", "-",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(["src/a.py", "src/pkg/b_mod.py", "lib/Http.java", "C:\\x\\y.cs"]),
            st.integers(1, 999),
            st.lists(st.sampled_from(WORDS), max_size=12),
        ),
        min_size=1,
        max_size=40,
    ),
    query=st.lists(st.sampled_from([*WORDS, "why", "grep -rn", "where is `computeValue`"]), max_size=5),
)
def test_score_matches_equals_the_per_match_reference(
    lines: list[tuple[str, int, list[str]]], query: list[str]
) -> None:
    text = "\n".join(f"{path}:{ln}:{' '.join(words)}" for path, ln, words in lines)
    parsed = parse(text)
    request = " ".join(query)
    for tool_input in ("", "rg -n compute_value src"):
        assert score_matches(parsed, tool_input, request) == reference_scores(parsed, tool_input, request)


def test_score_matches_on_a_large_output_equals_the_reference() -> None:
    text = "\n".join(
        f"src/pkg/mod{i % 30}.py:{i % 90 + 1}:    value = compute_value(x{i}, y)  #{' value' * (i % 4)} "
        + ("raise ValueError" if i % 17 == 0 else "def helper_fn():" if i % 23 == 0 else "call")
        for i in range(3000)
    )
    parsed = parse(text)
    asks = (("", "why?"), ("grep -rn compute_value src", "where is `helper_fn` defined? mod3"))
    for tool_input, request in asks:
        fast = score_matches(parsed, tool_input, request)
        assert fast == reference_scores(parsed, tool_input, request)
    assert len(set(fast)) > 6  # BM25 and the boosts vary: the comparison means something


SEARCH_LINES = [
    "src/a.py:12:    x = 1",
    "src/a.py-13-    y = 2",
    "--",
    "",
    "12:bare match",
    "13-bare context",
    "src/b.py",
    "plain words only",
    "E       assert 1 == 2",
    "tests/t.py:9: AssertionError",
    "    def f():",
    "a.b",
    "C:\\x\\y.cs:3:z",
]


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.sampled_from(SEARCH_LINES), min_size=1, max_size=60), allow_bare=st.booleans())
def test_the_cheap_bound_only_rejects_what_parse_rejects(lines: list[str], allow_bare: bool) -> None:
    text = "\n".join(lines)
    if not _may_look_like_search(text, 3):
        parsed = parse(text, allow_bare=allow_bare)
        assert len(parsed.matches) < 3 or not looks_like_search(parsed)
