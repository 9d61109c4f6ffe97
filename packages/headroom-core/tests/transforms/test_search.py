"""SearchCompressor: golden tests on real-shaped grep / ripgrep output, properties, linear regexes."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.engine import Engine
from headroom.proxy.config import ProxyConfig
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector
from headroom.transforms import search as search_module
from headroom.transforms.commands import shell_command
from headroom.transforms.detect import ContentType, detect
from headroom.transforms.markers import parse_markers
from headroom.transforms.search import BM25, MATCH_RE, is_diagnostics, parse, path_and_text, terms

from .conftest import make_unit


def grep_lines(files: int = 12, per_file: int = 8) -> list[str]:
    lines = []
    for f in range(files):
        path = f"src/pkg/module_{f}.py"
        for k in range(per_file):
            lines.append(f"{path}:{10 + 7 * k}:    response = make_response(value_{f}_{k})")
    return lines


def test_keeps_the_definition_the_user_asks_about_and_summarises_every_file() -> None:
    lines = grep_lines()
    needle = "src/pkg/routing.py:184:    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:"
    lines.insert(40, needle)
    text = "\n".join(lines)
    unit = make_unit(
        text,
        tool_input='{"command": "grep -rn \'def \' ."}',
        user_request="Where exactly is `def url_path_for` defined? Give file and line.",
    )
    out = SearchCompressor().compress(unit)
    assert out is not None
    assert needle in out.split("\n")
    markers = list(parse_markers(out))
    assert len(markers) == 1
    m = markers[0]
    assert m.ref == unit.ref
    kept = sum(1 for line in out.split("\n") if MATCH_RE.fullmatch(line))
    assert {kind: n for n, kind in m.counts}["matches"] == len(lines) - kept
    # never drop a file silently: every file is either shown or named in the summary
    for f in range(12):
        path = f"src/pkg/module_{f}.py"
        assert path + ":" in out or path in (m.detail or "")


def test_grep_context_lines_and_separators() -> None:
    blocks = []
    for f in range(10):
        for k in range(4):
            p = f"app/my-module-{f}.py"
            blocks.append(
                f"{p}-{k * 10 + 1}-import os\n{p}:{k * 10 + 2}:def handler_{f}_{k}(request):\n"
                f"{p}-{k * 10 + 3}-    return None"
            )
    text = "\n--\n".join(blocks)
    parsed = parse(text)
    kinds = {e.kind for e in parsed.entries}
    assert {"match", "context", "sep"} <= kinds
    assert all(e.path and e.path.startswith("app/my-module-") for e in parsed.entries if e.kind == "context")
    out = SearchCompressor().compress(make_unit(text, user_request="show me handler_3_2"))
    assert out is not None
    assert "app/my-module-3.py:22:def handler_3_2(request):" in out
    assert "app/my-module-3.py-21-import os" in out  # its context line stays with it
    assert "\n--\n" in out


def test_ripgrep_heading_mode() -> None:
    groups = []
    for f in range(8):
        rows = "\n".join(f"{10 + k}:    value = compute_{f}_{k}()" for k in range(6))
        groups.append(f"lib/part{f}/core.rs\n{rows}")
    groups.append("lib/special/errors.rs\n77:pub fn raise_fatal_error() -> Result<(), Error> {")
    text = "\n\n".join(groups)
    parsed = parse(text)
    assert parsed.heading_mode
    assert sum(1 for e in parsed.entries if e.kind == "heading") == 9
    out = SearchCompressor().compress(make_unit(text, user_request="where is raise_fatal_error?"))
    assert out is not None
    assert "lib/special/errors.rs\n77:pub fn raise_fatal_error() -> Result<(), Error> {" in out


def test_windows_paths() -> None:
    lines = [f"C:\\work\\proj\\file{f}.py:{k}:    call_{f}_{k}()" for f in range(8) for k in range(1, 7)]
    lines.append("C:\\work\\proj\\target.py:12:class TargetThing:")
    parsed = parse("\n".join(lines))
    assert {e.path for e in parsed.matches} >= {"C:\\work\\proj\\target.py", "C:\\work\\proj\\file0.py"}
    out = SearchCompressor().compress(make_unit("\n".join(lines), user_request="find class TargetThing"))
    assert out is not None
    assert "C:\\work\\proj\\target.py:12:class TargetThing:" in out


def test_not_search_output_returns_none() -> None:
    log = "\n".join(f"2024-01-01 12:{m:02d}:00 INFO worker started job {m}" for m in range(60))
    view = "\n".join(f"{n:6d}\tdef f{n}(): pass" for n in range(60))
    prose = "This is a paragraph of text.\n" * 60
    for text in (log, view, prose):
        assert SearchCompressor().compress(make_unit(text)) is None


def test_small_search_output_is_left_alone() -> None:
    text = "\n".join(grep_lines(files=2, per_file=3))
    assert SearchCompressor().compress(make_unit(text)) is None


def test_bm25_idf_prefers_rare_terms() -> None:
    docs = [terms("common common alpha"), terms("common beta"), terms("common gamma rare_term")]
    bm = BM25(docs)
    assert bm.idf["rare_term"] > bm.idf["common"] > 0
    assert bm.score(["rare_term"], 2) > bm.score(["common"], 2)
    assert bm.score(["rare_term"], 0) == 0


search_line = st.builds(
    lambda f, n, body: f"pkg/f{f}.py:{n}:{body}",
    st.integers(0, 15),
    st.integers(1, 999),
    st.sampled_from(
        [
            "    x = 1",
            "def needle_function(a, b):",
            "    raise ValueError('bad input')",
            "import os",
            "class Widget:",
            "    return widget",
        ]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(search_line, min_size=0, max_size=120), st.text(max_size=40))
def test_properties(lines: list[str], noise: str) -> None:
    text = "\n".join([*lines, noise]) if noise else "\n".join(lines)
    unit = make_unit(text, user_request="Where is `needle_function` defined?")
    first = SearchCompressor().compress(unit)
    assert first == SearchCompressor().compress(unit)  # deterministic
    if first is None:
        return
    out_lines = set(first.split("\n"))
    for line in lines:
        if "def needle_function" in line:
            assert line in out_lines  # what the user asks about is never dropped
    for m in parse_markers(first):
        assert m.ref == unit.ref
    assert sum(1 for line in first.split("\n") if line.startswith("[headroom:")) == 1


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(":-\n\\/ abc019C\t`")), max_size=400))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    SearchCompressor(min_matches=1).compress(make_unit(text, tool_input="grep -rn x"))


# Linear-regex check: inputs large enough that a quadratic (backtracking) pattern would not finish in any
# reasonable time. No timing threshold: the test only has to complete.
ADVERSARIAL = [
    "a" * 100_000,
    ":" * 100_000,
    "1" * 100_000,
    "a:" * 50_000,
    "a-1" * 33_000,
    "-1" * 50_000,
    "x:1" * 33_000,
    "C:\\" * 33_000,
    "`" * 100_000,
    "def " * 25_000,
    " " * 100_000 + "x",
]


def test_regexes_are_linear_on_adversarial_lines() -> None:
    from headroom.transforms import search

    patterns = [v for v in vars(search).values() if isinstance(v, re.Pattern)]
    assert len(patterns) >= 8
    for text in ADVERSARIAL:
        for pattern in patterns:
            pattern.search(text)
            pattern.fullmatch(text)
        parse(text, allow_bare=True)
        SearchCompressor(min_matches=1).compress(make_unit(text, tool_input="grep", user_request=text[:5000]))


def test_vimgrep_columns_and_single_file_grep() -> None:
    vim = [f"src/f{f}.py:{k}:{k % 7 + 1}:    x = call_{f}_{k}()" for f in range(6) for k in range(1, 9)]
    parsed = parse("\n".join(vim))
    assert len(parsed.matches) == len(vim)
    assert parsed.matches[0].path == "src/f0.py"
    single = "\n".join(f"{n}:    total += item_{n}" for n in range(1, 60))
    assert parse(single).matches == []  # bare line:text is not search output on its own...
    out = SearchCompressor().compress(make_unit(single, tool_input='{"command": "grep -n item_ src/a.py"}'))
    assert out is not None  # ...but it is when the tool call was a grep
    (mark,) = parse_markers(out)
    assert mark.detail is None  # one file, named by the call and not the lines: no count of "(stdin)"
    omitted = {kind: n for n, kind in mark.counts}["matches"]
    assert omitted + len([line for line in out.split("\n") if re.match(r"\d+:", line)]) == 59


def test_grep_without_line_numbers_when_the_call_was_a_search() -> None:
    """``grep -r pat dir`` and Claude Code's Grep with ``-n`` off print ``path:text``."""
    lines = [line.replace(f":{line.split(':')[1]}:", ":", 1) for line in grep_lines()]
    needle = "src/pkg/routing.py:    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:"
    lines.insert(40, needle)
    text = "\n".join(lines)
    request = "Where exactly is `def url_path_for` defined?"
    assert SearchCompressor().compress(make_unit(text, user_request=request)) is None  # no call: not read
    unit = make_unit(text, tool_input='{"command": "grep -r \'def \' src"}', user_request=request)
    out = SearchCompressor().compress(unit)
    assert out is not None
    body, last = out.split("\n")[:-1], out.split("\n")[-1]
    assert needle in body
    assert set(body) - {"--"} <= set(lines)
    (mark,) = parse_markers(last)
    shown = [line for line in body if line != "--"]
    assert {kind: n for n, kind in mark.counts}["matches"] == len(lines) - len(shown)
    for f in range(12):
        path = f"src/pkg/module_{f}.py"
        assert path + ":" in out or path in (mark.detail or "")


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("src/app.py:    def run():", ("src/app.py", "    def run():")),
        (
            "./README.md:Install with pip: `pip install x`",
            ("./README.md", "Install with pip: `pip install x`"),
        ),
        ("setup.cfg:name = demo", ("setup.cfg", "name = demo")),
        ("C:\\src\\app.py:import os", ("C:\\src\\app.py", "import os")),
        ("PATH=/usr/bin:/bin", None),  # an environment variable
        ("src/app.py:12", None),  # grep -c
        ("src/app.py:12:text", None),  # a numbered match: MATCH_RE's
        ("12:30:01 worker started", None),
        ("name: demo", None),  # YAML
        ("2024-01-01 12:00:00 INFO x: y", None),
        ("https://example.com/a", None),
        ("Makefile:all: build", None),  # no extension, no directory: not told from a key
        ("no colon here", None),
        ("tests/search/test_a.py::test_x FAILED [ 5%]", None),  # pytest -v: a test id
        ("src/search/a.ts(12,5): error TS2304: Cannot find name 'x'.", None),  # tsc
        ("C:\\proj\\a.cpp(12): error C2065: 'x': undeclared identifier", None),  # MSVC
        (
            "app/(auth)/page.tsx:export default function Page() {",
            ("app/(auth)/page.tsx", "export default function Page() {"),
        ),
    ],
)
def test_what_a_line_without_a_line_number_is(line: str, found: tuple[str, str] | None) -> None:
    assert path_and_text(line) == found


