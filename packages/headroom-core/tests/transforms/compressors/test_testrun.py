"""Test-run compressor: failures, tracebacks and summaries kept; passing noise collapsed."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from headroom.engine.units import Unit
from headroom.transforms.compressors import testrun
from headroom.transforms.detect import ContentType, detect
from headroom.transforms.markers import parse_markers, unit_ref
from headroom.transforms.tags import TagProtector

from .helpers import assert_markers_valid, content_lines, make_unit, marker_lines

PYTEST_FAIL = """============================= test session starts ==============================
platform linux -- Python 3.8.20, pytest-8.3.4, pluggy-1.5.0
rootdir: /testbed
collected 313 items

lib/matplotlib/tests/test_ticker.py .................................... [ 11%]
........................................................................ [ 34%]
........................................................................ [ 57%]
..........................................s............................. [ 80%]
.............F.........................................                  [100%]

=================================== FAILURES ===================================
______________________________ test_hist_log[pdf] ______________________________

expected = '/testbed/result_images/test_axes/hist_log-expected.pdf'

    def compare_images(expected, actual, tol, in_decorator=False):
        \"\"\"
        Compare two "image" files checking differences within a tolerance.

        The two given filenames may point to files which are convertible to
        PNG via the `.converter` dictionary.
        \"\"\"
        from matplotlib import _png

        if not os.path.exists(actual):
>           raise Exception("Output image %s does not exist." % actual)
E           Exception: Output image /testbed/result_images/test_axes/hist_log.pdf does not exist.

lib/matplotlib/testing/compare.py:434: Exception
=============================== warnings summary ===============================
lib/matplotlib/__init__.py:195
lib/matplotlib/__init__.py:195
lib/matplotlib/__init__.py:195
lib/matplotlib/__init__.py:195
  /testbed/lib/matplotlib/__init__.py:195: DeprecationWarning: distutils Version classes are deprecated.

