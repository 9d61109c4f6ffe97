"""The engine: parse a body, find its units, run the configured transforms, write the body back.

Every failure path leaves the request as it was (fail-open) and says why in ``EngineResult.skipped`` or
``EngineResult.errors``. When nothing changes, the caller gets the very object it passed in.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

from headroom.engine.codecs import EXTRACTORS, apply_values, detect_format
from headroom.engine.codecs._common import splice, value_at
from headroom.engine.memo import Memo, UnitOutcome, chain_digest, context_digest, text_digest, unit_key
from headroom.engine.result import EngineResult, EngineStats, TransformStats, Uncounted
from headroom.engine.tokens import OnceCounter, SampledCounter, counting_once, get_token_counter
from headroom.engine.units import JsonPath, Slot, TextLog, Unit, UnitContext, WireFormat
from headroom.proxy.config import Limits, ProxyConfig
from headroom.transforms.base import Compressor, Protector, Restore, Transform
from headroom.transforms.markers import REF_LENGTH

try:
    import orjson
except ImportError:  # PyPy, or a platform without a wheel: the json module does all the work
    orjson = None  # type: ignore[assignment]

logger = logging.getLogger("headroom")

Work = Callable[[float], EngineResult]
"""A unit of engine work, given its start time on the monotonic clock."""

_AGING_SOURCES = frozenset({"tool_result", "pasted"})
"""The sources that age (``ProxyConfig.aging``): tool results, and tool output a user text wraps in a
configured tag (how some harnesses send them). A large paste without a tag is a person's: it never ages."""


class _OutOfRange(ValueError):
    """A JSON number no float can hold (``1E400``): written back it would read ``Infinity``, not JSON."""


def _finite(literal: str) -> float:
    value = float(literal)
    if value in (math.inf, -math.inf):
        raise _OutOfRange(literal)
    return value


def _orjson_alike(obj: Any) -> bool:
    """Whether orjson reads and writes every value in ``obj`` exactly as the json module does.

    A plain JSON tree (dict, list, str, int, bool, None, float) qualifies unless a float lies outside
    ``[1e-4, 1e16)``, the range ``repr`` writes without an exponent (zero aside): orjson reads an integer
    beyond 64 bits as a float, spells exponents its own way (``1e-7`` for json's ``1e-07``, ``0.00001``
    for ``1e-05``; before 3.11 ``1e16`` for ``1e+16``) and writes ``NaN``/``Infinity`` as ``null``.
    Anything else (a subclass, a tuple) is left to json too.
    """
    stack = [obj]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            continue
        if kind is dict:
            stack.extend(value.values())
        elif kind is list:
            stack.extend(value)
        elif kind is not float or (value != 0.0 and not 1e-4 <= abs(value) < 1e16):
            return False
    return True


def _parse(body: bytes | bytearray | str) -> Any:
    """The body's JSON value exactly as ``json.loads(body, parse_float=_finite)`` reads it (``1E400``
    raises :class:`_OutOfRange`). orjson reads it when installed and its reading provably matches; what
    it refuses (``NaN``, ``Infinity``, ``1E400``, lone surrogates, a BOM, UTF-16, invalid JSON) or may
    read otherwise (integers beyond 64 bits) the json module reads, as it always did."""
    if orjson is not None:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        else:
            if _orjson_alike(parsed):
                return parsed
    return json.loads(body, parse_float=_finite)


def serialize(obj: Any) -> bytes:
    """The JSON bytes Headroom forwards for a changed body: compact, UTF-8, keys in their original order
    (ASCII with escapes when a string holds a lone surrogate, which a JSON escape can carry).

    The bytes are ``json.dumps``'s in every case; orjson writes them, faster, when it provably writes the
    same (see :func:`_orjson_alike`; a lone surrogate, an integer beyond 64 bits or nesting deeper than
    255 make it refuse, and json writes)."""
    if orjson is not None and _orjson_alike(obj):
        try:
            return orjson.dumps(obj)
        except orjson.JSONEncodeError:
            pass
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, separators=(",", ":"), allow_nan=True).encode("ascii")


