"""JSON compressor: arrays of records become a compact, schema-aware table.

For every array of at least ``min_records`` objects (at the top level, or a value of the top-level object
up to two levels down) the output shows:

* a summary line: the record count, each field with its type and range (numbers: min..max; text: number of
  distinct values, or the values with counts when there are few), how many are null or missing, fields
  that have one value in every record, and the number of duplicate records;
* ``columns: [...]`` and then one JSON array per kept record (constant fields left out);
* kept records: the first ``keep_head`` and last ``keep_tail``; the records holding the smallest and the
  largest value of each numeric field (first six such fields); records that match what the user asked
  about (a quoted phrase in the request or a string in the tool call equals or contains a field value, or
  a value of a key-like field appears in the request) shown as full JSON objects, every field verbatim;
  error records (an ``error``/``exception``/``failure`` key with a non-empty value, or a
  ``status``/``level``/``state``/``result`` of error/failed/fatal...; ``"error": null`` is not an error)
  and anomalous records (a different set of keys, or null where the field is almost never null);
* one marker per run of omitted records, with its count.

A long array of plain values (at least four times ``min_records``) shows a summary, its first
``5 * keep_head`` and last ``3 * keep_tail`` values and the values the request names, with markers for
the rest. Exact duplicates are never shown twice. Any other JSON (an object, a short array) is re-serialised
compactly when that alone saves enough: nothing is dropped then. JSON Lines (one object per line) is
treated as an array of records. Invalid JSON gives None, and so does JSON holding a number that a float
cannot represent exactly, an object with a duplicate key, or a lone surrogate escape (re-serialising
would change or drop data).

Options (keyword-only):
    min_records (int, 8): shorter arrays are kept whole.
    keep_head (int, 2): leading records kept.
    keep_tail (int, 1): trailing records kept.
    max_matches (int, 20): at most this many matching records are kept.
    max_anomalies (int, 12): at most this many error and anomalous records are kept.
    max_values (int, 5): a text field with at most this many distinct values lists them in the summary.
    min_saving (float, 0.1): the minimum fraction of characters saved, else None.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from math import isfinite
from typing import Any

from headroom.engine.units import Unit
from headroom.transforms.compressors._util import omitted, request_terms

_ERROR_KEYS = ("error", "exception", "failure", "fault", "traceback")
_STATUS_KEYS = frozenset({"status", "state", "level", "severity", "result", "outcome", "conclusion"})
_BAD_STATUS = frozenset(
    {
        "error",
        "errored",
        "failed",
        "failure",
        "fail",
        "fatal",
        "critical",
        "exception",
        "timeout",
        "timed_out",
    }
)
_MISSING = object()
_UNSET: tuple[object, ...] = (None, False, "", 0, [], {})
"""Values of an error-like field that mean no error (compared with ``in``: 0.0 and false count too)."""
_INF = float("inf")
_NUMBER_TYPES = (int, float)  # matched by exact class: bool is not a number here


def compress(
    text: str,
    unit: Unit,
    *,
    min_records: int = 8,
    keep_head: int = 2,
    keep_tail: int = 1,
    max_matches: int = 20,
    max_anomalies: int = 12,
    max_values: int = 5,
    min_saving: float = 0.1,
) -> str | None:
    """The JSON with its record arrays tabulated, or None when it is not JSON or nothing is saved."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        return _compress(
            text,
            stripped,
            unit,
            min_records,
            keep_head,
            keep_tail,
            max_matches,
            max_anomalies,
            max_values,
            min_saving,
        )
    except (RecursionError, _Lossy):  # too deep for the stack, or a number a float cannot hold: leave it
        return None


def _compress(
    text: str,
    stripped: str,
    unit: Unit,
    min_records: int,
    keep_head: int,
    keep_tail: int,
    max_matches: int,
    max_anomalies: int,
    max_values: int,
    min_saving: float,
) -> str | None:
    try:
        data = json.loads(stripped, parse_float=_parse_float, object_pairs_hook=_object)
    except ValueError:
        data = _json_lines(stripped)
        if data is None:
            return None
    options = _Options(unit, min_records, keep_head, keep_tail, max_matches, max_anomalies, max_values)
    sections: list[str] = []
    if _is_records(data, min_records):
        sections.extend(_table(data, options, None))
    elif _is_scalars(data, min_records):
        sections.extend(_scalars(data, options, None))
    elif isinstance(data, dict):
        outer, found = _replace_arrays(data, min_records, "", 0)
        if found:
            sections.append(_dumps(outer))
            for path, records in found:
                if _is_records(records, min_records):
                    sections.extend(_table(records, options, path))
                else:
                    sections.extend(_scalars(records, options, path))
    result = "\n".join(sections) if sections else _dumps(data)
    if len(result) > len(text) * (1 - min_saving):
        return None
    try:
        result.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape (\\ud800) decoded: the raw form cannot be sent
        return None
    return result


