"""Code compressor: off by default; opt-in body elision keeps signatures, docstrings and error handling."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors import code

from .helpers import assert_markers_valid, content_lines, make_unit, marker_lines

PY = '''import os


@dataclass(frozen=True)
class Session:
    """A connection pool with retries.

    Longer description that goes on.
    """

    def request(
        self,
        method: str,
        url: str,
    ) -> Response:
        """Send a request and return the response."""
        prepared = self.prepare(method, url)
        for attempt in range(self.retries):
            response = self.send(prepared)
            if response.ok:
                break
            time.sleep(self.backoff * attempt)
        else:
            raise RetryError(url)
        self.history.append(response)
        return response

    def close(self):
        self.pool.clear()


def helper(x):
    total = 0
    for i in range(x):
        total += i
        total *= 2
        total -= 1
    try:
        return total // x
    except ZeroDivisionError:
        return 0
'''


def test_off_by_default_code_is_left_alone() -> None:
    assert code.compress(PY, make_unit(PY)) is None


def test_off_by_default_even_blank_runs_stay() -> None:
    text = PY.replace("import os\n", "import os\n" + "\n" * 60)
    assert code.compress(text, make_unit(text), min_saving=0.0) is None


def test_elision_keeps_signatures_decorators_docstrings_and_error_handling() -> None:
    unit = make_unit(PY)
    out = code.compress(PY, unit, elide_bodies=True, min_saving=0.0)
    assert out is not None
    lines = out.split("\n")
    for kept in (
        "@dataclass(frozen=True)",
        "class Session:",
        "    def request(",
        "    ) -> Response:",
        '        """Send a request and return the response."""',
        "            raise RetryError(url)",
        "    def close(self):",
        "        self.pool.clear()",  # short bodies stay whole
        "def helper(x):",
        "    except ZeroDivisionError:",
    ):
        assert kept in lines
    assert "        prepared = self.prepare(method, url)" not in lines
    assert any("body of request" in m for m in marker_lines(out))
    assert any("body of helper" in m for m in marker_lines(out))
    assert_markers_valid(out, unit)


def test_functions_the_user_names_stay_whole() -> None:
    unit = make_unit(PY, user_request="Why does `helper` return 0 for x=0?")
    out = code.compress(PY, unit, elide_bodies=True, min_saving=0.0)
    assert out is not None
    assert "        total *= 2" in out.split("\n")
    assert "        prepared = self.prepare(method, url)" not in out


def test_nl_numbered_views_keep_their_prefixes() -> None:
    numbered = "\n".join(f"{i + 100:6d}\t{line}" for i, line in enumerate(PY.split("\n")))
    unit = make_unit(numbered)
    out = code.compress(numbered, unit, elide_bodies=True, min_saving=0.0)
    assert out is not None
    assert "   110\t    def request(" in out.split("\n")
    markers = marker_lines(out)
    assert markers
    assert all(m.startswith("      ") for m in markers)


def test_brace_languages() -> None:
    go = (
        "package main\n\nfunc Handle(w http.ResponseWriter, r *http.Request) {\n"
        + "".join(f"\tstep{i}(w, r)\n" for i in range(12))
        + "}\n\nfunc small() int {\n\treturn 1\n}\n"
    )
    unit = make_unit(go)
    out = code.compress(go, unit, elide_bodies=True, min_saving=0.0)
    assert out is not None
    lines = out.split("\n")
    assert "func Handle(w http.ResponseWriter, r *http.Request) {" in lines
    assert "\treturn 1" in lines
    assert "\tstep3(w, r)" not in lines
    assert any("omitted 12 lines; body of Handle" in m for m in marker_lines(out))


def test_unbalanced_partial_view_is_safe() -> None:
    text = "function f() {\n" + "  x();\n" * 20
    out = code.compress(text, make_unit(text), elide_bodies=True, min_saving=0.0)
    assert out is None


def test_linear_on_adversarial_input() -> None:
    for chunk in ("def ", "(", "{", "}", "a", " ", "\t", "1\t", "pub fn ", "@x\n", '"""\n'):
        text = chunk * (100_000 // len(chunk))
        code.compress(text, make_unit(text), elide_bodies=True)
        code.compress(text, make_unit(text))
    long_sig = "public static " + "a " * 50_000 + "{\n}"
    code.compress(long_sig, make_unit(long_sig), elide_bodies=True)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "def f(x):",
                "    return x",
                "    y = 1",
                "class A:",
                "    def g(self):",
                "        raise ValueError('x')",
                "        pass",
                "",
                "@deco",
                "    except KeyError:",
                "fn main() {",
                "}",
            ]
        ),
        max_size=80,
    )
)
def test_properties_signatures_and_errors_survive(rows: list[str]) -> None:
    text = "\n".join(rows)
    unit = make_unit(text)
    out = code.compress(text, unit, elide_bodies=True, max_body_lines=1, min_saving=0.0)
    assert out == code.compress(text, unit, elide_bodies=True, max_body_lines=1, min_saving=0.0)
    if out is None:
        return
    assert_markers_valid(out, unit)
    kept = set(out.split("\n"))
    for row in rows:
        if row.lstrip().startswith(("def ", "class ", "@", "raise", "except")):
            assert row in kept


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=1000))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    unit = make_unit(text)
    for elide in (False, True):
        out = code.compress(text, unit, elide_bodies=elide, max_body_lines=0, min_saving=0.0)
        if out is not None:
            assert_markers_valid(out, unit)


