"""Agents that call tools in XML (Cline and its forks in XML mode) send each tool's result back as user text.

The shapes follow Cline's source (``ToolResultUtils.pushToolResult``, ``getToolDescription``; Roo Code
until 3.36 and Kilo Code share them): one text block ``[<tool> for '<argument>'] Result:``, then a text
block with the output (``Command executed.\\nOutput:\\n...``, a file's text, ripgrep results), then the
agent's ``<environment_details>`` block. In OpenAI's shape (Cline's ``convertToOpenAiMessages``) the same
blocks are a user message's text parts. Only the output block is a unit; the header, the environment
details, the task and a person's feedback or answers are never touched.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.engine import Engine, WireFormat
from headroom.engine.codecs import EXTRACTORS
from headroom.engine.codecs._common import xml_tool_header, xml_tool_spans
from headroom.proxy.config import Limits, ProxyConfig

from .helpers import HalfLines

ENV = (
    "<environment_details>\n# VSCode Visible Files\nsrc/utils/date.ts\n\n# VSCode Open Tabs\n"
    "src/utils/date.ts\nsrc/utils/date.test.ts\n\n# Current Time\n11/27/2026, 9:14:02 AM (UTC)\n\n"
    "# Current Mode\nACT MODE\n</environment_details>"
)
TASK = "<task>\nThe date tests fail since the timezone change; find out why and fix formatDate.\n</task>"

JEST = "Command executed.\nOutput:\n" + "\n".join(
    [
        "> webapp@2.4.1 test",
        "> jest --ci",
        "",
        *(f"PASS src/components/widget{i}.test.tsx ({0.8 + i / 100:.2f} s)" for i in range(60)),
        "FAIL src/utils/date.test.ts",
        "  \u25cf formatDate \u203a renders the local day for late UTC evenings",
        "",
        "    expect(received).toBe(expected) // Object.is equality",
        "",
        '    Expected: "2026-11-26"',
        '    Received: "2026-11-27"',
        "",
        "      41 |     const d = new Date('2026-11-26T23:30:00Z');",
        "    > 42 |     expect(formatDate(d, 'America/New_York')).toBe('2026-11-26');",
        "         |                                               ^",
        "",
        "      at Object.<anonymous> (src/utils/date.test.ts:42:47)",
        "",
        *(f"PASS src/services/api{i}.test.ts ({0.5 + i / 100:.2f} s)" for i in range(60)),
        "",
        "Test Suites: 1 failed, 120 passed, 121 total",
        "Tests:       1 failed, 842 passed, 843 total",
        "Snapshots:   0 total",
        "Time:        48.213 s",
        "Ran all test suites.",
    ]
)

SEARCH = "Found 40 results.\n\n" + "".join(
    f"src/feature{i}/view.ts\n│----\n│import {{ formatDate }} from '../utils/date';\n│----\n"
    f"│  const label = formatDate(item{i}.createdAt, tz);\n│----\n\n"
    for i in range(40)
)

LISTING = "\n".join(
    [f"src/components/widget{i}/" for i in range(40)]
    + [f"src/components/widget{i}/index.tsx" for i in range(40)]
    + [f"src/components/widget{i}/styles.css" for i in range(40)]
    + ["src/utils/date.ts", "src/utils/date.test.ts"]
)

SERVER_LOG = "\n".join(
    f"2026-11-27T08:{i // 60:02d}:{i % 60:02d}.{i * 7 % 1000:03d}Z INFO  http GET /api/items/{i * 31} 200 "
    f"{i % 40 + 3}ms"
    if i != 217
    else "2026-11-27T08:03:37.519Z ERROR date.format RangeError: Invalid time zone specified: EST5EDT"
    for i in range(300)
)

MCP_ISSUES = json.dumps(
    [
        {
            "number": 4000 + i,
            "title": "formatDate shows the next day in New York" if i == 7 else f"Widget {i} layout glitch",
            "state": "open",
            "labels": ["bug"] if i % 3 else ["ui"],
            "user": {"login": f"user{i}"},
            "comments": i % 5,
            "created_at": f"2026-11-{i % 27 + 1:02d}T10:00:00Z",
        }
        for i in range(40)
    ],
    indent=2,
)

TURNS: list[tuple[str, str, str]] = [
    (
        "<execute_command>\n<command>npm test</command>\n</execute_command>",
        "[execute_command for 'npm test'] Result:",
        JEST,
    ),
    (
        "<search_files>\n<path>src</path>\n<regex>formatDate</regex>\n<file_pattern>*.ts</file_pattern>\n"
        "</search_files>",
        "[search_files for 'formatDate' in '*.ts'] Result:",
        SEARCH,
    ),
    (
        "<list_files>\n<path>src</path>\n<recursive>true</recursive>\n</list_files>",
        "[list_files for 'src'] Result:",
        LISTING,
    ),
    (
        "<read_file>\n<path>logs/server.log</path>\n</read_file>",
        "[read_file for 'logs/server.log'] Result:",
        SERVER_LOG,
    ),
    (
        "<use_mcp_tool>\n<server_name>github</server_name>\n<tool_name>list_issues</tool_name>\n"
        '<arguments>{"repo": "acme/webapp", "state": "open"}</arguments>\n</use_mcp_tool>',
        "[use_mcp_tool for 'github'] Result:",
        MCP_ISSUES,
    ),
]


def anthropic_body(turns: int = len(TURNS)) -> dict[str, Any]:
    """A Cline conversation in Anthropic's shape: the task, then ``turns`` tool calls and their results."""
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": TASK}, {"type": "text", "text": ENV}]}
    ]
    for call, header, output in TURNS[:turns]:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": call}]})
        blocks = [header, output, ENV]
        messages.append({"role": "user", "content": [{"type": "text", "text": t} for t in blocks]})
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 8192,
        "system": "You are Cline...",
        "messages": messages,
    }


