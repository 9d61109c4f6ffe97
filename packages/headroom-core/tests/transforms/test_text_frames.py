"""Command output inside an agent's plain-text result frame, through the default config.

The frames, as written by the agents' own code:

* Codex's freeform shell result (openai/codex, codex-rs/core/src/tools/mod.rs,
  ``format_exec_output_for_model_freeform``): ``Exit code: N``, ``Wall time: S seconds`` (one decimal),
  ``Total output lines: N`` when Codex cut the output, ``Output:``, then the output (after ``command timed
  out after N milliseconds`` when it timed out), joined with newlines.
* Codex's ``exec_command`` result (codex-rs/core/src/tools/context.rs, ``ExecCommandToolOutput``):
  ``Chunk ID``, ``Wall time: S seconds`` (four decimals), ``Process exited with code N``, ``Original
  token count``, ``Output:``; a cut output starts with ``formatted_truncate_text``'s warning.
* OpenHands' ``execute_bash`` observation (openhands/events/observation/commands.py,
  ``to_agent_observation``): the output, the bash session's ``[The command completed with exit code N.]``,
  then ``[Current working directory: ...]``, ``[Python interpreter: ...]``, ``[Command finished with exit
  code N]``.
* Gemini CLI's and Qwen Code's ``run_shell_command`` result (google-gemini/gemini-cli,
  packages/core/src/tools/shell.ts): ``Output: `` and the output, then the ``Error``, ``Exit Code``,
  ``Signal``, ``Background PIDs``, ``Process Group PGID`` lines that say something; older versions write
  all of them after ``Command:`` and ``Directory:`` lines, and some ``Stdout:``/``Stderr:`` for ``Output:``.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

from headroom.engine import Engine, EngineResult
from headroom.proxy.config import ProxyConfig
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector
from headroom.transforms.markers import parse_markers
from headroom.transforms.router import frame

from .conftest import make_unit, worker_log


def default_engine(**router: Any) -> Engine:
    return Engine(ProxyConfig(transforms=[SearchCompressor(), ContentRouter(**router), TagProtector()]))


def codex_frame(output: str, exit_code: int = 0, wall: str = "1.3", total_lines: int | None = None) -> str:
    sections = [f"Exit code: {exit_code}", f"Wall time: {wall} seconds"]
    if total_lines is not None:
        sections.append(f"Total output lines: {total_lines}")
    return "\n".join([*sections, "Output:", output])


def exec_frame(output: str, exit_code: int = 0, original_tokens: int | None = None) -> str:
    sections = ["Chunk ID: 7c1e2a", "Wall time: 0.8421 seconds", f"Process exited with code {exit_code}"]
    if original_tokens is not None:
        sections.append(f"Original token count: {original_tokens}")
    return "\n".join([*sections, "Output:", output])


OPENHANDS_TRAILER = (
    "\n[The command completed with exit code {code}.]"
    "\n[Current working directory: /workspace/acme__billing]"
    "\n[Python interpreter: /openhands/poetry/openhands-ai-py3.12/bin/python]"
    "\n[Command finished with exit code {code}]"
)


def openhands_frame(output: str, exit_code: int = 0) -> str:
    return output + OPENHANDS_TRAILER.format(code=exit_code)


def gemini_frame(output: str, exit_code: int = 0, *, old: bool = False, stderr: str = "") -> str:
    """Gemini CLI's (and Qwen Code's) ``run_shell_command`` result; ``old``: all eight lines (and with
    ``stderr``, the older ``Stdout:``/``Stderr:`` pair)."""
    if not old:
        lines = [
            f"Output: {output}",
            *([f"Exit Code: {exit_code}"] if exit_code else []),
            "Process Group PGID: 4242",
        ]
        return "\n".join(lines)
    body = [f"Stdout: {output}", f"Stderr: {stderr}"] if stderr else [f"Output: {output}"]
    return "\n".join(
        [
            "Command: gh api repos/acme/billing/issues",
            "Directory: (root)",
            *body,
            "Error: (none)",
            f"Exit Code: {exit_code}",
            "Signal: (none)",
            "Background PIDs: (none)",
            "Process Group PGID: 4242",
        ]
    )


def issues_json(count: int = 60) -> str:
    """``gh api repos/acme/billing/issues``: an array of issue records, pretty-printed."""
    records = [
        {
            "id": 2000400 + k,
            "number": 400 + k,
            "title": f"Invoice export fails for account {k}" if k != 37 else "Refund webhook drops retries",
            "state": "open" if k % 3 else "closed",
            "user": {"login": f"dev{k % 7}", "id": 9100 + k % 7, "type": "User"},
            "labels": [{"name": "bug" if k % 2 else "billing", "color": "d73a4a"}],
            "comments": k % 5,
            "created_at": f"2026-10-{1 + k % 28:02d}T09:{k % 60:02d}:00Z",
            "html_url": f"https://github.com/acme/billing/issues/{400 + k}",
        }
        for k in range(count)
    ]
    return json.dumps(records, indent=2)


def pytest_run(passing_files: int = 40) -> str:
    rows = [
        f"tests/unit/test_module_{k}.py ........................                    [{k:3d}%]"
        for k in range(passing_files)
    ]
    return "\n".join(
        [
            "============================= test session starts ==============================",
            "platform linux -- Python 3.12.4, pytest-8.3.3, pluggy-1.5.0",
            "rootdir: /repo",
            "collected 214 items",
            "",
            *rows,
            "tests/unit/test_refunds.py ...F....                                        [100%]",
            "",
            "=================================== FAILURES ===================================",
            "____________________________ test_refund_retries ______________________________",
            "",
            "    def test_refund_retries():",
            "        hook = RefundWebhook(retries=3)",
            ">       assert hook.deliver() == 'ok'",
            "E       AssertionError: assert 'dropped' == 'ok'",
            "",
            "tests/unit/test_refunds.py:58: AssertionError",
            "=========================== short test summary info ============================",
            "FAILED tests/unit/test_refunds.py::test_refund_retries - AssertionError: assert 'dropped'",
            "========================= 1 failed, 213 passed in 4.02s =========================",
        ]
    )


# -- request shapes ----------------------------------------------------------------------------------------


def responses_body(outputs: list[tuple[str, str]]) -> dict[str, Any]:
    """A Codex request (OpenAI Responses): each command a ``function_call``, its framed result a
    ``function_call_output``."""
    items: list[dict[str, Any]] = [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Why do refunds drop?"}],
        },
        {"type": "reasoning", "id": "rs_01", "summary": [], "encrypted_content": "gAAAAABn0x"},
    ]
    for k, (command, output) in enumerate(outputs):
        args = json.dumps({"command": command, "workdir": "/repo", "timeout_ms": 120000})
        items.append(
            {"type": "function_call", "call_id": f"call_{k}", "name": "shell_command", "arguments": args}
        )
        items.append({"type": "function_call_output", "call_id": f"call_{k}", "output": output})
    return {"model": "gpt-5-codex", "instructions": "You are Codex.", "input": items, "store": False}


def chat_body(outputs: list[tuple[str, str]]) -> dict[str, Any]:
    """An OpenHands-style request (Chat Completions): ``execute_bash`` calls and their ``tool`` messages."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are OpenHands agent."},
        {"role": "user", "content": "Why do refunds drop?"},
    ]
    for k, (command, output) in enumerate(outputs):
        call = {
            "id": f"toolu_{k}",
            "type": "function",
            "function": {"name": "execute_bash", "arguments": json.dumps({"command": command})},
        }
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append(
            {"role": "tool", "tool_call_id": f"toolu_{k}", "name": "execute_bash", "content": output}
        )
    return {"model": "gpt-4o", "messages": messages}