class _Options:
    __slots__ = (
        "keep_head",
        "keep_tail",
        "max_anomalies",
        "max_matches",
        "max_values",
        "min_records",
        "request",
        "request_numbers",
        "terms",
        "unit",
    )

    def __init__(
        self,
        unit: Unit,
        min_records: int,
        keep_head: int,
        keep_tail: int,
        max_matches: int,
        max_anomalies: int,
        max_values: int,
    ) -> None:
        self.unit = unit
        self.min_records = min_records
        self.keep_head = keep_head
        self.keep_tail = keep_tail
        self.max_matches = max_matches
        self.max_anomalies = max_anomalies
        self.max_values = max_values
        self.terms = request_terms(unit)
        self.request = (unit.context.user_request or "")[:4000].lower()
        self.request_numbers = frozenset(_REQUEST_NUMBER.findall(self.request))


_REQUEST_NUMBER = re.compile(r"(?<![\d.])\d{3,18}(?![\d.])")
"""Whole numbers of 3+ digits in the request (order 1042): candidates for an id column's value."""


class _Lossy(ValueError):
    """A number in the text that would not survive a float round trip (re-serialising would change it)."""


def _parse_float(text: str) -> float:
    value = float(text)
    # Up to 15 significant digits always round-trip; longer literals are checked exactly.
    if value in (_INF, -_INF) or (len(text) > 15 and Decimal(repr(value)) != Decimal(text)):
        raise _Lossy(text)
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Lossy("duplicate key")  # a dict keeps one value: re-serialising would drop the others
    return obj


def _json_lines(text: str) -> list[Any] | None:
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 2:
        return None
    try:
        return [json.loads(line, parse_float=_parse_float, object_pairs_hook=_object) for line in lines]
    except ValueError:
        return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _is_records(value: Any, min_records: int) -> bool:
    if not isinstance(value, list) or len(value) < min_records:
        return False
    dicts = sum(1 for v in value if isinstance(v, dict))
    return dicts >= 0.9 * len(value)


def _is_scalars(value: Any, min_records: int) -> bool:
    """A long array of numbers and strings (at least four times ``min_records``)."""
    if not isinstance(value, list) or len(value) < max(4 * min_records, 8):
        return False
    return all(v is None or isinstance(v, str | int | float) for v in value)


def _scalars(values: list[Any], opt: _Options, path: str | None) -> list[str]:
    """A long scalar array: a summary, the first and last values, the values the request names."""
    n = len(values)
    nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool) and v == v]
    texts = [v for v in values if isinstance(v, str)]
    head = (f"{path}: " if path else "") + f"{n} values"
    facts = []
    if nums:
        facts.append(f"{len(nums)} numbers {_num(min(nums))}..{_num(max(nums))}")
    if texts:
        facts.append(f"{len(texts)} texts, {len(set(texts))} distinct")
    nulls = sum(1 for v in values if v is None)
    if nulls:
        facts.append(f"{nulls} null")
    lines = [head + ": " + ", ".join(facts)]
    first = max(opt.keep_head * 5, 1)
    last = max(opt.keep_tail * 3, 1)
    wanted = {
        i
        for i, v in enumerate(values)
        if isinstance(v, str) and any(t == v.lower() or (len(t) >= 3 and t in v.lower()) for t in opt.terms)
    }
    keep = (
        set(range(min(first, n))) | set(range(max(0, n - last), n)) | set(sorted(wanted)[: opt.max_matches])
    )
    run: list[Any] = []
    gap = 0
    for i, v in enumerate(values):
        if i in keep:
            if gap:
                if run:
                    lines.append(_dumps(run))
                    run = []
                lines.append(omitted(opt.unit, [(gap, "values")]))
                gap = 0
            run.append(v)
        else:
            gap += 1
    if run:
        lines.append(_dumps(run))
    if gap:
        lines.append(omitted(opt.unit, [(gap, "values")]))
    return lines


