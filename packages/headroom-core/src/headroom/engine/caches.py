"""Caches of pure functions of text that outlive a request, and one call that empties them all.

What a transform derives from a text alone (the words of a user's request, the type of a part, the dedupe
index of an earlier unit) is remembered across requests: a session re-sends its history every turn, so
its next request costs about its new content. Each cache is bounded (LRU). :func:`clear_content_caches`
forgets everything, so a benchmark can time a request whose content the process has never seen.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import _lru_cache_wrapper, lru_cache
from typing import Any, TypeVar

_R = TypeVar("_R")

_CACHES: list[_lru_cache_wrapper[Any]] = []


def content_cache(maxsize: int) -> Callable[[Callable[..., _R]], _lru_cache_wrapper[_R]]:
    """``lru_cache(maxsize)`` for a pure function of text; :func:`clear_content_caches` empties it."""

    def decorate(function: Callable[..., _R]) -> _lru_cache_wrapper[_R]:
        cached = lru_cache(maxsize=maxsize)(function)
        _CACHES.append(cached)
        return cached

    return decorate


def clear_content_caches() -> None:
    """Empty every :func:`content_cache` (of the modules imported so far)."""
    for cache in _CACHES:
        cache.cache_clear()


__all__ = ["clear_content_caches", "content_cache"]
