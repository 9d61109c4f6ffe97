"""What one pass of the engine reports, and the running totals an engine keeps."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from headroom.engine.units import WireFormat


@dataclass(slots=True)
class TransformStats:
    """One transform's share of a request (or of an engine's lifetime).

    ``units``: units it ran on (memo hits need no run); ``changed``: units it took, memo hits included;
    ``notes``: how often it reported each decision (:meth:`Compressor.explain`), e.g. ``{"log:logs": 3}``.
    """

    units: int = 0
    changed: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    errors: int = 0
    seconds: float = 0.0
    notes: Counter[str] = field(default_factory=Counter)

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    def add(self, other: TransformStats) -> None:
        self.units += other.units
        self.changed += other.changed
        self.tokens_before += other.tokens_before
        self.tokens_after += other.tokens_after
        self.errors += other.errors
        self.seconds += other.seconds
        self.notes.update(other.notes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "changed": self.changed,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "tokens_saved": self.tokens_saved,
            "errors": self.errors,
            "ms": round(self.seconds * 1000, 3),
            "notes": dict(sorted(self.notes.items())),
        }


@dataclass(frozen=True, slots=True)
class Uncounted:
    """A unit whose count before compression waits until it is read: left unchanged (``transform`` None; it
    counts the same after, and is in no total yet), or rewritten by ``transform`` (in the totals with its
    count after, and ``floor``, a lower bound of its count before)."""

    key: str
    """Its memo key (the memo entry learns the count)."""
    text: str
    transform: str | None = None
    floor: int = 0

    def extra(self, tokens: int) -> tuple[int, int]:
        """What the totals lack, before and after, given the unit's count ``tokens``."""
        return tokens - self.floor, tokens if self.transform is None else 0


@dataclass(slots=True)
class EngineResult:
    """The outcome of compressing one body.

    ``body`` is the original object itself (bytes or mapping) when nothing changed, so passthrough is exact.
    Token counts cover the compressible units, not the whole prompt. What deciding the request did not
    need is counted only when ``tokens_before``/``tokens_after`` are first read (the response headers, the
    summary), after the request went upstream: long units left unchanged, and the part of a rewritten
    unit's count beyond what showed the rewrite was worth it (``uncounted``). ``tokens_saved`` waits for
    the rewritten ones only.
    """

    body: Any
    changed: bool = False
    format: WireFormat | None = None
    skipped: str | None = None
    units: int = 0
    units_changed: int = 0
    memo_hits: int = 0
    counted_before: int = 0
    counted_after: int = 0
    transforms: dict[str, TransformStats] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    tokens_exact: bool = False
    uncounted: list[Uncounted] = field(default_factory=list, repr=False)
    """The units not counted yet (``counted_before``/``counted_after`` and ``transforms`` hold a rewritten
    one at its floor)."""
    counter: Callable[[str], int] | None = field(default=None, repr=False, compare=False)
    on_counted: Callable[[list[tuple[Uncounted, int]], bool], None] | None = field(
        default=None, repr=False, compare=False
    )
    """Told each ``uncounted`` unit's tokens once counted, and whether this result was recorded in the
    engine's totals already (the engine's memo entries and totals learn them)."""
    recorded: bool = field(default=False, repr=False, compare=False)
    _counting: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_pending(self, rewritten_only: bool = False) -> None:
        """Count the ``uncounted`` units now (once); with ``rewritten_only``, just those a transform took.
        Thread-safe: a second caller waits for a count under way, so it never reads partial totals."""
        with self._counting:
            self._count_pending(rewritten_only)

    def _count_pending(self, rewritten_only: bool) -> None:
        pending = [u for u in self.uncounted if u.transform is not None] if rewritten_only else self.uncounted
        if not pending:
            return
        count = self.counter or (lambda _text: 0)
        counted = [(unit, count(unit.text)) for unit in pending]  # should it raise, nothing is lost
        self.uncounted = [u for u in self.uncounted if u.transform is None] if rewritten_only else []
        if not self.uncounted:
            self.counter = None  # the request's counter holds its texts' line blocks: let them go
        for unit, tokens in counted:
            before, after = unit.extra(tokens)
            self.counted_before += before
            self.counted_after += after
            stats = self.transforms.get(unit.transform) if unit.transform is not None else None
            if stats is not None:
                stats.tokens_before += before
        if self.on_counted is not None:
            self.on_counted(counted, self.recorded)

    async def acount_pending(self, offload_chars: int) -> None:
        """:meth:`count_pending` for async callers: in a worker thread when the texts are this long, or to
        wait for a count under way in another thread; on the event loop only what is short, never waiting."""
        if sum(len(unit.text) for unit in self.uncounted) < offload_chars and self._counting.acquire(False):
            try:
                self._count_pending(False)
            finally:
                self._counting.release()
            return
        await anyio.to_thread.run_sync(self.count_pending)

    @property
    def tokens_before(self) -> int:
        self.count_pending()
        return self.counted_before

    @property
    def tokens_after(self) -> int:
        self.count_pending()
        return self.counted_after

    @property
    def tokens_saved(self) -> int:
        self.count_pending(rewritten_only=True)
        return self.counted_before - self.counted_after

    @property
    def applied(self) -> list[str]:
        """Names of the transforms that changed at least one unit, in config order."""
        return [name for name, s in self.transforms.items() if s.changed]

    def response_headers(self) -> dict[str, str]:
        """The ``x-headroom-*`` response headers every adapter sends for this result.

        ``x-headroom-transforms`` names the transforms that changed something (empty when none);
        ``x-headroom-skipped`` says why nothing changed.
        """
        headers = {
            "x-headroom-tokens-before": str(self.tokens_before),
            "x-headroom-tokens-after": str(self.tokens_after),
            "x-headroom-tokens-saved": str(self.tokens_saved),
            "x-headroom-transforms": ",".join(self.applied),
        }
        if not self.changed:
            headers["x-headroom-skipped"] = self.skipped or "unchanged"
        return headers

    def summary(self) -> dict[str, Any]:
        """A JSON-able report without any prompt content."""
        self.count_pending()
        return {
            "changed": self.changed,
            "format": self.format.value if self.format else None,
            "skipped": self.skipped,
            "units": self.units,
            "units_changed": self.units_changed,
            "memo_hits": self.memo_hits,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "tokens_saved": self.tokens_saved,
            "tokens_exact": self.tokens_exact,
            "transforms": {name: s.as_dict() for name, s in self.transforms.items()},
            "errors": list(self.errors),
            "ms": round(self.seconds * 1000, 3),
        }


