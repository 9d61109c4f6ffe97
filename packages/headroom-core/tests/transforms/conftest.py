"""Helpers for the transform tests: units built the way the engine builds them."""

from __future__ import annotations

from collections.abc import Sequence

from headroom.engine.tokens import get_token_counter
from headroom.engine.units import Unit, UnitContext, WireFormat
from headroom.transforms.markers import unit_ref

COUNT = get_token_counter("o200k_base").count


def make_unit(
    text: str,
    *,
    tool_input: str | None = None,
    user_request: str | None = None,
    source: str = "tool_result",
    earlier: Sequence[str] = (),
    aged: bool | None = None,
) -> Unit:
    ctx = UnitContext(
        format=WireFormat.OPENAI_CHAT,
        source="pasted"
        if source == "pasted"
        else "large_paste"
        if source == "large_paste"
        else "tool_result",
        tool_name="bash",
        tool_input=tool_input,
        user_request=user_request,
    )
    return Unit(text, ctx, COUNT, unit_ref(text), tuple(earlier), aged)