-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html
=========================== short test summary info ============================
FAILED lib/matplotlib/tests/test_axes.py::test_hist_log[pdf] - Exception: Output image...
============= 1 failed, 311 passed, 1 skipped, 4 warnings in 12.41s ============="""


def test_pytest_progress_is_folded_failures_and_summary_kept() -> None:
    unit = make_unit(PYTEST_FAIL)
    out = testrun.compress(PYTEST_FAIL, unit)
    assert out is not None
    lines = out.split("\n")
    for needle in (
        "E           Exception: Output image /testbed/result_images/test_axes/hist_log.pdf does not exist.",
        '>           raise Exception("Output image %s does not exist." % actual)',
        "FAILED lib/matplotlib/tests/test_axes.py::test_hist_log[pdf] - Exception: Output image...",
        "============= 1 failed, 311 passed, 1 skipped, 4 warnings in 12.41s =============",
        ".............F.........................................                  [100%]",
        "    def compare_images(expected, actual, tol, in_decorator=False):",
        "lib/matplotlib/testing/compare.py:434: Exception",
    ):
        assert needle in lines
    markers = marker_lines(out)
    assert any("omitted 3 lines; passing tests: 215 passed, 1 skipped" in m for m in markers)
    assert any("omitted 4 docstring lines" in m for m in markers)
    assert any("repeats of the line above" in m for m in markers)
    assert_markers_valid(out, unit)


def test_pytest_verbose_pass_lines_fold_failures_stay() -> None:
    rows = [f"tests/test_api.py::test_case_{i} PASSED{' ' * 20}[{i:3d}%]" for i in range(60)]
    rows[30] = "tests/test_api.py::test_case_30 FAILED                    [ 30%]"
    rows[40] = "tests/test_api.py::test_case_40 SKIPPED (needs network)   [ 40%]"
    text = "\n".join(
        [
            "=" * 20 + " test session starts " + "=" * 20,
            *rows,
            "=" * 10 + " 1 failed, 58 passed, 1 skipped " + "=" * 10,
        ]
    )
    unit = make_unit(text)
    out = testrun.compress(text, unit)
    assert out is not None
    assert rows[30] in out.split("\n")
    assert rows[0] in out.split("\n")  # the first line of a run stays, as its example
    assert not any(r in out for r in rows[1:30])
    tallies = [m for m in marker_lines(out) if "passing tests" in m]
    assert any("29 passed" in m for m in tallies)
    assert any("27 passed, 1 skipped" in m for m in tallies)
    assert assert_markers_valid(out, unit) == 57


def test_unittest_and_go_and_cargo() -> None:
    unit_rows = [f"test_thing_{i} (pkg.tests.TestThing) ... ok" for i in range(20)]
    unittest_out = "\n".join(
        [
            *unit_rows,
            "test_bad (pkg.tests.TestThing) ... FAIL",
            "-" * 70,
            "Ran 21 tests in 0.3s",
            "",
            "FAILED (failures=1)",
        ]
    )
    out = testrun.compress(unittest_out, make_unit(unittest_out))
    assert out is not None
    assert "test_bad (pkg.tests.TestThing) ... FAIL" in out
    assert "FAILED (failures=1)" in out
    go_rows = []
    for i in range(15):
        go_rows += [f"=== RUN   TestParse{i}", f"--- PASS: TestParse{i} (0.00s)"]
    go_out = "\n".join(
        [
            *go_rows,
            "=== RUN   TestBroken",
            "    parse_test.go:42: want 3, got 4",
            "--- FAIL: TestBroken (0.00s)",
            "FAIL",
        ]
    )
    out = testrun.compress(go_out, make_unit(go_out))
    assert out is not None
    assert "--- FAIL: TestBroken (0.00s)" in out
    assert "    parse_test.go:42: want 3, got 4" in out
    assert "TestParse3" not in out


def test_not_a_test_run() -> None:
    text = "\n".join(f"just a line {i} of ordinary output" for i in range(50))
    assert testrun.compress(text, make_unit(text)) is None


def test_nothing_to_fold() -> None:
    text = "=" * 29 + " test session starts " + "=" * 30 + "\ncollected 0 items\n"
    assert testrun.compress(text, make_unit(text)) is None


def test_linear_on_adversarial_input() -> None:
    for chunk in ("=", "= ", ".", " PASSED", '    """\n', "test ... ok\n", "=== RUN ", "[ 1%]", "\n"):
        text = "==== test session starts ====\n" + chunk * (100_000 // len(chunk))
        testrun.compress(text, make_unit(text))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                ["tests/a.py ....", "tests/b.py ..F.", "x PASSED", "y FAILED", "E   assert 1 == 2"]
            ),
            st.sampled_from(["Traceback (most recent call last):", "ValueError: bad", "...... [ 50%]"]),
            st.text(max_size=30).map(lambda s: s.replace("\n", " ")),
        ),
        max_size=80,
    )
)
def test_properties_failure_lines_survive(rows: list[str]) -> None:
    text = "\n".join(["=== test session starts ===", *rows, "=== 1 failed, 2 passed in 0.1s ==="])
    unit = make_unit(text)
    out = testrun.compress(text, unit, min_saving=0.0)
    assert out == testrun.compress(text, unit, min_saving=0.0)
    if out is None:
        return
    assert_markers_valid(out, unit)
    kept = set(out.split("\n"))
    for row in rows:
        if (
            "FAILED" in row
            or row.startswith("E ")
            or "Error" in row
            or "Traceback" in row
            or "F" in row.split(" ")[-1]
        ):
            assert row in kept


TYPE_ERROR = "TypeError: HTTPConnection.__init__() got an unexpected keyword argument 'strict'"
ATTR_ERROR = "AttributeError: module 'collections' has no attribute 'MutableMapping'"


def unittest_block(name: str, k: int, error: str = TYPE_ERROR) -> list[str]:
    """One unittest ERROR block: the test's own frame differs by test, the rest by line numbers only."""
    return [
        "=" * 70,
        f"ERROR: {name} (__main__.RequestsTestCase)",
        "-" * 70,
        "Traceback (most recent call last):",
        f'  File "/testbed/test_requests.py", line {100 + 7 * k}, in {name}',
        f"    r = requests.get(httpbin('get', '{k}'), auth=auth)",
        f'  File "/testbed/requests/api.py", line {55 + k % 2}, in get',
        "    return request('get', url, **kwargs)",
        '  File "/testbed/requests/sessions.py", line 373, in send',
        "    r = adapter.send(request, **kwargs)",
        f"    conn = <Connection object at 0x7f{k:04x}beef>",
        error,
        "",
    ]


def unittest_run(blocks: list[list[str]], progress: str = "EE.E") -> str:
    errors = len(blocks)
    lines = [progress, ""] + [line for block in blocks for line in block]
    return "\n".join([*lines, "-" * 70, f"Ran {errors + 5} tests in 0.032s", "", f"FAILED (errors={errors})"])


def pytest_run(*body: str, result: str) -> str:
    """A pytest session: its header, ``body`` and the final ``result`` line (e.g. ``1 failed in 0.5s``)."""
    start, end = "=" * 29 + " test session starts " + "=" * 29, "=" * 25 + f" {result} " + "=" * 25
    return "\n".join([start, *body, end])


