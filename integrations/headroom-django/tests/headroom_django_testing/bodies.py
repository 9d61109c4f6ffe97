"""Request bodies in the three wire formats, with tool output big enough to compress."""

from __future__ import annotations

import json
from typing import Any

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
RESPONSES = "/v1/responses"


def build_log(repeats: int = 200) -> str:
    """A long repetitive service log with a few lines that matter."""
    lines = ["$ journalctl -u ingest --since today"]
    for block in range(3):
        lines += ["2026-11-27 03:00:00 INFO ingest worker heartbeat ok (queue depth 0)"] * repeats
        lines.append(
            f"2026-11-27 03:0{block}:17 ERROR ingest batch {block} failed: upstream timeout after 30s"
        )
    return "\n".join(lines)


def chat(log: str) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a careful SRE assistant."},
            {"role": "user", "content": "Why does the ingest service fail?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "shell",
                            "arguments": json.dumps({"cmd": "journalctl -u ingest"}),
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": log},
        ],
        "tools": [{"type": "function", "function": {"name": "shell", "parameters": {"type": "object"}}}],
    }


def messages(log: str) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 512,
        "system": "You are a careful SRE assistant.",
        "messages": [
            {"role": "user", "content": "Why does the ingest service fail?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "shell", "input": {"cmd": "journalctl"}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": log}],
            },
        ],
    }


def responses(log: str) -> dict[str, Any]:
    return {
        "model": "gpt-4.1",
        "input": [
            {"role": "user", "content": "Why does the ingest service fail?"},
            {
                "type": "function_call",
                "call_id": "fc_1",
                "name": "shell",
                "arguments": json.dumps({"cmd": "journalctl -u ingest"}),
            },
            {"type": "function_call_output", "call_id": "fc_1", "output": log},
        ],
    }


def all_formats(repeats: int = 200) -> list[tuple[str, bytes]]:
    """(path, body) for each wire format."""
    log = build_log(repeats)
    return [(CHAT, encode(chat(log))), (MESSAGES, encode(messages(log))), (RESPONSES, encode(responses(log)))]


def encode(obj: Any) -> bytes:
    # Spaces after separators, like most SDKs: a changed body is re-serialised compactly by the engine.
    return json.dumps(obj).encode()
