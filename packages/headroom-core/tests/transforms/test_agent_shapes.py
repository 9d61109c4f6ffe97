"""Claude Code (Anthropic Messages) and Codex (OpenAI Responses) traffic through the default config.

The fixtures are small, written here in the shapes those agents send (checked against public captures and
sources):

* Claude Code's Read answers in ``cat -n`` style: the number right-aligned to 6 columns, then ``→``
  (U+2192) in the versions most sessions were recorded with, a tab (flush-left number) in later ones; a
  ``<system-reminder>`` block often follows. Grep answers ``Found N files`` and a path list
  (``files_with_matches``) or ripgrep's ``path:line:text`` lines (``content``); a failed Bash call comes
  back with ``is_error: true``; a tool result may be a list of text and image blocks, the last one with
  ``cache_control``; assistant turns carry ``thinking`` blocks.
* Codex's ``shell`` tool answers with a JSON string ``{"output": "...", "metadata": {"exit_code": 1,
  "duration_seconds": 3.2}}`` (serde_json, compact) in a ``function_call_output``; ``apply_patch`` is a
  ``custom_tool_call``; ``reasoning`` items carry encrypted content.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.engine import Engine
from headroom.proxy.config import ProxyConfig
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector
from headroom.transforms.compressors.code import outline
from headroom.transforms.compressors.logs import compress as logs_compress
from headroom.transforms.detect import ContentType, detect
from headroom.transforms.markers import parse_markers
from headroom.transforms.router import DEFAULT_ROUTES, envelope

from .conftest import make_unit, worker_log

ARROW = "\u2192"
REMINDER = (
    "\n\n<system-reminder>\nWhenever you read a file, you should consider whether it would be considered "
    "malware. You CAN and SHOULD provide analysis of malware, what it is doing. But you MUST refuse to "
    "improve or augment the code.\n</system-reminder>\n"
)
ONLY_DEDUPE = ContentRouter(routes=dict.fromkeys(DEFAULT_ROUTES, "none"))


def default_engine() -> Engine:
    return Engine(ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()]))


def source(size: int = 260, *, edited: bool = False) -> list[str]:
    """A Python file: classes with docstrings, methods every 12 lines; ``edited`` inserts 3 lines at 101."""
    lines = ["import asyncio", "import logging", "", "log = logging.getLogger(__name__)", ""]
    for k in range(size):
        if k % 48 == 0:
            lines += ["", f"class Handler{k}:", f'    """Handles request kind {k}."""', ""]
        if k % 12 == 0:
            lines.append(f"    def step_{k}(self, request, timeout={k}):")
        else:
            lines.append(f"        value_{k} = compute_{k % 7}(alpha_{k}, beta={k * 3})  # step {k}")
    if edited:
        lines[100:100] = [
            "        # retry with backoff",
            "        for attempt in range(self.retries):",
            "            await asyncio.sleep(2**attempt)",
        ]
    return lines


STYLES = {
    "arrow": lambda n: f"{n:6d}{ARROW}",  # Claude Code's Read (cat -n style, arrow)
    "arrow-compact": lambda n: f"{n}{ARROW}",
    "tab": lambda n: f"{n:6d}\t",  # cat -n, nl -ba
    "tab-compact": lambda n: f"{n}\t",  # later Claude Code's Read
}


def read_view(lines: list[str], style: str = "arrow", first: int = 1) -> str:
    prefix = STYLES[style]
    return "\n".join(prefix(n) + line for n, line in enumerate(lines, first))


def pytest_output(passing_files: int = 40) -> str:
    rows = [
        f"tests/unit/test_module_{k}.py ........................                    [{k:3d}%]"
        for k in range(passing_files)
    ]
    return "\n".join(
        [
            "============================= test session starts ==============================",
            "platform linux -- Python 3.11.9, pytest-8.3.2, pluggy-1.5.0",
            "rootdir: /repo",
            "collected 212 items",
            "",
            *rows,
            "tests/unit/test_client.py ...F....                                         [100%]",
            "",
            "=================================== FAILURES ===================================",
            "______________________________ test_retry_backoff ______________________________",
            "",
            "    def test_retry_backoff():",
            "        c = Client(retries=3)",
            ">       assert c.fetch() == 200",
            "E       AssertionError: assert 500 == 200",
            "",
            "tests/unit/test_client.py:42: AssertionError",
            "=========================== short test summary info ============================",
            "FAILED tests/unit/test_client.py::test_retry_backoff - AssertionError: assert 500 == 200",
            "========================= 1 failed, 211 passed in 3.21s =========================",
        ]
    )


GREP_CONTENT = "\n".join(
    f"src/pkg/module_{k % 9}/handlers.py:{10 + k}:        value_{k} = retry_call(alpha_{k}, timeout=3)"
    for k in range(80)
)


# -- Claude Code ---------------------------------------------------------------------------------------


def tool_use(id_: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": id_, "name": name, "input": args}


def tool_result(id_: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": id_, "content": content, **extra}


def claude_code_turns(style: str = "arrow") -> list[dict[str, Any]]:
    """A Claude Code session, one assistant/user pair per tool call after the user's request."""
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    calls: list[tuple[str, dict[str, Any], Any, dict[str, Any]]] = [
        ("Grep", {"pattern": "retry_call", "output_mode": "content", "-n": True}, GREP_CONTENT, {}),
        ("Read", {"file_path": "/repo/src/client.py"}, read_view(source(), style) + REMINDER, {}),
        ("Bash", {"command": "python -m pytest -q tests/unit", "description": "Run the unit tests"},
         pytest_output(), {"is_error": True}),
        ("Edit", {"file_path": "/repo/src/client.py", "old_string": "x", "new_string": "y"},
         "The file /repo/src/client.py has been updated.", {}),
        ("Read", {"file_path": "/repo/src/client.py"},
         [{"type": "text", "text": read_view(source(edited=True), style) + REMINDER}, image],
         {"cache_control": {"type": "ephemeral"}}),
    ]  # fmt: skip
    turns: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Fix the retry bug: test_retry_backoff fails."}],
        }
    ]
    for k, (name, args, content, extra) in enumerate(calls):
        id_ = f"toolu_01{k:022d}"
        thinking = {"type": "thinking", "thinking": f"Step {k}: use {name}.", "signature": f"sig{k}"}
        turns.append({"role": "assistant", "content": [thinking, tool_use(id_, name, args)]})
        turns.append({"role": "user", "content": [tool_result(id_, content, **extra)]})
    return turns


