"""The memo key frames every part with its length: one digest update equals the part-by-part updates."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from headroom.engine.memo import unit_key
from headroom.engine.units import UnitContext, WireFormat


def _reference(fingerprint: str, text: str, context: UnitContext, earlier: str) -> str:
    h = hashlib.blake2b(digest_size=20)
    for part in (
        fingerprint,
        earlier,
        context.format.value,
        context.source,
        context.tool_name or "",
        context.tool_input or "",
        context.user_request or "",
        "E" if context.is_error else "",
        text,
    ):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


texts = st.text(alphabet=st.characters(blacklist_categories=()), max_size=50)


@given(texts, texts, st.none() | texts, st.none() | texts, st.booleans(), st.sampled_from(list(WireFormat)))
def test_key_matches_part_by_part_hashing(
    text: str, earlier: str, tool_input: str | None, request: str | None, error: bool, fmt: WireFormat
) -> None:
    context = UnitContext(fmt, "tool_result", "bash", tool_input, request, error)
    assert unit_key("fp", text, context, earlier) == _reference("fp", text, context, earlier)


def test_parts_do_not_run_together() -> None:
    context = UnitContext(format=WireFormat.OPENAI_CHAT, source="tool_result")
    assert unit_key("ab", "c", context) != unit_key("a", "bc", context)
