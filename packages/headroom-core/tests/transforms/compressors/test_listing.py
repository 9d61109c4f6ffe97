"""Listing compressor: golden tests on ls -la, ls -R, find and tree shapes; detection; properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms import ContentRouter
from headroom.transforms.compressors import listing
from headroom.transforms.detect import ContentType, detect, is_listing_command
from headroom.transforms.markers import parse_markers

from .helpers import assert_markers_valid, content_lines, make_unit, marker_lines

LS_LA = """total 160
drwxrwxrwx  1 root root  4096 Oct 24  2024 .
drwxr-xr-x  1 root root  4096 Nov 19 00:15 ..
-rw-r--r--  1 root root   633 Oct 24  2024 .coveragerc
drwxrwxrwx  8 root root  4096 Oct 24  2024 .git
-rw-r--r--  1 root root    21 Oct 24  2024 .gitattributes
drwxrwxrwx  4 root root  4096 Oct 24  2024 .github
-rw-r--r--  1 root root   727 Oct 24  2024 .gitignore
-rw-r--r--  1 root root  5552 Oct 24  2024 AUTHORS
-rw-r--r--  1 root root  1091 Oct 24  2024 LICENSE
-rw-r--r--  1 root root  5628 Oct 24  2024 README.rst
drwxrwxrwx  2 root root  4096 Oct 24  2024 changelog
-rw-r--r--  1 root root  3764 Oct 24  2024 pyproject.toml
-rw-r--r--  1 root root    69 Oct 24  2024 setup.py
lrwxrwxrwx  1 root root    11 Nov 19 00:16 latest -> changelog
drwxrwxrwx  4 root root  4096 Oct 24  2024 src
drwxrwxrwx 10 root root  4096 Oct 24  2024 testing
-rwxr-xr-x  1 root root  5229 Oct 24  2024 tox.ini"""

LS_R = """.:
README.rst
build
requests
requests.egg-info
setup.py

./build:
lib

./build/lib:
requests

./build/lib/requests:
__init__.py
adapters.py
api.py
auth.py
cacert.pem
certs.py
compat.py
cookies.py
exceptions.py
hooks.py
models.py
sessions.py

./requests:
__init__.py
__pycache__
adapters.py
api.py
auth.py
hooks.py
models.py
sessions.py

./requests/__pycache__:
__init__.cpython-39.pyc
adapters.cpython-39.pyc
api.cpython-39.pyc
auth.cpython-39.pyc
hooks.cpython-39.pyc
models.cpython-39.pyc
sessions.cpython-39.pyc