def test_repeated_unittest_errors_collapse_to_the_first_and_a_marker_naming_the_others() -> None:
    names = [f"test_case_{k}" for k in range(21)]
    text = unittest_run([unittest_block(name, k, ATTR_ERROR) for k, name in enumerate(names)])
    unit = make_unit(text)
    out = testrun.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert lines[0] == "EE.E"
    assert lines[-1] == "FAILED (errors=21)"
    assert "Ran 26 tests in 0.032s" in lines
    assert "ERROR: test_case_0 (__main__.RequestsTestCase)" in lines
    assert '  File "/testbed/test_requests.py", line 100, in test_case_0' in lines
    assert lines.count(ATTR_ERROR) == 1
    assert not any("ERROR: test_case_1 " in line for line in lines)
    (marker,) = marker_lines(out)
    assert "omitted 260 lines, 20 tests; same as test_case_0 above: test_case_1, test_case_2," in marker
    assert all(name in marker for name in names[1:])
    assert assert_markers_valid(out, unit) == 280
    assert unit.count_tokens(out) < unit.count_tokens(text) * 0.25


def test_interleaved_unittest_failures_group_by_their_error() -> None:
    order = [TYPE_ERROR, ATTR_ERROR, ATTR_ERROR, TYPE_ERROR, ATTR_ERROR, TYPE_ERROR, ATTR_ERROR]
    blocks = [unittest_block(f"test_{k}", k, error) for k, error in enumerate(order)]
    text = unittest_run(blocks)
    unit = make_unit(text)
    out = testrun.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert lines.count(TYPE_ERROR) == 1
    assert lines.count(ATTR_ERROR) == 1
    assert "ERROR: test_0 (__main__.RequestsTestCase)" in lines
    assert "ERROR: test_1 (__main__.RequestsTestCase)" in lines
    (marker,) = marker_lines(out)
    assert "same as test_1 above: test_2, test_4, test_6; same as test_0 above: test_3, test_5" in marker
    assert "5 tests" in marker
    assert_markers_valid(out, unit)


def test_a_different_error_message_is_never_folded() -> None:
    blocks = [unittest_block(f"test_{k}", k, f"ValueError: bad value {k}") for k in range(4)]
    text = unittest_run(blocks)
    unit = make_unit(text)
    out = testrun.compress(text, unit, min_saving=0.0)
    assert out is not None
    lines = out.split("\n")
    for k in range(4):
        assert f"ValueError: bad value {k}" in lines
        assert f"ERROR: test_{k} (__main__.RequestsTestCase)" in lines


def pytest_hidden(name: str, rms: str) -> list[str]:
    base = name.replace("test_", "").replace("[pdf]", "")
    return [
        f"{'_' * 20} {name} {'_' * 20}",
        "",
        f"E   matplotlib.testing.exceptions.ImageComparisonFailure: images not close (RMS {rms}):",
        f"    \tresult_images/test_image/{base}_pdf.png",
        f"    \tresult_images/test_image/{base}-expected_pdf.png",
        f"    \tresult_images/test_image/{base}_pdf-failed-diff.png",
        "All traceback entries are hidden. Pass `--full-trace` to see hidden and internal frames.",
    ]


def pytest_assert(name: str, line: int) -> list[str]:
    return [
        f"{'_' * 20} {name} {'_' * 20}",
        "",
        f"    def {name}():",
        "        data = load()",
        ">       assert data.count == 3",
        "E       AssertionError: assert 2 == 3",
        "E        +  where 2 = <Data object at 0x7f3a2b1c>.count",
        "",
        f"tests/test_data.py:{line}: AssertionError",
    ]