def _replace_arrays(
    obj: dict[str, Any], min_records: int, prefix: str, depth: int
) -> tuple[dict[str, Any], list[tuple[str, list[Any]]]]:
    """The object with its record arrays replaced by a pointer, and the arrays found (path, records)."""
    found: list[tuple[str, list[Any]]] = []
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if _is_records(value, min_records):
            out[key] = f"<{len(value)} records: see {path} below>"
            found.append((path, value))
        elif _is_scalars(value, min_records):
            out[key] = f"<{len(value)} values: see {path} below>"
            found.append((path, value))
        elif isinstance(value, dict) and depth < 2:
            inner, more = _replace_arrays(value, min_records, path, depth + 1)
            out[key] = inner
            found.extend(more)
        else:
            out[key] = value
    return out, found


def _table(records: list[Any], opt: _Options, path: str | None) -> list[str]:
    n = len(records)
    dicts = [r for r in records if isinstance(r, dict)]
    fields: dict[str, None] = {}
    for r in dicts:
        for k in r:
            fields.setdefault(k, None)
    columns = list(fields)
    shapes = Counter(tuple(r) for r in dicts)
    common_shape = shapes.most_common(1)[0][0] if shapes else ()

    values = {col: [r.get(col, _MISSING) for r in dicts] for col in columns}  # read once, used thrice
    keys = _record_keys(records, columns, values)
    dup_count = n - len(set(keys))
    stats, constant, null_share = _field_stats(dicts, columns, opt.max_values, values)
    shown_columns = [c for c in columns if c not in constant]

    head = (f"{path}: " if path else "") + f"{n} records"
    if dup_count:
        head += f" ({dup_count} exact duplicates)"
    lines = [head + "; fields: " + "; ".join(stats)]
    if constant:
        lines.append("same in every record: " + _dumps(constant))
    lines.append("columns: " + _dumps(shown_columns))

    matches = _matches(records, opt, columns)
    special = _special(records, common_shape, null_share, opt.max_anomalies)
    keep: dict[int, bool] = {}  # index -> shown as a full object
    for i in range(min(opt.keep_head, n)):
        keep[i] = False
    for i in range(max(0, n - opt.keep_tail), n):
        keep[i] = False
    for i in _extremes(records, columns, constant, values if len(dicts) == n else None):
        keep[i] = False
    for i in special:
        keep[i] = True
    for i in matches:
        keep[i] = True

    shown: set[str] = set()
    gap = 0
    for i in range(n):
        if i not in keep or keys[i] in shown:
            gap += 1
            continue
        if gap:
            lines.append(omitted(opt.unit, [(gap, "records")]))
            gap = 0
        shown.add(keys[i])
        record = records[i]
        if keep[i] or not isinstance(record, dict):
            lines.append(_dumps(record))
        else:
            lines.append(_dumps([record.get(c, None) for c in shown_columns]))
    if gap:
        lines.append(omitted(opt.unit, [(gap, "records")]))
    return lines


def _record_key(record: Any) -> Any:
    """A hashable identity for a record (its typed items; its JSON text when a value is unhashable)."""
    if isinstance(record, dict):
        try:
            key = (tuple(record.items()), tuple(map(type, record.values())))  # 1, 1.0 and true differ
            hash(key)
            return key
        except TypeError:
            pass
    return _dumps(record)


_BUCKET_TYPES = frozenset((str, int, bool, type(None), object))  # object: _MISSING


def _record_keys(
    records: list[Any], columns: list[str], values: Mapping[str, list[Any]] | None = None
) -> list[Any]:
    """Keys that are equal exactly when :func:`_record_key`'s are, computed per record only where needed.

    Records are first bucketed by their field names and the values of the fields that hold only strings,
    integers, booleans and nulls (records with equal keys share a bucket); only records sharing a bucket
    get :func:`_record_key` (their JSON text when a value is a list or an object). ``values``: each column's
    values over the records that are objects (``_MISSING`` where absent), when the caller has them."""
    keys: list[Any] = [None if isinstance(r, dict) else _record_key(r) for r in records]
    where = [i for i, r in enumerate(records) if isinstance(r, dict)]
    dicts: list[dict[str, Any]] = [records[i] for i in where]
    by_column = (
        values[col] if values is not None else [r.get(col, _MISSING) for r in dicts] for col in columns
    )
    scalar = [column for column in by_column if set(map(type, column)) <= _BUCKET_TYPES]
    buckets = list(zip(map(tuple, dicts), *scalar, strict=True))
    sizes = Counter(buckets)
    for i, bucket in zip(where, buckets, strict=True):
        keys[i] = (bucket, _record_key(records[i]) if sizes[bucket] > 1 else None)
    return keys


