"""The contract the ContentRouter relies on, and a sweep of every compressor regex over adversarial input."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import string
from pathlib import Path
from typing import Any

import pytest

from headroom.transforms.compressors import COMPRESSORS

from .helpers import assert_markers_valid, make_unit

MODULES = ["json", "logs", "diff", "code", "text", "testrun", "listing", "_util"]


def test_the_mapping_names_every_compressor() -> None:
    assert set(COMPRESSORS) == {"json", "logs", "diff", "code", "text", "testrun", "listing"}
    for name, fn in COMPRESSORS.items():
        module = importlib.import_module(f"headroom.transforms.compressors.{name}")
        assert fn is module.compress  # the router also loads modules by name


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_signature_and_documented_options(name: str) -> None:
    fn = COMPRESSORS[name]
    params = list(inspect.signature(fn).parameters.values())
    assert [p.name for p in params[:2]] == ["text", "unit"]
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params[:2])
    module_doc = importlib.import_module(f"headroom.transforms.compressors.{name}").__doc__ or ""
    for p in params[2:]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, p.name
        assert p.default is not inspect.Parameter.empty, p.name
        assert p.name in module_doc, f"option {p.name} of {name} is not documented"


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
@pytest.mark.parametrize("text", ["", "\n", "x", "\n\n\n", "[]", "{}", "\x00\x1b\r"])
def test_tiny_inputs_pass_through(name: str, text: str) -> None:
    assert COMPRESSORS[name](text, make_unit(text)) is None


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_unknown_option_is_a_clear_error(name: str) -> None:
    with pytest.raises(TypeError):
        COMPRESSORS[name]("text", make_unit("text"), no_such_option=1)


REGEX_MODULES = [
    *(f"headroom.transforms.compressors.{name}" for name in MODULES),
    "headroom.transforms.router",
    "headroom.transforms.detect",
    "headroom.transforms.search",
    "headroom.transforms.agent_search",
    "headroom.transforms.tags",
    "headroom.transforms.commands",
    "headroom.transforms.markers",
    "headroom.engine.codecs._common",
    "headroom.engine.tokens",
]
"""Every module of headroom-core that compiles a regular expression (checked below)."""


def _patterns() -> list[tuple[str, re.Pattern[str] | re.Pattern[bytes]]]:
    found: list[tuple[str, re.Pattern[str] | re.Pattern[bytes]]] = []
    for module_name in REGEX_MODULES:
        module = importlib.import_module(module_name)
        for attr, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found.append((f"{module_name.removeprefix('headroom.')}.{attr}", value))
    return found


def test_the_regex_sweep_covers_every_module_that_compiles_one() -> None:
    import headroom

    # headroom is a namespace over several distributions: headroom-core's part is the one with transforms/
    core = next(Path(p) for p in headroom.__path__ if (Path(p) / "transforms").is_dir())
    root = core.parent
    compiling = {
        ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.glob("headroom/**/*.py")
        if "re.compile(" in path.read_text(encoding="utf-8")
    }
    assert compiling <= set(REGEX_MODULES)


ADVERSARIAL_UNITS = [
    *string.printable,
    "█",
    "━",
    "\x1b[",
    "\x1b]",
    "a1",
    "0x",
    "1.",
    "<n>",
    "Mon ",
    "[ ",
    " PASSED",
    "= ",
    "blk_-1",
    "ab-",
    "(a",
    "\\n",
    "def ",
    "pub ",
    "'a",
    '"a',
    "`a",
    "-1",
    "1:",
    "Error ",
    "  at x\n",
]


@pytest.mark.parametrize(("where", "pattern"), _patterns(), ids=[w for w, _ in _patterns()])
def test_every_regex_is_linear_on_adversarial_input(
    where: str, pattern: re.Pattern[str] | re.Pattern[bytes]
) -> None:
    # Completes only if the pattern never backtracks quadratically: 20k-char runs of one unit, plus the
    # same run with a character that breaks a match at the very end.
    for unit in ADVERSARIAL_UNITS:
        text = unit * (20_000 // len(unit))
        for candidate in (text, text + "\x00", "\n".join([text[:200]] * 100)):
            subject: Any = candidate.encode() if isinstance(pattern.pattern, bytes) else candidate
            for _ in pattern.finditer(subject):
                pass
            pattern.match(subject)
            pattern.fullmatch(subject)


SAMPLE = "\n".join(
    [
        "=== test session starts ===",
        *[f"2024-01-01 00:00:{i:02d} INFO worker {i % 3} step {i} ok" for i in range(40)],
        "2024-01-01 00:01:00 ERROR worker 2 failed: Traceback below",
        "Traceback (most recent call last):",
        '  File "x.py", line 3, in f',
        "ValueError: boom",
        "\x1b[31mred\x1b[0m " + "\r".join(f"{p}%|###|" for p in range(0, 100, 25)),
        "def f(x):",
        *[f"    y{i} = x + {i}" for i in range(10)],
        "diff --git a/uv.lock b/uv.lock",
        "@@ -1,2 +1,2 @@",
        "-a",
        "+b",
        '[{"id": 1, "error": null}, {"id": 2, "error": "x"}]',
        "=== 1 failed, 3 passed in 0.1s ===",
    ]
)


JSON_SAMPLE = json.dumps(
    [{"id": i, "name": f"n{i}", "error": None if i % 7 else "boom", "v": i * 1.5} for i in range(50)]
    + [{"id": 50, "odd": True}, {"id": 1, "name": "n1", "error": None, "v": 1.5}]
)


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_extreme_option_values_never_raise(name: str) -> None:
    fn = COMPRESSORS[name]
    sample = JSON_SAMPLE if name == "json" else SAMPLE
    unit = make_unit(sample)
    params = list(inspect.signature(fn).parameters.values())[2:]
    for p in params:
        if isinstance(p.default, bool):
            values: list[object] = [not p.default]
        elif isinstance(p.default, int):
            values = [0, 1, 10_000]
        elif isinstance(p.default, float):
            values = [0.0, 0.99]
        else:
            continue
        for value in values:
            out = fn(sample, unit, **{p.name: value})
            assert out is None or isinstance(out, str)
            if out is not None:
                assert_markers_valid(out, unit)