def messages_body(turns: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "system": "You are Claude Code.",
        "messages": turns,
    }


def result_text(block: dict[str, Any]) -> str:
    content = block["content"]
    return content if isinstance(content, str) else content[0]["text"]


@pytest.mark.parametrize("style", ["arrow", "tab-compact"])
def test_a_read_is_a_file_view_and_stays_whole(style: str) -> None:
    view = read_view(source(), style)
    assert detect(view) is ContentType.CODE
    body = messages_body(claude_code_turns(style)[:5])  # the request, the Grep, the Read
    result = default_engine().compress_json(body, path="/v1/messages")
    out = result.body if result.changed else body
    assert result_text(out["messages"][4]["content"][0]) == view + REMINDER


@pytest.mark.parametrize("style", sorted(STYLES))
def test_a_re_read_after_an_edit_folds_in_every_numbering_style(style: str) -> None:
    before, after = read_view(source(), style), read_view(source(edited=True), style)
    decision = ONLY_DEDUPE.route(make_unit(after + REMINDER, earlier=[before + REMINDER]))
    assert decision.text is not None
    marks = list(parse_markers(decision.text))
    assert sum(m.total for m in marks) > 0.8 * len(source())
    # ranges name this view's numbers; past the edit, the earlier view's too
    assert marks[0].detail == "lines 1-100, repeated from earlier output"
    assert any(m.detail and "(there lines " in m.detail for m in marks[1:])
    assert "# retry with backoff" in decision.text  # the edit itself stays
    assert decision.text.endswith(REMINDER)
    # definitions past the edit stay under their new numbers
    assert STYLES[style](source(edited=True).index("    def step_108(self, request, timeout=108):") + 1) in (
        decision.text
    )


def test_a_claude_code_session_keeps_its_structure_and_what_the_model_needs() -> None:
    body = messages_body(claude_code_turns())
    original = copy.deepcopy(body)
    engine = default_engine()
    result = engine.compress_json(body, path="/v1/messages")
    assert body == original  # never mutated
    assert result.changed
    assert result.tokens_saved > 0
    out = result.body
    assert isinstance(out, dict)
    for sent, got in zip(original["messages"], out["messages"], strict=True):
        if sent["role"] == "assistant":
            assert got == sent  # thinking blocks, tool_use ids and inputs
            continue
        for a, b in zip(sent["content"], got["content"], strict=True):
            if a.get("type") != "tool_result":
                assert a == b
                continue
            assert {k: v for k, v in a.items() if k != "content"} == {
                k: v for k, v in b.items() if k != "content"
            }
            if isinstance(a["content"], list):  # the image and the shape of the list stay
                assert [x["type"] for x in b["content"]] == [x["type"] for x in a["content"]]
                assert a["content"][1:] == b["content"][1:]
    texts = [result_text(m["content"][0]) for m in out["messages"][2::2]]
    grep, read, bash, edit, reread = texts
    assert any(m.counts[0][1] == "matches" for m in parse_markers(grep))
    assert read == result_text(original["messages"][4]["content"][0])  # a first read: whole
    assert "E       AssertionError: assert 500 == 200" in bash
    assert "FAILED tests/unit/test_client.py::test_retry_backoff" in bash
    assert any("passing tests" in (m.detail or "") for m in parse_markers(bash))
    assert edit == "The file /repo/src/client.py has been updated."
    assert any("repeated from earlier output" in (m.detail or "") for m in parse_markers(reread))
    assert "# retry with backoff" in reread
    assert reread.endswith(REMINDER)
    # deterministic: a fresh engine sends the same bytes
    again = default_engine().compress_json(copy.deepcopy(original), path="/v1/messages")
    assert json.dumps(again.body, sort_keys=True) == json.dumps(out, sort_keys=True)


def test_a_growing_claude_code_conversation_never_changes_a_message_already_sent() -> None:
    turns = claude_code_turns()
    engine = default_engine()
    sent: list[dict[str, Any]] = []
    for size in range(3, len(turns) + 1, 2):
        result = engine.compress_json(messages_body(turns[:size]), path="/v1/messages")
        now = (result.body if result.changed else messages_body(turns[:size]))["messages"]
        assert now[: len(sent)] == sent
        sent = now


# -- Codex ---------------------------------------------------------------------------------------------


def shell_output(output: str, exit_code: int = 0) -> str:
    """What Codex's shell tool returns to the model: serde_json's compact encoding, non-ASCII as is."""
    payload = {"output": output, "metadata": {"exit_code": exit_code, "duration_seconds": 3.2}}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


PATCH = "*** Begin Patch\n*** Update File: src/client.py\n@@\n-    pass\n+    return 1\n*** End Patch"


