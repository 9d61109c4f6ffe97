"""Text compressor: ANSI codes, carriage-return redraws, progress bars, repeats, paragraphs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors import text as text_compressor

from .helpers import assert_markers_valid, make_unit, marker_lines


def test_ansi_codes_are_stripped_and_counted() -> None:
    lines = [f"\x1b[32mPASS\x1b[0m test_{i} \x1b[1m({i} ms)\x1b[0m" for i in range(40)]
    text = "\n".join(lines)
    unit = make_unit(text)
    out = text_compressor.compress(text, unit)
    assert out is not None
    assert "\x1b" not in out
    assert "PASS test_0 (0 ms)" in out.split("\n")
    assert "omitted 160 terminal control sequences" in marker_lines(out)[-1]
    assert_markers_valid(out, unit)


def test_carriage_return_redraws_keep_the_final_state() -> None:
    bar = "\r".join(f"Downloading model: {p:3d}%|{'#' * (p // 10):<10}| {p}/100" for p in range(0, 101, 5))
    text = "Starting\n" + bar + "\nDone: model saved to /tmp/m.bin\n"
    unit = make_unit(text)
    out = text_compressor.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert lines[0] == "Starting"
    assert lines[1] == "Downloading model: 100%|##########| 100/100"
    assert "omitted 20 progress updates" in lines[2]
    assert "Done: model saved to /tmp/m.bin" in lines
    assert_markers_valid(out, unit)


def test_crlf_line_endings_are_not_redraws() -> None:
    text = "".join(f"row {i} value {i * 3}\r\n" for i in range(5))
    assert text_compressor.compress(text, make_unit(text)) is None


def test_progress_lines_keep_the_last() -> None:
    pip = [
        f"   {'━' * (k * 4)}{' ' * (40 - k * 4)} {k * 1.2:.1f}/12.0 MB "
        f"{3.1 + k / 10:.1f} MB/s eta 0:00:0{9 - k}"
        for k in range(10)
    ]
    text = "Collecting torch\n" + "\n".join(pip) + "\nInstalling collected packages: torch\n"
    unit = make_unit(text)
    out = text_compressor.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert pip[-1] in lines
    assert not any(p in lines for p in pip[:-1])
    assert "omitted 9 progress lines" in out
    assert_markers_valid(out, unit)


def test_tqdm_lines() -> None:
    rows = [
        f"{p:3d}%|{'█' * (p // 10):<10}| {p}/100 [00:0{p // 20}<00:05, 19.9it/s]" for p in range(0, 101, 10)
    ]
    text = "\n".join(["epoch 1", *rows, "loss=0.31"])
    out = text_compressor.compress(text, make_unit(text))
    assert out is not None
    assert rows[-1] in out
    assert rows[3] not in out


def test_repeated_lines_and_template_runs() -> None:
    warn = "WARNING: skipping cache entry"
    steps = [f"step {i}/500: loss {1 / (i + 1):.4f}" for i in range(50)]
    text = "\n".join(["start", *([warn] * 12), *steps, "end"])
    unit = make_unit(text)
    out = text_compressor.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert lines.count(warn) == 1
    assert "omitted 11 lines; repeats of the line above" in out
    assert steps[0] in lines
    assert steps[-1] in lines
    assert any('48x "step <n>/<n>: loss <n>.<n>"' in m for m in marker_lines(out))
    assert_markers_valid(out, unit)


def test_error_lines_are_never_folded_into_a_template_run() -> None:
    errs = [f"ERROR: request {i} failed with status 500" for i in range(20)]
    text = "\n".join(errs)
    out = text_compressor.compress(text, make_unit(text))
    assert out is None


def test_repeated_paragraphs_point_at_the_first_copy() -> None:
    para = "\n".join(
        [
            "Usage: tool [OPTIONS] COMMAND",
            "  --verbose  print more",
            "  --quiet    print less",
            "  --help     show this",
        ]
    )
    text = "\n\n".join([para, "first attempt failed? no, it was a typo", para, "second call", para])
    unit = make_unit(text)
    out = text_compressor.compress(text, unit)
    assert out is not None
    assert out.count("Usage: tool [OPTIONS] COMMAND") == 1
    assert out.count("same as the paragraph at line 1") == 2
    assert assert_markers_valid(out, unit) == 8


def test_plain_prose_is_left_alone() -> None:
    text = "The quick brown fox jumps over the lazy dog.\nA second, different line.\n" * 1
    assert text_compressor.compress(text, make_unit(text)) is None


def test_linear_on_adversarial_input() -> None:
    for chunk in ("\x1b[", "\x1b]", "\x1b", "\r", "%", "█", "1", "it/s", "eta 1", "a\n", "\n", "ERROR "):
        text = chunk * (100_000 // len(chunk))
        text_compressor.compress(text, make_unit(text))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab1 \n\r\x1b[m%#|=", "error", "it/s", "eta 1"]), max_size=300).map("".join)
)
def test_properties_on_noisy_text(text: str) -> None:
    unit = make_unit(text)
    out = text_compressor.compress(text, unit, min_saving=0.0)
    assert out == text_compressor.compress(text, unit, min_saving=0.0)
    if out is None:
        return
    assert_markers_valid(out, unit)
    assert "\x1b" not in out


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=1500))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    unit = make_unit(text)
    out = text_compressor.compress(text, unit, min_saving=0.0, min_repeat=2, min_template_run=2)
    if out is not None:
        assert_markers_valid(out, unit)


def test_repeated_blocks_become_one_marker_and_the_first_copy_stays() -> None:
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    block = [f"  config.{w} = {w.upper()}  # {w[::-1]}" for w in words]
    text = "\n".join(["first dump:", *block, "second dump:", *block, "done"])
    unit = make_unit(text)
    out = text_compressor.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert all(lines.count(b) == 1 for b in block)
    assert "second dump:" in lines
    assert "done" in lines
    markers = marker_lines(out)
    assert len(markers) == 1
    assert "omitted 8 lines; same as 8 lines above" in markers[0]
    assert_markers_valid(out, unit)


ERRORISH_LINES = [
    "ERROR: disk full",
    "Traceback (most recent call last):",
    "ValueError: bad input",
    "FAILED x",
]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(ERRORISH_LINES),
            st.sampled_from(["step 1 ok", "step 2 ok", "", "=====", "done"]),
            st.integers(0, 999).map(lambda i: f"progress {i}/999 items"),
        ),
        max_size=120,
    )
)
def test_properties_error_lines_always_survive(rows: list[str]) -> None:
    text = "\n".join(rows)
    unit = make_unit(text)
    out = text_compressor.compress(
        text, unit, min_saving=0.0, min_repeat=2, min_template_run=2, min_block_lines=2
    )
    if out is None:
        return
    assert_markers_valid(out, unit)
    kept = set(out.split("\n"))
    for row in rows:
        if row in ERRORISH_LINES:
            assert row in kept
