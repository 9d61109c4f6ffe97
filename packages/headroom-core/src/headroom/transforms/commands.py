"""What a tool call ran: the shell command in its arguments, for the hints a compressor takes from it."""

from __future__ import annotations

import json


def shell_command(tool_input: str | None) -> str | None:
    """The command of a tool call's arguments: its ``command``/``cmd`` value when ``tool_input`` is a JSON
    object (a list, as Codex sends it, joined by spaces; None when the object has neither). Else
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
    command = args.get("command", args.get("cmd")) if isinstance(args, dict) else None
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    return command if isinstance(command, str) else None


__all__ = ["shell_command"]