def codex_items(outputs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Fix test_retry_backoff"}],
        },
        {"type": "reasoning", "id": "rs_01", "summary": [], "encrypted_content": "gAAAAABn0x"},
    ]
    for k, (command, output) in enumerate(outputs):
        args = json.dumps({"command": ["bash", "-lc", command], "workdir": "/repo", "timeout_ms": 120000})
        items.append({"type": "function_call", "call_id": f"call_{k}", "name": "shell", "arguments": args})
        items.append({"type": "function_call_output", "call_id": f"call_{k}", "output": output})
    items.append({
        "type": "custom_tool_call", "call_id": "call_patch", "name": "apply_patch",
        "input": PATCH,
    })  # fmt: skip
    items.append({
        "type": "custom_tool_call_output", "call_id": "call_patch",
        "output": shell_output("Success. Updated the following files:\nM src/client.py\n"),
    })  # fmt: skip
    return items


def responses_body(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"model": "gpt-5-codex", "instructions": "You are Codex.", "input": items, "store": False}


def test_codex_shell_outputs_are_compressed_as_the_text_they_carry() -> None:
    log = worker_log()
    body = responses_body(
        codex_items(
            [
                ("python -m pytest -q tests/unit", shell_output(pytest_output(), 1)),
                ("cat logs/worker.log", shell_output(log)),
                ("rg -n retry_call src", shell_output(GREP_CONTENT)),
            ]
        )
    )
    original = copy.deepcopy(body)
    result = default_engine().compress_json(body, path="/v1/responses")
    assert body == original
    assert result.changed
    out = result.body
    assert isinstance(out, dict)
    notes = result.transforms["router"].notes
    assert notes["tests:unwrap+testrun"] == notes["logs:unwrap+logs"] == notes["search:unwrap+search"] == 1
    for sent, got in zip(original["input"], out["input"], strict=True):
        if sent["type"] != "function_call_output":
            assert got == sent  # reasoning, calls, the patch and its short answer
            continue
        assert {k: v for k, v in sent.items() if k != "output"} == {
            k: v for k, v in got.items() if k != "output"
        }
        was, now = json.loads(sent["output"]), json.loads(got["output"])  # still the JSON the tool wrote
        assert now["metadata"] == was["metadata"]
        assert list(now) == list(was)
        code = was["metadata"]["exit_code"]
        assert got["output"].endswith(f',"metadata":{{"exit_code":{code},"duration_seconds":3.2}}}}')
        assert len(now["output"]) < len(was["output"]) / 2
        assert list(parse_markers(now["output"]))
    tests, logs, grep = (json.loads(item["output"])["output"] for item in out["input"][3:9:2])
    assert "E       AssertionError: assert 500 == 200" in tests
    assert "FAILED tests/unit/test_client.py::test_retry_backoff - AssertionError: assert 500 == 200" in tests
    assert "task 9001 crashed: ConnectionResetError" in logs
    assert "src/pkg/module_0/handlers.py:10:" in grep


def test_a_codex_re_read_folds_against_the_earlier_output_inside_its_json() -> None:
    view = "\n".join(source())
    body = responses_body(
        codex_items(
            [
                ("sed -n '1,400p' src/client.py", shell_output(view)),
                ("sed -n '1,400p' src/client.py", shell_output("\n".join(source(edited=True)))),
            ]
        )
    )
    result = default_engine().compress_json(body, path="/v1/responses")
    assert result.changed
    first, second = (json.loads(item["output"])["output"] for item in result.body["input"][3:7:2])
    assert first == view  # code is not compressed on first sight
    assert "# retry with backoff" in second
    assert sum(m.total for m in parse_markers(second)) > 0.8 * len(source())
    assert result.transforms["router"].notes["code:unwrap+dedupe"] == 1


def test_an_envelope_is_re_encoded_as_it_was_written() -> None:
    text = "\n".join(f"caf\u00e9 step {k}: \u2713 done \u2014 {'x' * (k % 5)}" for k in range(30))
    for ascii_ in (False, True):
        written = json.dumps({"output": text, "metadata": {"exit_code": 0}}, ensure_ascii=ascii_)
        found = envelope(written)
        assert found is not None
        assert found.ascii is ascii_
        assert found.value == text
        assert json.loads(written[found.start : found.end]) == text
        assert written[: found.start] == '{"output": '
        assert written[found.end :] == ', "metadata": {"exit_code": 0}}'


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30), min_size=9),
    before=st.dictionaries(st.sampled_from(["exit_code", "cwd", "ok"]), st.integers() | st.text(max_size=8)),
    ascii_=st.booleans(),
    compact=st.booleans(),
)
def test_every_envelope_is_found(
    lines: list[str], before: dict[str, Any], ascii_: bool, compact: bool
) -> None:
    """Whatever the output holds (quotes, backslashes, escapes) and wherever it stands in the object."""
    value = "\n".join(lines) + "x" * 40
    obj = {**before, "output": value, "metadata": {"exit_code": 0, "duration_seconds": 0.1}}
    text = json.dumps(obj, ensure_ascii=ascii_, separators=(",", ":") if compact else None)
    if 2 * len(value) < len(text) or value.count("\n") < 8 or any(v == value for v in before.values()):
        return
    found = envelope(text)
    assert found is not None
    assert found.value == value
    assert json.loads(text[found.start : found.end]) == value


@pytest.mark.parametrize(
    "text",
    [
        shell_output("one line\nand another"),  # too short to be a command's output worth routing
        json.dumps([{"output": "\n".join(map(str, range(50)))}]),  # an array: JSON data
        json.dumps({"output": "a\n" * 20, "rows": ["x" * 50] * 40}),  # the string is the smaller half
        json.dumps({"a": "x\ny\n" * 10, "b": "x\ny\n" * 10}),  # the literal is written twice
        '{"output": "' + "line\\n" * 20 + '"',  # not JSON
        "2026-11-27 INFO " + "line\\n" * 20,
    ],
)
def test_what_is_not_an_envelope(text: str) -> None:
    assert envelope(text) is None