@pytest.mark.parametrize(
    ("command", "lines"),
    [
        (
            "pytest -v tests/search",
            [
                f"tests/search/test_m{k % 5}.py::test_case_{k} {'PASSED' if k % 3 == 0 else 'FAILED'} [{k}%]"
                for k in range(60)
            ],
        ),
        (
            "npx tsc --noEmit -p packages/search",
            [
                f"packages/search/src/m{k % 5}.ts({k + 1},5): error TS2304: Cannot find name 'x{k}'."
                for k in range(50)
            ],
        ),
        (
            "msbuild search.sln",
            [
                f"C:\\proj\\search\\m{k % 5}.cpp({k + 1}): error C2065: 'x{k}': undeclared identifier"
                for k in range(50)
            ],
        ),
    ],
)
def test_results_and_errors_of_a_command_that_names_a_search_are_not_matches(
    command: str, lines: list[str]
) -> None:
    """``search`` in the command (a directory, a -k filter) allows ``path:text`` lines; a test run's
    results and a compiler's errors are not grep matches, and ranking them dropped failures and errors."""
    unit = make_unit("\n".join(lines), tool_input=f'{{"command": "{command}"}}')
    assert SearchCompressor().compress(unit) is None


def test_iso_timestamped_logs_are_not_search_output() -> None:
    from headroom.engine.units import Unit, UnitContext, WireFormat

    log = "\n".join(
        f"2025-03-14T09:{i // 60:02d}:{i % 60:02d}.123Z INFO payments-api request status=200"
        for i in range(200)
    )
    ctx = UnitContext(format=WireFormat.ANTHROPIC, source="tool_result", tool_name="fetch_logs")
    assert SearchCompressor().compress(Unit(log, ctx, len, "0" * 12)) is None