def sent_outputs(result: EngineResult, body: dict[str, Any]) -> list[str]:
    out = result.body if result.changed else body
    assert isinstance(out, dict)
    if "input" in out:
        return [item["output"] for item in out["input"] if item["type"] == "function_call_output"]
    return [m["content"] for m in out["messages"] if m["role"] == "tool"]


def compress(body: dict[str, Any], engine: Engine | None = None) -> tuple[EngineResult, list[str]]:
    original = copy.deepcopy(body)
    path = "/v1/responses" if "input" in body else "/v1/chat/completions"
    result = (engine or default_engine()).compress_json(body, path=path)
    assert body == original
    return result, sent_outputs(result, body)


def head_of(framed: str) -> str:
    found = frame(framed)
    assert found is not None
    return framed[: found.start]


def tail_of(framed: str) -> str:
    found = frame(framed)
    assert found is not None
    return framed[found.end :]


# -- the frames found -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("framed", "head"),
    [
        (codex_frame("x\n" * 12), "Exit code: 0\nWall time: 1.3 seconds\nOutput:\n"),
        (
            codex_frame("x\n" * 12, 1, "0", 3000),
            "Exit code: 1\nWall time: 0 seconds\nTotal output lines: 3000\nOutput:\n",
        ),
        (
            codex_frame("command timed out after 10000 milliseconds\n" + "x\n" * 12, 124, "10"),
            "Exit code: 124\nWall time: 10 seconds\nOutput:\ncommand timed out after 10000 milliseconds\n",
        ),
        (
            exec_frame("x\n" * 12),
            "Chunk ID: 7c1e2a\nWall time: 0.8421 seconds\nProcess exited with code 0\nOutput:\n",
        ),
        (
            exec_frame(
                "Warning: truncated output (original token count: 41234)\nTotal output lines: 5000\n\n"
                + "x\n" * 12,
                2,
                41234,
            ),
            "Chunk ID: 7c1e2a\nWall time: 0.8421 seconds\nProcess exited with code 2\n"
            "Original token count: 41234\nOutput:\n"
            "Warning: truncated output (original token count: 41234)\nTotal output lines: 5000\n\n",
        ),
        ("Wall time: 5.0012 seconds\nProcess running with session ID 3\nOutput:\n" + "x\n" * 12, None),
    ],
)
def test_codex_headers_are_found_whole(framed: str, head: str | None) -> None:
    found = frame(framed)
    assert found is not None
    assert found.end == len(framed)
    if head is not None:
        assert framed[: found.start] == head
    assert framed[found.start :].lstrip("x\n") == ""


