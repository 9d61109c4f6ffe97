"""JSON compressor: record tables, request matches, errors and anomalies kept; properties."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors import json as json_compressor

from .helpers import assert_markers_valid, make_unit, marker_lines

NAMES = [
    "chevrolet chevelle malibu",
    "buick skylark 320",
    "plymouth satellite",
    "amc rebel sst",
    "ford galaxie 500",
]


def cars(n: int = 300, seed: int = 1) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        out.append(
            {
                "Name": f"{rnd.choice(NAMES)} {i}",
                "Miles_per_Gallon": rnd.randint(9, 46),
                "Cylinders": rnd.choice([4, 6, 8]),
                "Horsepower": rnd.randint(46, 230),
                "Year": f"19{70 + i % 12}-01-01",
                "Origin": rnd.choice(["USA", "Japan", "Europe"]),
                "Source": "vega",
            }
        )
    return out


def shown_records(out: str) -> int:
    """Records shown: table rows and full objects (lines starting with '[' or '{', markers excluded)."""
    return sum(
        1
        for line in out.split("\n")
        if line[:1] in "[{" and not line.startswith("[headroom:") and not line.startswith("columns:")
    )


def test_the_record_the_user_asks_about_is_kept_whole_and_verbatim() -> None:
    records = cars()
    torino = {
        "Name": "ford torino",
        "Miles_per_Gallon": 17,
        "Cylinders": 8,
        "Horsepower": 140,
        "Year": "1970-01-01",
        "Origin": "USA",
        "Source": "vega",
    }
    records.insert(137, torino)
    text = json.dumps(records)
    unit = make_unit(
        text,
        tool_input='{"dataset": "cars.json", "filter": "ford torino"}',
        user_request="Using the cars.json data, what are all the fields of the record whose Name is "
        "'ford torino'?",
    )
    out = json_compressor.compress(text, unit)
    assert out is not None
    assert json.dumps(torino, separators=(",", ":")) in out.split("\n")
    assert len(out) < 0.3 * len(text)
    total = assert_markers_valid(out, unit)
    assert total + shown_records(out) == len(records)


def test_unquoted_key_value_in_the_request_matches() -> None:
    records = cars(200)
    target = records[120]
    text = json.dumps(records, indent=2)
    unit = make_unit(text, user_request=f"show me everything about {target['Name']} please")
    out = json_compressor.compress(text, unit)
    assert out is not None
    assert json.dumps(target, separators=(",", ":"), ensure_ascii=False) in out


def test_an_id_number_in_the_request_matches_its_record() -> None:
    records = [
        {"order_id": 1000 + i, "customer": f"cust_{(i * 37) % 900}", "status": "shipped", "items": i % 4}
        for i in range(120)
    ]
    text = json.dumps(records, indent=1)
    out = json_compressor.compress(text, make_unit(text, user_request="What is the status of order 1042?"))
    assert out is not None
    assert json.dumps(records[42], separators=(",", ":")) in out
    # Small numbers (a quantity of 3) and non-id columns single nothing out.
    assert json.dumps(records[3], separators=(",", ":")) not in out


def test_summary_line_has_types_ranges_and_constant_fields() -> None:
    records = cars(100)
    text = json.dumps(records)
    out = json_compressor.compress(text, make_unit(text))
    assert out is not None
    first = out.split("\n")[0]
    assert first.startswith("100 records; fields: ")
    assert "Cylinders (number 4..8)" in first
    assert 'same in every record: {"Source":"vega"}' in out
    columns = next(line for line in out.split("\n") if line.startswith("columns: "))
    assert "Source" not in columns


def test_error_null_is_not_an_error_but_a_real_error_is_kept() -> None:
    records = [{"id": i, "status": "ok", "error": None, "took_ms": 10 + i % 5} for i in range(80)]
    records[40] = {"id": 40, "status": "failed", "error": "connection refused", "took_ms": 12}
    records[55] = {"id": 55, "status": "ok", "error": "timeout after 30s", "took_ms": 11}
    text = json.dumps(records)
    unit = make_unit(text)
    out = json_compressor.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert json.dumps(records[40], separators=(",", ":")) in lines
    assert json.dumps(records[55], separators=(",", ":")) in lines
    full_objects = [line for line in lines if line.startswith("{")]
    assert len(full_objects) == 2  # no record with "error": null is singled out
    assert assert_markers_valid(out, unit) + shown_records(out) == len(records)


def test_anomalous_records_are_kept() -> None:
    records = [{"species": "Adelie", "mass": 3000 + i, "sex": "MALE"} for i in range(100)]
    records[33] = {"species": "Adelie", "mass": None, "sex": None}
    records[66] = {"species": "Adelie", "mass": 3100, "sex": "FEMALE", "note": "tagged twice"}
    text = json.dumps(records)
    out = json_compressor.compress(text, make_unit(text))
    assert out is not None
    assert json.dumps(records[33], separators=(",", ":")) in out
    assert json.dumps(records[66], separators=(",", ":")) in out
    assert 'note (text "tagged twice" 1, missing in 99)' in out


def test_duplicates_are_counted_and_shown_once() -> None:
    row = {"k": "same", "v": 1}
    records = [row] * 30 + [{"k": f"x{i}", "v": i} for i in range(30)]
    text = json.dumps(records)
    unit = make_unit(text)
    out = json_compressor.compress(text, unit)
    assert out is not None
    assert "(29 exact duplicates)" in out.split("\n")[0]
    assert out.count('["same",1]') == 1
    assert assert_markers_valid(out, unit) + shown_records(out) == len(records)


def test_nested_record_arrays_inside_an_object() -> None:
    payload = {
        "total": 150,
        "page": 1,
        "data": {"items": [{"id": i, "name": f"item-{i}"} for i in range(150)]},
    }
    text = json.dumps(payload, indent=2)
    out = json_compressor.compress(text, make_unit(text))
    assert out is not None
    lines = out.split("\n")
    assert json.loads(lines[0]) == {
        "total": 150,
        "page": 1,
        "data": {"items": "<150 records: see data.items below>"},
    }
    assert lines[1].startswith("data.items: 150 records; fields: ")


def test_json_lines() -> None:
    text = "\n".join(json.dumps({"ts": i, "level": "info", "msg": f"tick {i}"}) for i in range(60))
    out = json_compressor.compress(text, make_unit(text))
    assert out is not None
    assert out.startswith("60 records; fields: ")


def test_pretty_printed_non_record_json_is_minified_losslessly() -> None:
    obj = {"config": {"name": "svc", "replicas": 3, "ports": [80, 443], "labels": {"a": "b"}}, "ok": True}
    text = json.dumps(obj, indent=4)
    out = json_compressor.compress(text, make_unit(text))
    assert out is not None
    assert json.loads(out) == obj
    assert not marker_lines(out)


def test_not_json_or_invalid_gives_none() -> None:
    for text in ("hello world", "{not json", "[1, 2", "", "   "):
        assert json_compressor.compress(text, make_unit(text)) is None
    small = '{"a":1}'
    assert json_compressor.compress(small, make_unit(small)) is None


def test_linear_on_adversarial_input() -> None:
    for text in (
        "[" * 50_000,
        "{" + '"a":' * 20_000,
        '["' + "a" * 200_000 + '"]',
        "[" + "1," * 100_000 + "1]",
    ):
        json_compressor.compress(text, make_unit(text))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
records_st = st.lists(
    st.dictionaries(st.sampled_from(["id", "name", "error", "status", "value", "tags"]), scalars, max_size=6),
    min_size=0,
    max_size=60,
)


@settings(max_examples=80, deadline=None)
@given(records_st)
def test_properties_on_generated_records(records: list[dict[str, Any]]) -> None:
    text = json.dumps(records)
    unit = make_unit(text)
    out = json_compressor.compress(text, unit, min_saving=0.0)
    assert out == json_compressor.compress(text, unit, min_saving=0.0)
    if out is None:
        return
    total = assert_markers_valid(out, unit)
    if len(records) >= 8:
        distinct = len({json.dumps(r, sort_keys=False) for r in records})
        assert total + shown_records(out) == len(records)
        assert shown_records(out) <= distinct
        errors = [r for r in records if "error" in r and r["error"] not in (None, False, "", 0)]
        if len(errors) <= 12:  # within max_anomalies every error record is shown whole
            lines = set(out.split("\n"))
            for r in errors:
                assert json.dumps(r, ensure_ascii=False, separators=(",", ":")) in lines


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=500))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    unit = make_unit(text)
    out = json_compressor.compress(text, unit, min_saving=0.0)
    if out is not None:
        assert_markers_valid(out, unit)


def test_long_scalar_arrays_keep_ends_and_named_values() -> None:
    files = [f"src/module_{i}.py" for i in range(200)]
    text = json.dumps({"count": 200, "files": files}, indent=2)
    unit = make_unit(text, user_request="Is 'src/module_150.py' in the list?")
    out = json_compressor.compress(text, unit)
    assert out is not None
    lines = out.split("\n")
    assert json.loads(lines[0]) == {"count": 200, "files": "<200 values: see files below>"}
    assert lines[1] == "files: 200 values: 200 texts, 200 distinct"
    assert '["src/module_150.py"]' in lines
    shown = sum(
        len(json.loads(line)) for line in lines[2:] if line.startswith("[") and "headroom" not in line
    )
    assert assert_markers_valid(out, unit) + shown == 200


def test_numbers_a_float_cannot_hold_leave_the_json_alone() -> None:
    rows = [{"id": i, "amount": 1.25 * i} for i in range(40)]
    text = json.dumps(rows)
    assert json_compressor.compress(text, make_unit(text)) is not None
    for literal in ("0.10000000000000000555", "12345678901234567.5", "1e400"):
        lossy = text.replace('"amount": 12.5', f'"amount": {literal}')
        assert literal in lossy
        assert json_compressor.compress(lossy, make_unit(lossy)) is None


def test_duplicate_keys_and_lone_surrogates_leave_the_json_alone() -> None:
    rows = [{"id": i, "name": f"n{i}"} for i in range(40)]
    text = json.dumps(rows)
    dup = text.replace('{"id": 7,', '{"id": 7, "id": 8,')
    assert json_compressor.compress(dup, make_unit(dup)) is None
    surrogate = text.replace('"n0"', '"\\ud800"')  # record 0 is always shown
    assert "\\ud800" in surrogate
    assert json_compressor.compress(surrogate, make_unit(surrogate)) is None
