"""What a tool call ran: the shell command in its arguments, for the hints a compressor takes from it."""

from __future__ import annotations

import json


def shell_command(tool_input: str | None) -> str | None:
    """The command of a tool call's arguments: its ``command``/``cmd`` value when ``tool_input`` is a JSON
    object (a list, as Codex sends it, joined by spaces; None when the object has neither), else
    ``tool_input`` itself (a command as written, or the assistant's words before pasted output)."""
    if not tool_input or not tool_input.lstrip().startswith("{"):
        return tool_input
    try:
        args = json.loads(tool_input)
    except ValueError:
        return None
    command = args.get("command", args.get("cmd")) if isinstance(args, dict) else None
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    return command if isinstance(command, str) else None


__all__ = ["shell_command"]