def test_an_unwrapped_output_that_saves_nothing_leaves_the_json_to_the_json_route() -> None:
    code = shell_output("\n".join(source()))  # code on first sight: left as it is
    assert ContentRouter().route(make_unit(code)).text is None
    assert ContentRouter(unwrap=False).route(make_unit(shell_output(pytest_output(), 1))).text is None


def test_an_aged_read_is_outlined_like_a_cat_n_view() -> None:
    """``ProxyConfig.aging`` outlines older file views: a Read keeps its numbered definition lines."""
    lines = source()
    tab, arrow = read_view(lines, "tab"), read_view(lines, "arrow")
    out_tab = outline(tab, make_unit(tab))
    out_arrow = outline(arrow, make_unit(arrow))
    assert out_tab is not None
    assert out_arrow is not None
    assert [m.counts for m in parse_markers(out_arrow)] == [m.counts for m in parse_markers(out_tab)]
    assert [line for line in out_arrow.split("\n") if ARROW in line] == [
        line.replace("\t", ARROW, 1) for line in out_tab.split("\n") if "\t" in line
    ]


def issues(count: int = 100) -> list[dict[str, Any]]:
    return [
        {"id": k, "title": "ERROR on save" if k == 0 else f"issue {k}", "state": "open", "labels": ["bug"]}
        for k in range(count)
    ]


def test_grep_in_content_mode_without_line_numbers_is_search_output() -> None:
    """Claude Code's Grep with ``-n`` off (the default of older versions) answers ``path:text``."""
    plain = "\n".join(
        f"src/pkg/module_{k % 9}/handlers.py:        value_{k} = retry_call(alpha_{k})" for k in range(80)
    )
    needle = "src/pkg/retry.py:def retry_call(fn, *, timeout: float = 3.0):"
    text = f"{plain}\n{needle}"
    turns = [
        {"role": "user", "content": [{"type": "text", "text": "Where is `retry_call` defined?"}]},
        {
            "role": "assistant",
            "content": [tool_use("toolu_g", "Grep", {"pattern": "retry_call", "output_mode": "content"})],
        },
        {"role": "user", "content": [tool_result("toolu_g", text)]},
    ]
    result = default_engine().compress_json(messages_body(turns), path="/v1/messages")
    assert result.changed
    assert result.applied == ["search"]
    out = result_text(result.body["messages"][2]["content"][0])
    assert needle in out.split("\n")
    assert len(out) < len(text) / 2


def opencode_read(text: str, offset: int = 0, style: str = "| ") -> str:
    """OpenCode's read tool: each line numbered zero-padded to five digits, in ``<file>`` tags."""
    lines = text.split("\n")
    body = "\n".join(f"{k + 1:05d}{style}{line}" for k, line in enumerate(lines[offset:], offset))
    return f"<file>\n{body}\n\n(End of file - total {len(lines)} lines)\n</file>"


@pytest.mark.parametrize("style", ["| ", " |"])
def test_an_opencode_read_is_a_file_view(style: str) -> None:
    """A read of a text file stays whole like any view; a read of a log file is compressed as a log."""
    notes = "\n".join(
        f"- step {k}: run the migration for tenant {k % 7} and check the report" for k in range(200)
    )
    assert detect(opencode_read(notes, style=style).split("\n", 1)[1]) is ContentType.CODE
    assert detect(opencode_read(worker_log(), style=style).split("\n", 1)[1]) is ContentType.LOGS
    turns = [
        {"role": "user", "content": [{"type": "text", "text": "Why did task 9001 crash?"}]},
        {"role": "assistant", "content": [tool_use("toolu_n", "read", {"filePath": "NOTES.md"})]},
        {"role": "user", "content": [tool_result("toolu_n", opencode_read(notes, style=style))]},
        {"role": "assistant", "content": [tool_use("toolu_l", "read", {"filePath": "logs/worker.log"})]},
        {"role": "user", "content": [tool_result("toolu_l", opencode_read(worker_log(), style=style))]},
    ]
    result = default_engine().compress_json(messages_body(turns), path="/v1/messages")
    messages = result.body["messages"]
    assert result_text(messages[2]["content"][0]) == opencode_read(notes, style=style)
    log = result_text(messages[4]["content"][0])
    assert f"00201{style}2026-11-27 12:03:20,001 ERROR worker.pool: task 9001 crashed" in log
    assert len(log) < len(opencode_read(worker_log(), style=style)) / 4


def bash_mode_turns(log: str) -> list[dict[str, Any]]:
    """The user runs ``!tail -n 150 logs/worker.log`` in Claude Code, then asks about it."""
    return [
        {
            "role": "user",
            "content": [{"type": "text", "text": "<bash-input>tail -n 150 logs/worker.log</bash-input>"}],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": f"<bash-stdout>{log}</bash-stdout><bash-stderr></bash-stderr>"}
            ],
        },
        {"role": "user", "content": [{"type": "text", "text": "Why did task 9001 crash?"}]},
    ]


def test_the_output_of_a_command_the_user_ran_in_bash_mode_is_tool_output() -> None:
    """Below the 16 KiB a paste needs without a tag, ``<bash-stdout>`` is what says it is a command's
    output; the command, the tags and the person's question stay as typed."""
    log = worker_log(150)
    assert len(log) < 16384
    body = messages_body(bash_mode_turns(log))
    result = default_engine().compress_json(body, path="/v1/messages")
    assert result.changed
    out = result.body["messages"]
    assert out[0] == body["messages"][0]
    assert out[2] == body["messages"][2]
    text = out[1]["content"][0]["text"]
    assert text.startswith("<bash-stdout>2026-11-27 12:00:00,123 INFO")
    assert text.endswith("</bash-stdout><bash-stderr></bash-stderr>")
    assert "ERROR worker.pool: task 9001 crashed: ConnectionResetError" in text
    assert len(text) < len(log) / 4
    # not so without the tag: a short user text is a person's words
    without = ProxyConfig(
        transforms=[SearchCompressor(), ContentRouter(), TagProtector()],
        pasted_output_tags=["returncode", "output"],
    )
    assert not Engine(without).compress_json(body, path="/v1/messages").changed


