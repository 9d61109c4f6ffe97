"""ContentRouter: detection, routing of mixed output, dedupe against earlier units, decisions, properties."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.engine.units import Earlier, TextLog, Unit
from headroom.transforms import ContentRouter, TagProtector
from headroom.transforms import detect as detect_module
from headroom.transforms import router as router_module
from headroom.transforms.detect import ContentType, detect, sample
from headroom.transforms.markers import parse_markers

from .conftest import make_unit
from .test_tags import PYTEST_RUN, WRAPPED

LOG = "\n".join(
    f"081109 2036{i % 60:02d} {148 + i} INFO dfs.DataNode$PacketResponder: PacketResponder {i % 3} for block "
    f"blk_{1000 + i} terminating"
    for i in range(300)
)
LOG_WITH_ERROR = LOG + "\n081109 204000 999 ERROR dfs.DataNode: Disk failure on /data/7, volume lost\n" + LOG
GREP = "\n".join(f"src/m{f}.py:{k}:    value = handler_{f}(k)" for f in range(10) for k in range(1, 9))
VIEW = "\n".join(f"{n:6d}\t    x_{n} = compute(y_{n})  # step {n}" for n in range(1, 200))
CUT = json.dumps([{"id": i, "name": f"item{i}", "status": "ok"} for i in range(400)], indent=2)
DIFF = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n-a = 1\n+a = 2\n b = 3\n"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (json.dumps([{"name": f"n{i}", "value": i} for i in range(50)]), ContentType.JSON),
        (LOG, ContentType.LOGS),
        (GREP, ContentType.SEARCH),
        (VIEW, ContentType.CODE),
        (DIFF * 5, ContentType.DIFF),
        (PYTEST_RUN, ContentType.TESTS),
        ("The quick brown fox jumps over the lazy dog.\n" * 20, ContentType.TEXT),
        ("<!DOCTYPE html>\n<html><body>\n<div>x</div>\n</body></html>", ContentType.HTML),
        ("\n".join(f"| {i} | name{i} | {i * 3} |" for i in range(30)), ContentType.TABLE),
        (CUT[: CUT.rfind("\n", 0, len(CUT) // 2)], ContentType.CUT_JSON),
        (CUT[: CUT.rfind("\n", 0, len(CUT) // 2)] + "\n]", ContentType.JSON),  # closes: JSON's own test
        ("[notice] pip is old\n" + "\n".join(f"line {i} of text" for i in range(40)), ContentType.TEXT),
    ],
)
def test_detect(text: str, kind: ContentType) -> None:
    assert detect(text) == kind


def test_detect_reads_a_bounded_sample() -> None:
    huge = LOG * 200
    lines = sample(huge)
    assert len(lines) <= detect_module.SAMPLE_LINES
    assert all(len(line) <= detect_module.LINE_CHARS for line in lines)
    assert detect(huge) == ContentType.LOGS


def test_logs_are_compressed_and_the_error_line_kept() -> None:
    unit = make_unit(LOG_WITH_ERROR)
    decision = ContentRouter().route(unit)
    assert decision.text is not None
    assert decision.kind == "logs"
    assert "081109 204000 999 ERROR dfs.DataNode: Disk failure on /data/7, volume lost" in decision.text
    assert decision.tokens_after < decision.tokens_before * 0.5
    assert all(m.ref == unit.ref for m in parse_markers(decision.text))


def test_output_wrapper_around_pytest_is_routed_as_tests_with_the_wrapper_intact() -> None:
    unit = make_unit(WRAPPED, source="pasted")
    decision = ContentRouter().route(unit)
    assert decision.kind == "tests"
    assert decision.text is not None
    assert decision.text.startswith("<returncode>1</returncode>\n<output>\n")
    assert decision.text.endswith("\n</output>")
    for needle in (
        "FAILED tests/test_mod.py::test_broken - AssertionError: assert 1 == 2",
        "tests/test_mod.py:6: AssertionError",
    ):
        assert needle in decision.text
    # the same through the protector's placeholders
    protected, restore = TagProtector().protect(unit)
    routed = ContentRouter().route(make_unit(protected, source="pasted")).text
    assert routed is not None
    assert restore(routed) is not None


def test_search_output_routed_to_the_search_compressor() -> None:
    decision = ContentRouter().route(make_unit(GREP, user_request="where is handler_3 used?"))
    assert decision.kind == "search"
    assert decision.compressors == ["search"]


def test_dedupe_against_earlier_units_only() -> None:
    earlier = VIEW
    again = "<returncode>0</returncode>\n<output>\n" + VIEW + "\n</output>"
    alone = ContentRouter(routes={"code": "none"}).route(make_unit(again))
    assert alone.text is None  # nothing earlier: nothing to fold
    decision = ContentRouter(routes={"code": "none"}).route(make_unit(again, earlier=[earlier]))
    assert decision.text is not None
    assert decision.deduped_lines >= 190
    assert "repeated from earlier output" in decision.text
    routed, note = ContentRouter(routes={"code": "none"}).explain(make_unit(again, earlier=[earlier]))
    assert routed == decision.text
    assert note == "code:dedupe"  # the stats name each step once
    assert ContentRouter(dedupe=False).route(make_unit(again, earlier=[earlier])).deduped_lines == 0


def test_dedupe_never_folds_lines_an_earlier_lossy_unit_may_have_dropped() -> None:
    # search output is compressed by relevance, so a line repeated from it may not be readable there
    again = "<output>\n" + GREP + "\n</output>"
    decision = ContentRouter(routes={"search": "none"}).route(make_unit(again, earlier=[GREP]))
    assert decision.deduped_lines == 0
    # code is kept as it is by default, but not when the code compressor elides bodies
    routed = ContentRouter(routes={"code": "none"}).route(make_unit(VIEW, earlier=[VIEW]))
    assert routed.deduped_lines > 0
    lossy = ContentRouter(routes={"code": "none"}, options={"code": {"elide_bodies": True}})
    assert lossy.route(make_unit(VIEW, earlier=[VIEW])).deduped_lines == 0


def test_small_gain_keeps_the_original() -> None:
    decision = ContentRouter(min_saving=0.99).route(make_unit(LOG))
    assert decision.text is None
    assert decision.reason == "saving below min_saving"


def test_unknown_route_and_missing_compressor_leave_units_alone() -> None:
    assert ContentRouter(routes={"logs": "no-such-compressor"}).route(make_unit(LOG)).text is None
    assert ContentRouter(routes={"logs": "none"}).route(make_unit(LOG)).text is None


lines = st.sampled_from(
    [
        "081109 203615 148 INFO dfs.DataNode: Receiving block blk_1 src: /10.0.0.1",
        "Traceback (most recent call last):",
        "ValueError: invalid literal for int() with base 10: 'x'",
        "    def compute(self, value):",
        "src/a.py:12:    return handler(x)",
        "<output>",
        "</output>",
        "PASSED tests/test_x.py::test_ok",
        "",
        '{"a": 1}',
    ]
)
NEEDLE_CLASS = re.compile(r"Error:|Traceback")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, min_size=0, max_size=300), st.lists(lines, max_size=50))
def test_properties(body: list[str], before: list[str]) -> None:
    text = "\n".join(body)
    earlier = ["\n".join(before)] if before else []
    unit = make_unit(text, earlier=earlier)
    first = ContentRouter().route(unit)
    assert first == ContentRouter().route(unit)  # deterministic
    if first.text is None:
        return
    out = set(first.text.split("\n"))
    shown_before = set(before)  # dedupe may fold a line only if an earlier unit shows it verbatim
    for line in body:
        if NEEDLE_CLASS.search(line):
            assert line in out or line in shown_before
    markers = list(parse_markers(first.text))
    assert all(m.ref == unit.ref for m in markers)
    # every marker line the router or a compressor wrote parses under the one grammar
    written = [ln for ln in first.text.split("\n") if "[headroom: omitted" in ln]
    assert len(markers) >= len(written)


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=600))
def test_never_raises(text: str) -> None:
    ContentRouter().route(make_unit(text, earlier=[text[::-1]]))


def test_regexes_are_linear_on_adversarial_input() -> None:
    # Sizes at which a quadratic pattern would not finish; no timing threshold, completion is the check.
    patterns = [
        v for m in (detect_module, router_module) for v in vars(m).values() if isinstance(v, re.Pattern)
    ]
    inputs = [
        "a" * 100_000,
        " " * 100_000,
        "<" * 100_000,
        "1" * 100_000,
        "<a" + " " * 100_000,
        "=" * 100_000,
        "\t" * 100_000,
        "[" * 100_000,
        "@@ -1" * 20_000,
        "x(" * 50_000,
    ]
    for text in inputs:
        for pattern in patterns:
            pattern.search(text)
        detect(text)
        ContentRouter().route(make_unit(text, earlier=[text]))


def session(turns: int) -> list[dict[str, object]]:
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": "Fix the failing test in src/app.py"},
    ]
    outputs = [VIEW, LOG_WITH_ERROR, WRAPPED, VIEW, GREP, WRAPPED]
    for t in range(turns):
        messages.append({"role": "assistant", "content": f"THOUGHT: step {t}\n```bash\ncmd {t}\n```"})
        messages.append(
            {"role": "user", "content": f"<returncode>0</returncode>\n<output>\n{outputs[t % 6]}\n</output>"}
        )
    return messages


def test_replaying_a_session_never_changes_a_message_already_sent() -> None:
    from headroom.engine import Engine
    from headroom.proxy.config import ProxyConfig

    engine = Engine(ProxyConfig(limits={"memo_entries": 0}))  # recompute every unit on every turn
    full = session(6)
    previous: list[object] | None = None
    changed_any = False
    for t in range(2, len(full) + 1):
        body = {"model": "m", "messages": full[:t]}
        res = engine.compress(json.dumps(body).encode(), path="/v1/chat/completions")
        changed_any = changed_any or res.changed
        out = json.loads(res.body)["messages"]
        if previous is not None:
            assert out[: len(previous)] == previous
        previous = out
    assert changed_any
    assert engine.stats.snapshot()["transforms"]["router"]["changed"] > 0


def test_json_and_search_parts_are_never_folded_line_by_line() -> None:
    data = json.dumps([{"name": f"n{i}", "value": i} for i in range(80)], indent=2)
    router = ContentRouter(routes={"json": "none", "search": "none"})
    assert router.route(make_unit(data, earlier=[data])).deduped_lines == 0
    assert router.route(make_unit(GREP, earlier=[GREP])).deduped_lines == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(lines, min_size=0, max_size=40), min_size=1, max_size=6), st.data())
def test_the_request_index_answers_for_any_prefix(units: list[list[str]], data: st.DataObject) -> None:
    """The dedupe index is built once per request and grows; a view of any prefix (even one asked for
    after the index grew past it) decides exactly as a plain tuple of those texts."""
    texts = ["\n".join(u) for u in units]
    log = TextLog(texts)
    router = ContentRouter()
    router.route(make_unit(texts[-1], earlier=()) if len(texts) == 1 else _with(texts[-1], log.view()))
    size = data.draw(st.integers(0, len(texts) - 1))
    view = Earlier(log, size)
    assert router.route(_with(texts[size], view)) == router.route(
        make_unit(texts[size], earlier=texts[:size])
    )


def _with(text: str, earlier: Earlier) -> Unit:
    unit = make_unit(text)
    return Unit(unit.text, unit.context, unit.count_tokens, unit.ref, earlier)


@given(st.lists(st.booleans(), max_size=70), st.floats(0.0, 1.0))
def test_share_at_least_is_the_ratio_compared(hits: list[bool], share: float) -> None:
    pattern = re.compile("x")
    sample_lines = ["x" if hit else "y" for hit in hits]
    expected = detect_module._ratio(sample_lines, pattern) >= share
    assert detect_module._share_at_least(sample_lines, pattern, share) is expected


def test_a_prefix_view_never_sees_windows_of_later_units() -> None:
    log = TextLog([DIFF, LOG, VIEW])
    router = ContentRouter(routes={"logs": "none", "code": "none"})
    router.route(_with("unrelated\n" * 200, log.view()))  # grows the request's index over all three
    assert router.route(_with(LOG, Earlier(log, 1))).deduped_lines == 0  # LOG itself is unit 1: not earlier
    assert router.route(_with(LOG, Earlier(log, 2))).deduped_lines > 0


def test_a_large_paste_is_rewritten_only_where_a_program_wrote_it() -> None:
    log = "\n".join(
        f"2024-05-01 10:00:{i % 60:02d} INFO worker-{i % 7} processed batch {i} in {i % 13} ms"
        for i in range(600)
    )
    log += "\n2024-05-01 10:01:00 ERROR worker-3 lost connection to db-1"
    routed = ContentRouter().compress(make_unit(log, source="large_paste"))
    assert routed is not None
    assert "ERROR worker-3 lost connection to db-1" in routed
    assert len(routed) < len(log) / 4

    prose = "\n\n".join(
        f"Paragraph {i}: I think the scheduler should retry, as we discussed, and the same again."
        for i in range(300)
    )
    repeated = "\n".join(["the same line a person typed many times"] * 400)
    code = "\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(400))
    for text in (prose, repeated, code):
        assert ContentRouter().compress(make_unit(text, source="large_paste")) is None
    # the same repeated lines as a tool's output are folded
    assert ContentRouter().compress(make_unit(repeated)) is not None


_LINE_PIECES = [
    *("<a>", "</a>", "<b x=1>", "<a>z</a>", "<br/>", "<"),
    *(" ", "\t", "\n", "\r", "x", "\ue0001\ue001", "\x011\x02", "\x01", "[headroom: omitted "),
]


def _structural_lines_by_regex(text: str) -> list[tuple[int, int]]:
    spans = {m.span() for m in router_module.TAG_LINE_RE.finditer(text)}
    for m in re.finditer(r"\[headroom: omitted |[\ue000-\uf8ff][0-9]+[\ue000-\uf8ff]|\x01[0-9]+\x02", text):
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.start())
        spans.add((start, len(text) if end == -1 else end))
    return sorted(spans)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=40).map("".join))
def test_structural_lines_are_what_a_full_regex_scan_finds(text: str) -> None:
    # the scan tries TAG_LINE_RE only where a line's first '<' follows at most 8 blanks
    assert router_module.structural_lines(text) == _structural_lines_by_regex(text)


def _split_parts_line_by_line(text: str) -> list[tuple[list[str], bool]]:
    parts: list[tuple[list[str], bool]] = []
    pos = 0
    for start, end in router_module.structural_lines(text):
        if start > pos:
            parts.append((text[pos : start - 1].split("\n"), False))
        if parts and parts[-1][1] and start == pos:
            parts[-1][0].append(text[start:end])
        else:
            parts.append(([text[start:end]], True))
        pos = end + 1
    if pos <= len(text):
        parts.append((text[pos:].split("\n"), False))
    return parts


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=40).map("".join))
def test_parts_are_runs_of_structural_and_body_lines(text: str) -> None:
    parts = router_module.split_parts(text)
    assert [(p.lines, p.structural) for p in parts] == _split_parts_line_by_line(text)
    assert "\n".join("\n".join(p.lines) for p in parts) == text


_LEVEL_PIECES = ["INFO", "WARN", "WARNING", "ERROR", "xERROR", "CRITICAL", "x", " ", "_", "1", "é", "[", ":"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*_LEVEL_PIECES, "a" * 30]), max_size=14).map("".join))
def test_level_check_is_the_level_pattern(line: str) -> None:
    # the candidate scan finds a level word exactly where _LEVEL's lazy prefix would
    assert detect_module._has_level(line) is (detect_module._LEVEL.match(line) is not None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="|\t,a", max_size=6), max_size=12))
def test_table_check_counts_separators_per_line(lines: list[str]) -> None:
    # the total-count shortcut never rejects what the per-line mode test accepts
    expected = len(lines) >= 4 and any(
        n >= 2 and freq / len(lines) >= 0.8
        for n, freq in (Counter(line.count(sep) for line in lines).most_common(1)[0] for sep in "|\t,")
    )
    assert detect_module._table_like(lines) is expected


def test_under_the_engine_min_saving_is_judged_on_the_engines_exact_counts() -> None:
    from headroom.engine import Engine
    from headroom.proxy.config import ProxyConfig

    log = "\n".join(f"2024-05-01 10:00:{i % 60:02d} INFO worker {i % 3} tick {i}" for i in range(300))
    body = json.dumps({"messages": [{"role": "tool", "tool_call_id": "a", "content": log}]}).encode()
    taken = Engine(ProxyConfig(transforms=[ContentRouter()])).compress(body)
    assert taken.changed
    saved = taken.tokens_saved / taken.tokens_before
    assert ContentRouter().accepts(taken.tokens_before, taken.tokens_after)

    strict = Engine(ProxyConfig(transforms=[ContentRouter(min_saving=min(0.99, saved + 0.01))]))
    kept = strict.compress(body)
    assert not kept.changed
    assert kept.body is body
    (note,) = kept.transforms["router"].notes
    assert note.endswith(":below_min_saving")


def test_cut_json_goes_to_the_logs_compressor_with_its_head_tail_and_rare_lines() -> None:
    text = CUT[: CUT.rfind("\n", 0, len(CUT) // 2)].replace('"status": "ok"', '"status": "degraded"', 1)
    unit = make_unit(text)
    decision = ContentRouter().route(unit)
    assert decision.kind == "cut_json"
    assert decision.compressors == ["logs"]
    assert decision.text is not None
    assert decision.text.startswith('[\n  {\n    "id": 0,')
    assert '"status": "degraded"' in decision.text
    assert decision.text.endswith(text.rsplit("\n", 1)[1])
    assert decision.tokens_after < decision.tokens_before * 0.2
    markers = parse_markers(decision.text)
    assert markers
    assert all(m.ref == unit.ref for m in markers)
    # the route is configurable: the old chain still applies when asked for
    old = ContentRouter(routes={"cut_json": "text,logs"}).route(unit)
    assert old.kind == "cut_json"
    assert old.text is not None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(CUT)), st.sampled_from([0, 1, 2]))
def test_any_cut_of_a_json_document_routes_deterministically(cut: int, indent: int) -> None:
    doc = json.dumps([{"id": i, "tags": ["a", str(i)]} for i in range(200)], indent=indent or None)
    text = doc[: cut % (len(doc) + 1)]
    first = ContentRouter().route(make_unit(text))
    again = ContentRouter().route(make_unit(text))
    assert first == again
    assert detect(text) == detect(text)
    if first.text is not None:
        assert all(m.ref == unit_ref_of(text) for m in parse_markers(first.text))


def unit_ref_of(text: str) -> str:
    return make_unit(text).ref


def _tool_turns(*outputs: str) -> bytes:
    messages: list[dict[str, object]] = [{"role": "user", "content": "Why does the worker fail?"}]
    for i, output in enumerate(outputs):
        call = {"id": f"c{i}", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"c{i}", "content": output},
        ]
    return json.dumps({"model": "m", "messages": messages}).encode()


def test_under_the_engine_dedupe_folds_exactly_what_an_earlier_unit_was_sent() -> None:
    from headroom.engine import Engine
    from headroom.proxy.config import ProxyConfig

    errors = [
        "081109 204000 999 ERROR dfs.DataNode: Disk failure on /data/7 while writing blk_4242, volume lost",
        "081109 204001 999 ERROR dfs.DataNode: Shutting down the data node after the failure of /data/7",
    ]
    log = LOG + "\n" + "\n".join(errors) + "\n" + LOG  # the logs compressor keeps the errors, not LOG's lines
    dropped = LOG.split("\n")[100:140]  # lines of the log that reach the model only as a template
    later = "\n".join(["Checking the worker again:", *errors, "and then:", *dropped, "done"])
    result = Engine(ProxyConfig(transforms=[ContentRouter()])).compress(_tool_turns(log, later))
    assert result.changed
    sent = [m["content"] for m in json.loads(result.body)["messages"] if m["role"] == "tool"]
    assert all(line not in sent[0] for line in dropped)
    assert "\n".join(errors) in sent[0]
    # the error lines the model read in the first output fold in the second; the lines it never read
    # there (though they are in its original) are not said to repeat: one fold, of the two errors
    (fold,) = [m for m in parse_markers(sent[1]) if m.detail and "repeated from earlier output" in m.detail]
    assert fold.counts == ((2, "lines"),)
    assert all(line not in sent[1] for line in errors)
