"""Content caches outlive a request; clear_content_caches empties every one of them."""

from __future__ import annotations

import json

from headroom.engine import Engine
from headroom.engine.caches import _CACHES, clear_content_caches
from headroom.proxy.config import ProxyConfig
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector


def _body() -> bytes:
    view = "\n".join(f"{i:6d}\tdef function_{i}(a, b):  # returns a + b" for i in range(1, 200))
    listing = "\n".join(f"file_{i}.py" for i in range(120))
    messages = [{"role": "user", "content": "Fix `function_12` in the `module` please"}]
    for i, (command, output) in enumerate((("nl -ba a.py", view), ("ls", listing), ("nl -ba a.py", view))):
        call = {"id": f"c{i}", "type": "function", "function": {"name": "bash", "arguments": command}}
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": output})
    return json.dumps({"model": "m", "messages": messages}).encode()


def test_clearing_empties_every_content_cache_and_changes_no_result() -> None:
    config = ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()])
    first = Engine(config).compress(_body())
    assert first.changed  # the re-viewed file is folded
    filled = [cache for cache in _CACHES if cache.cache_info().currsize]
    assert len(filled) >= 3  # e.g. the request's words, part types, the dedupe index
    clear_content_caches()
    assert all(cache.cache_info().currsize == 0 for cache in _CACHES)
    assert Engine(config).compress(_body()).body == first.body  # cold or warm: the same bytes