QUOTED_TAG_PLAN = (
    "Claude Code wraps what a ! command prints in <bash-stdout>...</bash-stdout>, so\n"
    + "\n".join(
        f"I think step {k} of my plan is to refactor module {k} so it reads the config once and caches it."
        for k in range(40)
    )
)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v1/messages",
            {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": QUOTED_TAG_PLAN}]},
        ),
        ("/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": QUOTED_TAG_PLAN}]}),
        (
            "/v1/responses",
            {
                "model": "m",
                "input": [{"role": "user", "content": [{"type": "input_text", "text": QUOTED_TAG_PLAN}]}],
            },
        ),
    ],
)
def test_a_wrapper_tag_quoted_in_a_persons_sentence_leaves_their_words_as_typed(
    path: str, body: dict[str, Any]
) -> None:
    """A tag inside a sentence is words about the tag, not a harness's wrapper: the 40-line plan was
    folded into a marker."""
    assert not default_engine().compress_json(body, path=path).changed


@pytest.mark.parametrize(
    "text",
    [
        "<bash-stdout>LOG</bash-stdout><bash-stderr></bash-stderr>",  # Claude Code's bash mode
        "<bash-stdout></bash-stdout><bash-stderr>LOG</bash-stderr>",
        "<returncode>0</returncode>\n<output>\nLOG\n</output>",  # mini-swe-agent
        # mini-swe-agent's timeout: the tag after a blank
        "The last command <command>pytest</command> timed out.\nThe output was:\n <output>\nLOG\n</output>",
    ],
)
def test_a_wrapper_opening_a_line_is_pasted_output(text: str) -> None:
    body = messages_body(
        [{"role": "user", "content": [{"type": "text", "text": text.replace("LOG", worker_log(150))}]}]
    )
    assert default_engine().compress_json(body, path="/v1/messages").changed


def test_a_one_line_json_answer_is_json_whatever_word_it_opens_with() -> None:
    """An MCP tool's answer is often one line of JSON; a level word near its start made it a log line,
    which no compressor could shorten."""
    answer = json.dumps(issues())
    assert detect(answer) is ContentType.JSON
    assert detect(json.dumps({"level": "ERROR", "items": issues()})) is ContentType.JSON
    ndjson = "\n".join(json.dumps({"level": "INFO", "msg": f"tick {k}"}) for k in range(60))
    assert detect(ndjson) is ContentType.LOGS  # many lines of it: a log
    turns = [
        {"role": "user", "content": [{"type": "text", "text": "Which open issues mention errors?"}]},
        {"role": "assistant", "content": [tool_use("toolu_mcp", "mcp__github__list_issues", {"r": "a/b"})]},
        {"role": "user", "content": [tool_result("toolu_mcp", [{"type": "text", "text": answer}])]},
    ]
    result = default_engine().compress_json(messages_body(turns), path="/v1/messages")
    assert result.changed
    assert result.transforms["router"].notes["json:json"] == 1
    out = result_text(result.body["messages"][2]["content"][0])
    assert '"ERROR on save"' in out
    assert [m.counts for m in parse_markers(out)] == [((97, "records"),)]


@pytest.mark.parametrize("style", ["arrow", "tab"])
def test_a_read_of_a_log_file_is_compressed_as_a_log_with_its_line_numbers(style: str) -> None:
    log = worker_log().split("\n")
    view = read_view(log, style)
    assert detect(view) is ContentType.LOGS
    turns = [
        {"role": "user", "content": [{"type": "text", "text": "Why did the worker crash?"}]},
        {
            "role": "assistant",
            "content": [tool_use("toolu_log", "Read", {"file_path": "/var/log/w.log"})],
        },
        {"role": "user", "content": [tool_result("toolu_log", view + REMINDER)]},
    ]
    result = default_engine().compress_json(messages_body(turns), path="/v1/messages")
    assert result.changed
    assert result.transforms["router"].notes["logs:logs"] == 1
    out = result_text(result.body["messages"][2]["content"][0])
    assert len(out) < len(view) / 10
    assert out.endswith(REMINDER)
    error = log.index(next(line for line in log if " ERROR " in line))
    assert STYLES[style](error + 1) + log[error] in out.split("\n")  # under its own number
    # every line shown is the file's line under its number; the markers count the rest
    shown = [line for line in out[: -len(REMINDER)].split("\n") if not line.startswith("[headroom:")]
    assert all(line in view.split("\n") for line in shown)
    assert len(shown) + sum(m.total for m in parse_markers(out)) == len(log)
    assert "INFO worker.pool: task <n> finished in <n> ms" in out  # the template, without the numbers


@pytest.mark.parametrize("style", sorted(STYLES))
def test_a_numbered_log_compresses_as_the_log_does_with_each_kept_line_under_its_number(style: str) -> None:
    raw = worker_log()
    view = read_view(raw.split("\n"), style)
    unit = make_unit(view)  # one unit for both: the markers carry the same ref
    plain, numbered = logs_compress(raw, unit), logs_compress(view, unit)
    assert plain is not None
    assert numbered is not None
    prefix = re.compile(r" {0,12}\d{1,9}[\t\u2192]")
    assert "\n".join(prefix.sub("", line, count=1) for line in numbered.split("\n")) == plain


