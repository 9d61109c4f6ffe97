"""A test-only compressor that surely compresses: runs of identical lines become one line and a marker.

Registered as ``"test-squeeze"``, so dict and file configs (and the example project in a subprocess) can
name it. Tests assert what the engine makes of a body under it, never its exact output.
"""

from __future__ import annotations

from headroom.engine.units import Unit
from headroom.proxy.config import ProxyConfig
from headroom.transforms import Compressor, register_transform
from headroom.transforms.markers import marker


class Squeeze(Compressor):
    """Collapses consecutive repeated lines."""

    name = "test-squeeze"

    def compress(self, unit: Unit) -> str | None:
        lines = unit.text.split("\n")
        out: list[str] = []
        i = 0
        while i < len(lines):
            j = i
            while j + 1 < len(lines) and lines[j + 1] == lines[i]:
                j += 1
            out.append(lines[i])
            if j > i:
                out.append(marker([(j - i, "lines")], unit.ref, "repeats of the line above"))
            i = j + 1
        text = "\n".join(out)
        return None if text == unit.text else text


register_transform(Squeeze)


def squeeze_config(**overrides: object) -> ProxyConfig:
    """The config the tests compress with: the squeeze compressor plus the built-in tag protector."""
    data: dict[str, object] = {"transforms": ["test-squeeze", "tags"], **overrides}
    return ProxyConfig.model_validate(data)