# -- outlines of aged views (ProxyConfig.aging) ---------------------------------------------------------


def numbered(text: str, first: int = 1) -> str:
    return "\n".join(f"{n:6}\t{line}" for n, line in enumerate(text.split("\n"), start=first))


def test_outline_of_a_numbered_view_keeps_definitions_errors_and_asked_names() -> None:
    view = numbered(PY, first=120)
    unit = make_unit(view, user_request="Why does prepared_request fail in Session.request?")
    out = code.outline(view, unit)
    assert out is not None
    kept = content_lines(out)
    assert all(line in view.split("\n") for line in kept)  # kept lines are whole, numbers included
    assert any("class Session:" in line for line in kept)
    assert any("def request(" in line for line in kept)
    assert any("def close(self):" in line for line in kept)
    assert any("raise RetryError(url)" in line for line in kept)  # error handling
    assert any("@dataclass" in line for line in kept)
    assert not any("time.sleep" in line for line in kept)
    assert len(marker_lines(out)) == 1  # one marker: the kept lines' numbers show where the runs were
    assert assert_markers_valid(out, unit) + len(kept) == len(view.split("\n"))


def test_outline_of_plain_code_marks_each_run() -> None:
    unit = make_unit(PY)
    out = code.outline(PY, unit)
    assert out is not None
    assert len(marker_lines(out)) >= 2
    assert assert_markers_valid(out, unit) + len(content_lines(out)) == len(PY.split("\n"))


def test_outline_keeps_lines_naming_code_identifiers_of_the_request_not_english_words() -> None:
    view = numbered(PY)
    plain = code.outline(view, make_unit(view, user_request="please look at the response and the history"))
    asked = code.outline(view, make_unit(view, user_request="look at self.backoff"))
    assert plain is not None
    assert asked is not None
    assert "self.history.append" not in plain  # "history" is an English word of the request
    assert "time.sleep(self.backoff" not in plain
    assert "time.sleep(self.backoff" in asked  # "self.backoff" is dotted: code


def test_outline_of_a_view_with_nothing_to_drop_is_none() -> None:
    text = numbered("def a():\n    pass\ndef b():\n    pass")
    assert code.outline(text, make_unit(text)) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["def f(x):", "    x += 1", "", "class A:", "    raise ValueError(x)", "  y = g()", "@d"]
        ),
        max_size=40,
    ),
    st.booleans(),
)
def test_outline_counts_every_dropped_line(lines: list[str], with_numbers: bool) -> None:
    text = "\n".join(lines)
    if with_numbers and text:
        text = numbered(text)
    unit = make_unit(text)
    out = code.outline(text, unit)
    if out is None:
        return
    assert assert_markers_valid(out, unit) + len(content_lines(out)) == len(text.split("\n"))
    assert code.outline(text, unit) == out
