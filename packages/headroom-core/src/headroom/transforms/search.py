"""SearchCompressor: grep / ripgrep / git grep output. (Skeleton for now.)"""

from __future__ import annotations

from headroom.engine.units import Unit
from headroom.transforms.base import Compressor


class SearchCompressor(Compressor):
    """Compresses search results. This skeleton leaves every unit unchanged."""

    name = "search"

    def compress(self, unit: Unit) -> str | None:
        return None
