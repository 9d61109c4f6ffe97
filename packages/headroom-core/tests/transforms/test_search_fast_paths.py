"""search.py's fast paths against the plain computations they replace: scoring when the query's words are on
many lines (dense terms, shared and distinct paths, terms in paths), the rewritten regexes, and parse."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.transforms.search import (
    BARE_RE,
    BM25,
    DEFINITION_RE,
    ERROR_RE,
    MATCH_RE,
    NL_VIEW_RE,
    STOPWORDS,
    _looks_like_path,
    _may_look_like_search,
    _plausible_path,
    _score_lines,
    identifiers,
    parse,
    path_and_text,
    score_lines,
    terms,
    whole_words,
)
from headroom.transforms.tags import has_placeholder

# the patterns as they were before the fast paths (lazy or backtracking spaces, a multi-line scan)
OLD_DEFINITION_RE = re.compile(DEFINITION_RE.pattern.replace(r"\s*+", r"\s*").replace(r"\s++", r"\s+"))
OLD_MATCH_RE = re.compile(MATCH_RE.pattern.replace("{1,512}+", "{1,512}?"))
OLD_MAYBE_STRUCTURED = re.compile(r"^(?:\d|[^\n:\-/\\.]*+[:\-/\\.])", re.M)


def old_whole_words(words: set[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])(?:" + "|".join(map(re.escape, sorted(words))) + r")(?![\w])")


def reference_line_scores(paths: list[str], texts: list[str], query_text: str, request: str) -> list[float]:
    """One BM25 term counter per line over ``path text``, and each pattern run per line."""
    bm25 = BM25([terms(f"{p} {t}") for p, t in zip(paths, texts, strict=True)])
    query = [t for t in terms(f"{query_text} {request}") if t not in STOPWORDS]
    idents = identifiers(request) | identifiers(query_text)
    ident_re = old_whole_words(idents) if idents else None
    scores: list[float] = []
    for i, text in enumerate(texts):
        s = bm25.score(query, i)
        hits = set(ident_re.findall(text)) if ident_re else set()
        s += 4.0 * len(hits)
        if OLD_DEFINITION_RE.match(text) is not None:
            s += 2.0 + (6.0 if hits else 0.0)
        if ERROR_RE.search(text):
            s += 1.5
        scores.append(s)
    return scores


WORDS = [
    "compute_value", "computeValue", "value", "Value", "VALUE", "HTTPServer", "http", "server", "x5", "x50",
    "5", "55", "src", "def", "class", "pub", "  ", "\t", "error", "ValueError", "raise", "__", "_x", "a_",
    "value_value", "données", "\u0663\u0664", "(", ")", ".", ":", "=", "#", "-", "/", "a" * 105, "7" * 25,
]  # fmt: skip
PATHS = ["src/a.py", "src/compute_value.py", "lib/HTTPServer.java", "", "x5", "src/value/value_value.rs"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(
        st.tuples(st.sampled_from(PATHS), st.lists(st.sampled_from(WORDS), max_size=10)),
        min_size=1,
        max_size=40,
    ),
    common=st.lists(st.sampled_from(WORDS), max_size=3),
    query=st.lists(st.sampled_from([*WORDS, "why", "where is `compute_value`", "src value"]), max_size=5),
    distinct_paths=st.booleans(),
)
def test_score_lines_equals_the_per_line_reference(
    lines: list[tuple[str, list[str]]], common: list[str], query: list[str], distinct_paths: bool
) -> None:
    # ``common`` words go on every line: terms that every document holds take the dense path
    paths = [f"{p}{i}" if distinct_paths else p for i, (p, _) in enumerate(lines)]
    texts = [" ".join([*words, *common]) for _, words in lines]
    request = " ".join(query)
    for tool_input in ("", "rg -n compute_value src", "grep -rn value"):
        expected = reference_line_scores(paths, texts, tool_input, request)
        assert score_lines(paths, texts, tool_input, request) == expected
        _, defines = _score_lines(paths, texts, tool_input, request)
        assert defines == [i for i, t in enumerate(texts) if OLD_DEFINITION_RE.match(t)]


GREEK = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "x", "y", "z", "w"]


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.lists(st.sampled_from(GREEK), min_size=1, max_size=9), min_size=2, max_size=12),
    query=st.lists(st.sampled_from(GREEK[:8]), min_size=3, max_size=6, unique=True),
)
def test_each_line_sums_its_terms_in_bm25s_order(texts: list[list[str]], query: list[str]) -> None:
    # many query terms per line, of varied weights: a sum in another order differs in the last bits
    lines = [" ".join(t) for t in texts]
    paths = ["p"] * len(lines)
    request = " ".join(query)
    assert score_lines(paths, lines, "", request) == reference_line_scores(paths, lines, "", request)


def test_a_query_on_every_line_of_a_large_output_equals_the_reference() -> None:
    paths = [f"src/pkg/mod{i % 300}.py" for i in range(3000)]
    texts = [
        f"    value = compute_value(x{i}, y)  # {i}" + (" value" if i % 7 == 0 else "") for i in range(3000)
    ]
    asks = (
        ('{"command": "grep -rn compute_value src"}', "where is compute_value called with x5?"),
        ("", "x5"),
    )
    for tool_input, request in asks:
        fast = score_lines(paths, texts, tool_input, request)
        assert fast == reference_line_scores(paths, texts, tool_input, request)
    assert len(set(fast)) > 1


def test_a_line_holding_a_break_is_scored_as_the_reference() -> None:
    # not search output (a parsed line never holds one), but the result stays exact
    paths, texts = ["a\nb", "c", "a\nb"], ["value x", "value\nvalue", "y"]
    assert score_lines(paths, texts, "", "value") == reference_line_scores(paths, texts, "", "value")


LINE_PIECES = [
    " ", "  ", "\t", "export ", "pub ", "pub(crate) ", "static ", "async ", "def", "class", "fn", "type", "x",
    "(", ":", "-", "/", "\\", ".", "1", "C:\\", "src/a.py", ":12:", ":3:4:", "-12-", "é", "\u017f",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.sampled_from(LINE_PIECES), max_size=14))
def test_the_rewritten_patterns_match_as_before(pieces: list[str]) -> None:
    line = "".join(pieces)
    assert bool(DEFINITION_RE.match(line)) == bool(OLD_DEFINITION_RE.match(line))
    for new, old in ((MATCH_RE.fullmatch(line), OLD_MATCH_RE.fullmatch(line)), (MATCH_RE.match(line), None)):
        if old is None:
            old = OLD_MATCH_RE.match(line)
        assert (new and new.groupdict()) == (old and old.groupdict())
    words = {w for w in re.findall(r"\w+", line) if len(w) > 1} or {"x"}
    pattern = whole_words(words)
    assert pattern is not None
    assert [m.span() for m in pattern.finditer(line)] == [
        m.span() for m in old_whole_words(words).finditer(line)
    ]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.text(st.sampled_from("ab1:-/.\\ \t"), max_size=8), min_size=1, max_size=30))
def test_the_per_line_structure_bound_counts_as_the_multiline_scan(lines: list[str]) -> None:
    text = "\n".join(lines)
    counted = len(lines) - lines.count("") - lines.count("--")
    possible = len(OLD_MAYBE_STRUCTURED.findall(text))
    for k in (1, 3, 5):
        expected = counted > 0 and possible >= k and possible / counted >= 0.6
        assert _may_look_like_search(text, k) == expected


def reference_parse(text: str, allow_bare: bool) -> tuple[list[tuple[int, str | None, str, str]], bool, bool]:
    """parse as it was: one pass, then every entry walked backwards; (entries, heading mode, separated)."""
    lines = text.split("\n")
    entries: list[tuple[int, str | None, str, str]] = []
    current: str | None = None
    heading: str | None = None
    heading_mode = False
    for i, line in enumerate(lines):
        if not line:
            entries.append((i, None, "sep", ""))
            heading = None
            continue
        if line == "--" or has_placeholder(line):
            entries.append((i, None, "sep" if line == "--" else "other", ""))
            continue
        if NL_VIEW_RE.match(line):
            entries.append((i, None, "other", ""))
            continue
        bare = BARE_RE.fullmatch(line)
        if bare and (heading is not None or allow_bare):
            entries.append((i, heading or "", "match" if bare["sep"] == ":" else "context", bare["text"]))
            continue
        m = OLD_MATCH_RE.fullmatch(line)
        if m and _plausible_path(m["path"]):
            current = m["path"]
            entries.append((i, current, "match", m["text"]))
            continue
        if current is not None and line.startswith(current + "-"):
            rest = BARE_RE.fullmatch(line[len(current) + 1 :])
            if rest and rest["sep"] == "-":
                entries.append((i, current, "context", rest["text"]))
                continue
        if allow_bare and (found := path_and_text(line)) is not None:
            current = found[0]
            entries.append((i, current, "match", found[1]))
            continue
        if _looks_like_path(line) and i + 1 < len(lines) and BARE_RE.match(lines[i + 1]):
            heading = line
            heading_mode = True
            entries.append((i, line, "heading", ""))
            continue
        entries.append((i, None, "other", ""))
    for k in range(len(entries) - 1, -1, -1):
        idx, _, kind, _ = entries[k]
        nxt = entries[k + 1][1] if k + 1 < len(entries) else None
        if kind == "other" and nxt and lines[idx].startswith(nxt + "-"):
            rest = BARE_RE.fullmatch(lines[idx][len(nxt) + 1 :])
            if rest and rest["sep"] == "-":
                entries[k] = (idx, nxt, "context", rest["text"])
    separated = not heading_mode and any(lines[e[0]] == "--" for e in entries if e[2] == "sep")
    return entries, heading_mode, separated


SEARCH_LINES = [
    "src/a.py:12:    x = 1", "src/a.py-13-    y = 2", "src/a.py-11-    w = 0", "src/b.py-4-ctx", "--", "",
    "12:bare match", "13-bare context", "src/b.py", "plain words only", "    def f():", "C:\\x\\y.cs:3:z",
    "2025-03-14T09:12:00 log", "a b:1:c", "  7\tview line", "src/b.py:4:x", "src/c.py:    no number",
    "src/c.py-    no number either", "PATH=/usr/bin:/bin", "src/c.py:12",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.sampled_from(SEARCH_LINES), min_size=1, max_size=40), allow_bare=st.booleans())
def test_parse_equals_the_two_pass_reference(lines: list[str], allow_bare: bool) -> None:
    text = "\n".join(lines)
    parsed = parse(text, allow_bare=allow_bare)
    entries, heading_mode, separated = reference_parse(text, allow_bare)
    assert [(e.index, e.path, e.kind, e.text) for e in parsed.entries] == entries
    assert parsed.matches == [e for e in parsed.entries if e.kind == "match"]
    assert (parsed.heading_mode, parsed.separated) == (heading_mode, separated)
