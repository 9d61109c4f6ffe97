"""The contract suite catches an adapter that holds compression logic of its own, and only that adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
pytest_plugins = ["pytester"]


SUITE = (
    "conftest.py",
    "cases.py",
    "interface.py",
    "test_contract.py",
    "reference_client.py",
    "rogue_client.py",
)


def run_suite(pytester: pytest.Pytester, client: str) -> pytest.RunResult:
    for name in SUITE:
        pytester.makefile(Path(name).suffix, **{Path(name).stem: (HERE / name).read_text()})
    return pytester.runpytest_subprocess(
        "test_contract.py",
        f"--contract-client={client}",
        "--contract-transforms=seed",
        "-p",
        "no:cacheprovider",
    )


@pytest.mark.parametrize(("client", "fails"), [("reference_client.py", False), ("rogue_client.py", True)])
def test_rogue_adapter_fails_and_honest_one_passes(
    pytester: pytest.Pytester, client: str, fails: bool
) -> None:
    result = run_suite(pytester, client)
    outcomes = result.parseoutcomes()
    if fails:
        assert outcomes.get("failed", 0) >= 1
    else:
        assert outcomes.get("failed", 0) == 0
        assert outcomes.get("passed", 0) >= 10