def test_pytest_sections_fold_and_differing_error_lines_stay() -> None:
    hidden = [("test_image_clip[pdf]", "84.958"), ("test_image_cliprect[pdf]", "41.267")]
    hidden += [("test_mask_image[pdf]", "7.745"), ("test_rasterize[pdf]", "7.745")]
    sections = [line for name, rms in hidden for line in pytest_hidden(name, rms)]
    asserts = [f"test_count_{k}" for k in range(6)]
    sections += [line for k, name in enumerate(asserts) for line in pytest_assert(name, 10 + 6 * k)]
    summary = [f"FAILED tests/test_data.py::{name} - AssertionError: assert 2 == 3" for name in asserts]
    text = pytest_run(
        "collected 40 items",
        "",
        "tests/test_data.py FFFFFFFFFF..............................                [100%]",
        "",
        "=" * 35 + " FAILURES " + "=" * 35,
        *sections,
        "=" * 28 + " short test summary info " + "=" * 28,
        *summary,
        result="10 failed, 30 passed in 1.20s",
    )
    unit = make_unit(text)
    out = testrun.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    for rms in ("84.958", "41.267", "7.745"):  # every distinct error line stays, verbatim
        assert (
            f"E   matplotlib.testing.exceptions.ImageComparisonFailure: images not close (RMS {rms}):"
            in lines
        )
    assert f"{'_' * 20} test_image_cliprect[pdf] {'_' * 20}" in lines  # its E line differs: title kept
    assert f"{'_' * 20} test_rasterize[pdf] {'_' * 20}" not in lines  # all of it repeats test_mask_image
    assert lines.count("E       AssertionError: assert 2 == 3") == 1
    assert "    def test_count_0():" in lines
    assert "    def test_count_3():" not in lines
    for line in summary:
        assert line in lines
    assert lines[-1] == text.split("\n")[-1]
    markers = marker_lines(out)
    assert any("same as test_count_0 above: test_count_1, test_count_2, test_count_3" in m for m in markers)
    assert any("same as test_image_clip[pdf] above: test_image_cliprect[pdf]" in m for m in markers)
    assert any("3 tests" in m for m in markers)
    assert_markers_valid(out, unit)


def test_pytest_verbose_passed_lines_count_and_failures_stay() -> None:
    rows = [f"tests/test_api.py::test_get[{k}] PASSED{' ' * 30}[{k:3d}%]" for k in range(50)]
    rows[20] = "tests/test_api.py::test_get[20] FAILED                              [ 20%]"
    text = pytest_run(
        "collected 50 items",
        *rows,
        "=" * 28 + " short test summary info " + "=" * 28,
        "FAILED tests/test_api.py::test_get[20] - KeyError: 'id'",
        result="1 failed, 49 passed in 0.52s",
    )
    unit = make_unit(text)
    out = testrun.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert rows[20] in lines
    assert "FAILED tests/test_api.py::test_get[20] - KeyError: 'id'" in lines
    counts = [m for m in marker_lines(out) if "passing tests" in m]
    assert any("19 passed" in m for m in counts)
    assert any("28 passed" in m for m in counts)
    assert_markers_valid(out, unit)


def warning(path: str, line: int, category: str, message: str, source: str) -> list[str]:
    return [
        f"{path}:{line}: {category}: {message}",
        f"  {source}",
        f"{category}: Enable tracemalloc to get the object allocation traceback",
    ]


def socket_warning(k: int, lead: str = "") -> list[str]:
    msg = (
        f"unclosed <socket.socket fd={3 + k % 3}, family=AddressFamily.AF_INET, type=SocketKind.SOCK_STREAM, "
        f"proto=6, laddr=('172.17.0.{100 + k}', {40000 + 97 * k}), raddr=('52.44.182.{k}', 80)>"
    )
    rows = warning("/testbed/test_requests.py", 200 + k, "ResourceWarning", msg, "r = requests.get(url)")
    return [lead + rows[0], *rows[1:]]


def test_a_flood_of_repeated_python_warnings_folds_to_the_first_of_each() -> None:
    rows = ['/testbed/requests/models.py:560: SyntaxWarning: "is" with a literal. Did you mean "=="?']
    rows.append("  if self.status_code is 0:")
    for k in range(30):
        rows += socket_warning(k, "." if k % 3 == 2 else "")
    rows += warning(
        "/testbed/test_requests.py",
        406,
        "ResourceWarning",
        "unclosed file <_io.BufferedReader name='/testbed/test_requests.py'>",
        "r = requests.post(url, files=f)",
    )
    rows += [line for k in range(30, 40) for line in socket_warning(k)]
    rows += ["..........", "-" * 70, "Ran 90 tests in 39.896s", "", "OK"]
    text = "\n".join(rows)
    unit = make_unit(text)
    out = testrun.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert lines[0] == rows[0]
    assert lines[-1] == "OK"
    assert socket_warning(0)[0] in lines
    assert socket_warning(1)[0] not in lines
    unclosed = "unclosed file <_io.BufferedReader name='/testbed/test_requests.py'>"
    assert f"/testbed/test_requests.py:406: ResourceWarning: {unclosed}" in lines
    markers = marker_lines(out)
    assert len(markers) == 2
    assert (
        "omitted 87 lines, 29 warnings; repeats of warnings shown earlier: 29x ResourceWarning" in markers[0]
    )
    assert "10 progress marks" in markers[0]
    assert "omitted 30 lines, 10 warnings" in markers[1]
    assert_markers_valid(out, unit)
    assert unit.count_tokens(out) < unit.count_tokens(text) * 0.2


