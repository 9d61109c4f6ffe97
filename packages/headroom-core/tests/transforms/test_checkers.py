"""Linters' and compilers' output known by the command that ran: diagnostics without a severity word
(``go vet``'s ``./a.go:12:5: unreachable code``) are grep-shaped, but each is one the model needs."""

from __future__ import annotations

import json

import pytest

from headroom.engine import Engine
from headroom.proxy.config import ProxyConfig
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector
from headroom.transforms.commands import programs, runs_checker
from headroom.transforms.detect import ContentType, detect, is_listing_command

from .conftest import make_unit


@pytest.mark.parametrize(
    ("command", "checker"),
    [
        ("go vet ./...", True),
        ("cd /repo && FOO=1 timeout 60 go build ./cmd/...", True),
        ("uv run mypy src", True),
        ("python3 -m pyflakes pkg", True),
        ("pnpm exec tsc --noEmit", True),
        ("cargo clippy --all-targets 2>&1 | head -200", True),
        ("ruff check .", True),
        ("for f in *.sh; do shellcheck -f gcc $f; done", True),
        ("timeout -k 5 120 go vet ./...", True),
        ("sudo -u app mypy src", True),
        ("env -i PATH=/x nice -n 5 go vet ./...", True),
        ("npx --yes tsc --noEmit", True),
        ("uv run --with mypy -- mypy src", True),
        ("find . -name '*.py' -print0 | xargs -0 pyflakes", True),
        ("yarn tsc --noEmit", True),
        ("if ! go vet ./...; then echo bad; fi", True),
        ('bash -lc "timeout 60 uv run mypy src"', True),
        ("go test ./...", False),
        ('rg -n "prettier|eslint" packages', False),  # a quoted pattern's | is no pipe
        ("grep -rn 'x; mypy' .", False),
        ("grep -rn mypy .", False),
        ("cat mypy.ini", False),
        ("npm run lint", False),  # a script's name: what it runs is not known
        ("ruff format .", False),
        ("python -m pytest -q", False),
    ],
)
def test_a_linter_or_compiler_in_any_step_is_a_checker(command: str, checker: bool) -> None:
    assert runs_checker(json.dumps({"command": command})) is checker
    assert runs_checker(f"Let me check.\n\n```bash\n{command}\n```") is checker  # pasted output's command


def test_programs_reads_each_step_past_wrappers() -> None:
    command = "sudo env A=1 /usr/bin/ls -la; uv run mypy src | xargs grep -n x && (tree) || echo $(fd x)"
    steps = list(programs(command))
    assert steps == [("ls", "-la"), ("mypy", "src"), ("grep", "-n"), ("tree", ""), ("echo", "$"), ("fd", "x")]


def test_programs_reads_past_a_shell_and_quotes() -> None:
    """Codex runs ``["bash", "-lc", "..."]`` (joined with spaces by shell_command)."""
    assert list(programs("bash -lc 'cd /repo && go vet ./...'")) == [("cd", "/repo"), ("go", "vet")]
    assert runs_checker(json.dumps({"command": ["bash", "-lc", "cargo check"]}))
    assert runs_checker(json.dumps({"commands": ["cd app", "npx tsc --noEmit"]}))  # Responses' shell tool
    assert not is_listing_command(json.dumps({"command": 'grep -rnE "TODO|tree" src'}))  # quoted: no step
    assert is_listing_command(json.dumps({"command": 'sh -c "cd src && ls -la"'}))  # a shell's -c: read


def test_arguments_nested_past_the_parsers_stack_are_no_command() -> None:
    deep = '{"command": "go vet", "a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert not runs_checker(deep)


def test_a_tool_named_for_diagnostics_is_a_checker() -> None:
    assert runs_checker(None, "lsp_diagnostics")
    assert runs_checker('{"paths": ["src"]}', "read_lints")
    assert not runs_checker('{"pattern": "TODO"}', "grep")
    assert not runs_checker(None)
    assert not runs_checker("{not json")


GO_VET = "# example.com/app/pkg{k}\n" + "\n".join(
    f"./pkg{{k}}/file{n % 6}.go:{10 + n}:{2 + n % 5}: " + msg
    for n, msg in enumerate(
        [
            "unreachable code",
            "fmt.Sprintf format %d has arg name of wrong type string",
            "result of fmt.Errorf call not used",
            "self-assignment of x to x",
            "possible misuse of unsafe.Pointer",
            "struct field tag `json:name` not compatible with reflect.StructTag.Get",
        ]
        * 2
    )
)
OUTPUTS = {
    "go vet": "\n".join(GO_VET.format(k=k) for k in range(4)),  # 48 diagnostics in 4 packages
    "go build": "\n".join(
        f"./internal/api/handler{n % 8}.go:{20 + n}:9: undefined: Request{n}" for n in range(40)
    ),
    "pyflakes": "\n".join(f"app/views/v{n % 7}.py:{3 + n}:1: 'os' imported but unused" for n in range(40)),
}
COMMANDS = {"go vet": "go vet ./...", "go build": "go build ./...", "pyflakes": "python -m pyflakes app"}


def _body(command: str, text: str) -> dict[str, object]:
    call = {"name": "bash", "arguments": json.dumps({"command": command})}
    return {
        "model": "m",
        "messages": [
            {"role": "user", "content": "make the build pass"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c", "type": "function", "function": call}],
            },
            {"role": "tool", "tool_call_id": "c", "content": text},
        ],
    }


@pytest.mark.parametrize("tool", sorted(OUTPUTS))
def test_diagnostics_without_a_severity_word_are_kept_whole(tool: str) -> None:
    text, command = OUTPUTS[tool], COMMANDS[tool]
    tool_input = json.dumps({"command": command})
    assert detect(text, check_command=True) is ContentType.DIAGNOSTICS
    assert SearchCompressor().compress(make_unit(text, tool_input=tool_input)) is None
    default = ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()])
    for transforms in (default.transforms, [ContentRouter()]):
        result = Engine(ProxyConfig(transforms=transforms)).compress_json(_body(command, text))
        assert not result.changed, transforms  # every diagnostic reaches the model


@pytest.mark.parametrize("tool", sorted(OUTPUTS))
def test_the_same_lines_from_a_grep_are_still_ranked_and_cut(tool: str) -> None:
    """The command decides: these lines carry no severity word, so from a search they are matches."""
    text = OUTPUTS[tool]
    assert detect(text) is ContentType.SEARCH
    assert SearchCompressor().compress(make_unit(text, tool_input='{"command": "grep -rn x ."}')) is not None
    default = ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()])
    assert Engine(default).compress_json(_body("grep -rn x .", text)).changed
