"""Search answers in coding agents' own layouts: Cline, Roo Code / Kilo Code, OpenCode, Gemini CLI / Qwen.

The builders below print one set of ripgrep hits the way each agent's search tool formats them (read from
their sources: Cline's and Roo Code's ``src/services/ripgrep/index.ts``, OpenCode's ``tool/grep.ts``,
Gemini CLI's ``tools/grep.ts``): a count line, then the results grouped by file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.engine import Engine
from headroom.proxy.config import ProxyConfig
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector, agent_search
from headroom.transforms.detect import ContentType, detect
from headroom.transforms.markers import parse_markers, unit_ref

from .conftest import make_unit

Hit = tuple[str, int, list[str]]  # (path, 0-based line of the match, the file's lines)


def tree(files: int = 24) -> dict[str, list[str]]:
    """Python files whose functions are ``get_<thing>_<k>``, one of them the ``get_team_object`` the user
    asks about."""
    out: dict[str, list[str]] = {}
    for f in range(files):
        lines = ["import logging", "", "log = logging.getLogger(__name__)", ""]
        for k in range(6):
            name = "get_team_object" if (f, k) == (17, 3) else f"get_thing_{f}_{k}"
            lines += ["", f"async def {name}(key: str, cache: dict) -> dict:", f'    """Look {k} up."""']
            lines += [f"    value = cache.get(key, {k})", "    return value", ""]
        out[f"litellm/proxy/module_{f:02d}.py"] = lines
    return out


def hits(files: dict[str, list[str]], pattern: str = r"def get_") -> list[Hit]:
    rx = re.compile(pattern)
    return [(p, i, lines) for p, lines in files.items() for i, line in enumerate(lines) if rx.search(line)]


def _by_file(found: list[Hit]) -> dict[str, list[Hit]]:
    by_file: dict[str, list[Hit]] = {}
    for h in found:
        by_file.setdefault(h[0], []).append(h)
    return by_file


def cline(found: list[Hit]) -> str:
    out = f"Found {len(found)} results.\n\n"
    by_file = _by_file(found)
    for path, group in by_file.items():
        out += f"{path}\n│----\n"
        for k, (_, i, lines) in enumerate(group):
            out += "".join(f"│{line.rstrip()}\n" for line in lines[max(0, i - 1) : i + 2])
            if k < len(group) - 1:
                out += "│----\n"
        out += "│----\n\n"
    return out.strip()


def _blocks(group: list[Hit]) -> list[tuple[int, int, list[str]]]:
    blocks: list[tuple[int, int, list[str]]] = []
    for _, i, lines in group:
        lo, hi = max(0, i - 1), min(len(lines) - 1, i + 1)
        if blocks and lo <= blocks[-1][1] + 1:
            blocks[-1] = (blocks[-1][0], hi, lines)
        else:
            blocks.append((lo, hi, lines))
    return blocks


def roo(found: list[Hit]) -> str:
    by_file = _by_file(found)
    body, total = "", 0
    for path, group in by_file.items():
        body += f"# {path}\n"
        for lo, hi, lines in _blocks(group):
            total += 1
            body += "".join(f"{str(j + 1).rjust(3)} | {lines[j].rstrip()}\n" for j in range(lo, hi + 1))
            body += "----\n"
        body += "\n"
    return f"Found {total} results.\n\n{body}".strip()


def opencode(found: list[Hit]) -> str:
    out = [f"Found {len(found)} matches"]
    current = ""
    for path, i, lines in found:
        if path != current:
            out += ["", f"/home/dev/project/{path}:"]
            current = path
        out.append(f"  Line {i + 1}: {lines[i]}")
    out += ["", "(Results are truncated. Consider using a more specific path or pattern.)"]
    return "\n".join(out)


def gemini(found: list[Hit]) -> str:
    out = f'Found {len(found)} matches for pattern "def get_" in path ".":\n---\n'
    by_file = _by_file(found)
    for path, group in by_file.items():
        out += f"File: {path}\n"
        for lo, hi, lines in _blocks(group):
            for j in range(lo, hi + 1):
                sep = ":" if any(j == i for _, i, _ in group) else "-"
                out += f"L{j + 1}{sep} {lines[j].rstrip()}\n"
        out += "---\n"
    return out.strip()


LAYOUTS: dict[str, Callable[[list[Hit]], str]] = {
    "cline": cline,
    "roo": roo,
    "opencode": opencode,
    "gemini": gemini,
}
QUESTION = "Where is the team looked up? I think `get_team_object` returns stale data."


def request(text: str, tool: str = "search_files") -> bytes:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": QUESTION},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": tool, "arguments": json.dumps({"regex": "def get_"})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": text},
        ],
    }
    return json.dumps(body).encode()


def compressed(text: str, transforms: list[object] | None = None) -> str:
    default = [SearchCompressor(), ContentRouter(), TagProtector()]
    engine = Engine(ProxyConfig(transforms=transforms or default))
    result = engine.compress(request(text), path="/v1/chat/completions")
    assert result.changed, result.skipped
    content = json.loads(result.body)["messages"][2]["content"]
    assert isinstance(content, str)
    return content


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_layout_keeps_the_definition_asked_about_in_its_own_layout(layout: str) -> None:
    text = LAYOUTS[layout](hits(tree()))
    assert detect(text) is ContentType.SEARCH
    out = compressed(text)
    *body, last = out.split("\n")
    assert len(out) < len(text) / 3
    assert "async def get_team_object(key: str, cache: dict) -> dict:" in out
    assert body[0] == text.split("\n")[0]  # the count line stays
    # every line kept is an original line, in the original order, and the rest reads in the same layout
    rest = iter(text.split("\n"))
    assert all(line in rest for line in body)  # a subsequence of the original lines
    again = agent_search.parse("\n".join(body))
    assert again is not None
    kept = sum(len(f.results) for f in again.files)
    whole = agent_search.parse(text)
    assert whole is not None
    total = sum(len(f.results) for f in whole.files)
    (mark,) = parse_markers(last)
    assert mark.ref == unit_ref(text)
    assert {kind: n for n, kind in mark.counts}["results"] == total - kept
    assert kept == SearchCompressor().max_matches


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_router_alone_handles_them(layout: str) -> None:
    out = compressed(LAYOUTS[layout](hits(tree())), [ContentRouter()])
    assert "get_team_object" in out
    assert "[headroom: omitted " in out


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_few_results_pass_through(layout: str) -> None:
    text = LAYOUTS[layout](hits(tree(files=3)))
    assert SearchCompressor().compress(make_unit(text, user_request=QUESTION)) is None


def test_a_text_cut_inside_its_last_result_still_reads() -> None:
    text = roo(hits(tree()))
    cut = text[: text.rindex("----") - 5]
    found = agent_search.parse(cut)
    assert found is not None
    assert found.files[-1].results[-1].lines[-1] == cut.split("\n")[-1]


@pytest.mark.parametrize(
    "text",
    [
        "Found 3 results.\n\nThe tests passed and nothing else was found.",
        "Found 120 results.\n\n" + "\n".join(f"line {i}: something" for i in range(120)),
        "Found 2 matches\n\nsrc/a.py:\n  Line 3: x\nthen some prose\nand more\nand more\nand more",
        "Showing first 300 of 300+ results. Use a more specific search if necessary.\n\nsrc/a.py\n│----\n│x",
        "Found 3 results.\n\n# src/a.py\n  1 | x\n----\n# src/b.py\n",  # a file without results
        "found 3 results.",
        "",
    ],
)
def test_other_text_is_not_read_as_a_layout(text: str) -> None:
    if text.startswith("Showing first"):
        assert agent_search.parse(text) is not None  # a cut text: read, but far too small to compress
        assert SearchCompressor().compress(make_unit(text)) is None
    else:
        assert agent_search.parse(text) is None


def test_a_result_holding_a_protected_tag_is_kept() -> None:
    found = hits(tree())
    line = '│async def get_thing_20_2(key: str, cache: dict) -> dict:\n│    """Look 2 up."""'
    tagged = line.replace('"""Look 2 up."""', "<system-reminder>x</system-reminder>")
    text = cline(found).replace(line, tagged)
    assert tagged in text
    assert tagged not in compressed(text, [SearchCompressor()])
    assert tagged in compressed(text, [SearchCompressor(), TagProtector(tags=["system-reminder"])])


@settings(max_examples=60, deadline=None)
@given(
    layout=st.sampled_from(sorted(LAYOUTS)),
    files=st.integers(min_value=1, max_value=30),
    pattern=st.sampled_from([r"def get_", r"value", r"cache", r"log"]),
    request_text=st.text(max_size=40),
)
def test_properties(layout: str, files: int, pattern: str, request_text: str) -> None:
    text = LAYOUTS[layout](hits(tree(files), pattern))
    unit = make_unit(text, user_request=request_text, tool_input=pattern)
    out = SearchCompressor().compress(unit)
    assert out == SearchCompressor().compress(make_unit(text, user_request=request_text, tool_input=pattern))
    if out is None:
        return
    *body, last = out.split("\n")
    assert set(body) <= set(text.split("\n"))
    (mark,) = parse_markers(last)
    assert mark.ref == unit.ref
    assert mark.total > 0


def test_a_definition_asked_about_is_kept_beside_many_protected_results() -> None:
    # protected results (always kept) must not use up the budget of definitions the user asks about
    files = {f"src/m{i:02d}.py": ["a", f"x = f({i})  # \x01{i}\x02", "b"] for i in range(60)}
    files |= {f"src/n{i:02d}.py": ["a", f"y = f({i})", "b"] for i in range(20)}
    files["src/team.py"] = ["a", "def get_team_object(key):", "b"]
    text = roo(hits(files, r"f\(|def get_team"))
    out = SearchCompressor().compress(make_unit(text, user_request=QUESTION))
    assert out is not None
    assert "  2 | def get_team_object(key):" in out
    assert all(f"\x01{i}\x02" in out for i in range(60))


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_protected_tag_on_a_path_line_stays_on_its_file(layout: str) -> None:
    found = hits(tree())
    tagged = "litellm/proxy/module_20<system-reminder>x</system-reminder>.py"
    text = LAYOUTS[layout](found).replace("litellm/proxy/module_20.py", tagged)
    out = compressed(text, [SearchCompressor(), TagProtector(tags=["system-reminder"])])
    *body, last = out.split("\n")
    assert "<system-reminder>" not in last  # not moved into the marker
    assert sum(tagged in line for line in body) == 1
    again = agent_search.parse("\n".join(body))
    assert again is not None
    assert any("<system-reminder>" in f.head[0] and f.results for f in again.files)


def test_a_cline_line_of_dashes_is_read_as_code() -> None:
    # a markdown rule "----" prints as "│----", like Cline's separator: doubled at a result's end
    files = {f"docs/page_{i:02d}.md": ["# Title", f"the value {i}", "----", "", "next"] for i in range(40)}
    text = cline(hits(files, r"value"))
    assert "│----\n│----\n\n" in text
    found = agent_search.parse(text)
    assert found is not None
    assert [len(f.results) for f in found.files] == [1] * 40
    assert found.files[0].results[0].lines == ["│# Title", "│the value 0", "│----", "│----"]
    assert detect(text) is ContentType.SEARCH
    out = SearchCompressor().compress(make_unit(text))
    assert out is not None
    assert "│----\n│----\n\ndocs/page_" in out


@pytest.mark.parametrize(
    "text",
    [
        "\n" + cline(hits(tree())),  # the compressor reads a layout from the first character only
        gemini(hits(tree()))[:-4] + "\n... output cut by the harness ...\nsee the log\nfor the rest\nof it",
    ],
)
def test_what_only_samples_like_a_layout_is_not_typed_as_search(text: str) -> None:
    assert agent_search.parse(text) is None
    assert detect(text) is not ContentType.SEARCH  # else the router sends it where nothing compresses it


def test_a_long_path_line_costs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # a path is printed once per file: scoring and tag checks must not repeat it for each of its lines
    from headroom.transforms import search

    body = "".join(f"{2 * j + 1:3d} | x = f({j})\n----\n" for j in range(200))
    last = "# src/b.py\n  1 | y = f(0)  # \x010\x02\n----"  # a protected tag in the text, not on that path
    text = f"Found 201 results.\n\n# src/{'a' * 20000}.py\n{body}\n{last}"
    scored: list[int] = []
    checked: list[int] = []
    real_score, real_check = search.score_lines, search._is_protected

    def score(paths: list[str], *args: str) -> list[float]:
        scored.append(sum(map(len, paths)))
        return real_score(paths, *args)

    def check(line: str) -> bool:
        checked.append(len(line))
        return real_check(line)

    monkeypatch.setattr(search, "score_lines", score)
    monkeypatch.setattr(search, "_is_protected", check)
    out = SearchCompressor(min_matches=2).compress(make_unit(text, tool_input="f("))
    assert out is not None
    lines = text.count("\n") + 1
    assert scored[0] < len(text) + 300 * lines
    assert sum(checked) < 2 * len(text)
    assert out.endswith(f"----\n\n{last}\n" + out.split("\n")[-1])


def test_a_growing_conversation_never_changes_a_search_answer_already_sent() -> None:
    """Each turn re-sends the history plus one more search (every layout, different patterns and
    questions); what was sent for an earlier answer never changes, on a fresh engine or a warm one."""
    searches = [
        (layout, pattern)
        for pattern in (r"def get_", r"cache\.get", r"return value")
        for layout in sorted(LAYOUTS)
    ]
    messages: list[dict[str, object]] = [{"role": "user", "content": QUESTION}]
    sent: list[str] = []
    warm = Engine(ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()]))
    for k, (layout, pattern) in enumerate(searches):
        call = {
            "id": f"call_{k}",
            "type": "function",
            "function": {"name": "search_files", "arguments": "{}"},
        }
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append(
            {"role": "tool", "tool_call_id": f"call_{k}", "content": LAYOUTS[layout](hits(tree(), pattern))}
        )
        raw = json.dumps({"model": "m", "messages": messages}).encode()
        for engine in (
            warm,
            Engine(ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()])),
        ):
            result = engine.compress(raw, path="/v1/chat/completions")
            out = json.loads(result.body)["messages"] if result.changed else messages
            contents = [m["content"] for m in out if m["role"] == "tool"]
            assert contents[: len(sent)] == sent
        sent = contents
    assert sum("[headroom: omitted " in c for c in sent) >= len(searches) - 2


def test_a_gemini_answer_cut_in_its_last_file_still_reads() -> None:
    text = gemini(hits(tree()))
    cut = text[: text.rindex("\n---")]
    found = agent_search.parse(cut)
    assert found is not None
    assert found.files[-1].tail == []
    assert SearchCompressor().compress(make_unit(cut, user_request=QUESTION)) is not None


def test_blank_lines_between_trailing_notes_do_not_count_as_notes() -> None:
    notes = ["", "(Results are truncated. Consider using a more specific path or pattern.)", ""]
    notes += ["(Some lines were truncated.)", "", "(Some paths were inaccessible and skipped)"]
    text = opencode(hits(tree())) + "\n" + "\n".join(notes[2:])
    assert text.count("\n\n(") == 3  # three notes, each after a blank line
    found = agent_search.parse(text)
    assert found is not None
    assert [line for line in found.trail if line] == [note for note in notes if note]
    assert agent_search.parse(text + "\n\n(one note too many)") is None


def test_a_roo_answer_of_long_results_is_search_not_a_file_view() -> None:
    """Matches close together merge into results of many lines, numbered one by one and from the first
    column (three digits) as a Roo read_file view is: the whole answer parses as Roo's search layout, so it
    is search output (ranked and cut), not a view (kept whole)."""
    blocks: list[str] = []
    for f in range(24):
        blocks += ["", f"# litellm/proxy/module_{f:02d}.py"]
        for start in (120, 240, 360):
            name = "get_team_object" if (f, start) == (17, 240) else f"get_thing_{f}_{start}"
            body = [
                f"async def {name}(key: str) -> dict:",
                *(f"    step_{k} = cache.get(key)" for k in range(8)),
            ]
            blocks += [f"{start + j} | {line}" for j, line in enumerate(body)]
            blocks.append("----")
    text = "Found 72 results.\n" + "\n".join(blocks)
    assert detect(text) is ContentType.SEARCH
    out = SearchCompressor().compress(make_unit(text, user_request="where is get_team_object?"))
    assert out is not None
    assert "240 | async def get_team_object(key: str) -> dict:" in out
    assert len(out) < len(text) / 2
