"""text compressor (interface stub; implementation in progress)."""

from __future__ import annotations

from headroom.engine.units import Unit


def compress(text: str, unit: Unit) -> str | None:
    """The compressed text, or None when this is not text content or nothing is worth saving."""
    return None
