"""The engine reads and writes bodies with orjson when it is installed, and with the json module otherwise.

Both paths must give the very bytes the json module gives: every value the client sent (integers beyond 64
bits, ``NaN``, lone surrogates, float spellings) comes back as json would write it, and what json cannot
carry (``1E400``) or read (too deep, not UTF-8) leaves the body as sent. Each test runs on both paths.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.engine import Engine, pipeline
from headroom.proxy.config import ProxyConfig
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector

orjson = pytest.importorskip("orjson")

LOG = "\n".join(
    f"2024-05-01T10:{i // 60:02d}:{i % 60:02d}Z INFO worker-{i % 7} processed job id={i * 13} in {i % 50}ms"
    for i in range(400)
)
PATH = "/v1/chat/completions"


class _Spy:
    """orjson, counting the calls that returned a value (so a test knows which path did the work)."""

    JSONDecodeError = orjson.JSONDecodeError
    JSONEncodeError = orjson.JSONEncodeError

    def __init__(self) -> None:
        self.calls = SimpleNamespace(loads=0, dumps=0)

    def loads(self, body: Any) -> Any:
        value = orjson.loads(body)
        self.calls.loads += 1
        return value

    def dumps(self, obj: Any) -> bytes:
        out: bytes = orjson.dumps(obj)
        self.calls.dumps += 1
        return out


@pytest.fixture(params=["orjson", "json"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> _Spy | None:
    spy = _Spy() if request.param == "orjson" else None
    monkeypatch.setattr(pipeline, "orjson", spy)
    return spy


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(ProxyConfig(transforms=[SearchCompressor(), ContentRouter(), TagProtector()]))


def raw_body(**fields: str) -> str:
    """A chat body with one compressible tool result, and ``fields`` spliced in as raw JSON text."""
    extra = "".join(f'"{key}":{text},' for key, text in fields.items())
    tool = json.dumps({"role": "tool", "tool_call_id": "c", "content": LOG})
    return f'{{"model":"m",{extra}"messages":[{tool}]}}'


def compressed(engine: Engine, raw: str | bytes) -> str:
    result = engine.compress(raw, path=PATH)
    assert (result.changed, result.errors, result.skipped) == (True, [], None)
    assert type(result.body) is type(raw)
    return result.body.decode("utf-8") if isinstance(result.body, bytes) else str(result.body)


def head(out: str) -> str:
    """What a compressed body says before its messages."""
    return out[: out.index('"messages"')]


def test_orjson_does_the_work_on_a_plain_body(engine: Engine, codec: _Spy | None) -> None:
    compressed(engine, raw_body(seed="7").encode())
    if codec is not None:
        assert (codec.calls.loads, codec.calls.dumps) == (1, 1)


def test_integers_beyond_64_bits_keep_every_digit(engine: Engine, codec: _Spy | None) -> None:
    """orjson reads ``123456789012345678901234567890`` as ``1.2345678901234568e+29``: json reads it."""
    fields = {
        "big": "123456789012345678901234567890",
        "low": "-9223372036854775809",
        "u64": "18446744073709551615",
        "i64": "-9223372036854775808",
        "huge": "1" * 400,
    }
    out = compressed(engine, raw_body(**fields).encode())
    assert head(out) == '{"model":"m",' + "".join(f'"{k}":{v},' for k, v in fields.items())
    if codec is not None:
        assert codec.calls.dumps == 0  # json wrote it (orjson cannot write a >64-bit integer)


def test_a_number_no_float_holds_leaves_the_body_as_sent(engine: Engine, codec: _Spy | None) -> None:
    for number in ("1E400", "-1e400", "1" * 400 + ".5"):
        raw = raw_body(seed=number).encode()
        result = engine.compress(raw, path=PATH)
        assert (result.changed, result.skipped, result.body) == (False, "number_out_of_range", raw)
        assert result.body is raw


def test_nan_and_infinity_are_written_back_as_sent(engine: Engine, codec: _Spy | None) -> None:
    """json reads and writes these literals (orjson refuses them, and would write ``null``)."""
    out = compressed(engine, raw_body(a="NaN", b="Infinity", c="-Infinity"))
    assert head(out) == '{"model":"m","a":NaN,"b":Infinity,"c":-Infinity,'


FLOATS = [
    "0.1",
    "1.0",
    "-0.0",
    "1E5",
    "1e-7",
    "0.00001",
    "1e-4",
    "1e16",
    "1.5e300",
    "2.5e-300",
    "5e-324",
    "-0",
]


@pytest.mark.parametrize("text", FLOATS)
def test_floats_are_spelled_as_json_writes_them(engine: Engine, codec: _Spy | None, text: str) -> None:
    """orjson writes ``1e-7`` and ``0.00001`` where json writes ``1e-07`` and ``1e-05``: a body's bytes
    must not depend on which library is installed (a provider's prompt cache compares them)."""
    out = compressed(engine, raw_body(seed="1", f=text))
    assert head(out) == f'{{"model":"m","seed":1,"f":{json.dumps(json.loads(text))},'


def test_json_spells_floats_as_python_does() -> None:
    spelled = [json.dumps(json.loads(text)) for text in FLOATS]
    assert spelled[:6] == ["0.1", "1.0", "-0.0", "100000.0", "1e-07", "1e-05"]


def test_floats_orjson_writes_alike_go_through_orjson(engine: Engine, codec: _Spy | None) -> None:
    out = compressed(engine, raw_body(a="0.1", b="1e-4", c="-0.0", d="1e15", e="123.456", f="0"))
    assert head(out) == '{"model":"m","a":0.1,"b":0.0001,"c":-0.0,"d":1000000000000000.0,"e":123.456,"f":0,'
    if codec is not None:
        assert (codec.calls.loads, codec.calls.dumps) == (1, 1)


def test_a_lone_surrogate_is_carried_as_an_escape(engine: Engine, codec: _Spy | None) -> None:
    for raw in (
        raw_body(user='"\\ud800x"', other='"\\udc00"'),
        raw_body(user='"\\ud800x"', other='"é"').encode(),
    ):
        out = compressed(engine, raw)
        assert out.isascii()
        assert json.loads(out)["user"] == "\ud800x"
        assert head(out).startswith('{"model":"m","user":"\\ud800x",')


def test_duplicate_keys_keep_the_last_value_in_the_first_place(engine: Engine, codec: _Spy | None) -> None:
    raw = raw_body(user='"a"', seed="1").replace('"seed":1,', '"seed":1,"user":"b",')
    out = compressed(engine, raw.encode())
    assert head(out) == '{"model":"m","user":"b","seed":1,'


def test_non_ascii_stays_utf8_in_key_order(engine: Engine, codec: _Spy | None) -> None:
    text = json.dumps('é 😀 \u2028 \x7f \x00 \x1f </script> \\ " /', ensure_ascii=False)
    out = compressed(engine, raw_body(z=text, a='{"ö":[1,true,null,{"b":false}]}').encode())
    assert head(out) == f'{{"model":"m","z":{text},"a":{{"ö":[1,true,null,{{"b":false}}]}},'


def test_nesting_beyond_orjsons_writer_is_written_by_json(engine: Engine, codec: _Spy | None) -> None:
    deep = "[" * 300 + "]" * 300
    out = compressed(engine, raw_body(meta=deep).encode())
    assert head(out) == f'{{"model":"m","meta":{deep},'


@pytest.mark.parametrize("depth", [1010, 5000])
def test_nesting_no_reader_takes_leaves_the_body_as_sent(
    engine: Engine, codec: _Spy | None, depth: int
) -> None:
    raw = raw_body(meta="[" * depth + "]" * depth).encode()
    result = engine.compress(raw, path=PATH)
    assert (result.changed, result.skipped, result.body is raw) == (False, "error", True)
    assert "RecursionError" in result.errors[0]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"model":"m","user":"\xff","messages":[]}',
        b'{"model":"m","messages":[],}',
        b'{"model":"m"}x',
        b"",
    ],
)
def test_invalid_json_passes_through(engine: Engine, codec: _Spy | None, raw: bytes) -> None:
    result = engine.compress(raw, path=PATH)
    assert (result.changed, result.skipped, result.body is raw) == (False, "invalid_json", True)