class Engine:
    """Compresses request bodies under one :class:`ProxyConfig`.

    Holds the memo of unit results and running stats; everything else is per call. Safe to share between
    threads and event loops.
    """

    def __init__(self, config: ProxyConfig | None = None) -> None:
        self.config = config if config is not None else ProxyConfig()
        self.counter = SampledCounter(get_token_counter(self.config.encoding))
        self.memo = Memo(self.config.limits.memo_entries)
        self.stats = EngineStats()
        self._disabled: frozenset[str] = frozenset()
        self._fingerprint: tuple[frozenset[str] | None, str] = (None, "")
        self._workers: RunVar[anyio.CapacityLimiter] = RunVar(f"headroom.engine.workers.{id(self)}")
        logger.setLevel(self.config.telemetry.log_level)
        for transform in self.config.transforms:
            try:
                transform.warm_up()
            except Exception:  # a transform that cannot warm up will fail open per request instead
                logger.warning("headroom: %s could not warm up", transform.name, exc_info=True)

    # -- runtime control -------------------------------------------------------------------------------

    @property
    def transforms(self) -> list[Transform]:
        """The configured transforms that are enabled now."""
        return [t for t in self.config.transforms if t.name not in self._disabled]

    def set_transform_enabled(self, name: str, enabled: bool) -> None:
        """Turn a configured transform on or off for later requests (by registry or class name)."""
        match = [t.name for t in self.config.transforms if name in (t.name, type(t).__name__)]
        if not match:
            known = ", ".join(t.name for t in self.config.transforms) or "none"
            raise KeyError(f"transform {name!r} is not configured (configured: {known})")
        self._disabled = self._disabled - set(match) if enabled else self._disabled | set(match)

    def fingerprint(self) -> str:
        """What every memoized result depends on besides its unit: the enabled transforms and limits.

        Transforms are immutable, so the value only changes with the enabled set; it is kept for that set.
        """
        disabled, known = self._fingerprint
        if disabled is self._disabled:
            return known
        disabled = self._disabled
        limits = self.config.limits
        parts = [t.fingerprint() for t in self.config.transforms if t.name not in disabled]
        parts += [self.counter.name, str(limits.min_unit_tokens), str(limits.min_tokens_saved)]
        if self.config.aging is not None:  # with aging on, dedupe hides earlier code: every unit may differ
            parts.append("aging")
        value = "|".join(parts)
        self._fingerprint = (disabled, value)
        return value

    # -- entry points ----------------------------------------------------------------------------------

    def compress(self, body: bytes | bytearray | str, *, path: str | None = None) -> EngineResult:
        """Compress a raw JSON body. ``result.body`` is ``body`` itself when nothing changed."""
        result = self._guarded(lambda start: self._compress_raw(body, path, start), body)
        self._record(result)
        return result

    def compress_json(
        self, body: Mapping[str, Any], *, path: str | None = None, format: WireFormat | None = None
    ) -> EngineResult:
        """Compress a parsed body (e.g. LiteLLM's request dict). The input mapping is never mutated."""
        result = self._guarded(lambda start: self._compress_object(body, path, format, start), body)
        self._record(result)
        return result

    async def acompress(self, body: bytes | bytearray | str, *, path: str | None = None) -> EngineResult:
        """:meth:`compress` for async callers: large bodies go to a worker thread under the deadline."""
        return await self._offloaded(len(body), body, lambda start: self._compress_raw(body, path, start))

    async def acompress_json(
        self, body: Mapping[str, Any], *, path: str | None = None, format: WireFormat | None = None
    ) -> EngineResult:
        """:meth:`compress_json` for async callers."""
        return await self._offloaded(
            _rough_size(body), body, lambda start: self._compress_object(body, path, format, start)
        )

    # -- internals -------------------------------------------------------------------------------------

    def _record(self, result: EngineResult) -> None:
        self.stats.record(result)
        if logger.isEnabledFor(logging.INFO):
            logger.info("headroom %s", json.dumps(result.summary(), sort_keys=True))

    def _guarded(self, work: Work, body: Any) -> EngineResult:
        start = time.monotonic()
        try:
            result = work(start)
        except Exception as exc:  # fail open: the request goes on as it came
            logger.warning("headroom: passing request through after %s", type(exc).__name__, exc_info=True)
            result = EngineResult(body=body, skipped="error", errors=[f"engine: {type(exc).__name__}: {exc}"])
        result.seconds = time.monotonic() - start
        return result

    async def _offloaded(self, size: int, body: Any, work: Work) -> EngineResult:
        limits = self.config.limits
        if size < limits.offload_bytes:
            result = self._guarded(work, body)
            self._record(result)
            return result
        budget = limits.deadline_ms / 1000
        started = time.monotonic()

        def run() -> EngineResult:
            if time.monotonic() - started > budget:
                return EngineResult(body=body, skipped="deadline")
            result = self._guarded(work, body)
            if logger.isEnabledFor(logging.INFO):
                result.count_pending()  # the summary logged on the event loop reads every count: count here
            return result

        outcome: EngineResult | None = None
        with anyio.move_on_after(budget + 0.05):
            # A request waiting for one of the engine's workers waits here, on the event loop, holding no
            # thread: the app's own to_thread calls (anyio's default limiter) never queue behind it.
            outcome = await anyio.to_thread.run_sync(run, abandon_on_cancel=True, limiter=self._limiter())
        if outcome is None:
            outcome = EngineResult(body=body, skipped="deadline", seconds=time.monotonic() - started)
        self._record(outcome)
        return outcome

    def _limiter(self) -> anyio.CapacityLimiter:
        """The engine's ``max_concurrency`` worker slots on the running event loop (one set per loop)."""
        try:
            return self._workers.get()
        except LookupError:
            limiter = anyio.CapacityLimiter(self.config.limits.max_concurrency)
            self._workers.set(limiter)
            return limiter

    def _compress_raw(self, body: bytes | bytearray | str, path: str | None, start: float) -> EngineResult:
        if not self.config.enabled:
            return EngineResult(body=body, skipped="disabled")
        size = len(body.encode("utf-8")) if isinstance(body, str) else len(body)
        if size > self.config.limits.max_body_bytes:
            return EngineResult(body=body, skipped="too_large")
        try:
            parsed = _parse(body)
        except _OutOfRange:  # a changed body could not be written back as the same JSON
            return EngineResult(body=body, skipped="number_out_of_range")
        except (UnicodeDecodeError, ValueError):
            return EngineResult(body=body, skipped="invalid_json")
        if not isinstance(parsed, dict):
            return EngineResult(body=body, skipped="not_an_object")
        result = self._compress_object(parsed, path, None, start)
        if result.changed:
            encoded = serialize(result.body)
            result.body = encoded if not isinstance(body, str) else encoded.decode("utf-8")
        else:
            result.body = body
        return result

    def _compress_object(
        self, body: Mapping[str, Any], path: str | None, fmt: WireFormat | None, start: float
    ) -> EngineResult:
        if not self.config.enabled:
            return EngineResult(body=body, skipped="disabled")
        fmt = fmt or detect_format(body, path)
        if fmt is None:
            return EngineResult(body=body, skipped="unknown_format")
        slots = EXTRACTORS[fmt](body, self.config.pasted_output_tags, self.config.pasted_output_min_chars)
        transforms = self.transforms
        count = counting_once(self.counter)
        result = EngineResult(
            body=body,
            format=fmt,
            units=len(slots),
            transforms={t.name: TransformStats() for t in transforms},
            tokens_exact=self.counter.exact,
            counter=count,
            on_counted=self._counted,
        )
        if not slots:
            result.skipped = "no_units"
            return result
        if sum(len(s.text) for s in slots) > self.config.limits.max_body_bytes:
            result.skipped = "too_large"
            return result
        if not any(isinstance(t, Compressor) for t in transforms):
            result.skipped = "no_transforms"
            return result
        deadline = start + self.config.limits.deadline_ms / 1000
        fingerprint = self.fingerprint()
        updates: dict[JsonPath, str] = {}
        spliced: dict[JsonPath, list[tuple[int, int, str]]] = {}
        history = History()
        aging = self.config.aging
        old = aging.aged(sum(s.context.source in _AGING_SOURCES for s in slots)) if aging else 0
        outputs = 0  # tool outputs seen so far
        for slot in slots:
            if time.monotonic() > deadline:
                result.errors.append("deadline: later units left as they were")
                result.skipped = result.skipped or "deadline"
                break
            aged: bool | None = None
            if aging is not None:
                output = slot.context.source in _AGING_SOURCES
                aged = output and outputs < old
                outputs += output
            digest = text_digest(slot.text)  # the text is hashed once: memo key, history, marker ref
            context_key = history.context_key(slot.context)
            key = unit_key(
                fingerprint + "|aged" if aged else fingerprint,
                slot.text,
                slot.context,
                history.digest,
                digest,
                context_key,
            )
            outcome = self._unit(slot, key, digest, transforms, deadline, result, history, count, aged)
            history.add(slot.text, digest, outcome.text)
            if outcome.tokens_before is None:  # counted once read (a rewrite: at its floor meanwhile)
                result.uncounted.append(Uncounted(key, slot.text, outcome.transform, outcome.floor))
                result.counted_before += outcome.floor
                result.counted_after += outcome.tokens_after or 0
            else:
                result.counted_before += outcome.tokens_before
                result.counted_after += outcome.tokens_after or 0
            if outcome.text is not None:
                if slot.span is None:
                    updates[slot.path] = outcome.text
                else:
                    spliced.setdefault(slot.path, []).append((*slot.span, outcome.text))
                result.units_changed += 1
        for at, edits in spliced.items():  # outputs inside a longer user string: put into it
            updates[at] = splice(value_at(body, at), edits)
        if updates:
            result.body = apply_values(body, updates)
            result.changed = True
        elif result.skipped is None:
            result.skipped = "nothing_to_save"
        return result

    def _counted(self, counted: list[tuple[Uncounted, int]], recorded: bool) -> None:
        """Units counted after their request's pass: into their memo entries, and the running totals if
        the request was recorded in them already (else its record carries them)."""
        if recorded:
            self.stats.add_counted(counted)
        for unit, tokens in counted:
            self.memo.fill_count(unit.key, tokens)

    def _unit(
        self,
        slot: Slot,
        key: str,
        digest: str,
        transforms: list[Transform],
        deadline: float,
        result: EngineResult,
        history: History,
        count: OnceCounter,
        aged: bool | None = None,
    ) -> UnitOutcome:
        limits = self.config.limits
        hit = self.memo.get(key)
        if hit is not None:  # a replayed unit costs a hash, not even a token count
            result.memo_hits += 1
            self._credit(result, hit)
            if hit.note and hit.transform in result.transforms:
                result.transforms[hit.transform].notes[hit.note] += 1
            return hit
        # A short unit is counted now, for the min_unit_tokens gate. A longer one (over 4 chars a token:
        # nearly always above the gate, and a rewrite is checked against it anyway) is counted only as far
        # as deciding on a rewrite needs (OnceCounter.at_least); the rest of its count, and all of it when
        # left unchanged, waits until someone reads the result's totals (EngineResult.uncounted).
        before: int | None = None
        if len(slot.text) < 4 * limits.min_unit_tokens:
            before = count(slot.text)
        unchanged = UnitOutcome(None, None, before, before)
        if before is not None and before < limits.min_unit_tokens:
            self.memo.put(key, unchanged)
            return unchanged

        text = slot.text
        ref = digest[:REF_LENGTH]  # unit_ref(slot.text)
        earlier = history.texts.view()
        restores: list[tuple[str, Restore]] = []
        for protector in (t for t in transforms if isinstance(t, Protector)):
            t0 = time.monotonic()
            try:
                text, restore = protector.protect(Unit(text, slot.context, count, ref, earlier, aged))
            except Exception as exc:
                result.errors.append(f"{protector.name}: {type(exc).__name__}")
                result.transforms[protector.name].errors += 1
                return unchanged
            finally:
                result.transforms[protector.name].seconds += time.monotonic() - t0
            restores.append((protector.name, restore))

        clean = True
        outcome = unchanged
        for compressor in (t for t in transforms if isinstance(t, Compressor)):
            stats = result.transforms[compressor.name]
            t0 = time.monotonic()
            try:
                out, note = compressor.explain(Unit(text, slot.context, count, ref, earlier, aged))
            except Exception as exc:
                stats.errors += 1
                result.errors.append(f"{compressor.name}: {type(exc).__name__}")
                clean = False
                continue
            finally:
                stats.units += 1
                stats.seconds += time.monotonic() - t0
            if time.monotonic() > deadline:
                if note:
                    stats.notes[note] += 1
                result.errors.append(f"{compressor.name}: deadline")
                result.skipped = result.skipped or "deadline"
                clean = False
                break
            if out is None or out == text:
                if note:
                    stats.notes[note] += 1
                continue
            final: str | None = out
            for name, restore in reversed(restores):
                final = restore(final) if final is not None else None
                if final is None:
                    result.errors.append(f"{name}: protected span lost, unit left as it was")
                    result.transforms[name].errors += 1
            if final is None:
                if note:
                    stats.notes[note] += 1
                clean = False
                continue
            after = count(final)
            worth = partial(_worth, limits, compressor, after)
            floor = before
            if floor is None:
                floor, exact = count.at_least(slot.text, worth)
                if exact:
                    before = floor
                    unchanged = UnitOutcome(None, None, before, before)
            if worth(floor):  # the same decision as on the exact count: worth is monotone in it
                if note:
                    stats.notes[note] += 1
                outcome = UnitOutcome(final, compressor.name, before, after, note, floor)
                break
            if note:  # the engine kept the original: the saving was too small
                stats.notes[f"{note}:below_min_saving"] += 1
        if outcome.text is None:
            outcome = unchanged  # counted on the way, if a rewrite was tried and rejected
        if clean:
            self.memo.put(key, outcome)
        self._credit(result, outcome)
        return outcome

    @staticmethod
    def _credit(result: EngineResult, outcome: UnitOutcome) -> None:
        if outcome.transform is None or outcome.transform not in result.transforms:
            return
        stats = result.transforms[outcome.transform]
        stats.changed += 1
        stats.tokens_before += outcome.floor if outcome.tokens_before is None else outcome.tokens_before
        stats.tokens_after += outcome.tokens_after or 0