def openai_body(turns: int = len(TURNS)) -> dict[str, Any]:
    """The same conversation as Cline's OpenAI-compatible providers send it."""
    body = anthropic_body(turns)
    messages: list[dict[str, Any]] = [{"role": "system", "content": body["system"]}]
    for msg in body["messages"]:
        if msg["role"] == "assistant":
            messages.append({"role": "assistant", "content": msg["content"][0]["text"]})
        else:
            messages.append({"role": "user", "content": [dict(b) for b in msg["content"]]})
    return {"model": "gpt-4.1", "messages": messages}


def responses_body(turns: int = len(TURNS)) -> dict[str, Any]:
    body = anthropic_body(turns)
    items: list[dict[str, Any]] = []
    for msg in body["messages"]:
        kind = "output_text" if msg["role"] == "assistant" else "input_text"
        items.append(
            {"role": msg["role"], "content": [{"type": kind, "text": b["text"]} for b in msg["content"]]}
        )
    return {"model": "gpt-4.1", "input": items}


BODIES = {
    WireFormat.ANTHROPIC: anthropic_body,
    WireFormat.OPENAI_CHAT: openai_body,
    WireFormat.RESPONSES: responses_body,
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(ProxyConfig())


def _units(fmt: WireFormat, body: dict[str, Any]) -> list[Any]:
    config = ProxyConfig()
    return EXTRACTORS[fmt](body, config.pasted_output_tags, config.pasted_output_min_chars)


def _user_texts(fmt: WireFormat, body: dict[str, Any]) -> list[list[str]]:
    rows = body["input"] if fmt is WireFormat.RESPONSES else body["messages"]
    return [[b["text"] for b in m["content"]] for m in rows if m["role"] == "user"]


def test_headers_are_read_as_cline_writes_them() -> None:
    assert xml_tool_header("[execute_command for 'npm test -- --ci'] Result:") == (
        "execute_command",
        '{"command": "npm test -- --ci"}',
    )
    assert xml_tool_header("[search_files for 'it's \\d+' in '*.ts'] Result:") == (
        "search_files",
        '{"file_pattern": "*.ts", "regex": "it\'s \\\\d+"}',
    )
    assert xml_tool_header("[search_files for 'todo'] Result:") == ("search_files", '{"regex": "todo"}')
    assert xml_tool_header("[read_file for 'src/a.ts'] Result:\n") == ("read_file", '{"path": "src/a.ts"}')
    # forks that read several files at once describe them so
    assert xml_tool_header("[read_file for 'a.ts', 'b.ts'] Result:") == (
        "read_file",
        '{"path": "a.ts\', \'b.ts"}',
    )
    assert xml_tool_header("[read_file for 2 files] Result:") == ("read_file", '{"path": "2 files"}')
    # tools whose result carries a person's words or an edited file, and headers that are not whole blocks
    for text in (
        "[ask_followup_question for 'Which timezone?'] Result:",
        "[attempt_completion] Result:",
        "[write_to_file for 'src/a.ts'] Result:",
        "[replace_in_file for 'src/a.ts'] Result:",
        "[execute_command for 'ls'] Result: and then I typed this",
        "see [execute_command for 'ls'] Result:",
        "[execute_command] Result:",
    ):
        assert xml_tool_header(text) is None, text


@pytest.mark.parametrize("fmt", list(BODIES))
def test_only_the_output_blocks_are_units(fmt: WireFormat) -> None:
    units = _units(fmt, BODIES[fmt]())
    assert [u.text for u in units] == [output for _, _, output in TURNS]
    assert [(u.context.source, u.context.tool_name) for u in units] == [
        ("tool_result", "execute_command"),
        ("tool_result", "search_files"),
        ("tool_result", "list_files"),
        ("tool_result", "read_file"),
        ("tool_result", "use_mcp_tool"),
    ]
    assert json.loads(units[0].context.tool_input or "") == {"command": "npm test"}
    assert json.loads(units[1].context.tool_input or "") == {"regex": "formatDate", "file_pattern": "*.ts"}
    # the person's words are the task (with the environment details sent alongside), not the headers
    assert all(u.context.user_request == TASK + "\n" + ENV for u in units)


@pytest.mark.parametrize("fmt", list(BODIES))
def test_default_config_compresses_the_outputs_and_nothing_else(engine: Engine, fmt: WireFormat) -> None:
    body = BODIES[fmt]()
    original = copy.deepcopy(body)
    result = engine.compress_json(body)
    assert body == original  # never mutated
    assert result.changed
    assert result.tokens_saved > 0
    out = result.body
    assert isinstance(out, dict)
    before, after = _user_texts(fmt, original), _user_texts(fmt, out)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        assert len(old) == len(new)
        for k, (a, b) in enumerate(zip(old, new, strict=True)):
            if a in {output for _, _, output in TURNS} and k == 1:
                continue
            assert a == b  # task, headers, environment details: byte for byte
    # everything outside the user texts is as sent
    strip = "input" if fmt is WireFormat.RESPONSES else "messages"
    assert {k: v for k, v in out.items() if k != strip} == {k: v for k, v in original.items() if k != strip}
    rows_before, rows_after = original[strip], out[strip]
    for a, b in zip(rows_before, rows_after, strict=True):
        if a["role"] != "user":
            assert a == b
    jest = after[1][1]
    assert len(jest) < len(JEST) / 2
    assert "RangeError: Invalid time zone specified: EST5EDT" in after[4][1]
    assert len(after[4][1]) < len(SERVER_LOG) / 2
    for needed in (
        "FAIL src/utils/date.test.ts",
        'Received: "2026-11-27"',
        "src/utils/date.test.ts:42:47",
        "Tests:       1 failed, 842 passed, 843 total",
    ):
        assert needed in jest


def test_a_persons_words_and_other_blocks_are_never_units() -> None:
    answer = "Use America/New_York, and keep the old behaviour for UTC users please."
    feedback = (
        "Command executed.\nOutput:\n" + "\n".join(f"line {i}" for i in range(300)) + "\n\nThe user provided "
        "the following feedback:\n<feedback>\nstop, run only the date tests\n</feedback>"
    )
    texts = [
        (
            "[ask_followup_question for 'Which timezone should be the default?'] Result:",
            f"<answer>\n{answer}\n</answer>",
        ),
        ("[execute_command for 'npm test'] Result:", feedback),  # the person's feedback is in the result
        ("[execute_command for 'npm test'] Result:", ENV),  # no output block at all
        ("[write_to_file for 'src/utils/date.ts'] Result:", "The content was successfully saved.\n" * 200),
        ("I wrote this myself, it is not a header.", JEST),
    ]
    for header, text in texts:
        body = {
            "model": "claude-sonnet-4-5",
            "system": "You are Cline...",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": TASK}]},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": header}, {"type": "text", "text": text}],
                },
            ],
        }
        assert _units(WireFormat.ANTHROPIC, body) == [], header
    # a block between the header and the text (an image) breaks the pair
    body = {
        "model": "claude-sonnet-4-5",
        "system": "You are Cline...",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "[execute_command for 'npm test'] Result:"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                    },
                    {"type": "text", "text": JEST},
                ],
            }
        ],
    }
    assert _units(WireFormat.ANTHROPIC, body) == []
    # in a joined string, a person's feedback after the output keeps the output out
    joined = "\n".join(["[execute_command for 'npm test'] Result:", feedback, ENV])
    flat = {"model": "deepseek-reasoner", "messages": [{"role": "user", "content": joined}]}
    assert _units(WireFormat.OPENAI_CHAT, flat) == []


