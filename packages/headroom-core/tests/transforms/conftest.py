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


def worker_log(lines: int = 400) -> str:
    """A worker's INFO log with one ERROR line in the middle."""
    rows = [
        f"2026-11-27 12:{k // 60:02d}:{k % 60:02d},123 INFO worker.pool: task {k} finished in {k % 17} ms"
        for k in range(lines)
    ]
    rows.insert(
        lines // 2, "2026-11-27 12:03:20,001 ERROR worker.pool: task 9001 crashed: ConnectionResetError"
    )
    return "\n".join(rows)
