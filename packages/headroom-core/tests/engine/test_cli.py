"""The headroom command, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "headroom"


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(BIN), *args], input=stdin, capture_output=True, check=False)


def test_config_schema_prints_json() -> None:
    proc = run("config", "schema")
    assert proc.returncode == 0
    assert "transforms" in json.loads(proc.stdout)["properties"]


def test_compress_passes_through_exactly_and_reports_why(tmp_path: Path) -> None:
    raw = b'{"model": "m",  "messages": [{"role": "user", "content": "hi"}]}'
    proc = run("compress", "-", "--path", "/v1/chat/completions", stdin=raw)
    assert proc.returncode == 0
    assert proc.stdout == raw
    assert json.loads(proc.stderr)["skipped"] == "no_units"


def test_compress_uses_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text('{"enabled": false}')
    body = tmp_path / "b.json"
    body.write_bytes(b'{"messages": []}')
    proc = run("compress", str(body), "--config", str(config))
    assert proc.returncode == 0
    assert json.loads(proc.stderr)["skipped"] == "disabled"


def test_bad_config_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text('{"limits": {"deadline_ms": "soon"}}')
    proc = run("compress", "-", "--config", str(config), stdin=b"{}")
    assert proc.returncode == 2
    assert b"limits.deadline_ms" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_invalid_json_body_passes_through() -> None:
    proc = run("compress", "-", stdin=b"\xff not json")
    assert proc.returncode == 0
    assert proc.stdout == b"\xff not json"
    assert json.loads(proc.stderr)["skipped"] == "invalid_json"
