"""The memo key: every part framed by its length, the unit's text and the user's request by their digests."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from headroom.engine.memo import chain_digest, context_digest, text_digest, unit_key
from headroom.engine.units import UnitContext, WireFormat
from headroom.transforms.markers import REF_LENGTH, unit_ref


def _framed(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _reference(fingerprint: str, text: str, context: UnitContext, earlier: str) -> str:
    context_part = _framed(
        context.format.value,
        context.source,
        context.tool_name or "",
        context.tool_input or "",
        hashlib.sha256((context.user_request or "").encode("utf-8", "surrogatepass")).hexdigest(),
        "E" if context.is_error else "",
    )
    text_part = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _framed(fingerprint, earlier, context_part, text_part)


texts = st.text(alphabet=st.characters(blacklist_categories=()), max_size=50)


@given(texts, texts, st.none() | texts, st.none() | texts, st.booleans(), st.sampled_from(list(WireFormat)))
def test_key_matches_part_by_part_hashing(
    text: str, earlier: str, tool_input: str | None, request: str | None, error: bool, fmt: WireFormat
) -> None:
    context = UnitContext(fmt, "tool_result", "bash", tool_input, request, error)
    expected = _reference("fp", text, context, earlier)
    assert unit_key("fp", text, context, earlier) == expected
    assert unit_key("fp", text, context, earlier, text_digest(text), context_digest(context)) == expected
    asked = text_digest(request or "")
    assert unit_key("fp", text, context, earlier, None, context_digest(context, asked)) == expected


@given(texts)
def test_text_digest_gives_the_marker_ref(text: str) -> None:
    assert text_digest(text)[:REF_LENGTH] == unit_ref(text)


@given(texts, texts)
def test_chain_digest_with_or_without_the_text_digest(previous: str, text: str) -> None:
    start = chain_digest("", previous)
    assert chain_digest(start, text) == chain_digest(start, text, text_digest(text))
    assert chain_digest(start, text) != chain_digest(start, text + "x")


def test_parts_do_not_run_together() -> None:
    context = UnitContext(format=WireFormat.OPENAI_CHAT, source="tool_result")
    assert unit_key("ab", "c", context) != unit_key("a", "bc", context)
    one = UnitContext(WireFormat.OPENAI_CHAT, "tool_result", tool_input="ab", user_request="c")
    other = UnitContext(WireFormat.OPENAI_CHAT, "tool_result", tool_input="a", user_request="bc")
    assert unit_key("fp", "x", one) != unit_key("fp", "x", other)
