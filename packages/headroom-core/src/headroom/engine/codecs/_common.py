"""Helpers the codecs share: text extraction, pasted-output detection, copy-on-write updates."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any, Literal

from headroom.engine.units import JsonPath, Slot, UnitContext, WireFormat


def is_pasted_output(text: str, tags: Sequence[str]) -> bool:
    """True when a user text carries tool output in one of the configured wrapper tags.

    ``<tag>`` opening a line (after at most 8 blanks: a harness writes it there), followed later by
    ``</tag>``. A tag a person quotes inside a sentence (``Claude Code wraps it in <bash-stdout>...``) makes
    no wrapper: their words stay as typed. Linear scans per tag (a backreferencing regex would be quadratic
    on hostile input such as many unclosed ``<output>`` tags).
    """
    for tag in tags:
        opening = f"<{tag}>"
        start = text.find(opening)
        while start >= 0 and not _opens_line(text, start):
            start = text.find(opening, start + 1)
        if start >= 0 and text.find(f"</{tag}>", start + len(tag) + 2) >= 0:
            return True
    return False


def _opens_line(text: str, at: int) -> bool:
    """Only blanks (at most 8) stand between the start of ``at``'s line and ``at``."""
    line_start = at
    while line_start > 0 and at - line_start < 8 and text[line_start - 1] in " \t":
        line_start -= 1
    return line_start == 0 or text[line_start - 1] == "\n"


def paste_source(
    text: str, tags: Sequence[str], large_paste_chars: int | None
) -> Literal["pasted", "large_paste"] | None:
    """How a user text is tool output: ``pasted`` (wrapped in a configured tag), ``large_paste`` (long
    enough that a person did not type it: the router rewrites only machine output in it), or None."""
    if is_pasted_output(text, tags):
        return "pasted"
    if large_paste_chars is not None and len(text) >= large_paste_chars:
        return "large_paste"
    return None


XML_AGENT_TOOLS: dict[str, tuple[str, ...]] = {
    "execute_command": ("command",),
    "read_file": ("path",),
    "list_files": ("path",),
    "list_code_definition_names": ("path",),
    "search_files": ("regex", "file_pattern"),
    "use_mcp_tool": ("server_name",),
    "access_mcp_resource": ("server_name",),
    "browser_action": ("action",),
}
"""Tools of XML-protocol agents (Cline and its forks) whose result is program output, each with the
parameters its result header names. Results that carry a person's words (``ask_followup_question``'s
answer, ``attempt_completion``'s feedback) or an edited file (``write_to_file``, ``replace_in_file``) are
left out."""

_XML_HEADER_RE = re.compile(r"\[([a-z_]{1,40})(?: for (.+))?\] Result:\s*", re.S)
_XML_HEADER_MAX = 4000
_XML_PERSON_TAGS = ("<feedback>", "<answer>", "<user_message>")


def xml_tool_header(text: str) -> tuple[str, str] | None:
    """``(tool name, arguments as JSON text)`` when ``text`` is a whole result header of an XML-protocol
    agent (``[execute_command for 'npm test'] Result:``) for a tool in :data:`XML_AGENT_TOOLS`."""
    if len(text) > _XML_HEADER_MAX or not text.startswith("["):
        return None
    match = _XML_HEADER_RE.fullmatch(text)
    if match is None or match[1] not in XML_AGENT_TOOLS or match[2] is None:
        return None
    names = XML_AGENT_TOOLS[match[1]]
    described = match[2]  # 'npm test'; also 'a.ts', 'b.ts' or 2 files (forks that read several files)
    if len(described) >= 2 and described[0] == described[-1] == "'":
        described = described[1:-1]
    values = described.rsplit("' in '", 1) if len(names) > 1 else [described]
    return match[1], json.dumps(dict(zip(names, values, strict=False)), ensure_ascii=False, sort_keys=True)


_XML_HEADER_LINE_RE = re.compile(r"^\[([a-z_]{1,40})(?: for ([^\n]+))?\] Result:[ \t]*$", re.M)
_XML_ENV = "\n<environment_details>"


def xml_tool_spans(text: str) -> list[tuple[int, int, str, str]]:
    """The tool outputs in one user string that joins an XML-protocol agent's blocks with newlines (as
    Cline's DeepSeek-R1 conversion does): ``(start, end, tool name, arguments)`` for the text after each
    header line (:func:`xml_tool_header`'s tools), up to the next header line, the agent's
    ``<environment_details>`` or the end, without the newline that joins it to either. An output that
    holds a person's words (``<feedback>``, ``<answer>``) or is empty is left out."""
    if "] Result:" not in text:
        return []
    headers = list(_XML_HEADER_LINE_RE.finditer(text))
    spans: list[tuple[int, int, str, str]] = []
    for k, match in enumerate(headers):
        tool = xml_tool_header(match[0])
        if tool is None:
            continue
        start = match.end() + 1 if text.startswith("\n", match.end()) else match.end()
        stop = headers[k + 1].start() if k + 1 < len(headers) else len(text)
        env = text.find(_XML_ENV, start - 1, stop)
        end = env if env >= 0 else stop - 1 if k + 1 < len(headers) else stop  # not the joining newline
        segment = text[start:end]
        if end > start and segment.strip() and not any(tag in segment for tag in _XML_PERSON_TAGS):
            spans.append((start, end, *tool))
    return spans