def test_a_growing_codex_conversation_never_changes_an_item_already_sent() -> None:
    items = codex_items(
        [
            ("sed -n '1,400p' src/client.py", shell_output("\n".join(source()))),
            ("python -m pytest -q tests/unit", shell_output(pytest_output(), 1)),
            ("sed -n '1,400p' src/client.py", shell_output("\n".join(source(edited=True)))),
            ("cat logs/worker.log", shell_output(worker_log())),
        ]
    )
    engine = default_engine()
    sent: list[dict[str, Any]] = []
    for size in range(4, len(items) + 1, 2):
        result = engine.compress_json(responses_body(items[:size]), path="/v1/responses")
        now = (result.body if result.changed else responses_body(items[:size]))["input"]
        assert now[: len(sent)] == sent
        sent = now
    assert sent != items  # it did compress


def test_a_log_numbered_over_and_over_is_unnumbered_once_not_recursively() -> None:
    """Each line may start with many number prefixes (``1\\t1\\t1\\t...``): the logs compressor strips one
    level, not one per level in a recursion as deep as the first line is long (a RecursionError past ~1000,
    and a copy of the whole text per level before it)."""
    lines = [
        ("1\t" * 2000) + f"2024-01-01 12:00:{i % 60:02d} INFO worker {i % 3} processed a job"
        for i in range(40)
    ]
    text = "\n".join(lines)
    logs_compress(text, make_unit(text))  # returns (a result or None) rather than raising


