"""What each adapter's test package implements so the contract suite can drive it.

An adapter provides, in ``integrations/headroom-<name>/tests/contract_client.py``, a function::

    @contextlib.contextmanager
    def contract_client(config: ProxyConfig) -> Iterator[ContractClient]: ...

that starts the adapter with ``config`` in front of a recording app or upstream. ``deliver`` sends one request
through the adapter and returns what the app behind it received. The suite compares that with what
``headroom.engine.Engine(config)`` makes of the same input: an adapter holds no compression logic of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Delivery:
    """What the app (or upstream) behind the adapter received for one request."""

    body: bytes | None
    """The raw bytes it received, or None where the adapter hands on a parsed object (LiteLLM)."""
    json: Any
    """The parsed body it received (``json.loads(body)`` where ``body`` is set)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Request headers the app received, lower-cased."""
    response_headers: Mapping[str, str] = field(default_factory=dict)
    """Headers the client got back, lower-cased."""
    status: int = 200


class ContractClient(Protocol):
    name: str
    raw_bytes: bool
    """True when the adapter forwards raw bytes (ASGI, Django): the suite then compares bytes exactly."""

    def deliver(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> Delivery: ...