class EngineStats:
    """Running totals across requests; safe to update from worker threads.

    A request's units counted late (``EngineResult.uncounted``) are in the totals once its counts were read
    (adapters read them for the response headers); until then a rewritten one is there at a lower bound of
    its count before, so ``tokens_saved`` never overstates.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.compressed = 0
        self.tokens_before = 0
        self.tokens_after = 0
        self.skips: Counter[str] = Counter()
        self.transforms: dict[str, TransformStats] = {}

    def record(self, result: EngineResult) -> None:
        """Add one result (its uncounted units' tokens arrive through :meth:`add_counted` once counted)."""
        with result._counting, self._lock:  # a count under way in another thread is in or out, not half
            result.recorded = True
            self.requests += 1
            self.compressed += int(result.changed)
            self.tokens_before += result.counted_before
            self.tokens_after += result.counted_after
            if result.skipped:
                self.skips[result.skipped] += 1
            for name, s in result.transforms.items():
                self.transforms.setdefault(name, TransformStats()).add(s)

    def add_counted(self, counted: list[tuple[Uncounted, int]]) -> None:
        """A recorded request's units counted late (before: the tokens; after: the same when unchanged)."""
        with self._lock:
            for unit, tokens in counted:
                before, after = unit.extra(tokens)
                self.tokens_before += before
                self.tokens_after += after
                if unit.transform is not None:
                    self.transforms.setdefault(unit.transform, TransformStats()).tokens_before += before

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "compressed": self.compressed,
                "tokens_before": self.tokens_before,
                "tokens_after": self.tokens_after,
                "tokens_saved": self.tokens_before - self.tokens_after,
                "skips": dict(self.skips),
                "transforms": {name: s.as_dict() for name, s in self.transforms.items()},
            }