./requests.egg-info:
PKG-INFO
SOURCES.txt
top_level.txt"""

FIND = "\n".join(
    [
        ".",
        "./.git",
        *[f"./.git/objects/{i:02x}" for i in range(12)],
        "./README.md",
        "./src",
        "./src/app.py",
        *[f"./src/{m}.cpython-311-x86_64-linux-gnu.so" for m in ("ext", "fast", "speedups", "util")],
        "./tests",
        "./tests/data",
        *[f"./tests/data/case_{i:03d}.json" for i in range(1, 41)],
        "./tests/test_app.py",
    ]
)

TREE = "\n".join(
    [
        ".",
        "├── README.md",
        "├── node_modules",
        *[f"│   ├── pkg-{name}" for name in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")],
        "│   └── pkg-omega",
        "├── src",
        "│   ├── index.js",
        "│   └── util.js",
        "└── package.json",
        "",
        "9 directories, 4 files",
    ]
)


def test_ls_la_says_constant_columns_once() -> None:
    unit = make_unit(LS_LA)
    out = listing.compress(LS_LA, unit)
    ref = unit.ref
    assert out == (
        "total 160\n"
        "[headroom: omitted 3 columns, 15 dates, 14 permissions; link counts (1-10), owner root, group root "
        "on every line, a date not shown is Oct 24 2024, where only the type letter is shown the permissions "
        f"are -rw-r--r-- (files), drwxrwxrwx (directories) | ref {ref}]\n"
        "d 4096 .\n"
        "drwxr-xr-x 4096 Nov 19 00:15 ..\n"
        "- 633 .coveragerc\n"
        "d 4096 .git\n"
        "- 21 .gitattributes\n"
        "d 4096 .github\n"
        "- 727 .gitignore\n"
        "- 5552 AUTHORS\n"
        "- 1091 LICENSE\n"
        "- 5628 README.rst\n"
        "d 4096 changelog\n"
        "- 3764 pyproject.toml\n"
        "- 69 setup.py\n"
        "lrwxrwxrwx 11 Nov 19 00:16 latest -> changelog\n"
        "d 4096 src\n"
        "d 4096 testing\n"
        "-rwxr-xr-x 5229 tox.ini"
    )
    assert unit.count_tokens(out) < 0.7 * unit.count_tokens(LS_LA)  # 0.55 exact, 0.66 with the estimator


def test_ls_la_keeps_columns_that_differ() -> None:
    text = LS_LA.replace("1 root root   633", "1 alice staff  633")
    out = listing.compress(text, make_unit(text), drop_links=False, elide_modes=False)
    assert out is not None
    assert "-rw-r--r-- 1 alice staff 633 .coveragerc" in out
    assert "drwxrwxrwx 10 root root 4096 testing" in out
    (mark,) = marker_lines(out)
    assert "omitted 15 dates;" in mark
    assert "owner" not in mark


def test_ls_r_folds_build_and_pycache_and_joins_names() -> None:
    unit = make_unit(LS_R)
    out = listing.compress(LS_R, unit)
    ref = unit.ref
    assert out == (
        ".:\n"
        "README.rst build requests requests.egg-info setup.py\n"
        f"[headroom: omitted 3 directory listings, 14 names; contents of build/: 11 *.py, 2 directories, "
        f"1 *.pem | ref {ref}]\n"
        "\n"
        "./requests:\n"
        "__init__.py __pycache__ adapters.py api.py auth.py hooks.py models.py sessions.py\n"
        "[headroom: omitted 1 directory listings, 7 names; contents of requests/__pycache__/: 7 *.pyc "
        f"| ref {ref}]\n"
        "\n"
        "./requests.egg-info:\n"
        "PKG-INFO SOURCES.txt top_level.txt"
    )


def test_a_name_the_user_asks_about_keeps_its_noise_directory() -> None:
    unit = make_unit(LS_R, user_request="Why does build/lib/requests/cacert.pem differ?")
    out = listing.compress(LS_R, unit)
    assert out is not None
    assert "./build/lib/requests:" in out
    assert "cacert.pem" in out.split("\n")[out.split("\n").index("./build/lib/requests:") + 1]
    assert "requests/__pycache__" in out  # the other noise still goes


def test_a_name_the_agent_wrote_before_pasted_output_is_kept() -> None:
    unit = make_unit(LS_R, tool_input="Are the hooks compiled?\n\n```bash\nls -R\n```")
    out = listing.compress(LS_R, unit)
    assert out is not None
    lines = out.split("\n")
    assert "./requests/__pycache__:" in lines  # hooks.cpython-39.pyc is in there
    assert "./build/lib/requests:" in lines  # and hooks.py
    assert listing.compress(LS_R, make_unit(LS_R, tool_input="```bash\nls -R\n```")) == listing.compress(
        LS_R, make_unit(LS_R)
    )


def test_a_noise_directory_the_command_lists_is_not_noise() -> None:
    unit = make_unit(LS_R, tool_input=json.dumps({"command": "ls -R build requests"}))
    out = listing.compress(LS_R, unit)
    assert out is not None
    assert "./build/lib/requests:" in out
    assert "requests/__pycache__" in out  # __pycache__ is still noise


def test_ls_lr_drops_a_noise_section_with_its_block_count() -> None:
    row = "-rw-r--r--  1 root root  {size:>5} Oct 24  2024 {name}"
    text = "\n".join(
        [
            "./pkg:",
            "total 12",
            *[row.format(size=100 + i, name=f"mod{i}.py") for i in range(6)],
            row.replace("-rw-r--r--", "drwxr-xr-x").format(size=4096, name="__pycache__"),
            "",
            "./pkg/__pycache__:",
            "total 24",
            *[row.format(size=300 + i, name=f"mod{i}.cpython-311.pyc") for i in range(6)],
        ]
    )
    unit = make_unit(text)
    out = listing.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert lines[:2] == ["./pkg:", "total 12"]
    assert "drwxr-xr-x 4096 __pycache__" in lines
    assert "- 105 mod5.py" in lines
    assert "total 24" not in lines
    assert not any(".pyc" in line for line in content_lines(out))
    assert [next(parse_markers(m)).counts for m in marker_lines(out)] == [
        ((3, "columns"), (7, "dates"), (6, "permissions")),
        ((1, "directory listings"), (6, "names")),
    ]


def test_find_folds_git_compiled_files_and_numbered_runs() -> None:
    unit = make_unit(FIND)
    out = listing.compress(FIND, unit)
    assert out is not None
    lines = out.split("\n")
    for kept in (
        "./.git",
        "./src/app.py",
        "./tests/data",
        "./tests/test_app.py",
        "./tests/data/case_001.json",
    ):
        assert kept in lines
    assert "./tests/data/case_002.json" in lines
    assert "./tests/data/case_040.json" in lines
    assert not any(line.startswith("./.git/objects") for line in lines)
    marks = [next(parse_markers(m)) for m in marker_lines(out)]
    assert [(m.counts, m.detail) for m in marks] == [
        (((12, "names"),), "contents of .git/: 12 (no extension)"),
        (((4, "names"),), "compiled files: 4 *.cpython-311-x86_64-linux-gnu.so"),
        (((37, "names"),), "in tests/data: 37 *.json"),
    ]
    assert_markers_valid(out, unit)


def test_find_output_of_a_named_pattern_is_kept() -> None:
    unit = make_unit(FIND, tool_input=json.dumps({"command": 'find . -name "*.so"'}))
    out = listing.compress(FIND, unit)
    assert out is not None
    assert "./src/ext.cpython-311-x86_64-linux-gnu.so" in out.split("\n")


def test_tree_folds_a_noise_directory_under_its_kept_name() -> None:
    unit = make_unit(TREE)
    out = listing.compress(TREE, unit, min_drop_chars=0)
    assert out is not None
    lines = out.split("\n")
    assert "├── node_modules" in lines
    assert "│   ├── index.js" in lines
    assert not any("pkg-" in line for line in lines)
    assert "9 directories, 4 files" in lines
    (mark,) = marker_lines(out)
    assert "omitted 7 names; contents of node_modules/: 7 (no extension)" in mark


def test_what_is_not_a_listing_is_left_alone() -> None:
    for text in (
        "The quick brown fox jumps over the lazy dog.\n" * 20,
        "\n".join(f"src/app.py:{i}:    return value + {i}" for i in range(30)),
        "\n".join(f"2024-01-01 00:00:{i:02d} INFO worker started" for i in range(30)),
        "def f(x):\n    return x\n" * 10,
    ):
        assert listing.compress(text, make_unit(text)) is None


GREP = "\n".join(f"src/headroom/mod{i}.py:{i * 7}:def handler_{i}(request):" for i in range(30))
LOG = "\n".join(f"2024-05-01 12:00:{i:02d},123 INFO server.py: request {i} served in 3ms" for i in range(30))
CODE = "\n".join(["import os", "", "def main():", "    path = os.getcwd()", "    print(path)", ""] * 6)
PLAIN = "\n".join(["README.md", "pyproject.toml", "src", "tests", *[f"mod_{c}.py" for c in "abcdefghij"]])


def test_detect_listings() -> None:
    assert detect(LS_LA) == ContentType.LISTING
    assert detect(LS_R) == ContentType.LISTING
    assert detect(FIND) == ContentType.LISTING
    assert detect(TREE) == ContentType.LISTING
    assert detect(PLAIN) == ContentType.LISTING


def test_detect_does_not_claim_search_logs_code_or_tables() -> None:
    assert detect(GREP) == ContentType.SEARCH
    assert detect(LOG) == ContentType.LOGS
    assert detect(CODE) == ContentType.CODE
    table = "\n".join(f"|   {i} | name{i} | {i * 3} |" for i in range(30))
    assert detect(table) == ContentType.TABLE
    assert detect("\n".join(f"10.0.{i}.{i * 2}" for i in range(30))) != ContentType.LISTING
    assert detect("\n".join(f"word{i}" for i in range(30))) != ContentType.LISTING
    for text in (GREP, LOG, CODE):
        assert detect(text, listing_command=True) != ContentType.LISTING


def test_the_command_is_a_hint() -> None:
    few = "Makefile\nsrc\ndocs"
    assert detect(few) != ContentType.LISTING
    assert detect(few, listing_command=True) == ContentType.LISTING
    assert is_listing_command(json.dumps({"command": "cd /repo && ls -la"}))
    assert is_listing_command(json.dumps({"command": "find . -name '*.py' | head"}))
    assert is_listing_command("I'll look around.\n\n```bash\ntree -L 2\n```")
    assert not is_listing_command(json.dumps({"command": "cat setup.py"}))
    assert not is_listing_command(json.dumps({"path": "ls"}))
    assert not is_listing_command(None)
    assert not is_listing_command("{not json")


def test_router_routes_wrapped_ls_output_to_the_listing_compressor() -> None:
    text = f"<returncode>0</returncode>\n<output>\n{LS_LA}\n</output>"
    unit = make_unit(text, tool_input=json.dumps({"command": "ls -la"}))
    decision = ContentRouter().route(unit)
    assert decision.kind == "listing"
    assert decision.compressors == ["listing"]
    assert decision.text is not None
    assert decision.text.startswith("<returncode>0</returncode>\n<output>\ntotal 160\n[headroom: omitted")
    assert decision.text.endswith("-rwxr-xr-x 5229 tox.ini\n</output>")
    assert "\n- 69 setup.py\n" in decision.text


def test_too_little_to_save_is_none() -> None:
    text = "a.py\nb.py"
    assert listing.compress(text, make_unit(text)) is None
    assert listing.compress(LS_LA, make_unit(LS_LA), min_saving=0.99) is None


names = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,12}", fullmatch=True)


@st.composite
def listings(draw: st.DrawFn) -> str:
    """ls -R shaped text over a random tree with noise directories, compiled files and numbered runs."""
    dirs = draw(
        st.lists(st.sampled_from(["src", "build", "__pycache__", "data", "node_modules", "lib"]), max_size=4)
    )
    sections: list[str] = []
    path = "."
    for d in [".", *dirs]:
        path = path if d == "." else f"{path}/{d}"
        files = draw(st.lists(names, max_size=12))
        files += [f"img_{i:03d}.png" for i in range(draw(st.integers(0, 15)))]
        files += [f"m{i}.cpython-39.pyc" for i in range(draw(st.integers(0, 5)))]
        sections.append(f"{path}:\n" + "\n".join(files))
    return "\n\n".join(sections)


@settings(max_examples=80, deadline=None)
@given(listings(), st.booleans())
def test_properties_on_listings(text: str, join: bool) -> None:
    unit = make_unit(text)
    out = listing.compress(text, unit, join=join, min_drop_chars=0)
    assert out == listing.compress(text, unit, join=join, min_drop_chars=0)  # deterministic
    if out is None:
        return
    assert_markers_valid(out, unit)
    source_names = set(text.split())
    for line in content_lines(out):
        for word in line.split():
            assert word in source_names, word  # nothing invented
    for line in text.split("\n"):
        if (
            line.endswith(":")
            and "__pycache__" not in line
            and "build" not in line
            and "node_modules" not in line
        ):
            assert line in out.split("\n")  # every directory outside noise keeps its listing


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=1000), st.booleans())
def test_arbitrary_text_never_raises(text: str, hinted: bool) -> None:
    unit = make_unit(text)
    out = listing.compress(text, unit)
    assert out is None or isinstance(out, str)
    if out is not None:
        assert_markers_valid(out, unit)
        assert out == listing.compress(text, unit)
    assert isinstance(detect(text, listing_command=hinted), ContentType)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(["├── ", "│   ", "└── ", "|-- ", "`-- ", "    ", "a", ".py", "\n", "x/"]),
        max_size=200,
    )
)
def test_tree_fragments_never_raise(parts: list[str]) -> None:
    text = "".join(parts)
    unit = make_unit(text)
    out = listing.compress(text, unit, min_drop_chars=0, min_run=2)
    if out is not None:
        assert_markers_valid(out, unit)


Words = tuple[frozenset[str], tuple[str, ...], frozenset[str]]


def test_request_words_are_read_only_when_a_listing_has_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain listing never asks what the request names; one with noise asks once and keeps what it names."""
    asked: list[tuple[str | None, str | None]] = []
    real = listing._request_words

    def spy(user_request: str | None, tool_input: str | None) -> Words:
        asked.append((user_request, tool_input))
        return real(user_request, tool_input)

    monkeypatch.setattr(listing, "_request_words", spy)
    plain = "\n".join(f"module_{name}.py" for name in "abcdefghijklmnop")
    listing.compress(plain, make_unit(plain, user_request="look at module_c.py"))
    assert asked == []
    names = [*(f"src/m{i}.py" for i in range(10)), *(f"src/__pycache__/m{i}.pyc" for i in range(40))]
    noisy = "\n".join([*names, "src/__pycache__/special_thing.pyc"])
    out = listing.compress(noisy, make_unit(noisy, user_request="where is special_thing.pyc from?"))
    assert asked == [("where is special_thing.pyc from?", None)]
    assert out is not None
    assert "m7.pyc" not in out
    assert "special_thing.pyc" in out
