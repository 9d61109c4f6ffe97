"""Fixtures: a fake provider on loopback, and one real LiteLLM proxy per session in front of it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litellm_proxy import Proxy, run_proxy
from litellm_upstream import Recorder, Upstream, serve


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    recorder = Recorder()
    with serve(recorder) as url:
        yield Upstream(url, recorder)


@pytest.fixture(scope="session")
def proxy(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """Started once per session (start-up takes tens of seconds). Its Headroom config comes from a
    HEADROOM_CONFIG file that turns INFO logging on, so the tests can read the savings it logs."""
    with run_proxy(
        upstream.url, tmp_path_factory.mktemp("litellm-proxy"), "telemetry:\n  log_level: INFO\n"
    ) as p:
        yield p
