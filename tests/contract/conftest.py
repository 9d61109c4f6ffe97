"""Wires the contract suite to one adapter and one transform set.

The adapter comes from ``--contract-client PATH`` (or ``HEADROOM_CONTRACT_CLIENT``): a file defining
``contract_client(config)`` (see interface.py). The transforms come from ``--contract-transforms NAME`` (or
``HEADROOM_CONTRACT_TRANSFORMS``): one of TRANSFORM_SETS. nox's test matrix sets both.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from headroom.engine import Engine
from headroom.proxy.config import ProxyConfig
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector, Transform

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

TRANSFORM_SETS: dict[str, Callable[[], list[Transform]]] = {
    "search": lambda: [SearchCompressor()],
    "router": lambda: [ContentRouter()],
    "tags": lambda: [TagProtector()],
    "seed": lambda: [SearchCompressor(), ContentRouter(), TagProtector()],
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--contract-client", default=os.environ.get("HEADROOM_CONTRACT_CLIENT"))
    parser.addoption("--contract-transforms", default=os.environ.get("HEADROOM_CONTRACT_TRANSFORMS", "seed"))


def load_client_factory(path: str) -> Callable[[ProxyConfig], AbstractContextManager[Any]]:
    file = Path(path).resolve()
    spec = importlib.util.spec_from_file_location(f"contract_client_{abs(hash(str(file)))}", file)
    if spec is None or spec.loader is None:
        raise pytest.UsageError(f"cannot load a contract client from {file}")
    sys.path.insert(0, str(file.parent))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the client look their module up here
    spec.loader.exec_module(module)
    factory: Callable[[ProxyConfig], AbstractContextManager[Any]] = module.contract_client
    return factory


@pytest.fixture(scope="session")
def contract_config(pytestconfig: pytest.Config) -> ProxyConfig:
    name = pytestconfig.getoption("--contract-transforms")
    if name not in TRANSFORM_SETS:
        raise pytest.UsageError(
            f"--contract-transforms must be one of {sorted(TRANSFORM_SETS)}, not {name!r}"
        )
    return ProxyConfig(transforms=TRANSFORM_SETS[name]())


@pytest.fixture(scope="session")
def engine(contract_config: ProxyConfig) -> Engine:
    """The reference: what core makes of each input under the same config."""
    return Engine(contract_config)


@pytest.fixture(scope="session")
def client(pytestconfig: pytest.Config, contract_config: ProxyConfig) -> Iterator[Any]:
    path = pytestconfig.getoption("--contract-client")
    if not path:
        pytest.skip("no --contract-client given: the contract suite runs from the nox matrix")
    with load_client_factory(path)(contract_config) as adapter:
        yield adapter