_COMMAND_PIECES = ["g", "r", "e", "p", "G", "R", "a", "c", "k", " ", "-", "s", "\u017f", "git  grep", "x"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_COMMAND_PIECES), max_size=12).map("".join))
def test_search_command_check_is_the_regex(text: str) -> None:
    # the substring pre-check only skips text the regex cannot match (the long s case-folds to "s")
    assert search_module._names_a_search(text) is (search_module.SEARCH_COMMAND_RE.search(text) is not None)


DIAGNOSTICS = {
    "mypy": "src/pkg/mod{k}.py:{n}: error: Incompatible types in assignment  [assignment]",
    "gcc": "src/mod{k}.c:{n}:5: error: 'x{n}' undeclared (first use in this function)",
    "gcc notes": "src/mod{k}.c:{n}:5: note: each undeclared identifier is reported only once",
    "flake8": "src/pkg/mod{k}.py:{n}:80: E501 line too long (101 > 79 characters)",
    "ruff": "src/pkg/mod{k}.py:{n}:8: F401 [*] `os` imported but unused",
    "pylint": "src/pkg/mod{k}.py:{n}:0: C0116: Missing function docstring (missing-function-docstring)",
    "rustc-style": "src/mod{k}.rs:{n}:9: error[E0308]: mismatched types",
    "shellcheck": "scripts/run{k}.sh:{n}:5: warning: Double quote to prevent globbing. [SC2086]",
    "eslint unix": "/repo/src/mod{k}.js:{n}:5: 'x{n}' is not defined. [Error/no-undef]",
    "staticcheck": "pkg/mod{k}/a.go:{n}:2: this value of err is never used (SA4006)",
    "eslint compact": "/repo/src/mod{k}.js: line {n}, col 5, Warning - Unexpected console. (no-console)",
}


