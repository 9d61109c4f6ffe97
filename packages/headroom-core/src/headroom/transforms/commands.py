"""What a tool call ran: the shell command in its arguments, for the hints a compressor takes from it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from headroom.engine.caches import content_cache


@content_cache(256)
def shell_command(tool_input: str | None) -> str | None:
    """The command of a tool call's arguments: its ``command``/``cmd`` value when ``tool_input`` is a JSON
    object (a list, as Codex sends it, joined by spaces), or its ``commands`` one per line (the Responses
    API's ``shell`` tool); None when the object has none of them. Else
    ``tool_input`` is a command as written or the assistant's words before pasted output: the body of their
    last fenced block when there is one (mini-swe-agent's ```` ```bash ```` block: the words around it,
    "let me search...", are no command), else the text itself. Cached: a unit's search, listing and
    checker hints read one parse."""
    if not tool_input:
        return tool_input
    if not tool_input.lstrip().startswith("{"):
        fence = tool_input.rfind("```")
        opening = tool_input.rfind("```", 0, fence) if fence > 0 else -1
        if opening < 0:
            return tool_input
        body = tool_input[opening + 3 : fence]
        return body.split("\n", 1)[1] if "\n" in body else body
    try:
        args = json.loads(tool_input)
    except (ValueError, RecursionError):  # (arguments nested deeper than the parser's stack)
        return None
    if not isinstance(args, dict):
        return None
    command = args.get("command", args.get("cmd"))
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    elif command is None and isinstance(args.get("commands"), list):  # the Responses API's shell tool
        command = "\n".join(str(c) for c in args["commands"])
    return command if isinstance(command, str) else None


_STEP_SEPARATORS = ("&&", "||", ";", "|", "\n", "(", ")")
_QUOTED = re.compile(r"(-[li]?c\s+)?('[^']*'|\"(?:\\.|[^\"\\])*\")")
"""A quoted word, after a shell's ``-c``/``-lc``/``-ic`` (a command to read) or not (an argument)."""
_WRAPPERS = frozenset(
    {"sudo", "command", "xargs", "exec", "time", "nice", "env", "timeout", "npx", "bunx", "uvx", "do", "then",
     "else", "if", "while", "until", "!"}
)  # fmt: skip
"""Words that run the program after them (a loop's or an if's body starts with one too)."""
_OPTION_VALUES = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"}),
    "nice": frozenset({"-n"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "xargs": frozenset({"-n", "-I", "-P", "-L", "-d", "-E", "-s", "-a"}),
    "uv": frozenset(
        {"--with", "--python", "-p", "--directory", "--project", "--package", "--extra", "--group"}
    ),
}
"""The options of a wrapper (or runner) that take a value as the next word."""
_SHELLS = frozenset({"bash", "sh", "zsh", "dash"})
_RUNNERS = frozenset({"npm", "pnpm", "yarn", "bun", "uv", "poetry", "pipx", "pdm", "hatch"})
_RUN_WORDS = frozenset({"run", "exec", "dlx", "x"})
"""``pnpm exec tsc``, ``uv run mypy``, ``poetry run flake8``: a runner and its run word run the next word
(``yarn tsc``, ``pnpm tsc``, ``bun tsc``: these three run it without one)."""
_BIN_RUNNERS = frozenset({"yarn", "pnpm", "bun"})


def programs(command: str) -> Iterator[tuple[str, str]]:
    """Each step of a shell ``command`` (split at ``&&``, ``||``, ``;``, ``|``, newlines and parentheses
    outside quotes) as the program it runs (its file name, unquoted, after ``sudo -u app``, ``timeout -k 5
    60``, ``xargs -0``, ``npx --yes``, ``uv run --with x``, ``python -m``, ``bash -lc``, ``NAME=value``
    settings and the like) and the word after it (``""`` when none)."""
    command = _QUOTED.sub(_unquoted, command)
    for sep in _STEP_SEPARATORS:
        command = command.replace(sep, "\n")
    for step in command.split("\n"):
        words = [word.strip("'\"") for word in step.split(None, 12)[:12]]
        i = _program_at(words)
        if i < len(words):
            following = words[i + 1] if i + 1 < len(words) else ""
            yield words[i].rsplit("/", 1)[-1], following


def _unquoted(match: re.Match[str]) -> str:
    """A shell's ``-c`` command as its text (its steps are read too); any other quoted word as ``''``
    (a pattern's ``|`` or ``;`` is no step)."""
    return match[1] + match[2][1:-1] if match[1] else "''"


def _program_at(words: list[str]) -> int:
    """Where the program of a step's ``words`` is: past what only runs it."""
    i = 0
    while i < len(words):
        word, following = words[i], words[i + 1] if i + 1 < len(words) else ""
        if word in _WRAPPERS:
            i = _past_options(words, i + 1, word)
            if word == "timeout" and i < len(words) and words[i][:1].isdigit():
                i += 1  # the duration
        elif "=" in word and not word.startswith("-"):
            i += 1  # NAME=value
        elif word in _RUNNERS and following in _RUN_WORDS:
            i = _past_options(words, i + 2, word)
        elif word in _BIN_RUNNERS and following and not following.startswith("-"):
            i += 1
        elif (word.rsplit("/", 1)[-1] in _SHELLS and following in ("-c", "-lc", "-ic")) or (
            following == "-m" and word.rsplit("/", 1)[-1].startswith("python")
        ):
            i += 2  # Codex's ["bash", "-lc", "..."], python -m mypy
        else:
            break
    return i


def _past_options(words: list[str], i: int, wrapper: str) -> int:
    """The index after the options (and their values) at ``words[i:]`` of ``wrapper``."""
    takes_value = _OPTION_VALUES.get(wrapper, frozenset())
    while i < len(words) and words[i].startswith("-") and words[i] != "-":
        option = words[i]
        i += 2 if option in takes_value else 1
        if option == "--":
            break
    return i


_CHECKERS = frozenset(
    {
        # Python
        "mypy", "dmypy", "pyright", "basedpyright", "pyflakes", "flake8", "pylint", "pycodestyle",
        "pydocstyle", "vulture",
        # JavaScript, TypeScript
        "tsc", "vue-tsc", "eslint", "stylelint",
        # Go
        "staticcheck", "golangci-lint", "golint", "revive", "errcheck", "ineffassign",
        # C, C++, Rust, JVM, Swift
        "gcc", "g++", "cc", "c++", "clang", "clang++", "clang-tidy", "cppcheck", "rustc", "javac",
        "kotlinc", "swiftc",
        # shell, containers, config
        "shellcheck", "hadolint", "yamllint",
    }
)  # fmt: skip
"""Programs whose output is a list of diagnostics (``path:line[:col]: message``)."""
_CHECKER_VERBS = {
    "go": frozenset({"vet", "build", "install"}),
    "cargo": frozenset({"check", "build", "clippy"}),
    "ruff": frozenset({"check", "."}),
    "dotnet": frozenset({"build"}),
}
"""Programs that print diagnostics when run with one of these words after them (``go vet ./...``)."""
_CHECKER_TOOL_WORDS = ("diagnostic", "lint", "get_errors")
"""Words in a tool's name that say it reports diagnostics (``lsp_diagnostics``, ``read_lints``)."""


@content_cache(256)
def runs_checker(tool_input: str | None, tool_name: str | None = None) -> bool:
    """True when a tool call ran a linter, type checker or compiler (``go vet``, ``mypy``, ``tsc``,
    ``cargo check``, ... in any step of its :func:`shell_command`), or its tool's name says it reports
    diagnostics: each line of such output is an error or warning the model needs, even when it carries
    no severity word (``./a.go:12:5: unreachable code``)."""
    if tool_name and any(word in tool_name.lower() for word in _CHECKER_TOOL_WORDS):
        return True
    command = shell_command(tool_input)
    if not command:
        return False
    for program, following in programs(command[:2000]):
        if program in _CHECKERS or following in _CHECKER_VERBS.get(program, ()):
            return True
    return False


__all__ = ["programs", "runs_checker", "shell_command"]
