"""Helpers for the compressor tests: units built the way the engine builds them, marker bookkeeping."""

from __future__ import annotations

from headroom.engine.tokens import get_token_counter
from headroom.engine.units import Unit, UnitContext, WireFormat
from headroom.transforms.markers import MARKER_RE, parse_markers, unit_ref

COUNT = get_token_counter("o200k_base").count


def make_unit(text: str, *, tool_input: str | None = None, user_request: str | None = None) -> Unit:
    ctx = UnitContext(
        format=WireFormat.OPENAI_CHAT,
        source="tool_result",
        tool_name="bash",
        tool_input=tool_input,
        user_request=user_request,
    )
    return Unit(text, ctx, COUNT, unit_ref(text))


def marker_lines(out: str) -> list[str]:
    return [line for line in out.split("\n") if MARKER_RE.search(line)]


def content_lines(out: str) -> list[str]:
    """The output's lines that are not markers."""
    return [line for line in out.split("\n") if not MARKER_RE.search(line)]


def assert_markers_valid(out: str, unit: Unit) -> int:
    """Every marker line holds exactly one well-formed marker carrying the unit's ref; returns their total."""
    total = 0
    for line in marker_lines(out):
        markers = list(parse_markers(line))
        assert len(markers) == 1, line
        assert markers[0].ref == unit.ref
        assert markers[0].total > 0
        total += markers[0].total
    return total
