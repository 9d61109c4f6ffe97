"""Test-run compressor: failures, tracebacks and summaries kept; passing noise collapsed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors import testrun

from .helpers import assert_markers_valid, make_unit, marker_lines

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


def unittest_errors(tests: list[str]) -> str:
    frames = [
        '  File "/testbed/requests/api.py", line 55, in get',
        "    return request('get', url, **kwargs)",
        '  File "/testbed/requests/sessions.py", line 373, in send',
        "    r = adapter.send(request, **kwargs)",
        '  File "/testbed/requests/packages/urllib3/connectionpool.py", line 196, in _new_conn',
        "    return HTTPConnection(host=self.host,",
        "TypeError: HTTPConnection.__init__() got an unexpected keyword argument 'strict'",
    ]
    out = ["EE.E", ""]
    for k, name in enumerate(tests):
        out += [
            "=" * 70,
            f"ERROR: {name} (__main__.RequestsTestCase)",
            "-" * 70,
            "Traceback (most recent call last):",
            f'  File "/testbed/test_requests.py", line {100 + 7 * k}, in {name}',
            "    r = requests.get(url, auth=auth)",
            *frames,
            "",
        ]
    return "\n".join(
        [*out, "-" * 70, f"Ran {len(tests) + 1} tests in 0.2s", "", f"FAILED (errors={len(tests)})"]
    )


def test_tracebacks_sharing_frames_keep_the_first_copy_and_every_header() -> None:
    names = [f"test_case_{k}" for k in range(5)]
    text = unittest_errors(names)
    unit = make_unit(text)
    out = testrun.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    for k, name in enumerate(names):
        assert f"ERROR: {name} (__main__.RequestsTestCase)" in lines
        assert f'  File "/testbed/test_requests.py", line {100 + 7 * k}, in {name}' in lines
    error = "TypeError: HTTPConnection.__init__() got an unexpected keyword argument 'strict'"
    assert lines.count(error) == 1
    repeats = [m for m in marker_lines(out) if "same as" in m]
    assert len(repeats) == 4
    assert all('ending "TypeError: HTTPConnection.__init__() got' in m for m in repeats)
    assert "FAILED (errors=5)" in lines
    assert_markers_valid(out, unit)


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
