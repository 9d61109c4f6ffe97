"""Headroom's engine: codecs for the three wire formats, the transform pipeline, token counting."""

from headroom.engine.pipeline import Engine, serialize
from headroom.engine.result import EngineResult, EngineStats, TransformStats
from headroom.engine.tokens import TokenCounter, get_token_counter
from headroom.engine.units import Slot, Unit, UnitContext, WireFormat

__all__ = [
    "Engine",
    "EngineResult",
    "EngineStats",
    "Slot",
    "TokenCounter",
    "TransformStats",
    "Unit",
    "UnitContext",
    "WireFormat",
    "get_token_counter",
    "serialize",
]