def xml_span_slots(path: JsonPath, text: str, fmt: WireFormat, user_request: str | None) -> list[Slot]:
    """A ``tool_result`` slot for each of :func:`xml_tool_spans` in the user string ``text`` at ``path``."""
    return [
        Slot(
            path,
            text[start:end],
            UnitContext(
                format=fmt, source="tool_result", tool_name=name, tool_input=args, user_request=user_request
            ),
            (start, end),
        )
        for start, end, name, args in xml_tool_spans(text)
    ]


def value_at(obj: Any, path: JsonPath) -> Any:
    """The value at ``path`` in ``obj``."""
    for key in path:
        obj = obj[key]
    return obj


def splice(text: str, edits: Sequence[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, new)`` span replaced (spans do not overlap)."""
    out: list[str] = []
    at = 0
    for start, end, new in sorted(edits):
        out.append(text[at:start])
        out.append(new)
        at = end
    out.append(text[at:])
    return "".join(out)


def part_index(path: JsonPath) -> int | None:
    """The index of a content part whose text is at ``path`` (``(..., "content", j, "text")``), else None."""
    index = path[-2] if len(path) > 3 else None
    return index if isinstance(index, int) else None


def xml_tool_results(blocks: Sequence[tuple[int, str]]) -> dict[int, tuple[str, str] | None]:
    """The tool results among a user message's text blocks, sent as text by an XML-protocol agent.

    ``blocks``: ``(index in the message's content, text)`` of each text block, in order. A result is the
    text block right after (at the next content index) a whole :func:`xml_tool_header` block, unless it is
    the agent's ``<environment_details>`` or holds a person's words (``<feedback>``, ``<answer>``).
    Returns ``{content index: (tool name, arguments)}`` for each result and ``{content index: None}`` for
    its header and for the message's ``<environment_details>`` blocks (none of them is a person's text:
    they are left as they are and do not count as the user's request).
    """
    found: dict[int, tuple[str, str] | None] = {}
    for (index, header), (next_index, text) in pairwise(blocks):
        if next_index != index + 1 or (tool := xml_tool_header(header)) is None:
            continue
        if text.lstrip().startswith("<environment_details>") or any(tag in text for tag in _XML_PERSON_TAGS):
            continue
        found[index] = None
        found[next_index] = tool
    if found:  # the agent's own report in the same message is not a person's words either
        found.update((i, None) for i, t in blocks if i not in found and t.startswith("<environment_details>"))
    return found


def user_text_slots(
    texts: Sequence[tuple[JsonPath, str]],
    fmt: WireFormat,
    pasted_tags: Sequence[str],
    large_paste_chars: int | None,
    last_user: str | None,
    last_assistant: str | None,
) -> tuple[list[Slot], list[str]]:
    """The units among a user message's text parts (``(path, text)``, in order) and the person's own texts.

    Units: an XML-protocol agent's tool results (:func:`xml_tool_results`, :func:`xml_span_slots`) and
    pasted program output (:func:`paste_source`). Headers and ``<environment_details>`` are neither.
    """
    slots: list[Slot] = []
    person: list[str] = []
    parts = [(j, t) for p, t in texts if (j := part_index(p)) is not None] if len(texts) > 1 else []
    xml = xml_tool_results(parts)
    for path, text in texts:
        j = part_index(path) if xml else None
        if j is not None and j in xml:  # an XML-protocol agent's tool result, or its header
            if (tool := xml[j]) is not None:
                ctx = UnitContext(
                    format=fmt,
                    source="tool_result",
                    tool_name=tool[0],
                    tool_input=tool[1],
                    user_request=last_user,
                )
                slots.append(Slot(path, text, ctx))
            continue
        if spans := xml_span_slots(path, text, fmt, last_user):
            slots.extend(spans)
            continue
        source = paste_source(text, pasted_tags, large_paste_chars)
        if source is None:
            person.append(text)
        else:
            ctx = UnitContext(format=fmt, source=source, tool_input=last_assistant, user_request=last_user)
            slots.append(Slot(path, text, ctx))
    return slots, person


def arguments_text(value: Any) -> str | None:
    """Tool-call arguments as text: strings unchanged, anything else as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return None


def join_texts(parts: Iterable[str]) -> str | None:
    texts = [p for p in parts if p]
    return "\n".join(texts) if texts else None


def with_value(obj: Any, path: JsonPath, value: str) -> Any:
    """A copy of ``obj`` with ``value`` at ``path``; only the containers along the path are copied."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, Mapping) and isinstance(head, str):
        new_map = dict(obj)
        new_map[head] = with_value(obj[head], rest, value)
        return new_map
    if isinstance(obj, list) and isinstance(head, int):
        new_list = list(obj)
        new_list[head] = with_value(obj[head], rest, value)
        return new_list
    raise KeyError(f"path element {head!r} does not fit {type(obj).__name__}")


def apply_values(obj: Any, updates: Mapping[JsonPath, str]) -> Any:
    """``obj`` with every path in ``updates`` replaced; the input is never mutated."""
    for path, value in updates.items():
        obj = with_value(obj, path, value)
    return obj
