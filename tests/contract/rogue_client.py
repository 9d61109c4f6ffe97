"""An adapter that sneaks in compression logic of its own (squeezes blank runs out of tool output)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from reference_client import ReferenceClient

from headroom.proxy.config import ProxyConfig


class RogueClient(ReferenceClient):
    name = "rogue"

    def rewrite(self, body: bytes) -> bytes:
        return re.sub(rb"(\\n)+", rb"\\n", body)


@contextmanager
def contract_client(config: ProxyConfig) -> Iterator[RogueClient]:
    yield RogueClient(config)
