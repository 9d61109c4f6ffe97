"""The contract suite's inputs: real-shaped tool output in the three wire formats, and the bad inputs."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "responses": "/v1/responses"}


@dataclass(frozen=True)
class Case:
    id: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    raw_only: bool = False
    """Only adapters that see raw bytes can be sent this (LiteLLM's hook gets a parsed dict)."""
    decoded: bytes | None = None
    """For a content-encoded body: the JSON inside, which is what the engine compresses."""


def grep_output() -> str:
    lines = []
    for i in range(90):
        path = f"src/app/module_{i % 6}.py"
        if i % 15 == 0:
            lines.append(f"{path}:{10 + i}:class Handler{i}(BaseHandler):")
        elif i % 7 == 0:
            lines.append(f"{path}-{10 + i}-    # context line {i}")
        else:
            lines.append(f"{path}:{10 + i}:        response = handler_{i}(request, timeout={i})")
    return "\n".join(lines)


def log_output() -> str:
    lines = []
    for i in range(400):
        ts = f"081109 2036{i % 60:02d}"
        if i in (133, 271):
            lines.append(
                f"{ts} {i} ERROR dfs.DataNode: IOException in block blk_{i * 7919} at /10.0.0.{i % 250}"
            )
        else:
            lines.append(
                f"{ts} {i} INFO dfs.DataNode$PacketResponder: PacketResponder {i % 3} "
                f"for block blk_{i * 7919} terminating"
            )
    return "\n".join(lines)


def json_output() -> str:
    records = [
        {
            "Name": f"car {i}",
            "Miles_per_Gallon": 10 + i % 30,
            "Cylinders": 4 + 2 * (i % 3),
            "Origin": "USA",
            "error": None,
        }
        for i in range(150)
    ]
    records[77]["Name"] = "ford torino"
    return json.dumps(records)


def diff_output() -> str:
    parts = ["diff --git a/app.py b/app.py", "index 1111111..2222222 100644", "--- a/app.py", "+++ b/app.py"]
    parts.append("@@ -1,40 +1,41 @@")
    for i in range(40):
        parts.append(f" line {i} of context that did not change")
        if i == 20:
            parts.append("-    return old_value")
            parts.append("+    return new_value")
            parts.append("+    # added")
    parts += ["diff --git a/uv.lock b/uv.lock", "--- a/uv.lock", "+++ b/uv.lock", "@@ -1,60 +1,60 @@"]
    parts += [f'-version = "1.{i}"\n+version = "2.{i}"' for i in range(60)]
    return "\n".join(parts)


def pasted_output() -> str:
    body = [
        "============================= test session starts ==============================",
        "collected 120 items",
        "",
    ]
    body += [f"tests/test_mod.py::test_case_{i} PASSED" for i in range(118)]
    body += [
        "tests/test_mod.py::test_broken FAILED",
        "E       AssertionError: expected 3, got 4",
        "= 1 failed, 119 passed in 2.31s =",
    ]
    return "<returncode>1</returncode>\n<output>\n" + "\n".join(body) + "\n</output>"


def openai(output: str, *, pasted: bool = False) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": "Where is Handler15 defined, and what failed?"},
    ]
    if pasted:
        messages += [
            {"role": "assistant", "content": "```bash\npytest\n```"},
            {"role": "user", "content": output},
        ]
    else:
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "bash", "arguments": '{"command": "run"}'},
        }
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": output},
        ]
    return {"model": "gpt-4o", "messages": messages, "x_vendor_field": {"kept": [1, 2.5, None]}}


def anthropic(output: str, *, pasted: bool = False) -> dict[str, Any]:
    user_turn: list[dict[str, Any]]
    if pasted:
        user_turn = [{"type": "text", "text": output}]
        assistant: list[dict[str, Any]] = [{"type": "text", "text": "```bash\npytest\n```"}]
    else:
        assistant = [
            {"type": "thinking", "thinking": "I should run it.", "signature": "c2lnbmF0dXJl"},
            {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": "run"}},
        ]
        user_turn = [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": output}]},
            {"type": "x_future_block", "data": {"opaque": True}},
        ]
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [
            {"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [
            {"role": "user", "content": "Where is Handler15 defined, and what failed?"},
            {"role": "assistant", "content": assistant},
            {"role": "user", "content": user_turn},
        ],
    }


def responses(output: str, *, pasted: bool = False) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Where is Handler15?"}],
        }
    ]
    if pasted:
        items.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": output}]})
    else:
        items += [
            {"type": "function_call", "call_id": "fc_1", "name": "bash", "arguments": '{"command": "run"}'},
            {"type": "function_call_output", "call_id": "fc_1", "output": output},
        ]
    return {"model": "gpt-4.1", "instructions": "You are a coding agent.", "input": items}


BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "openai": openai,
    "anthropic": anthropic,
    "responses": responses,
}
OUTPUTS: dict[str, Callable[[], str]] = {
    "search": grep_output,
    "log": log_output,
    "json": json_output,
    "diff": diff_output,
}


def golden_cases() -> list[Case]:
    cases = []
    for fmt, build in BUILDERS.items():
        for kind, make in OUTPUTS.items():
            cases.append(Case(f"{fmt}-{kind}", PATHS[fmt], json.dumps(build(make())).encode()))
        cases.append(
            Case(f"{fmt}-pasted", PATHS[fmt], json.dumps(build(pasted_output(), pasted=True)).encode())
        )
    # A client that indents its JSON: passthrough must keep those bytes, compression must still work.
    cases.append(
        Case("openai-log-indented", PATHS["openai"], json.dumps(openai(log_output()), indent=2).encode())
    )
    return cases


def bad_cases() -> list[Case]:
    body = json.dumps(openai(log_output())).encode()
    return [
        Case(
            "malformed-json", PATHS["openai"], b'{"messages": [{"role": "tool", "content": "x"', raw_only=True
        ),
        Case("json-array", PATHS["openai"], b'[{"role": "user"}]', raw_only=True),
        Case("not-utf8", PATHS["anthropic"], b'{"messages": "\xff\xfe"}', raw_only=True),
        Case(
            "gzip-body",
            PATHS["openai"],
            gzip.compress(body, mtime=0),
            {"content-encoding": "gzip"},
            raw_only=True,
            decoded=body,
        ),
        Case("mode-off", PATHS["openai"], body, {"x-headroom-mode": "off"}),
        Case("not-an-llm-path", "/v1/embeddings", body),
        Case(
            "small",
            PATHS["anthropic"],
            b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}',
        ),
    ]
