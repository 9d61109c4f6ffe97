"""What a tool call ran: the shell command in its arguments, for the hints a compressor takes from it."""

from __future__ import annotations

import json
from collections.abc import Iterator


def shell_command(tool_input: str | None) -> str | None:
    """The command of a tool call's arguments: its ``command``/``cmd`` value when ``tool_input`` is a JSON
    object (a list, as Codex sends it, joined by spaces), or its ``commands`` one per line (the Responses
    API's ``shell`` tool); None when the object has none of them. Else
    ``tool_input`` is a command as written or the assistant's words before pasted output: the body of their
    last fenced block when there is one (mini-swe-agent's ```` ```bash ```` block: the words around it,
    "let me search...", are no command), else the text itself."""
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
    except ValueError:
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
_WRAPPERS = frozenset(
    {"sudo", "command", "xargs", "exec", "time", "nice", "env", "npx", "bunx", "uvx", "do", "then", "else"}
)
"""Words that run the program after them (a loop's or an if's body starts with one too)."""
_SHELLS = frozenset({"bash", "sh", "zsh", "dash"})
_RUNNERS = frozenset({"npm", "pnpm", "yarn", "bun", "uv", "poetry", "pipx", "pdm", "hatch"})
_RUN_WORDS = frozenset({"run", "exec", "dlx", "x"})
"""``pnpm exec tsc``, ``uv run mypy``, ``poetry run flake8``: a runner and its run word run the next word."""


def programs(command: str) -> Iterator[tuple[str, str]]:
    """Each step of a shell ``command`` (split at ``&&``, ``||``, ``;``, ``|``, newlines and parentheses)
    as the program it runs (its file name, unquoted, after ``sudo``, ``xargs``, ``npx``, ``uv run``,
    ``python -m``, ``bash -lc``, ``timeout N`` and ``NAME=value`` settings) and the word after it (``""``
    when none)."""
    for sep in _STEP_SEPARATORS:
        command = command.replace(sep, "\n")
    for step in command.split("\n"):
        words = step.split(None, 8)[:8]
        i = 0
        while i < len(words) and (skip := _skipped(words, i)):
            i += skip
        if i < len(words):
            following = words[i + 1] if i + 1 < len(words) else ""
            yield words[i].strip("'\"").rsplit("/", 1)[-1], following


def _skipped(words: list[str], i: int) -> int:
    """How many words from ``words[i]`` on only run the program after them (0: ``words[i]`` is the one)."""
    word = words[i]
    following = words[i + 1] if i + 1 < len(words) else ""
    if word in _WRAPPERS or ("=" in word and not word.startswith("-")):
        return 1
    if word == "timeout" or (word in _RUNNERS and following in _RUN_WORDS):
        return 2
    if word.rsplit("/", 1)[-1] in _SHELLS and following in ("-c", "-lc", "-ic"):
        return 2  # Codex's ["bash", "-lc", "..."]
    return 2 if following == "-m" and word.rsplit("/", 1)[-1].startswith("python") else 0


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