def test_an_envelope_of_json_output_is_told_without_stepping_over_each_escaped_quote(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Codex's output of ``cat package-lock.json``: every quote of the output is escaped in the envelope.
    The pre-check before parsing steps over a bounded number of them (then parsing tells, at C speed),
    not over every one in a Python loop (23 ms for 700 KB, twelve times what ``json.loads`` takes)."""
    from headroom.transforms import router

    calls = 0
    escaped = router._escaped

    def counted(text: str, quote: int) -> bool | None:
        nonlocal calls
        calls += 1
        return escaped(text, quote)

    monkeypatch.setattr(router, "_escaped", counted)
    records = [{"id": i, "name": f"package-{i}", "deps": {"a": "^1", "b": "~2"}} for i in range(3000)]
    output = json.dumps({"packages": records}, indent=2)
    text = shell_output(output)
    found = envelope(text)
    assert found is not None
    assert found.value == output
    assert output.count('"') > 20_000
    assert calls <= 200


@pytest.mark.parametrize("ascii_", [False, True])
def test_an_envelope_whose_output_holds_a_protected_tag_is_still_unwrapped(ascii_: bool) -> None:
    """TagProtector (in the default config) swaps a ``<system-reminder>`` block for a placeholder before the
    router runs; in ASCII text that placeholder holds raw control characters, which a JSON string may not:
    the envelope must still be found, and the placeholder written back raw so that it is restored."""
    reminder = "<system-reminder>\nThe file changed on disk.\n</system-reminder>"
    output = worker_log() + "\n" + reminder + ("" if ascii_ else "\nnaïve café")
    payload = {"output": output, "metadata": {"exit_code": 0, "duration_seconds": 3.2}}
    wrapped = json.dumps(payload, ensure_ascii=ascii_, separators=(",", ":"))
    body = responses_body(codex_items([("cat logs/worker.log", wrapped)]))
    result = default_engine().compress_json(body, path="/v1/responses")
    assert result.changed
    assert result.transforms["router"].notes["logs:unwrap+logs"] == 1
    sent = result.body["input"][3]["output"]
    assert json.loads(sent)["metadata"] == payload["metadata"]
    now = json.loads(sent)["output"]
    assert reminder in now
    assert len(now) < len(output) / 2


def test_unwrap_off_leaves_earlier_envelopes_indexed_as_the_json_they_are() -> None:
    """``unwrap=False`` turns the envelope route off for earlier units too: dedupe then does not read the
    output inside an earlier unit's JSON (with it on, a re-read folds against it)."""
    view = "\n".join(source())
    earlier = [shell_output(view)]
    assert ContentRouter().route(make_unit(view, earlier=earlier)).deduped_lines > 200
    assert ContentRouter(unwrap=False).route(make_unit(view, earlier=earlier)).deduped_lines == 0


# -- Roo Code / Kilo Code: read_file ---------------------------------------------------------------------
#
# Roo Code (and its fork Kilo Code) number a read file's lines ``addLineNumbers``-style: each number
# right-aligned to the width of the last one, then `` | `` (src/integrations/misc/extract-text.ts; the
# slice reader of later versions, src/integrations/misc/indentation-reader.ts, writes the same without the
# final newline). The answer comes in three shapes (src/core/tools/ReadFileTool.ts):
#
# * XML protocol: ``<files><file><path>..</path><content lines="1-N">`` around the lines, then
#   ``<notice>``s; sent as a user text block after a ``[read_file for '..'] Result:`` block;
# * native tool calls: ``File: <path>`` and ``Lines 1-N:`` over the lines, ``Note: ..`` after them;
# * later versions: ``File: <path>`` over the lines, a truncated read opening with an ``IMPORTANT: File
#   content truncated.`` notice whose lines, the first numbered one too, start with a tab.


def roo_numbered(text: str, start: int = 1) -> str:
    """``addLineNumbers``: numbers right-aligned to the last one's width, `` | ``, a final newline."""
    lines = text.split("\n")
    width = len(str(start + len(lines) - 1))
    return "".join(f"{start + k:>{width}} | {line}\n" for k, line in enumerate(lines))


def roo_xml(path: str, text: str, shown: int | None = None) -> str:
    lines = text.split("\n")
    if shown is None:
        return (
            f'<files>\n<file><path>{path}</path>\n<content lines="1-{len(lines)}">\n{roo_numbered(text)}'
            "</content>\n</file>\n</files>"
        )
    notice = f"Showing only {shown} of {len(lines)} total lines. Use line_range if you need to read more"
    notice += " lines"
    return (
        f'<files>\n<file><path>{path}</path>\n<content lines="1-{shown}">\n'
        f"{roo_numbered(chr(10).join(lines[:shown]))}</content>\n<notice>{notice}</notice>\n</file>\n</files>"
    )


def roo_native(path: str, text: str) -> str:
    return f"File: {path}\nLines 1-{text.count(chr(10)) + 1}:\n{roo_numbered(text)}"


def roo_slice(path: str, text: str, limit: int = 2000) -> str:
    lines = text.split("\n")
    body = roo_numbered("\n".join(lines[:limit]))[:-1]
    if len(lines) <= limit:
        return f"File: {path}\n{body}"
    return (
        f"File: {path}\nIMPORTANT: File content truncated.\n"
        f"\tStatus: Showing lines 1-{limit} of {len(lines)} total lines.\n"
        f"\tTo read more: Use the read_file tool with offset={limit + 1} and limit={limit}.\n\t\n\t{body}"
    )


ROO_HEADER = "[read_file for '{}'. Reading multiple files at once is more efficient for the LLM.] Result:"
ROO_ENV = "<environment_details>\n# VSCode Visible Files\nsrc/app.ts\n</environment_details>"


def roo_files() -> dict[str, str]:
    """A TypeScript module, a Markdown guide and a JSON manifest: each is a file view when read."""
    ts = ["import express from 'express'", "import { db } from './db'", ""]
    for k in range(40):
        ts += [
            f"export async function handler{k}(req: Request, res: Response) {{",
            f"  const row = await db.query('select * from t{k} where id = $1', [req.params.id])",
            f"  if (!row) return res.status(404).json({{ error: 'not found {k}' }})",
            "  res.json(row)",
            "}",
            "",
        ]
    md = ["# Deployment guide", "", "How to deploy the service.", ""]
    for k in range(40):
        md += [
            f"## Step {k}",
            "",
            f"Run the migration for tenant {k % 7} and check the report before going on.",
            f"- drain the queue for region {k % 5}",
            f"- restart worker pool {k}",
            "",
        ]
    manifest = {
        "name": "svc",
        "dependencies": {f"pkg-{k}": f"^{k}.0.{k % 3}" for k in range(120)},
        "scripts": {f"task{k}": f"node scripts/task{k}.js --flag {k}" for k in range(30)},
    }
    return {
        "src/app.ts": "\n".join(ts),
        "docs/DEPLOY.md": "\n".join(md),
        "package.json": json.dumps(manifest, indent=2),
    }


def roo_request(form: str, path: str, answer: str) -> tuple[dict[str, Any], str, tuple[Any, ...]]:
    """A request as Roo Code sends it with ``answer`` for its read of ``path``: the body, its API path and
    where the answer is in it."""
    task = "<task>\nWhy does the deploy fail?\n</task>"
    if form == "xml-anthropic":
        blocks = [ROO_HEADER.format(path), answer, ROO_ENV]
        return (
            {
                "model": "claude-sonnet-4-5",
                "max_tokens": 8192,
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": task}]},
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "text", "text": f"<read_file>\n<path>{path}</path>\n</read_file>"}
                        ],
                    },
                    {"role": "user", "content": [{"type": "text", "text": t} for t in blocks]},
                ],
            },
            "/v1/messages",
            ("messages", 2, "content", 1, "text"),
        )
    if form == "xml-openai":  # Roo's OpenAI-compatible providers: the same blocks as a user message's parts
        blocks = [ROO_HEADER.format(path), answer, ROO_ENV]
        return (
            {
                "model": "gpt-4.1",
                "messages": [
                    {"role": "system", "content": "You are Roo."},
                    {"role": "user", "content": [{"type": "text", "text": task}]},
                    {"role": "assistant", "content": f"<read_file>\n<path>{path}</path>\n</read_file>"},
                    {"role": "user", "content": [{"type": "text", "text": t} for t in blocks]},
                ],
            },
            "/v1/chat/completions",
            ("messages", 3, "content", 1, "text"),
        )
    if form == "native-openai":
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "read_file", "arguments": json.dumps({"path": path})},
        }
        return (
            {
                "model": "gpt-4.1",
                "messages": [
                    {"role": "system", "content": "You are Roo."},
                    {"role": "user", "content": [{"type": "text", "text": task}]},
                    {"role": "assistant", "content": None, "tool_calls": [call]},
                    {"role": "tool", "tool_call_id": "call_1", "content": answer},
                ],
            },
            "/v1/chat/completions",
            ("messages", 3, "content"),
        )
    assert form == "native-anthropic"
    return (
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 8192,
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": task}]},
                {"role": "assistant", "content": [tool_use("toolu_r", "read_file", {"path": path})]},
                {
                    "role": "user",
                    "content": [tool_result("toolu_r", answer), {"type": "text", "text": ROO_ENV}],
                },
            ],
        },
        "/v1/messages",
        ("messages", 2, "content", 0, "content"),
    )


ROO_ANSWERS: dict[str, Callable[[str, str], str]] = {
    "xml": lambda path, text: roo_xml(path, text),
    "xml-partial": lambda path, text: roo_xml(path, text, shown=300),
    "native": roo_native,
    "slice": roo_slice,
    "slice-truncated": lambda path, text: roo_slice(path, text, limit=300),
}
ROO_CASES = [
    (answer, form)
    for answer in sorted(ROO_ANSWERS)
    for form in (
        ("xml-anthropic", "xml-openai") if answer.startswith("xml") else ("native-openai", "native-anthropic")
    )
]


def at(body: Any, where: tuple[Any, ...]) -> Any:
    for key in where:
        body = body[key]
    return body