def _field_stats(
    dicts: list[dict[str, Any]],
    columns: list[str],
    max_values: int,
    column_values: Mapping[str, list[Any]] | None = None,
) -> tuple[list[str], dict[str, Any], dict[str, float]]:
    """Per-field summaries, the fields constant over all records, and each field's share of nulls.
    ``column_values``: each column's values over ``dicts`` (``_MISSING`` where absent), if at hand."""
    stats: list[str] = []
    constant: dict[str, Any] = {}
    null_share: dict[str, float] = {}
    total = len(dicts)
    for col in columns:
        values = column_values[col] if column_values is not None else [r.get(col, _MISSING) for r in dicts]
        missing = values.count(_MISSING)  # a parsed JSON value equals the sentinel (or None) only if it is it
        nulls = values.count(None)
        nums: list[float] = [v for v in values if v.__class__ in _NUMBER_TYPES and v == v]
        texts: Counter[str] = Counter(v for v in values if v.__class__ is str)
        others: Counter[str] = Counter()
        if missing + nulls + len(nums) + texts.total() < total:  # else every value is one of those
            others.update(
                ("true" if v else "false") if v.__class__ is bool else type(v).__name__
                for v in values
                if v is not _MISSING
                and v is not None
                and v.__class__ not in _NUMBER_TYPES
                and v.__class__ is not str
            )
        null_share[col] = nulls / total if total else 0.0
        values_seen = len(nums) + sum(texts.values()) + sum(others.values())
        if not missing and not nulls and values_seen == total:
            single = _single_value(dicts, col)
            if single is not _MISSING:
                constant[col] = single
                continue
        parts: list[str] = []
        if nums:
            parts.append(f"number {_num(min(nums))}..{_num(max(nums))}")
        if texts:
            if len(texts) <= max_values:
                parts.append("text " + ", ".join(f"{_dumps(v)} {c}" for v, c in texts.most_common()))
            else:
                parts.append(f"text, {len(texts)} distinct")
        for kind, count in others.most_common():
            parts.append(f"{kind} {count}")
        if nulls:
            parts.append(f"{nulls} null")
        if missing:
            parts.append(f"missing in {missing}")
        stats.append(f"{col} ({', '.join(parts)})")
    return stats, constant, null_share


def _single_value(dicts: list[dict[str, Any]], col: str) -> Any:
    first = dicts[0].get(col, _MISSING)
    if first is _MISSING or isinstance(first, dict | list):
        return _MISSING
    for r in dicts:
        v = r.get(col, _MISSING)
        if v != first or type(v) is not type(first):
            return _MISSING
    return first


def _num(x: float) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() and abs(x) < 1e15 else str(x)


def _matches(records: list[Any], opt: _Options, columns: list[str]) -> list[int]:
    """Indexes of records the request names (at most ``max_matches``)."""
    terms = opt.terms
    request = opt.request
    key_like = _key_like_columns(records, columns) if request else set()
    if not terms and not key_like:
        return []
    if not terms:
        return sorted(_key_matches(records, key_like, request, opt.request_numbers))[: opt.max_matches]
    found: list[int] = []
    exact, long_terms = frozenset(terms), [t for t in terms if len(t) >= 3]
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            continue
        if _record_matches(r, exact, long_terms, request, key_like, opt.request_numbers):
            found.append(i)
            if len(found) >= opt.max_matches:
                break
    return found


def _record_matches(
    record: Mapping[str, Any],
    exact: frozenset[str],
    long_terms: list[str],
    request: str,
    key_like: set[str],
    numbers: frozenset[str],
) -> bool:
    """True when a field of ``record`` is a request term (``exact``), a text holding one of the terms of 3+
    characters (``long_terms``), a key-like field's value written in the request, or a key-like integer
    among the request's ``numbers``. Booleans and nested values never match."""
    for key, value in record.items():
        kind = type(value)
        if kind is str:
            if not value:
                continue
            low = value.lower()
            if low in exact:
                return True
            for term in long_terms:
                if term in low:
                    return True
        elif kind is int or kind is float:
            low = str(value)
            if low in exact or (kind is int and key in key_like and low in numbers):
                return True
        else:
            continue
        if key in key_like and len(low) >= 4 and low in request:
            return True
    return False


