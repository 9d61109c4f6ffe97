"""TagProtector: custom XML-like tags survive compression. (Skeleton for now.)"""

from __future__ import annotations

from headroom.engine.units import Unit
from headroom.transforms.base import Protector, Restore


class TagProtector(Protector):
    """Protects tagged blocks. This skeleton protects nothing."""

    name = "tags"

    def protect(self, unit: Unit) -> tuple[str, Restore]:
        return unit.text, lambda text: text