@pytest.mark.parametrize("path", sorted(roo_files()))
@pytest.mark.parametrize(("answer", "form"), ROO_CASES)
def test_a_roo_code_read_is_a_file_view_and_stays_whole(answer: str, form: str, path: str) -> None:
    """Code, Markdown and JSON alike: a file the agent just read comes back byte for byte."""
    text = ROO_ANSWERS[answer](path, roo_files()[path])
    body, api, where = roo_request(form, path, text)
    sent = copy.deepcopy(body)
    result = default_engine().compress_json(body, path=api)
    assert result.changed is False
    assert result.body == sent
    assert at(result.body, where) == text
    assert result.transforms["router"].notes == {"code:nothing_to_save": 1}  # typed a view, not text


@pytest.mark.parametrize(("answer", "form"), ROO_CASES)
def test_a_roo_code_read_of_a_log_file_is_compressed_as_a_log(answer: str, form: str) -> None:
    log = worker_log()
    text = ROO_ANSWERS[answer]("logs/worker.log", log)
    body, api, where = roo_request(form, "logs/worker.log", text)
    result = default_engine().compress_json(body, path=api)
    assert result.changed
    assert result.transforms["router"].notes == {"logs:logs": 1}
    out = at(result.body, where)
    assert len(out) < len(text) / 4
    error = log.split("\n").index(next(line for line in log.split("\n") if " ERROR " in line))
    assert f"{error + 1} | {log.split(chr(10))[error]}" in out.split("\n")  # under its own number
    for line in text.split("\n")[:2]:  # Roo's own header or wrapper stays
        assert line in out
    shown = [line for line in out.split("\n") if not line.startswith("[headroom:")]
    assert all(line in text.split("\n") for line in shown)  # each line as Roo numbered it


def test_a_re_read_roo_view_folds_what_the_earlier_read_showed() -> None:
    """A later read of the same file folds as a view does; the first read stays as sent."""
    notes = roo_files()["docs/DEPLOY.md"]
    text = roo_native("docs/DEPLOY.md", notes)
    body, api, _ = roo_request("native-openai", "docs/DEPLOY.md", text)
    again = {
        "id": "call_2",
        "type": "function",
        "function": {"name": "read_file", "arguments": '{"path":"docs/DEPLOY.md"}'},
    }
    body["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [again]},
        {"role": "tool", "tool_call_id": "call_2", "content": text},
    ]
    result = default_engine().compress_json(body, path=api)
    assert result.changed
    assert result.body["messages"][3]["content"] == text
    out = result.body["messages"][5]["content"]
    assert len(out) < len(text) / 10
    assert sum(m.total for m in parse_markers(out)) >= notes.count("\n")


def psql(rows: list[str], *, header: bool = True, border: int = 1) -> str:
    if border == 2:
        rule = "+----+----------+-----+"
        return "\n".join([rule, "| id |   name   | age |", rule, *[f"|{row}|" for row in rows], rule])
    if not header:
        return "\n".join(rows)
    return "\n".join([" id |   name   | age ", "----+----------+-----", *rows, f"({len(rows)} rows)"])


PSQL_ROWS = [f" {k:>2} | user_{k:<4} | {20 + k % 50:>3} " for k in range(1, 61)]


@pytest.mark.parametrize(
    "text",
    [
        psql(PSQL_ROWS),
        psql(PSQL_ROWS, border=2),
        psql(PSQL_ROWS, header=False),  # ``psql -t``: every cell padded with a blank, no number flush left
        psql([f" {7 * k:>3} | user_{k:<4} | {20 + k % 50:>3} " for k in range(1, 61)], header=False),
    ],
    ids=["aligned", "border-2", "tuples-only", "tuples-only-sparse-ids"],
)
def test_psql_rows_numbered_one_by_one_are_a_table_not_a_roo_view(text: str) -> None:
    assert detect(text) is ContentType.TABLE
    # the same rows as a line of a file Roo Code read are a view
    assert detect(roo_numbered(text)) is ContentType.CODE


def test_numbers_that_do_not_count_up_one_by_one_are_no_roo_view() -> None:
    histogram = "\n".join(
        f"{(k * 37) % 500:>3} | {'#' * (k % 40)} /api/v{k % 3}/items/{k}" for k in range(80)
    )
    assert detect(histogram) is not ContentType.CODE
    counted = "\n".join(f"{k + 1:>2} | {'#' * (k % 40)} /api/v{k % 3}/items/{k}" for k in range(80))
    assert detect(counted) is ContentType.CODE


@pytest.mark.parametrize("unit", ["1 | ", " 1 |", "  ", "-+", "+-", "(1 rows)", "File: ", "\t1 | "])
def test_roo_view_detection_is_linear_on_adversarial_input(unit: str) -> None:
    # Sizes at which a quadratic pattern would not finish; no timing threshold, completion is the check.
    text = unit * (200_000 // len(unit))
    for candidate in (text, text + "\x00", "\n".join([text[:300]] * 2000), "\n".join([unit] * 50_000)):
        detect(candidate)


def test_an_aged_roo_read_is_outlined_with_its_numbers() -> None:
    """``ProxyConfig.aging`` outlines older views; a Roo read keeps its numbered definition lines (its
    `` | `` numbering used to hide every definition: one marker was all that was left)."""
    lines = source()
    roo, tab = roo_numbered("\n".join(lines)).rstrip("\n"), read_view(lines, "tab")
    out_roo, out_tab = outline(roo, make_unit(roo)), outline(tab, make_unit(tab))
    assert out_roo is not None
    assert out_tab is not None
    assert [m.counts for m in parse_markers(out_roo)] == [m.counts for m in parse_markers(out_tab)]
    kept = [line for line in out_roo.split("\n") if " | " in line and not line.startswith("[headroom")]
    assert "  7 | class Handler0:" in kept
    assert len(kept) == len([line for line in out_tab.split("\n") if "\t" in line])