def test_pytest_warnings_summary_is_deduplicated() -> None:
    records = []
    for k in range(8):
        records += [
            f"tests/test_mod_{k}.py::test_thing",
            f"  /site-packages/numpy/core/fromnumeric.py:{3200 + k}: VisibleDeprecationWarning: Creating an "
            "ndarray from ragged nested sequences (which is a list-or-tuple of lists-or-tuples-or ndarrays "
            "with different lengths or shapes) is deprecated. If you meant to do this, you must specify "
            "'dtype=object' when creating the ndarray.",
            f"    return asarray(a_{k}).size",
            "",
        ]
    text = pytest_run(
        "tests/test_mod.py ........                                          [100%]",
        "=" * 31 + " warnings summary " + "=" * 31,
        *records,
        "-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html",
        result="8 passed, 8 warnings in 0.52s",
    )
    unit = make_unit(text)
    out = testrun.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert records[1] in lines
    assert records[5] not in lines
    for k in range(8):  # the test ids are cheap and name where each warning came from
        assert f"tests/test_mod_{k}.py::test_thing" in lines
    markers = marker_lines(out)
    expected = "omitted 2 lines, 1 warnings; repeats of warnings shown earlier: 1x VisibleDeprecationWarning"
    assert sum(expected in m for m in markers) == 7
    assert_markers_valid(out, unit)


def test_detection_routes_unittest_and_warning_floods_to_tests() -> None:
    flood = "\n".join(line for k in range(30) for line in socket_warning(k))
    assert detect(flood) is ContentType.TESTS
    names = [f"test_case_{k}" for k in range(5)]
    assert detect(unittest_run([unittest_block(n, k) for k, n in enumerate(names)])) is ContentType.TESTS
    listing = ["=" * 29 + " test session starts " + "=" * 29, "collected 3 items", ""]
    listing += [f"        line_{k} = compute({k})" for k in range(60)]
    assert detect("\n".join(listing)) is ContentType.TESTS


def test_long_traceback_listings_are_trimmed_around_the_failing_line() -> None:
    listing = ["    def convert(filename, cache):"]
    listing += [f"        step_{i} = prepare({i})" for i in range(30)]
    listing += ["        try:", "            run()", "        except OSError:", "            pass"]
    listing += [f"        more_{i} = finish({i})" for i in range(5)]
    text = "\n".join(
        [
            "=" * 20 + " test session starts " + "=" * 20,
            "=" * 20 + " FAILURES " + "=" * 20,
            "_" * 10 + " test_convert " + "_" * 10,
            "",
            *listing,
            ">       assert result.ok",
            "E       assert False",
            "",
            "lib/convert.py:88: AssertionError",
            "=" * 10 + " 1 failed in 0.1s " + "=" * 10,
        ]
    )
    unit = make_unit(text)
    out = testrun.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    for kept in (
        "    def convert(filename, cache):",
        "        except OSError:",
        "        more_2 = finish(2)",
        "        more_4 = finish(4)",
        ">       assert result.ok",
        "E       assert False",
    ):
        assert kept in lines
    assert "        step_10 = prepare(10)" not in lines
    assert any("source lines; traceback listing" in m for m in marker_lines(out))
    assert_markers_valid(out, unit)


