"""Headroom's engine: codecs for the three wire formats, the transform pipeline, token counting.

Names load lazily so that transforms can import ``headroom.engine.units`` without pulling in the pipeline.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headroom.engine.pipeline import Engine, serialize
    from headroom.engine.result import EngineResult, EngineStats, TransformStats
    from headroom.engine.tokens import TokenCounter, get_token_counter
    from headroom.engine.units import Slot, Unit, UnitContext, WireFormat

_HOMES = {
    "Engine": "pipeline",
    "serialize": "pipeline",
    "EngineResult": "result",
    "EngineStats": "result",
    "TransformStats": "result",
    "TokenCounter": "tokens",
    "get_token_counter": "tokens",
    "Slot": "units",
    "Unit": "units",
    "UnitContext": "units",
    "WireFormat": "units",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'headroom.engine' has no attribute {name!r}")
    return getattr(import_module(f"headroom.engine.{home}"), name)


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