@pytest.mark.parametrize("fmt", list(BODIES))
def test_prefix_stable_as_the_conversation_grows(fmt: WireFormat) -> None:
    """Turn by turn, with a fresh engine each turn (no memo): no message sent before ever changes."""
    sent: list[Any] = []
    key = "input" if fmt is WireFormat.RESPONSES else "messages"
    for turns in range(1, len(TURNS) + 1):
        result = Engine(ProxyConfig()).compress_json(BODIES[fmt](turns))
        rows = (result.body if result.changed else BODIES[fmt](turns))[key]
        assert rows[: len(sent)] == sent
        sent = rows
    assert sent != BODIES[fmt]()[key]  # and the last turn was compressed


def test_bytes_round_trip_keeps_the_rest_of_the_body(engine: Engine) -> None:
    raw = json.dumps(anthropic_body(1)).encode()
    result = engine.compress(raw, path="/v1/messages")
    assert result.changed
    assert isinstance(result.body, bytes)
    out = json.loads(result.body)
    assert out["messages"][0] == anthropic_body(1)["messages"][0]
    assert out["messages"][2]["content"][0]["text"] == "[execute_command for 'npm test'] Result:"
    assert out["messages"][2]["content"][2]["text"] == ENV


def r1_body(turns: int = len(TURNS)) -> dict[str, Any]:
    """Cline's ``convertToR1Format`` (DeepSeek Reasoner and others): each message's text blocks joined by
    newlines into one string."""
    body = openai_body(turns)
    for msg in body["messages"]:
        if msg["role"] == "user":
            msg["content"] = "\n".join(b["text"] for b in msg["content"])
    return body