ERRORS = [TYPE_ERROR, ATTR_ERROR, "ValueError: need more than 1 value to unpack", "AssertionError: 1 != 2"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("block"), st.integers(0, 3), st.integers(0, 40)),
            st.tuples(st.just("warning"), st.integers(0, 1), st.integers(0, 40)),
            st.tuples(st.just("line"), st.sampled_from(["..E.", "noise", "", "FAILED x.py::t"]), st.just(0)),
        ),
        max_size=40,
    ),
    st.sampled_from(["OK", "FAILED (errors=3)"]),
)
@example(  # warnings folded inside a repeated report: the report's marker counts the lines they stood for
    items=[("warning", 0, 0), ("warning", 1, 0), ("block", 0, 0)] * 2
    + [("warning", 0, 0), ("warning", 1, 0)],
    last="OK",
)
@example(  # a warnings marker inside a block the text step folds: markers are never part of a folded run
    items=[
        ("warning", 0, 0),
        ("warning", 1, 0),
        ("block", 0, 0),
        ("warning", 0, 0),
        ("warning", 1, 0),
        ("line", "..E.", 0),
        ("block", 0, 0),
        ("warning", 0, 0),
        ("warning", 1, 0),
    ],
    last="OK",
)
def test_properties_unittest_runs(items: list[tuple[str, object, int]], last: str) -> None:
    rows: list[str] = ["EE.E"]
    names: list[str] = []
    for kind, what, k in items:
        if kind == "block":
            names.append(f"test_{k}_{len(names)}")
            rows += unittest_block(names[-1], k, ERRORS[int(str(what))])
        elif kind == "warning":
            rows += socket_warning(k) if what else warning("/a.py", k, "UserWarning", "slow", "f()")
        else:
            rows.append(str(what))
    rows += ["-" * 70, "Ran 9 tests in 0.1s", "", last]
    text = "\n".join(rows)
    unit = make_unit(text)
    out = testrun.compress(text, unit, min_saving=0.0)
    assert out == testrun.compress(text, unit, min_saving=0.0)  # deterministic
    if out is None:
        return
    total = assert_markers_valid(out, unit)
    lines = out.split("\n")
    assert lines[0] == rows[0]
    assert lines[-1] == last
    kept = set(lines)
    for row in rows:
        if row.startswith(("FAILED", "Ran ")) or row in ERRORS:
            assert row in kept
    for name in names:  # every test is still named: in its own block or in a marker
        assert name in out
    assert len(lines) - len(marker_lines(out)) + total >= len(rows)  # markers account for every line


def test_new_steps_are_linear_on_adversarial_input() -> None:
    chunks = [
        "=" * 70 + "\nERROR: t (m.C)\n",
        "_" * 30 + " t " + "_" * 30 + "\nE   x\na.py:1: E\n",
        ".E" * 50 + "a.py:1: ResourceWarning: x\n  y\n",
        "a.py:1: UserWarning: " + "1" * 50 + "\n",
        "  " + ":" * 300 + "Warning: \n",
        "ERROR: " + "(" * 100 + "\n",
    ]
    for chunk in chunks:
        text = "Ran 1 tests in 0.1s\n" + chunk * (200_000 // len(chunk))
        out = testrun.compress(text, make_unit(text))
        assert out is None or len(out) < len(text)


def test_warnings_an_earlier_unit_showed_fold_from_the_first() -> None:
    rows = [line for k in range(12) for line in socket_warning(k)]
    text = "\n".join([*rows, "-" * 70, "Ran 9 tests in 0.1s", "", "OK"])
    first = testrun.compress(text, make_unit(text))
    assert first is not None
    assert socket_warning(0)[0] in first.split("\n")
    later = Unit(text, make_unit(text).context, make_unit(text).count_tokens, unit_ref(text), earlier=(text,))
    again = testrun.compress(text, later)
    assert again is not None
    assert not any("ResourceWarning: unclosed" in line for line in content_lines(again))
    assert "omitted 36 lines, 12 warnings; repeats of warnings shown earlier" in again
    assert again == testrun.compress(text, later)
    other = Unit(text, later.context, later.count_tokens, later.ref, earlier=("unrelated output",))
    assert testrun.compress(text, other) == first


def test_pytest_sections_with_different_captured_output_stay() -> None:
    sections = []
    for k, word in enumerate(["alpha", "beta", "gamma"]):
        sections += pytest_assert(f"test_case_{k}", 10 + k)
        sections += ["-" * 30 + " Captured stdout call " + "-" * 30, f"loading {word} fixture", "done"]
    text = "\n".join(
        ["=" * 30 + " FAILURES " + "=" * 30, *sections, "=" * 20 + " 3 failed in 0.1s " + "=" * 20]
    )
    unit = make_unit(text)
    out = testrun.compress(text, unit, min_saving=0.0)
    assert out is None or all(f"loading {word} fixture" in out for word in ("alpha", "beta", "gamma"))
    same = "\n".join(
        ["=" * 30 + " FAILURES " + "=" * 30]
        + [line for k in range(3) for line in pytest_assert(f"test_case_{k}", 10 + k)]
        + [
            "-" * 30 + " Captured stdout call " + "-" * 30,
            "loading fixture 7",
            "=" * 20 + " 3 failed " + "=" * 20,
        ]
    )
    folded = testrun.compress(same, make_unit(same), min_saving=0.0)
    assert folded is not None
    assert "same as test_case_0 above: test_case_1" in folded


POOL = [
    "=" * 70,
    "-" * 70,
    "ERROR: test_a (m.C)",
    "FAIL: test_b (m.C)",
    "Traceback (most recent call last):",
    '  File "/x/test_m.py", line 3, in test_a',
    '  File "/x/lib.py", line 9, in f',
    "    f()",
    *ERRORS,
    "_" * 20 + " test_a " + "_" * 20,
    "_" * 20 + " test_b[1] " + "_" * 20,
    ">       assert f() == 1",
    "E       assert 2 == 1",
    "E       assert 3 == 1",
    "x/lib.py:9: AssertionError",
    "x/lib.py:9: in f",
    "/x/a.py:3: UserWarning: slow call 12",
    "  /x/a.py:4: DeprecationWarning: old",
    "    g()",
    "UserWarning: Enable tracemalloc to get the object allocation traceback",
    "FAILED x.py::test_a - AssertionError",
    "",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(POOL), st.text(max_size=20)), max_size=120))