def test_the_openhands_trailer_is_found_line_by_line() -> None:
    output = "\n".join(f"line {k}" for k in range(12))
    framed = openhands_frame(output, 1)
    found = frame(framed)
    assert found is not None
    assert (found.start, framed[found.start : found.end]) == (0, output)
    # each metadata line is optional (no working directory, exit code -1: not written)
    short = output + "\n[Command finished with exit code 0]"
    assert tail_of(short) == "\n[Command finished with exit code 0]"
    previous = (
        "[Below is the output of the previous command.]\n" + output + "\n[Current working directory: /w]"
    )
    assert head_of(previous) == "[Below is the output of the previous command.]\n"


def test_gemini_and_qwen_frames_are_found_around_the_output() -> None:
    output = "\n".join(f"line {k}" for k in range(12))
    new, old = gemini_frame(output, 1), gemini_frame(output, old=True)
    assert (head_of(new), tail_of(new)) == ("Output: ", "\nExit Code: 1\nProcess Group PGID: 4242")
    assert head_of(old) == "Command: gh api repos/acme/billing/issues\nDirectory: (root)\nOutput: "
    assert tail_of(old).startswith("\nError: (none)\nExit Code: 0\n")
    split = gemini_frame(output, 2, old=True, stderr="warning: x\nerror: y")
    assert tail_of(split).startswith("\nStderr: warning: x\nerror: y\nError: (none)\nExit Code: 2")
    # an output that ends with a line the trailer could hold keeps it as it is: outside the output
    assert tail_of(f"Output: {output}\nError: boom") == "\nError: boom"


@pytest.mark.parametrize(
    "text",
    [
        "Exit code: 0\n" + "x\n" * 20,  # the first line only
        "Output:\n" + "x\n" * 20,  # Codex's Output: line without its header
        "Stdout: x\n" + "x\n" * 20,  # no Stderr: line
        "Command: ls\nOutput: x\n" + "x\n" * 20,  # no Directory: line
        gemini_frame("one\ntwo\nthree"),
        "Command: " + "x" * 100_000,
        "Stdout: " + "x\n" * 50_000,  # (no Stderr: line: one scan)
        "Exit code: 0\nWall time: 1.3 seconds\n" + "x\n" * 20,  # no Output: line
        "Exit code: zero\nWall time: 1.3 seconds\nOutput:\n" + "x\n" * 20,
        "Wall time: 1.3 seconds\nOutput:\n" + "x\n" * 20,  # exec_command writes four decimals
        "x\n" * 20 + "[Command finished with exit code 0] and then some",
        "x\n" * 20 + "[Command finished with exit code 0]\ntrailing",
        "[\n" + "  1,\n" * 20 + "  2\n]",  # a JSON array ends with ] too
        codex_frame("one\ntwo\nthree"),  # fewer lines than an envelope's minimum
        openhands_frame("one\ntwo\nthree"),
        "Exit code: " + "9" * 100_000,
        "x\n" * 20 + "[Python interpreter: " + "]" * 100_000,
    ],
)
def test_texts_that_are_not_a_whole_frame_are_not_unwrapped(text: str) -> None:
    assert frame(text) is None


