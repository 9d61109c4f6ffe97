"""Running the example project under a real server in a subprocess, on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

TESTS = Path(__file__).resolve().parents[1]
EXAMPLE = TESTS.parents[2] / "examples" / "django_project"

COMMANDS = {
    "uvicorn-asgi": [
        "-m",
        "uvicorn",
        "gateway.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--lifespan",
        "off",
        "--log-level",
        "warning",
    ],
    "uvicorn-middleware": [
        "-m",
        "uvicorn",
        "gateway.asgi_plain:application",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--lifespan",
        "off",
        "--log-level",
        "warning",
    ],
    "daphne-asgi": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "gateway.asgi:application"],
    "runserver-daphne": ["manage.py", "runserver", "--noreload", "127.0.0.1:{port}"],
    "runserver-wsgi": ["manage.py", "runserver", "--noreload", "127.0.0.1:{port}"],
}
SETTINGS = {"runserver-daphne": "headroom_django_testing.example_settings_daphne"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(
    name: str,
    upstream_url: str,
    timeout: float = 30,
    settings: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """The base URL of the example project served by ``name``; output goes into the failure message.

    ``settings`` defaults to the test settings (the example's, with the test-only compressor).
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADROOM_", "DJANGO_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(EXAMPLE), str(TESTS)]),
        DJANGO_SETTINGS_MODULE=settings or SETTINGS.get(name, "headroom_django_testing.example_settings"),
        GATEWAY_UPSTREAM=upstream_url,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    argv = [sys.executable, *(part.format(port=port) for part in COMMANDS[name])]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, cwd=EXAMPLE, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")

        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{output()}")
                try:
                    if httpx.get(base + "/", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not serve within {timeout}s:\n{output()}")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