def _worth(limits: Limits, compressor: Compressor, after: int, before: int) -> bool:
    """Whether a rewrite from ``before`` to ``after`` tokens is taken: true for some ``before``, true for
    every larger one (``Compressor.accepts`` must be monotone so), so a lower bound that passes decides."""
    return (
        before >= limits.min_unit_tokens
        and before - after >= limits.min_tokens_saved
        and compressor.accepts(before, after)
    )


class History:
    """The units seen so far in one request (their original texts, and what the model is sent for each),
    and the running digest of the originals."""

    __slots__ = ("_contexts", "_requests", "digest", "texts")

    def __init__(self) -> None:
        self.texts = TextLog(shown=())
        self.digest = ""
        self._contexts: dict[UnitContext, str] = {}
        self._requests: dict[str, str] = {}

    def context_key(self, context: UnitContext) -> str:
        """The :func:`context_digest` of ``context``, computed once per request for equal contexts, and
        the user's request (shared by the contexts of many units) hashed once."""
        key = self._contexts.get(context)
        if key is None:
            asked = context.user_request or ""
            request = self._requests.get(asked)
            if request is None:
                request = self._requests[asked] = text_digest(asked)
            key = self._contexts[context] = context_digest(context, request)
        return key

    def add(self, text: str, digest: str | None = None, shown: str | None = None) -> None:
        """Append ``text`` (``digest``: its :func:`text_digest`, when known; ``shown``: its compressed form,
        None when it goes on as it was)."""
        self.texts.append(text, shown)
        self.digest = chain_digest(self.digest, text, digest)


def _rough_size(body: Mapping[str, Any]) -> int:
    """A cheap size guess for a parsed body: the length of its message strings and text parts."""
    total = 0
    for key in ("messages", "input"):
        items = body.get(key)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping):
                total += _text_length(item.get("content")) + _text_length(item.get("output"))
    return total


def _text_length(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(
            _text_length(part.get("text") or part.get("content"))
            for part in value
            if isinstance(part, Mapping)
        )
    return 0
