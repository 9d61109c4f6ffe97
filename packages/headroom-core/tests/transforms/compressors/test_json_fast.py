"""JSON table fast paths: bucketed record keys, per-field matching and anomaly scans equal the per-record
definitions they replace."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors import json as json_module
from headroom.transforms.compressors.json import (
    _extremes,
    _field_stats,
    _is_error,
    _key_matches,
    _record_key,
    _record_keys,
    _record_matches,
    _special,
)

scalar = st.sampled_from(
    [
        *(None, True, False, 0, 1, 1.0, -0.0, 0.0, math.nan, math.inf, -math.inf, 12345, 2.5),
        *("", "x", "error", "FAILED", "1042", "why?", "WHY?", "İnf", "-inf", "is error"),
    ]
)
value = st.one_of(
    scalar, st.lists(scalar, max_size=2), st.dictionaries(st.sampled_from("ab"), scalar, max_size=1)
)
record = st.dictionaries(st.sampled_from(["id", "name", "error", "status", "tags"]), value, max_size=5)
records = st.lists(st.one_of(record, record, record, scalar), min_size=1, max_size=30)


def columns_of(rows: list[Any]) -> list[str]:
    return list(dict.fromkeys(k for r in rows if isinstance(r, dict) for k in r))


def same_partition(a: list[Any], b: list[Any]) -> bool:
    return all((a[i] == a[j]) == (b[i] == b[j]) for i in range(len(a)) for j in range(len(a)))


@settings(max_examples=300, deadline=None)
@given(rows=records)
def test_bucketed_keys_group_records_exactly_as_record_key(rows: list[Any]) -> None:
    rows = rows + [dict(r) if isinstance(r, dict) else r for r in rows[:3]]  # some equal copies
    assert same_partition(_record_keys(rows, columns_of(rows)), [_record_key(r) for r in rows])


def reference_special(
    rows: list[Any], shape: tuple[str, ...], null_share: dict[str, float], limit: int
) -> list[int]:
    errors, odd = [], []
    rare_null = {k for k, share in null_share.items() if share <= 0.1}
    kinds: dict[str, int] = {}
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            odd.append(i)
        elif _is_error(r, kinds):
            errors.append(i)
        elif r.keys() != set(shape) or any(r.get(k, 0) is None for k in rare_null):
            odd.append(i)
    return sorted((errors + odd)[:limit])


@settings(max_examples=300, deadline=None)
@given(
    rows=records,
    request=st.sampled_from(
        ["why?", "show 1042", "where is error", "x", "v2.5 -inf", "nan or -inf?", "12345"]
    ),
)
def test_field_scans_equal_the_per_record_checks(rows: list[Any], request: str) -> None:
    columns = columns_of(rows)
    dicts = [r for r in rows if isinstance(r, dict)]
    _, _, null_share = _field_stats(dicts, columns, 5)
    shape = tuple(dicts[0]) if dicts else ()
    for limit in (2, 100):
        assert _special(rows, shape, null_share, limit) == reference_special(rows, shape, null_share, limit)
    numbers = frozenset(json_module._REQUEST_NUMBER.findall(request))
    for key_like in ({"id", "name"}, {"status"}, set()):
        expected = {
            i
            for i, r in enumerate(rows)
            if isinstance(r, dict) and _record_matches(r, frozenset(), [], request, key_like, numbers)
        }
        assert _key_matches(rows, key_like, request, numbers) == expected


def reference_record_matches(
    record: dict[str, Any], terms: list[str], request: str, key_like: set[str], numbers: frozenset[str]
) -> bool:
    """The per-field, per-term definition _record_matches replaces (kept verbatim as the reference)."""
    for key, value in record.items():
        if (
            key in key_like
            and isinstance(value, int)
            and not isinstance(value, bool)
            and str(value) in numbers
        ):
            return True
        if isinstance(value, str):
            low = value.lower()
        elif isinstance(value, int | float) and not isinstance(value, bool):
            low = str(value)
        else:
            continue
        if not low:
            continue
        for term in terms:
            if low == term or (len(term) >= 3 and isinstance(value, str) and term in low):
                return True
        if key in key_like and len(low) >= 4 and low in request:
            return True
    return False


@settings(max_examples=400, deadline=None)
@given(
    rows=records,
    terms=st.lists(
        st.sampled_from(["x", "error", "1042", "2.5", "12345", "inf", "is", "why?", "i̇nf"]), max_size=3
    ),
    request=st.sampled_from(["why?", "show 1042", "where is error", "v2.5 -inf", "12345 failed"]),
)
def test_record_matches_equals_the_per_term_definition(
    rows: list[Any], terms: list[str], request: str
) -> None:
    numbers = frozenset(json_module._REQUEST_NUMBER.findall(request))
    exact, long_terms = frozenset(terms), [t for t in terms if len(t) >= 3]
    for key_like in ({"id", "name"}, {"status", "error"}, set()):
        for r in rows:
            if isinstance(r, dict):
                expected = reference_record_matches(r, terms, request, key_like, numbers)
                assert _record_matches(r, exact, long_terms, request, key_like, numbers) == expected


def reference_types(values: list[Any]) -> tuple[int, int, dict[str, int]]:
    """Missing, nulls and the other kinds of values, one value at a time (what _field_stats summarises)."""
    missing = sum(1 for v in values if v is json_module._MISSING)
    nulls = sum(1 for v in values if v is None)
    others: dict[str, int] = {}
    for v in values:
        if v is json_module._MISSING or v is None or v.__class__ in (int, float) or v.__class__ is str:
            continue
        kind = ("true" if v else "false") if v.__class__ is bool else type(v).__name__
        others[kind] = others.get(kind, 0) + 1
    return missing, nulls, others


@settings(max_examples=300, deadline=None)
@given(rows=records)
def test_field_stats_count_missing_nulls_and_other_kinds_per_value(rows: list[Any]) -> None:
    dicts = [r for r in rows if isinstance(r, dict)]
    columns = columns_of(rows)
    stats, constant, _ = _field_stats(dicts, columns, 5)
    summaries = dict(zip([c for c in columns if c not in constant], stats, strict=True))
    for col, summary in summaries.items():
        missing, nulls, others = reference_types([r.get(col, json_module._MISSING) for r in dicts])
        assert (f"missing in {missing}" in summary) == bool(missing)
        assert (f"{nulls} null" in summary) == bool(nulls)
        for kind, count in others.items():
            assert f"{kind} {count}" in summary


@settings(max_examples=200, deadline=None)
@given(rows=records)
def test_column_values_read_once_give_what_each_scan_reads_itself(rows: list[Any]) -> None:
    dicts = [r for r in rows if isinstance(r, dict)]
    columns = columns_of(rows)
    values = {col: [r.get(col, json_module._MISSING) for r in dicts] for col in columns}
    assert _record_keys(rows, columns, values) == _record_keys(rows, columns)
    assert _field_stats(dicts, columns, 5, values) == _field_stats(dicts, columns, 5)
    constant = _field_stats(dicts, columns, 5)[1]
    if len(dicts) == len(rows):
        assert _extremes(rows, columns, constant, values) == _extremes(rows, columns, constant)
