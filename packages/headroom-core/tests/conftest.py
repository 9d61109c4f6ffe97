"""Shared fixtures for headroom-core's tests."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "dev-cases.jsonl.gz"


def corpus_path() -> Path:
    return Path(os.environ.get("HEADROOM_CORPUS", DEFAULT_CORPUS))


@pytest.fixture(scope="session")
def corpus() -> list[dict[str, Any]]:
    """The dev corpus' cases; the tests that use it skip where it is not laid out."""
    path = corpus_path()
    if not path.is_file():
        pytest.skip(f"dev corpus not found at {path} (set HEADROOM_CORPUS)")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