def test_a_text_without_a_frame_pays_a_few_string_checks() -> None:
    plain = "\n".join(f"2026-11-27 INFO line {k}" for k in range(100_000))  # ~3 MB, no frame
    start = time.perf_counter()
    for _ in range(200):
        assert frame(plain) is None
    assert time.perf_counter() - start < 0.5  # a full scan would take seconds; these are a few C calls


# -- through the engine -------------------------------------------------------------------------------


def test_a_framed_json_answer_gets_the_json_compressor_on_responses() -> None:
    framed = codex_frame(issues_json())
    result, (sent,) = compress(responses_body([("gh api repos/acme/billing/issues", framed)]))
    assert result.changed
    assert result.transforms["router"].notes["json:unwrap+json"] == 1
    head = "Exit code: 0\nWall time: 1.3 seconds\nOutput:\n"
    assert sent.startswith(head)
    assert len(sent) < len(framed) / 2
    assert "Refund webhook drops retries" in sent or list(parse_markers(sent))


def test_a_framed_json_answer_gets_the_json_compressor_on_chat_completions() -> None:
    framed = openhands_frame(issues_json(), 0)
    result, (sent,) = compress(chat_body([("gh api repos/acme/billing/issues", framed)]))
    assert result.changed
    assert result.transforms["router"].notes["json:unwrap+json"] == 1
    assert sent.endswith(OPENHANDS_TRAILER.format(code=0))
    assert len(sent) < len(framed) / 2


@pytest.mark.parametrize("old", [False, True])
def test_a_gemini_or_qwen_json_answer_gets_the_json_compressor(old: bool) -> None:
    """Qwen Code talks Chat Completions: its shell result's JSON is JSON once out of the frame (with the
    frame it was read as text, and kept whole)."""
    framed = gemini_frame(issues_json(), old=old)
    result, (sent,) = compress(chat_body([("gh api repos/acme/billing/issues", framed)]))
    assert result.transforms["router"].notes["json:unwrap+json"] == 1
    assert sent.startswith(head_of(framed))
    assert sent.endswith(tail_of(framed))
    assert len(sent) < len(framed) / 2


def test_a_framed_log_and_a_framed_test_run_compress_as_their_type() -> None:
    log, tests = codex_frame(worker_log()), exec_frame(pytest_run(), 1)
    result, (sent_log, sent_tests) = compress(
        responses_body([("tail -n 300 logs/worker.log", log), ("python -m pytest -q tests/unit", tests)])
    )
    notes = result.transforms["router"].notes
    assert notes["logs:unwrap+logs"] == 1
    assert notes["tests:unwrap+testrun"] == 1
    assert sent_log.startswith(head_of(log))
    assert sent_tests.startswith(head_of(tests))
    assert sent_log[len(head_of(log)) :].startswith("2026-11-27 12:00:00,123 INFO")
    assert "task 9001 crashed: ConnectionResetError" in sent_log
    assert "FAILED tests/unit/test_refunds.py::test_refund_retries" in sent_tests
    assert "E       AssertionError: assert 'dropped' == 'ok'" in sent_tests
    assert len(sent_log) < len(log) / 2
    assert len(sent_tests) < len(tests) / 2
    assert list(parse_markers(sent_log))
    assert list(parse_markers(sent_tests))


def test_openhands_frames_compress_on_chat_completions_with_their_trailer_exact() -> None:
    log, tests = openhands_frame(worker_log(), 0), openhands_frame(pytest_run(), 1)
    result, (sent_log, sent_tests) = compress(chat_body([("cat logs/worker.log", log), ("pytest -q", tests)]))
    notes = result.transforms["router"].notes
    assert notes["logs:unwrap+logs"] == notes["tests:unwrap+testrun"] == 1
    assert sent_log.endswith(OPENHANDS_TRAILER.format(code=0))
    assert sent_tests.endswith(OPENHANDS_TRAILER.format(code=1))
    assert "task 9001 crashed: ConnectionResetError" in sent_log


