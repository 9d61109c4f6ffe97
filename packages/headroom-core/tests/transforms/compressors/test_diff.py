"""Diff compressor: every changed line and header kept, long context trimmed, lock files summarised."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors import diff
from headroom.transforms.compressors.diff import compress, is_generated
from headroom.transforms.markers import parse_markers

from .helpers import assert_markers_valid, make_unit, marker_lines

GIT_LOG = """commit 135e3af00a507714a4e391ab8d11b835399aa1a4
Author: Irfanuddin Shafi Ahmed <irfanudeen08@gmail.com>
Date:   Sat Feb 22 15:45:06 2025 +0400

    Add deprecated warnings to `TestClient` on use of `timeout` argument (#2840)

diff --git a/starlette/testclient.py b/starlette/testclient.py
index fb2ad6e3..d54025e5 100644
--- a/starlette/testclient.py
+++ b/starlette/testclient.py
@@ -7,6 +7,7 @@ import json
 import math
 import sys
 import typing
+import warnings
 from concurrent.futures import Future
 from types import GeneratorType
 from urllib.parse import unquote, urljoin
"""


def lock_section(n: int = 120) -> str:
    body = []
    for i in range(n):
        body.append(f'-    "node_modules/pkg-{i}": {{"version": "1.0.{i}"}},')
        body.append(f'+    "node_modules/pkg-{i}": {{"version": "1.1.{i}"}},')
    return (
        "diff --git a/package-lock.json b/package-lock.json\n"
        "index 1111111..2222222 100644\n"
        "--- a/package-lock.json\n"
        "+++ b/package-lock.json\n"
        f"@@ -1,{n + 2} +1,{n + 2} @@\n"
        " {\n" + "\n".join(body) + "\n }\n"
    )


def long_context_diff(context: int = 20) -> str:
    before = [f" line {i}" for i in range(context)]
    after = [f" tail {i}" for i in range(context)]
    body = [*before, "-    return a + b", "+    return a - b", *after]
    return (
        "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n"
        f"@@ -1,{2 * context + 1} +1,{2 * context + 1} @@ def add(a, b):\n" + "\n".join(body) + "\n"
    )


def changed_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_lock_file_is_summarised_and_code_changes_stay() -> None:
    text = GIT_LOG + lock_section()
    unit = make_unit(text)
    out = diff.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert "+import warnings" in lines
    assert "diff --git a/package-lock.json b/package-lock.json" in lines
    assert "+++ b/package-lock.json" in lines
    markers = marker_lines(out)
    assert len(markers) == 1
    assert "omitted 240 changed lines, 3 other lines" in markers[0]
    assert "package-lock.json is a lock, generated or build-output file: +120 -120" in markers[0]
    assert_markers_valid(out, unit)
    assert not any("node_modules/pkg-" in line for line in lines)


def test_generated_suffixes() -> None:
    for path in ("dist/app.min.js", "proto/api_pb2.py", "uv.lock", "poetry.lock", "go.sum", "Cargo.lock"):
        assert diff.is_generated(path)
    for path in ("src/app.js", "lockfile.py", "README.md"):
        assert not diff.is_generated(path)


def test_long_context_runs_are_trimmed_changed_lines_kept() -> None:
    text = long_context_diff()
    unit = make_unit(text)
    out = diff.compress(text, unit)
    assert out is not None
    assert changed_lines(out) == changed_lines(text)
    assert "@@ -1,41 +1,41 @@ def add(a, b):" in out
    assert " line 19" in out  # one line of context either side
    assert " tail 0" in out
    assert assert_markers_valid(out, unit) == 38


def test_git_default_context_is_left_alone() -> None:
    assert diff.compress(GIT_LOG, make_unit(GIT_LOG)) is None


def test_not_a_diff() -> None:
    text = "just some text\n+ a bullet\n- another\n" * 20
    assert diff.compress(text, make_unit(text)) is None


def test_truncated_hunk_does_not_swallow_what_follows() -> None:
    text = long_context_diff().replace("@@ -1,41 +1,41 @@", "@@ -1,400 +1,400 @@") + "trailing words\n"
    out = diff.compress(text, make_unit(text))
    assert out is not None
    assert "trailing words" in out
    assert changed_lines(out) == changed_lines(text)


def test_linear_on_adversarial_input() -> None:
    for chunk in ("@@ -1,1 +1,1 @@\n", "+", "diff --git a/x b/x\n", "@" * 3, " \n", "--- a\n+++ b\n"):
        text = chunk * (100_000 // len(chunk))
        diff.compress(text, make_unit(text))


hunk_line = st.tuples(st.sampled_from([" ", "+", "-"]), st.text(alphabet="abc xyz()=", max_size=20))


@st.composite
def diffs(draw: st.DrawFn) -> str:
    files = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(["src/a.py", "lib/b.go", "yarn.lock", "web/x.min.js", "docs/c.md"]))
        body = draw(st.lists(hunk_line, min_size=1, max_size=40))
        old = sum(1 for k, _ in body if k in " -")
        new = sum(1 for k, _ in body if k in " +")
        files.append(
            f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1,{old} +1,{new} @@\n"
            + "\n".join(k + t for k, t in body)
        )
    return "\n".join(files) + "\n"


@settings(max_examples=80, deadline=None)
@given(diffs())
def test_properties_every_changed_line_of_source_files_is_kept(text: str) -> None:
    unit = make_unit(text)
    out = diff.compress(text, unit, min_run=2, context=0, min_saving=0.0)
    assert out == diff.compress(text, unit, min_run=2, context=0, min_saving=0.0)
    if out is None:
        return
    assert_markers_valid(out, unit)
    src_changes = []
    current = ""
    for line in text.split("\n"):
        if line.startswith("diff --git"):
            current = line.split(" b/", 1)[1]
        elif line[:1] in "+-" and not line.startswith(("+++", "---")) and not diff.is_generated(current):
            src_changes.append(line)
    remaining = iter(out.split("\n"))
    for line in src_changes:
        assert any(line == o for o in remaining)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=1000))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    unit = make_unit(text)
    out = diff.compress("diff --git a/x b/x\n@@ -1 +1 @@\n" + text, unit, min_run=1, min_saving=0.0)
    if out is not None:
        assert_markers_valid(out, unit)


@pytest.mark.parametrize(
    ("path", "generated"),
    [
        ("build/lib/requests/models.py", True),
        ("dist/app.js", True),
        ("web/node_modules/left-pad/index.js", True),
        ("pkg/__pycache__/mod.cpython-311.pyc", True),
        ("src/requests.egg-info/SOURCES.txt", True),
        ("requests/models.py", False),
        ("tools/build/compile.py", False),  # deeper, "build" is often source
        ("builder.py", False),
    ],
)
def test_build_outputs_are_generated(path: str, generated: bool) -> None:
    assert is_generated(path) is generated


def test_a_diff_that_adds_build_outputs_keeps_the_real_change_whole() -> None:
    added = "\n".join(f"+line {i} of the copied module" for i in range(300))
    real = (
        "diff --git a/requests/models.py b/requests/models.py\n"
        "index 9926045..4235141 100644\n"
        "--- a/requests/models.py\n"
        "+++ b/requests/models.py\n"
        "@@ -1,3 +1,3 @@\n"
        " def prepare_content_length(self, body):\n"
        "-        self.headers['Content-Length'] = '0'\n"
        "+        self.headers['Content-Length'] = str(len(body))\n"
    )
    text = (
        "diff --git a/build/lib/requests/models.py b/build/lib/requests/models.py\n"
        "new file mode 100644\n"
        "index 0000000..7ea7e62\n"
        "--- /dev/null\n"
        "+++ b/build/lib/requests/models.py\n"
        "@@ -0,0 +1,300 @@\n" + added + "\n" + real
    )
    out = compress(text, make_unit(text))
    assert out is not None
    assert real in out
    assert "+++ b/build/lib/requests/models.py" in out
    (m,) = list(parse_markers(out))
    assert m.counts[0] == (300, "changed lines")  # and the hunk header, counted as an other line
    assert "build/lib/requests/models.py is a lock, generated or build-output file: +300 -0" in (
        m.detail or ""
    )
