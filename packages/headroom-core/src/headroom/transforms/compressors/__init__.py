"""Per-content-type compressors the ContentRouter calls.

Each module exposes a pure, deterministic ``compress(text, unit, **options) -> str | None``: the compressed
text, or None when the text is not of that type or nothing is worth saving. Options are keyword-only with
defaults. Every omission is marked with :func:`headroom.transforms.markers.marker` carrying ``unit.ref``.
"""

from __future__ import annotations

from collections.abc import Callable

from headroom.transforms.compressors import code, diff, json, listing, logs, testrun, text

CompressFn = Callable[..., str | None]

COMPRESSORS: dict[str, CompressFn] = {
    "json": json.compress,
    "logs": logs.compress,
    "diff": diff.compress,
    "code": code.compress,
    "text": text.compress,
    "testrun": testrun.compress,
    "listing": listing.compress,
}

__all__ = ["COMPRESSORS", "CompressFn"]