def test_a_re_run_folds_against_the_earlier_output_inside_its_frame() -> None:
    log = worker_log()
    first, again = codex_frame(log, wall="2.1"), codex_frame(log + "\ndone", wall="1.9")  # other wall times
    result, (_, sent) = compress(
        responses_body([("cat logs/worker.log", first), ("cat logs/worker.log", again)])
    )
    assert sent.startswith("Exit code: 0\nWall time: 1.9 seconds\nOutput:\n")
    assert any("repeated from earlier output" in (m.detail or "") for m in parse_markers(sent))
    assert any(
        "dedupe" in note and note.startswith("logs:unwrap") for note in result.transforms["router"].notes
    )


def test_a_re_sent_history_compresses_to_the_same_bytes() -> None:
    turns = [
        ("gh api repos/acme/billing/issues", codex_frame(issues_json())),
        ("tail -n 300 logs/worker.log", codex_frame(worker_log())),
        ("python -m pytest -q tests/unit", exec_frame(pytest_run(), 1)),
        ("cat logs/worker.log", codex_frame(worker_log(320), wall="0.7")),
    ]
    for build in (responses_body, chat_body):
        sent: list[str] = []
        for size in range(1, len(turns) + 1):
            _, now = compress(build(turns[:size]), default_engine())  # a fresh engine: no memo
            assert now[: len(sent)] == sent
            sent = now


def test_unwrap_false_leaves_the_frame_to_the_whole_unit_route() -> None:
    framed = codex_frame(issues_json())
    body = responses_body([("gh api repos/acme/billing/issues", framed)])
    result, (sent,) = compress(body, default_engine(unwrap=False))
    notes = result.transforms["router"].notes
    assert not any("unwrap" in note or note.startswith("json:") for note in notes)
    _, (sent_on,) = compress(body)
    assert sent != sent_on


def test_a_frame_around_three_lines_passes_through_byte_for_byte() -> None:
    for framed in (codex_frame("ok\n3 files changed\ndone"), openhands_frame("ok\n3 files changed\ndone")):
        for body in (responses_body([("git status", framed)]), chat_body([("git status", framed)])):
            result, (sent,) = compress(body)
            assert not result.changed
            assert result.body is body
            assert sent == framed


def test_a_text_that_merely_starts_like_a_frame_is_routed_whole() -> None:
    text = "Exit code: 0\n" + issues_json()  # a tool of another agent: no Wall time / Output: lines
    assert frame(text) is None
    result, _ = compress(responses_body([("gh api repos/acme/billing/issues", text)]))
    assert not any("unwrap" in note for note in result.transforms["router"].notes)


def test_the_router_alone_keeps_the_frame_and_reports_the_output_type() -> None:
    framed = codex_frame(worker_log())
    decision = ContentRouter().route(make_unit(framed))
    assert decision.text is not None
    assert decision.kind == "logs"
    assert decision.compressors[0] == "unwrap"
    assert decision.text.startswith("Exit code: 0\nWall time: 1.3 seconds\nOutput:\n2026-11-27 12:00:00,123")
    plain = ContentRouter(unwrap=False).route(make_unit(framed))
    assert "unwrap" not in plain.compressors


@pytest.mark.parametrize("depth", [2, 3000])
def test_a_frame_inside_a_frames_output_is_not_unwrapped_again(depth: int) -> None:
    """The output of ``cat`` on a saved result may hold a frame: its lines are that output's. Each level of
    unwrapping copied and scanned the rest of the text, and a text of nested headers recursed until Python's
    limit (a RecursionError, the request forwarded uncompressed)."""
    head = "Exit code: 0\nWall time: 1.3 seconds\nOutput:\n"
    text = head * depth + worker_log()
    decision = ContentRouter().route(make_unit(text))
    assert decision.text is not None
    assert decision.compressors.count("unwrap") == 1
    assert decision.text.startswith(head)  # the outer frame, byte for byte
    assert "ERROR worker.pool: task 9001 crashed" in decision.text
