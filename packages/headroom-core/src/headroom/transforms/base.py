"""The transform protocol: compressors rewrite a unit's text, protectors guard spans of it."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from headroom.engine.units import Unit

Restore = Callable[[str], str | None]
"""Turns a compressed, protected text back into final text; None when a protected span was lost."""


class Transform(BaseModel, ABC):
    """A configured transform. Options are pydantic fields, so configs validate and serialise.

    ``name`` is the registry name (``{"name": "search"}`` in a config file). Instances are immutable: the
    engine memoizes by ``fingerprint()``, which covers the name and every option.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str]

    def spec(self) -> dict[str, Any]:
        """This transform as a config entry: ``{"name": ..., **options}``."""
        return {"name": self.name, **self.model_dump(mode="json")}

    def fingerprint(self) -> str:
        raw = json.dumps(self.spec(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def warm_up(self) -> None:
        """Load what the first request would otherwise load (the engine calls this once, at start)."""

    def on_response(self, body: Any) -> Any:
        """Response-side hook (for reversible compression later). Default: the body unchanged."""
        return body


class Compressor(Transform):
    """Rewrites a unit. The first compressor in the list that changes a unit takes it."""

    @abstractmethod
    def compress(self, unit: Unit) -> str | None:
        """The compressed text, or None to leave the unit to the next compressor."""

    def explain(self, unit: Unit) -> tuple[str | None, str | None]:
        """:meth:`compress` plus a short note on what was decided (e.g. ``"log:logs"``) for the stats.

        The engine calls this; override it to report decisions. Default: no note.
        """
        return self.compress(unit), None

    def accepts(self, tokens_before: int, tokens_after: int) -> bool:
        """Whether a result of :meth:`explain` is worth taking, given the unit's token counts before and
        after (on top of ``limits.min_tokens_saved``). It must hold for every larger ``tokens_before`` once it
        holds for one: the engine may ask with a proven lower bound of the count before, and takes a "yes"
        as the answer the exact count would give (see docs/tokens.md)."""
        return True


class Protector(Transform):
    """Keeps spans of a unit intact around every compressor, wherever it stands in the list."""

    @abstractmethod
    def protect(self, unit: Unit) -> tuple[str, Restore]:
        """The text with protected spans replaced, and the function that puts them back."""