def test_joined_blocks_the_output_between_header_and_environment_is_the_unit(engine: Engine) -> None:
    body = r1_body()
    units = _units(WireFormat.OPENAI_CHAT, body)
    assert [u.text for u in units] == [output for _, _, output in TURNS]
    assert [u.context.tool_name for u in units] == [header[1:].split(" ")[0] for _, header, _ in TURNS]
    for unit in units:
        assert unit.span is not None
    result = engine.compress_json(body)
    assert result.changed
    out = result.body
    assert isinstance(out, dict)
    users = [m["content"] for m in out["messages"] if m["role"] == "user"]
    assert users[0] == TASK + "\n" + ENV
    for (_, header, output), text in zip(TURNS, users[1:], strict=True):
        assert text.startswith(header + "\n")
        assert text.endswith("\n" + ENV)
        assert len(text) <= len(header) + len(output) + len(ENV) + 2
    assert len(users[1]) < len(JEST) / 2
    assert "FAIL src/utils/date.test.ts" in users[1]
    assert [m for m in out["messages"] if m["role"] != "user"] == [
        m for m in body["messages"] if m["role"] != "user"
    ]


def test_joined_blocks_two_results_in_one_string() -> None:
    """Merged messages (R1 merges consecutive messages of one role): each output stops at the next header."""
    text = "\n".join(
        [
            "[execute_command for 'npm test'] Result:",
            JEST,
            "[read_file for 'logs/server.log'] Result:",
            SERVER_LOG,
            ENV,
            "[attempt_completion] Result:",
            "<feedback>\nlooks good\n</feedback>",
        ]
    )
    body = {"model": "deepseek-reasoner", "messages": [{"role": "user", "content": text}]}
    units = _units(WireFormat.OPENAI_CHAT, body)
    assert [u.text for u in units] == [JEST, SERVER_LOG]
    result = Engine(ProxyConfig()).compress_json(body)
    assert isinstance(result.body, dict)
    out = result.body["messages"][0]["content"]
    assert out.startswith("[execute_command for 'npm test'] Result:\n")
    assert "\n[read_file for 'logs/server.log'] Result:\n" in out
    assert out.endswith(ENV + "\n[attempt_completion] Result:\n<feedback>\nlooks good\n</feedback>")
    assert "RangeError: Invalid time zone specified: EST5EDT" in out
    assert len(out) < len(text) / 4


