"""A real LiteLLM proxy in a subprocess, started from the example config.yaml with its models pointed at a
local fake provider."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from litellm_upstream import free_port

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_CONFIG = REPO / "examples" / "litellm" / "config.yaml"
MASTER_KEY = "sk-headroom-test"
OPENAI_MODEL = "gpt-4o"
ANTHROPIC_MODEL = "claude-sonnet-4-5"
START_SECONDS = 180


@dataclass
class Proxy:
    url: str
    log: Path
    headers: dict[str, str]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def proxy_config(upstream_url: str, general_settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The example config.yaml, models pointed at the fake provider; ``litellm_settings`` as shipped, and
    ``general_settings`` added when given."""
    config: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    if general_settings:
        config["general_settings"] = {**config.get("general_settings", {}), **general_settings}
    for entry in config["model_list"]:
        params = entry["litellm_params"]
        params["api_key"] = "sk-fake-provider"
        anthropic = params["model"].startswith("anthropic/")
        params["api_base"] = upstream_url if anthropic else f"{upstream_url}/v1"
    return config


def _litellm_command() -> list[str]:
    script = Path(sys.executable).parent / "litellm"
    if script.exists():
        return [str(script)]
    found = shutil.which("litellm")
    return [found] if found else [sys.executable, "-m", "litellm.proxy.proxy_cli"]


@contextlib.contextmanager
def run_proxy(
    upstream_url: str, workdir: Path, headroom_config: str, general_settings: dict[str, Any] | None = None
) -> Iterator[Proxy]:
    """Start ``litellm --config`` on a free loopback port; stop it on exit. ``headroom_config`` is YAML."""
    config_file = workdir / "config.yaml"
    config_file.write_text(yaml.safe_dump(proxy_config(upstream_url, general_settings)))
    headroom_file = workdir / "headroom.yaml"
    headroom_file.write_text(headroom_config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADROOM_", "OPENAI_", "ANTHROPIC_"))}
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_MASTER_KEY=MASTER_KEY,
        HEADROOM_CONFIG=str(headroom_file),
        NO_PROXY="127.0.0.1,localhost",
        # LiteLLM's /anthropic/... and /openai_passthrough/... routes forward to these.
        ANTHROPIC_API_BASE=upstream_url,
        ANTHROPIC_API_KEY="sk-fake-provider",
        OPENAI_API_BASE=upstream_url,
        OPENAI_API_KEY="sk-fake-provider",
    )
    port = free_port()
    log = workdir / "proxy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*_litellm_command(), "--config", str(config_file), "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"LiteLLM proxy exited with {process.returncode}:\n{log.read_text()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"LiteLLM proxy did not start in time:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield Proxy(url, log, {"Authorization": f"Bearer {MASTER_KEY}"})
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