def test_properties_mixed_reports_never_lose_error_lines(rows: list[str]) -> None:
    text = "\n".join(["Ran 3 tests in 0.1s", *(r.replace("\n", " ") for r in rows), "FAILED (errors=1)"])
    unit = make_unit(text)
    out = testrun.compress(text, unit, min_saving=0.0)
    assert out == testrun.compress(text, unit, min_saving=0.0)
    if out is None:
        return
    assert_markers_valid(out, unit)
    kept = set(out.split("\n"))
    for row in text.split("\n"):
        if row.startswith(("E ", "FAILED")) or row in ERRORS or row.endswith("Error"):
            assert row in kept, row


# A pytest run a harness cut in the middle (``<output_head>`` ... ``<output_tail>``): the head ends inside a
# frame's source listing, the tail starts inside another's.
CUT_HEAD = """============================= test session starts ==============================
collected 12 items

tests/test_convert.py .F                                                 [100%]

=================================== FAILURES ===================================
_______________________________ test_convert_pdf _______________________________

self = <convert.GhostConverter object at 0x7f3a2c1d5e10>
orig = '/tmp/out/convert.pdf'
dest = '/tmp/out/convert_pdf.png'

    def __call__(self, orig, dest):
        if not self._proc:
            self._proc = subprocess.Popen(
                [find_executable("gs"), "-dNOPAUSE", "-sDEVICE=png16m"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            try:
                self._read_until(b"\\nGS")
            except ConverterError:
                raise OSError("Failed to start Ghostscript")
\x20\x20\x20\x20
        def escape(name):
            return (os.fsencode(name)
                    .replace(b"\\\\", b"\\\\\\\\")
                    .replace(b"(", br"\\(")
                    .replace(b")", br"\\)"))
\x20\x20\x20\x20
        self._proc.stdin.write(
            b"<< /OutputFile ("
            + escape(dest)
            + b") >> setpagedevice ("
            + escape(orig)
            + b") run flush\\n")
        self._proc.stdin.flush()
        # GS> if nothing left on the stack; GS<n> if n items left on the st"""

CUT_TAIL = """k.parametrize("ext", ["png", "pdf"])
    def wrapper(*args, ext, request, **kwargs):
        if 'ext' in old_sig.parameters:
            kwargs['ext'] = ext
        if 'request' in old_sig.parameters:
            kwargs['request'] = request
\x20\x20\x20\x20
        file_name = "".join(c for c in request.node.name
                            if c in ALLOWED_CHARS)
        try:
            fig_test = plt.figure("test")
            fig_ref = plt.figure("reference")
            n_figs = len(plt.get_fignums())
            func(*args, fig_test=fig_test, fig_ref=fig_ref, **kwargs)
            if len(plt.get_fignums()) > n_figs:
                raise RuntimeError('Number of open figures changed during test.')
            test_image_path = result_dir / (file_name + "." + ext)
            ref_image_path = result_dir / (file_name + "-expected." + ext)
>           fig_test.savefig(test_image_path)

lib/plotting/decorators.py:443:\x20
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _\x20
lib/plotting/figure.py:2969: in savefig
    self.canvas.print_figure(fname, **kwargs)
E   ValueError: vmin must be less or equal to vmax

lib/plotting/colors.py:1193: ValueError"""


def test_a_listing_cut_at_the_end_of_the_text_is_trimmed_like_a_whole_frame() -> None:
    unit = make_unit(CUT_HEAD)
    out = testrun.compress(CUT_HEAD, unit)
    assert out is not None
    lines = out.split("\n")
    for kept in (
        "    def __call__(self, orig, dest):",  # the signature
        "            except ConverterError:",  # error handling and raising
        '                raise OSError("Failed to start Ghostscript")',
        "        def escape(name):",
        '            + b") run flush\\n")',  # the lines the cut came after
        "        self._proc.stdin.flush()",
        "        # GS> if nothing left on the stack; GS<n> if n items left on the st",
        "orig = '/tmp/out/convert.pdf'",
    ):
        assert kept in lines
    for gone in (
        '                [find_executable("gs"), "-dNOPAUSE", "-sDEVICE=png16m"],',
        "            + escape(dest)",
    ):
        assert gone not in lines
    markers = marker_lines(out)
    assert sum("source lines; traceback listing" in m for m in markers) == 2
    assert_markers_valid(out, unit)
    assert sum(m.total for line in markers for m in parse_markers(line)) == 16  # lines 2-7 and 12-21


