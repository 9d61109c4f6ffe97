"""Test-only transforms with known behaviour, so engine properties can be checked independently of the real
compressors."""

from __future__ import annotations

import time
from typing import ClassVar

from headroom.engine.units import Unit
from headroom.transforms.base import Compressor
from headroom.transforms.markers import marker


class HalfLines(Compressor):
    """Keeps the first half of a unit's lines and marks the rest: deterministic, saves on long units."""

    name = "test-half"

    def compress(self, unit: Unit) -> str | None:
        lines = unit.text.splitlines()
        if len(lines) < 4:
            return None
        keep = len(lines) // 2
        return "\n".join([*lines[:keep], marker([(len(lines) - keep, "lines")], unit.ref)])


class Raising(Compressor):
    name = "test-raise"

    def compress(self, unit: Unit) -> str | None:
        raise RuntimeError("boom")


class Sleeping(Compressor):
    name = "test-sleep"
    seconds: float = 0.3

    def compress(self, unit: Unit) -> str | None:
        time.sleep(self.seconds)
        return unit.text[: len(unit.text) // 4]


class ColdStart(HalfLines):
    """Counts warm-ups; raises on the second, to show a failing warm-up does not stop the engine."""

    name = "test-cold"
    warmed: ClassVar[list[int]] = []

    def warm_up(self) -> None:
        self.warmed.append(1)
        if len(self.warmed) > 1:
            raise RuntimeError("cannot warm up")