CALL = {"name": "bash", "arguments": '{"command": "npx eslint src/search"}'}  # names a search


@pytest.mark.parametrize("tool", sorted(DIAGNOSTICS))
def test_a_linters_or_compilers_errors_are_not_search_results(tool: str) -> None:
    """path:line: error lines are grep-shaped, but each is an error the model needs: ranked as matches, half
    of 50 were cut (24 kept)."""
    lines = [DIAGNOSTICS[tool].format(k=n % 7, n=10 + n) for n in range(50)]
    text = "\n".join(lines)
    assert is_diagnostics(parse(text, allow_bare=True))  # (the compact format has no line number)
    assert detect(text, search_command=True) is ContentType.DIAGNOSTICS
    unit = make_unit(text, tool_input='{"command": "npx eslint src/search"}', user_request="fix the errors")
    assert SearchCompressor().compress(unit) is None
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "fix the errors"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c", "type": "function", "function": CALL}],
            },
            {"role": "tool", "tool_call_id": "c", "content": text},
        ],
    }
    default = ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()])
    assert not Engine(default).compress_json(body, path="/v1/chat/completions").changed  # every line kept


def test_a_grep_for_error_handling_code_is_still_search_output() -> None:
    lines = [
        f"src/pkg/mod{k % 9}.py:{10 + k}:    except ValueError as error:  # error {k}" for k in range(30)
    ]
    lines += [f"src/pkg/log{k % 5}.py:{40 + k}:error_count = 0" for k in range(30)]
    text = "\n".join(lines)
    assert not is_diagnostics(parse(text))
    assert detect(text) is ContentType.SEARCH
    assert SearchCompressor().compress(make_unit(text, tool_input="grep -rn error src")) is not None


@pytest.mark.parametrize(
    ("tool_input", "tool_name", "search"),
    [
        ('{"command": "grep -rn retry src", "description": "Find callers"}', "Bash", True),
        ('{"command": "python bench.py", "description": "Search benchmark run"}', "Bash", False),
        ('{"command": ["bash", "-lc", "rg -n retry src"], "workdir": "/repo"}', "shell", True),
        ('{"cmd": "git grep -n retry"}', "exec_command", True),
        ('{"pattern": "retry", "output_mode": "content"}', "Grep", True),  # the tool's name
        ('{"query": "grep for retry"}', "ask", True),  # no command: the arguments as a whole
        ("Let me run the script.\n```bash\npython bench.py\n```", None, False),
        ("THOUGHT: search the tree.\n```bash\ngrep -rn retry src\n```", None, True),
        ("THOUGHT: let me search for the bug.\n```bash\npython run.py\n```", None, False),  # the block
        ("{not json: grep}", None, True),
    ],
)
def test_a_search_is_told_by_the_command_not_its_description(
    tool_input: str, tool_name: str | None, search: bool
) -> None:
    assert search_module.is_search_command(tool_input, tool_name) is search


def test_a_command_described_as_a_search_does_not_make_its_output_matches() -> None:
    """Claude Code's Bash carries a description; "Search ..." there made ``path:text`` lines matches."""
    text = "\n".join(f"config/settings_{k % 5}.py:OPTION_{k} = {k}" for k in range(60))
    described = '{"command": "cat config/*.py", "description": "Search the settings"}'
    assert SearchCompressor().compress(make_unit(text, tool_input=described)) is None
    searched = '{"command": "grep -r OPTION_ config", "description": "Find the options"}'
    assert SearchCompressor().compress(make_unit(text, tool_input=searched)) is not None


@pytest.mark.parametrize(
    ("tool_input", "command"),
    [
        ('{"command": "ls -la", "description": "List"}', "ls -la"),
        ('{"command": ["bash", "-lc", "ls"]}', "bash -lc ls"),
        ('{"cmd": "ls"}', "ls"),
        ('{"path": "."}', None),
        ("{broken", None),
        ("THOUGHT: look around.\n\n```bash\nls -R src | head\n```", "ls -R src | head\n"),
        ("```\nfind . -name '*.py'\n```", "find . -name '*.py'\n"),
        ("ls -la", "ls -la"),
        ("", ""),
    ],
)
def test_the_command_of_a_tool_call(tool_input: str, command: str | None) -> None:
    assert shell_command(tool_input) == command