def _key_matches(records: list[Any], key_like: set[str], request: str, numbers: frozenset[str]) -> set[int]:
    """:func:`_record_matches` without terms (only key-like fields can match), one field at a time."""
    found: set[int] = set()
    longest = len(request)  # lower() never shortens a text: a longer value cannot be in the request
    # A finite number's text holds a digit: without digits in the request none can match.
    digitless = not numbers and not any(map(str.isdigit, request))
    for key in key_like:
        for i, r in enumerate(records):
            if not isinstance(r, dict):
                continue
            value = r.get(key, _MISSING)
            if isinstance(value, str):
                if len(value) > longest:
                    continue
                low = value.lower()
            elif digitless and (value.__class__ is int or (value.__class__ is float and isfinite(value))):
                continue
            elif isinstance(value, int | float) and not isinstance(value, bool):
                low = str(value)
                if low in numbers and isinstance(value, int):
                    found.add(i)
                    continue
            else:
                continue
            if len(low) >= 4 and low in request:
                found.add(i)
    return found


def _key_like_columns(records: list[Any], columns: list[str]) -> set[str]:
    """Fields whose values are (nearly) unique: names and ids a request can mention unquoted.

    Text fields at least half distinct; integer fields all but distinct (order ids, not quantities).
    """
    out: set[str] = set()
    sample = [r for r in records[:500] if isinstance(r, dict)]
    for col in columns:
        values = [r.get(col) for r in sample]
        texts = [v for v in values if isinstance(v, str)]
        ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        if (len(texts) >= 0.8 * len(sample) and len(set(texts)) >= 0.5 * len(texts)) or (
            len(ints) >= 0.8 * len(sample) and len(set(ints)) >= 0.95 * len(ints)
        ):
            out.add(col)
    return out


def _special(
    records: list[Any], common_shape: tuple[str, ...], null_share: dict[str, float], limit: int
) -> list[int]:
    """Indexes of error records and anomalous records (at most ``limit``), errors first."""
    errors: list[int] = []
    odd: list[int] = []
    common = set(common_shape)
    rare_null = [k for k, share in null_share.items() if share <= 0.1]
    kinds = {key: _key_kind(key) for key in null_share}  # null_share has every field
    failing: set[int] = set()  # records with an error-like field set or a failing status
    dicts = [(i, r) for i, r in enumerate(records) if isinstance(r, dict)]
    for key, kind in kinds.items():  # as _is_error, one field at a time
        if kind == 1:
            failing.update(i for i, r in dicts if r.get(key) not in _UNSET)
        elif kind == 2:
            failing.update(
                i for i, r in dicts if isinstance(v := r.get(key), str) and v.strip().lower() in _BAD_STATUS
            )
    nulled: set[int] = set()  # records with a null where nulls are rare
    for key in rare_null:
        nulled.update(i for i, r in dicts if r.get(key, 0) is None)
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            odd.append(i)
        elif i in failing:
            errors.append(i)
        elif i in nulled or r.keys() != common:
            odd.append(i)
    return sorted((errors + odd)[:limit])


def _extremes(
    records: list[Any],
    columns: list[str],
    constant: dict[str, Any],
    column_values: Mapping[str, list[Any]] | None = None,
) -> set[int]:
    """Indexes of the records holding the smallest and largest value of each numeric field (first six).
    ``column_values``: each column's values, one per record (absent ones no number), if at hand."""
    found: set[int] = set()
    numeric = 0
    for col in columns:
        if col in constant or numeric >= 6:
            continue
        values: list[Any] = (
            column_values[col]
            if column_values is not None
            else [r.get(col) if r.__class__ is dict else None for r in records]
        )
        idx = [i for i, v in enumerate(values) if v.__class__ in _NUMBER_TYPES and v == v]
        if not idx:
            continue
        lo = min(idx, key=values.__getitem__)
        hi = max(idx, key=values.__getitem__)
        if lo != hi:
            numeric += 1
            found.update((lo, hi))
    return found


def _key_kind(key: str) -> int:
    """1 for an error-like field name, 2 for a status-like one, 0 for neither."""
    low = str(key).lower()
    return 1 if any(word in low for word in _ERROR_KEYS) else 2 if low in _STATUS_KEYS else 0


def _is_error(record: Mapping[str, Any], kinds: dict[str, int]) -> bool:
    """True for a record with a non-empty error-like field or a failing status (``"error": null`` is fine)."""
    for key, value in record.items():
        kind = kinds.get(key)
        if kind is None:
            kind = kinds[key] = _key_kind(key)
        if kind == 1:
            if value not in _UNSET:
                return True
        elif kind == 2 and isinstance(value, str) and value.strip().lower() in _BAD_STATUS:
            return True
    return False
