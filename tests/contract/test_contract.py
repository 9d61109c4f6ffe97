"""The contract every adapter meets: what reaches the app is exactly what the core engine makes of the input.

Run by each cell of the nox matrix against one adapter and one transform set.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cases import Case, bad_cases, golden_cases

from headroom.engine import Engine

GOLDEN = golden_cases()
BAD = bad_cases()


def send(client: Any, case: Case) -> Any:
    if case.raw_only and not client.raw_bytes:
        pytest.skip(f"{client.name} receives parsed bodies; {case.id} is a raw-bytes case")
    return client.deliver(case.path, case.body, case.headers)


@pytest.mark.parametrize("case", GOLDEN, ids=[c.id for c in GOLDEN])
def test_app_receives_exactly_what_core_makes(client: Any, engine: Engine, case: Case) -> None:
    expected = engine.compress(case.body, path=case.path)
    delivery = send(client, case)
    assert delivery.status == 200
    if client.raw_bytes:
        assert delivery.body == expected.body
    assert delivery.json == json.loads(expected.body)
    if delivery.response_headers and engine.config.telemetry.response_headers:
        headers = delivery.response_headers
        if expected.changed:
            assert headers["x-headroom-tokens-saved"] == str(expected.tokens_saved)
            assert headers["x-headroom-tokens-before"] == str(expected.tokens_before)
        else:
            assert "x-headroom-skipped" in headers


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_bad_and_opted_out_inputs(client: Any, engine: Engine, case: Case) -> None:
    delivery = send(client, case)
    assert delivery.status == 200
    if case.decoded is not None:
        inner = engine.compress(case.decoded, path=case.path)
        assert delivery.body == (inner.body if inner.changed else case.body)
        return
    if client.raw_bytes:
        assert delivery.body == case.body
    else:
        assert delivery.json == json.loads(case.body)
    assert not any(name.startswith("x-headroom-") for name in delivery.headers)


def test_the_golden_cases_exercise_the_engine(engine: Engine) -> None:
    # Guards the suite itself: with the full seed config, most golden inputs must really be compressed, so
    # "adapter output == core output" is not trivially "nothing happened" (only checked for the seed set).
    names = [t.name for t in engine.config.transforms]
    if names != ["search", "router", "tags"]:
        pytest.skip("only meaningful for the seed transform set")
    changed = [c.id for c in GOLDEN if engine.compress(c.body, path=c.path).changed]
    assert len(changed) >= len(GOLDEN) // 2, changed
