"""Requests full of tool output in the three wire formats, and how to read their tool-output texts back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from headroom.engine import Engine, WireFormat
from headroom.engine.codecs import EXTRACTORS
from headroom.proxy.config import ProxyConfig


def grep_output(tag: str) -> str:
    """Search results long enough that the default transforms shorten them (unique per ``tag``)."""
    lines = [
        f"src/{tag}/module_{i % 40}.py:{i}:    result = compute_value(item_{i}, config)  # TODO refactor"
        for i in range(400)
    ]
    return "\n".join(lines)


def log_output(tag: str) -> str:
    lines = [
        f"2026-11-27T03:{i // 60:02d}:{i % 60:02d}Z INFO {tag}-worker-{i % 4} batch {i} ok"
        for i in range(300)
    ]
    return "\n".join([*lines, f"ERROR {tag}-worker-2 Traceback: ValueError bad row 17"])


def made_up_words(n: int) -> str:
    """``n`` made-up words: a text no transform shortens (deterministic)."""
    words, x = [], 7
    for _ in range(n):
        x = (x * 1103515245 + 12345) % (1 << 31)
        words.append("".join(chr(97 + (x >> shift) % 26) for shift in (3, 8, 13, 18, 23)[: 3 + x % 3]))
    return " ".join(words)


def chat_request(model: str, tag: str, *, stream: bool = False) -> dict[str, Any]:
    args = json.dumps({"pattern": "compute_value"})
    return {
        "model": model,
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a careful coding agent."},
            {"role": "user", "content": f"Where is compute_value called? ({tag})"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "grep", "arguments": args}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": grep_output(tag)},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "bash", "arguments": json.dumps({"cmd": "tail worker.log"})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_2", "content": log_output(tag)},
        ],
    }


def anthropic_request(model: str, tag: str, *, stream: bool = False) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 256,
        "stream": stream,
        "system": "You are a careful coding agent.",
        "messages": [
            {"role": "user", "content": f"Where is compute_value called? ({tag})"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "grep",
                        "input": {"pattern": "compute_value"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": grep_output(tag)}],
            },
        ],
    }


def responses_request(model: str, tag: str, *, stream: bool = False) -> dict[str, Any]:
    return {
        "model": model,
        "stream": stream,
        "input": [
            {"role": "user", "content": f"Where is compute_value called? ({tag})"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "grep",
                "arguments": json.dumps({"pattern": "compute_value"}),
            },
            {"type": "function_call_output", "call_id": "call_1", "output": grep_output(tag)},
        ],
    }


def tool_texts(body: Mapping[str, Any], fmt: WireFormat) -> list[str]:
    """The tool-output texts of a body as the engine's codec finds them (LiteLLM may reshape the rest)."""
    config = ProxyConfig()
    return [
        slot.text for slot in EXTRACTORS[fmt](body, config.pasted_output_tags, config.pasted_output_min_chars)
    ]


def expected_texts(
    request: Mapping[str, Any], fmt: WireFormat, config: ProxyConfig | None = None
) -> list[str]:
    """What the engine alone makes of the request's tool outputs."""
    result = Engine(config).compress_json(request, format=fmt)
    assert result.changed, result.summary()
    return tool_texts(result.body, fmt)