def test_what_json_reads_and_orjson_refuses_is_read_as_before(engine: Engine, codec: _Spy | None) -> None:
    """A UTF-8 byte order mark, UTF-16, and surrogates encoded as UTF-8 bytes: json reads them from bytes."""
    plain = raw_body(user='"u"')
    out = compressed(engine, b"\xef\xbb\xbf" + plain.encode())
    assert out == compressed(engine, plain.encode())
    assert compressed(engine, plain.encode("utf-16")) == out
    encoded = compressed(engine, raw_body(user='"\ud800"').encode("utf-8", "surrogatepass"))
    assert json.loads(encoded)["user"] == "\ud800"


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=False)
    | st.text(st.characters(exclude_categories=[]) | st.sampled_from("\ud800\udc00é\x00")),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON, ascii=st.booleans())
def test_both_paths_read_and_write_alike(value: Any, ascii: bool) -> None:
    """Any JSON json writes (escaped or raw UTF-8, lone surrogates passed through) reads and writes alike."""
    raw = json.dumps({"v": value}, ensure_ascii=ascii).encode("utf-8", "surrogatepass")
    with patch.object(pipeline, "orjson", None):
        before = pipeline._parse(raw)
        expected = pipeline.serialize(before)
    with patch.object(pipeline, "orjson", orjson):
        after = pipeline._parse(raw)
        written = pipeline.serialize(after)
    assert repr(after) == repr(before)  # types too: 1 vs 1.0, -0.0, key order
    assert written == expected
