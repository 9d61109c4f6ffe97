"""ContentRouter: detects a unit's content type and routes it. (Skeleton for now.)"""

from __future__ import annotations

from headroom.engine.units import Unit
from headroom.transforms.base import Compressor


class ContentRouter(Compressor):
    """Routes units to per-type compressors. This skeleton leaves every unit unchanged."""

    name = "router"

    def compress(self, unit: Unit) -> str | None:
        return None