@pytest.mark.parametrize("name", ["convert_pdf", "cönvert_pdf"])  # ASCII or private-use placeholders
def test_a_listing_cut_by_harness_tags_is_trimmed_and_the_tail_frame_too(name: str) -> None:
    text = "\n".join(
        [
            "<output_head>",
            CUT_HEAD.replace("convert_pdf", name),
            "</output_head>",
            "<elided_chars>",
            "5120 characters elided",
            "</elided_chars>",
            "<output_tail>",
            CUT_TAIL,
            "</output_tail>",
        ]
    )
    unit = make_unit(text)
    protected, restore = TagProtector().protect(unit)  # as the engine sends it: tags as placeholders
    assert "</output_head>" not in protected
    compressed = testrun.compress(protected, unit)
    assert compressed is not None
    assert restore(compressed) == testrun.compress(text, unit)
    out = restore(compressed)
    assert out is not None
    lines = out.split("\n")
    for kept in (
        "</output_head>",
        "5120 characters elided",
        "    def __call__(self, orig, dest):",
        "        # GS> if nothing left on the stack; GS<n> if n items left on the st",
        'k.parametrize("ext", ["png", "pdf"])',
        "    def wrapper(*args, ext, request, **kwargs):",
        "                raise RuntimeError('Number of open figures changed during test.')",
        ">           fig_test.savefig(test_image_path)",
        "E   ValueError: vmin must be less or equal to vmax",
        "lib/plotting/colors.py:1193: ValueError",
    ):
        assert kept in lines
    assert "            + escape(dest)" not in lines
    assert '            fig_ref = plt.figure("reference")' not in lines
    assert sum("source lines; traceback listing" in m for m in marker_lines(out)) == 3
    assert_markers_valid(out, unit)


def test_the_tail_of_a_cut_run_is_a_test_run_by_its_frames() -> None:
    """A piece of a tail that starts inside a frame and shows no run header, summary or ``E`` line (the
    router compresses the pieces between folded runs apart): its ``>`` line and frame locations make it a
    pytest traceback, and its listing is trimmed."""
    piece = CUT_TAIL.split("\nE   ")[0]
    assert not testrun.TEST_SIGNS.search(piece)
    unit = make_unit(piece)
    out = testrun.compress(piece, unit)
    assert out is not None
    lines = out.split("\n")
    assert lines[:2] == piece.split("\n")[:2]  # the cut first line, then the signature
    assert "        if 'ext' in old_sig.parameters:" not in lines
    for kept in (
        "                raise RuntimeError('Number of open figures changed during test.')",
        '            ref_image_path = result_dir / (file_name + "-expected." + ext)',
        ">           fig_test.savefig(test_image_path)",
        "lib/plotting/decorators.py:443: ",
        "lib/plotting/figure.py:2969: in savefig",
    ):
        assert kept in lines
    assert_markers_valid(out, unit)
    # without a frame location line the same listing is no sign of a test run
    for location in ("lib/plotting/decorators.py:443: ", "lib/plotting/figure.py:2969: in savefig"):
        piece = piece.replace(location, "see above")
    assert testrun.compress(piece, make_unit(piece)) is None


def test_a_cut_that_is_not_in_a_frame_listing_keeps_its_lines() -> None:
    """Indented lines before a cut that do not open with a ``def`` (a unittest traceback's code lines, a
    short listing) stay whole."""
    unittest_cut = "\n".join(
        [
            "ERROR: test_get (tests.test_api.ApiTest)",
            "-" * 70,
            "Traceback (most recent call last):",
            '  File "/testbed/tests/test_api.py", line 12, in test_get',
            *[f"    step_{k} = client.get('/items/{k}', params={{'page': {k}}})" for k in range(16)],
        ]
    )
    short = CUT_HEAD.split("\n")
    short = short[: short.index("    def __call__(self, orig, dest):") + 8]
    for text in (unittest_cut, "\n".join(short)):
        out = testrun.compress(text, make_unit(text))
        assert out is None or "traceback listing" not in out