def test_joined_blocks_prefix_stable_as_the_conversation_grows() -> None:
    sent: list[Any] = []
    for turns in range(1, len(TURNS) + 1):
        result = Engine(ProxyConfig()).compress_json(r1_body(turns))
        rows = (result.body if result.changed else r1_body(turns))["messages"]
        assert rows[: len(sent)] == sent
        sent = rows
    assert sent != r1_body()["messages"]


_HEADERS = st.sampled_from(
    [
        "[execute_command for 'make check'] Result:",
        "[read_file for 'src/app.ts'] Result:",
        "[search_files for 'TODO' in '*.py'] Result:",
        "[use_mcp_tool for 'github'] Result:",
        "[write_to_file for 'src/app.ts'] Result:",
        "[attempt_completion] Result:",
    ]
)
_LINE = st.text(alphabet="abcdefgh ERROR:0123456789/._-", min_size=1, max_size=30).filter(str.strip)
_OUTPUT = st.lists(_LINE, min_size=1, max_size=16).map("\n".join)
_PIECES = st.lists(
    st.one_of(
        st.tuples(_HEADERS, _OUTPUT).map("\n".join),
        st.tuples(_HEADERS, _OUTPUT).map("\n".join),
        _HEADERS,
        _OUTPUT,
        st.just(ENV),
        st.just("<feedback>\nplease keep the old API\n</feedback>"),
        st.just("The user provided the following feedback:"),
    ),
    min_size=1,
    max_size=10,
)


def _outside(text: str) -> list[str]:
    """The parts of a joined string that are not tool outputs."""
    parts, at = [], 0
    for start, end, _, _ in xml_tool_spans(text):
        parts.append(text[at:start])
        at = end
    return [*parts, text[at:]]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_PIECES, st.booleans())
def test_joined_strings_change_only_their_outputs(pieces: list[str], as_parts: bool) -> None:
    """Whatever the mix of headers, outputs, environment details and a person's words joined in one string,
    only the outputs after a known tool's header change; every other character stays as sent."""
    text = "\n".join(pieces)
    content: Any = [{"type": "text", "text": text}] if as_parts else text
    body = {"model": "deepseek-reasoner", "messages": [{"role": "user", "content": content}]}
    engine = Engine(
        ProxyConfig(transforms=[HalfLines()], limits=Limits(min_unit_tokens=1, min_tokens_saved=1))
    )
    result = engine.compress_json(body)
    if not result.changed:
        assert result.body is body
        return
    assert isinstance(result.body, dict)
    got = result.body["messages"][0]["content"]
    out = got[0]["text"] if as_parts else got
    assert _outside(out) == _outside(text)
    for start, end, _, _ in xml_tool_spans(text):
        unit = text[start:end]
        assert "<feedback>" not in unit
        assert "<environment_details>" not in unit
