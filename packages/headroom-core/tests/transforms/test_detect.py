"""detect's shortcuts decide as the checks they stand in for."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms import detect as detect_module
from headroom.transforms.commands import programs, shell_command
from headroom.transforms.detect import ContentType, detect, is_listing_command


def _runs_a_listing(tool_input: str | None) -> bool:
    """:func:`is_listing_command` without its substring pre-check."""
    command = shell_command(tool_input)
    return bool(command) and any(
        program in detect_module._LISTING_PROGRAMS for program, _ in programs(command[:2000])
    )


def test_a_listing_spelled_with_json_escapes_is_still_a_listing() -> None:
    for escaped in (
        '{"command": "\\u006cs -la"}',
        '{"cmd": ["\\u0074ree", "-L", "2"]}',
        '{"command": "f\\u0064 x"}',
    ):
        assert is_listing_command.__wrapped__(escaped)
    assert not is_listing_command.__wrapped__('{"command": "\\u0063at x"}')


_COMMAND_PIECES = [
    "ls",
    "l",
    "s",
    "find",
    "tree",
    "fd",
    "exa",
    "eza",
    "dir",
    "lsd",
    "cat",
    " ",
    "&&",
    "|",
    ";",
]
_COMMAND_PIECES += ["/usr/bin/", "sudo ", "\n", "-la", "\\u006c", "(", "x"]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(_COMMAND_PIECES), max_size=12).map("".join),
    st.sampled_from(["raw", "command", "cmd", "list", "other"]),
)
def test_listing_pre_check_decides_as_the_full_parse(command: str, shape: str) -> None:
    if shape == "raw":
        tool_input = command
    elif shape == "list":
        tool_input = json.dumps({"command": command.split(" ")})
    else:
        tool_input = json.dumps({shape: command})
    assert is_listing_command.__wrapped__(tool_input) == _runs_a_listing(tool_input)
    raw_json = '{"command": "' + command.replace("\n", " ").replace('"', "") + '"}'  # escapes left as written
    assert is_listing_command.__wrapped__(raw_json) == _runs_a_listing(raw_json)


def test_test_runs_are_found_by_their_session_header_and_result_lines() -> None:
    pytest_run = "\n".join(
        ["=" * 10 + " test session starts " + "=" * 10, "collected 3 items", "", "a.py ..."]
    )
    assert detect(pytest_run + "\n" + "x = 1\n" * 3) is ContentType.TESTS
    unittest_run = "\n".join(["test_a (m.T) ... ok"] * 6 + ["-" * 70, "Ran 6 tests in 0.01s", "", "OK"])
    assert detect(unittest_run) is ContentType.TESTS


def psql_rows(first_id: int) -> str:
    """``psql``'s aligned output: a numeric column right-aligned after one blank, `` | `` between cells."""
    rows = [
        f" {first_id + k:>5} | user_{k:<6} | user{k}@example.com | active | 2024-01-{k % 28 + 1:02d}"
        for k in range(150)
    ]
    head = "  id   |  name       |  email                |  status | created\n" + "-" * 60
    return head + "\n" + "\n".join(rows) + "\n(150 rows)"


def test_psql_output_is_a_table_whatever_its_ids_length() -> None:
    """OpenCode's read numbers lines ``00012| `` from the first column; psql's 5-digit ids (`` 10001 |``)
    made a result a file view, kept whole."""
    assert detect(psql_rows(1000)) is ContentType.TABLE
    assert detect(psql_rows(10000)) is ContentType.TABLE
