"""Transforms by name: the built-ins and those other packages add through the ``headroom.transforms``
entry-point group."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from headroom.transforms.base import Transform

ENTRY_POINT_GROUP = "headroom.transforms"

_registered: dict[str, type[Transform]] = {}


def register_transform(cls: type[Transform], *aliases: str) -> type[Transform]:
    """Make ``cls`` available by its ``name``, its class name and ``aliases``."""
    for key in (cls.name, cls.__name__, *aliases):
        _registered[key] = cls
    return cls


@lru_cache(maxsize=1)
def _from_entry_points() -> dict[str, type[Transform]]:
    found: dict[str, type[Transform]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception:  # a broken plugin must not break the built-ins
            continue
        if isinstance(cls, type) and issubclass(cls, Transform):
            found[ep.name] = cls
    return found


def available_transforms() -> dict[str, type[Transform]]:
    """Every known transform by every name it answers to."""
    import headroom.transforms  # noqa: F401  (registers the built-ins)

    return {**_from_entry_points(), **_registered}


def create_transform(spec: Transform | str | Mapping[str, Any]) -> Transform:
    """A transform from an instance, a name, or a ``{"name": ..., **options}`` mapping."""
    if isinstance(spec, Transform):
        return spec
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, Mapping):
        options = dict(spec)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise ValueError("a transform entry needs a string 'name'")
    else:
        raise TypeError(f"a transform is an instance, a name or a mapping, not {type(spec).__name__}")
    known = available_transforms()
    if name not in known:
        raise ValueError(f"unknown transform {name!r}; known: {', '.join(sorted(known))}")
    return known[name].model_validate(options)
