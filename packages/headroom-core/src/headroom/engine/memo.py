"""A bounded, thread-safe LRU memo of unit results keyed by content hash."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from headroom.engine.units import UnitContext


@dataclass(frozen=True, slots=True)
class UnitOutcome:
    """What the pipeline decided for one unit: the new text (None: unchanged) and who produced it.

    ``tokens_before`` is None until counted (see ``EngineResult.uncounted``), and so is ``tokens_after`` for
    a unit left unchanged; ``floor`` is a lower bound of ``tokens_before`` meanwhile (what the decision took).
    """

    text: str | None
    transform: str | None
    tokens_before: int | None
    tokens_after: int | None
    note: str | None = None
    floor: int = 0


def text_digest(text: str) -> str:
    """The SHA-256 (hex) of ``text``'s UTF-8 bytes: what a unit's memo key, the request's running digest
    and its markers' reference (:func:`headroom.transforms.markers.unit_ref`, a prefix) take from it."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def chain_digest(previous: str, text: str, digest: str | None = None) -> str:
    """The running digest of a request's unit texts, extended by ``text`` (``digest``: its
    :func:`text_digest`, when known)."""
    h = hashlib.blake2b(previous.encode("ascii"), digest_size=20)
    h.update((digest or text_digest(text)).encode("ascii"))
    return h.hexdigest()


def context_digest(context: UnitContext, request_digest: str | None = None) -> str:
    """A digest of a unit's context: its parts, each framed by its length, the user's request by its
    :func:`text_digest` (``request_digest``, when known: the request is long and shared by many units)."""
    return _framed_digest(
        context.format.value,
        context.source,
        context.tool_name or "",
        context.tool_input or "",
        request_digest or text_digest(context.user_request or ""),
        "E" if context.is_error else "",
    )


def unit_key(
    fingerprint: str,
    text: str,
    context: UnitContext,
    earlier: str = "",
    digest: str | None = None,
    context_key: str | None = None,
) -> str:
    """A digest of everything a unit's result may depend on (``earlier``: digest of the units before it).

    ``digest`` (the :func:`text_digest` of ``text``) and ``context_key`` (its :func:`context_digest`) are
    passed when known, so each is computed once."""
    return _framed_digest(
        fingerprint, earlier, context_key or context_digest(context), digest or text_digest(text)
    )


def _framed_digest(*parts: str) -> str:
    framed: list[bytes] = []  # each part after its length, hashed in one update
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        framed.append(len(data).to_bytes(8, "little"))
        framed.append(data)
    return hashlib.blake2b(b"".join(framed), digest_size=20).hexdigest()


class Memo:
    """LRU of :class:`UnitOutcome` by key; ``capacity`` 0 disables it."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, UnitOutcome] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> UnitOutcome | None:
        with self._lock:
            outcome = self._items.get(key)
            if outcome is not None:
                self._items.move_to_end(key)
            return outcome

    def put(self, key: str, outcome: UnitOutcome) -> None:
        if self._capacity <= 0:
            return
        with self._lock:
            self._items[key] = outcome
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def fill_count(self, key: str, tokens: int) -> None:
        """Give an entry its count before compression, counted later, off the request's path (and its
        count after, the same, when it is unchanged)."""
        with self._lock:
            outcome = self._items.get(key)
            if outcome is not None and outcome.tokens_before is None:
                after = tokens if outcome.text is None else outcome.tokens_after
                self._items[key] = UnitOutcome(outcome.text, outcome.transform, tokens, after, outcome.note)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
