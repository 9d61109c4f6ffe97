"""Transforms by name, including those another installed package adds through the entry-point group."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from headroom.proxy.config import ProxyConfig
from headroom.transforms import registry

PLUGIN = """
from headroom.transforms.base import Compressor


class Shout(Compressor):
    name = "shout"
    loud: bool = True

    def compress(self, unit):
        return unit.text.upper()
"""


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[None]:
    """A distribution on sys.path, as pip would leave it: a module and a dist-info naming its entry point."""
    (tmp_path / "shout_plugin.py").write_text(PLUGIN)
    info = tmp_path / "shout_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[headroom.transforms]\nshout = shout_plugin:Shout\nbroken = nope:Nope\n"
    )
    sys.path.insert(0, str(tmp_path))
    registry._from_entry_points.cache_clear()
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("shout_plugin", None)
        registry._from_entry_points.cache_clear()


def test_a_plugin_transform_is_found_by_name(installed_plugin: None) -> None:
    config = ProxyConfig.model_validate({"transforms": ["search", {"name": "shout", "loud": False}]})
    assert [t.name for t in config.transforms] == ["search", "shout"]
    assert config.transforms[1].spec() == {"name": "shout", "loud": False}


def test_a_broken_plugin_does_not_hide_the_built_ins(installed_plugin: None) -> None:
    known = registry.available_transforms()
    assert {"search", "router", "tags", "shout"} <= set(known)
    assert "broken" not in known
