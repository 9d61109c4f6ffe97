"""TagProtector: nested custom tags, output wrappers, placeholder safety, order independence in the engine."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.engine import Engine
from headroom.proxy.config import ProxyConfig
from headroom.transforms import ContentRouter, SearchCompressor, TagProtector
from headroom.transforms import tags as tags_module
from headroom.transforms.tags import PLACEHOLDER_RE

from .conftest import make_unit

PYTEST_RUN = "\n".join(
    [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.9.20, pytest-7.2.0, pluggy-0.13.1",
        "collected 120 items",
        "",
        *[
            f"tests/test_mod.py::test_case_{i} PASSED                               [{i:3d}%]"
            for i in range(120)
        ],
        "tests/test_mod.py::test_broken FAILED                                   [100%]",
        "=================================== FAILURES ===================================",
        "E       AssertionError: assert 1 == 2",
        "tests/test_mod.py:6: AssertionError",
        "FAILED tests/test_mod.py::test_broken - AssertionError: assert 1 == 2",
        "========================= 1 failed, 120 passed in 0.50s =========================",
    ]
)
WRAPPED = f"<returncode>1</returncode>\n<output>\n{PYTEST_RUN}\n</output>"


def test_nested_custom_tags_kept_whole() -> None:
    text = "before\n<system-reminder>\nremember <note>the <b>rules</b></note>\n</system-reminder>\nafter"
    protected, restore = TagProtector().protect(make_unit(text))
    assert "system-reminder" not in protected
    assert "note" not in protected
    assert len(PLACEHOLDER_RE.findall(protected)) == 1  # the nested block is inside the outer span
    assert restore(protected) == text
    assert restore(protected.replace("after", "")) == text.replace("after", "")


def test_output_wrapper_keeps_tags_and_frees_the_content() -> None:
    protected, restore = TagProtector().protect(make_unit(WRAPPED, source="pasted"))
    assert "<output>" not in protected
    assert "<returncode>" not in protected
    assert "test_case_7 PASSED" in protected  # the content is left to the compressors
    assert len(PLACEHOLDER_RE.findall(protected)) == 3
    assert restore(protected) == WRAPPED


def test_identical_blocks_get_distinct_placeholders_and_lost_ones_fail_closed() -> None:
    block = "<system-reminder>same</system-reminder>"
    text = f"{block}\nx\n{block}"
    protected, restore = TagProtector().protect(make_unit(text))
    found = PLACEHOLDER_RE.findall(protected)
    assert len(found) == 2
    assert found[0] != found[1]
    assert restore(protected) == text
    first, second = protected.split("\n")[0], protected.split("\n")[2]
    assert restore(protected.replace(second, "")) is None  # dropped
    assert restore(f"{second}\nx\n{first}") is None  # reordered
    assert restore(f"{first}\n{first}\n{second}") is None  # duplicated


def test_placeholders_cannot_collide_with_the_input() -> None:
    text = "".join(chr(c) for c in range(0xE000, 0xE010)) + "0\ue001 <system-reminder>x</system-reminder>"
    protected, restore = TagProtector().protect(make_unit(text))
    assert restore(protected) == text
    used = set(PLACEHOLDER_RE.findall(protected)) - set(PLACEHOLDER_RE.findall(text))
    assert used
    assert all(p[0] not in text and p[-1] not in text for p in used)


def test_html_and_generics_are_not_protected() -> None:
    text = "<div><p>hello</p></div>\nList<String> names = new ArrayList<String>();"
    protected, _ = TagProtector().protect(make_unit(text))
    assert protected == text


def test_large_custom_blocks_keep_only_their_tags() -> None:
    body = "line\n" * 1000
    text = f"<file_content>\n{body}</file_content>"
    protected, restore = TagProtector(max_block_chars=100).protect(make_unit(text))
    assert body in protected
    assert "<file_content>" not in protected
    assert restore(protected) == text


def body_with(text: str) -> bytes:
    return json.dumps(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "Fix the failing test"},
                {"role": "assistant", "content": "THOUGHT: run the tests\n```bash\npytest\n```"},
                {"role": "user", "content": text},
            ],
        }
    ).encode()


def test_effect_does_not_depend_on_position_in_the_config() -> None:
    raw = body_with(WRAPPED)
    outs = set()
    for transforms in (
        [SearchCompressor(), ContentRouter(), TagProtector()],
        [TagProtector(), SearchCompressor(), ContentRouter()],
        [SearchCompressor(), TagProtector(), ContentRouter()],
    ):
        res = Engine(ProxyConfig(transforms=transforms)).compress(raw, path="/v1/chat/completions")
        outs.add(res.body)
    assert len(outs) == 1


def test_wrapper_survives_compression_in_the_engine() -> None:
    res = Engine(ProxyConfig()).compress(body_with(WRAPPED), path="/v1/chat/completions")
    content = json.loads(res.body)["messages"][2]["content"]
    assert content.startswith("<returncode>1</returncode>\n<output>\n")
    assert content.endswith("\n</output>")


tag_names = st.sampled_from(["output", "system-reminder", "note", "x:y", "div", "returncode"])


@st.composite
def tagged_text(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        if depth < 3 and draw(st.booleans()):
            name = draw(tag_names)
            parts.append(f"<{name}>{draw(tagged_text(depth + 1))}</{name}>")
        else:
            parts.append(draw(st.text(alphabet="ab <>/\n\ue000\ue0011", max_size=12)))
    return "".join(parts)


@settings(max_examples=150, deadline=None)
@given(tagged_text())
def test_roundtrip_and_determinism(text: str) -> None:
    protector = TagProtector()
    protected, restore = protector.protect(make_unit(text))
    assert restore(protected) == text
    assert protector.protect(make_unit(text))[0] == protected


def test_regexes_are_linear_on_adversarial_input() -> None:
    # Sizes at which a quadratic pattern would not finish; no timing threshold, completion is the check.
    patterns = [v for v in vars(tags_module).values() if isinstance(v, re.Pattern)]
    for text in (
        "<" * 100_000,
        "<a " + " " * 100_000,
        "<a" * 50_000,
        "\ue000" + "1" * 100_000,
        "\x01" + "1" * 100_000,
        ("\x01" + "1" * 100) * 1_000,
        "\x01" * 100_000,
        "</a>" * 25_000,
    ):
        for pattern in patterns:  # PLACEHOLDER_UTF8_RE reads the UTF-8 bytes
            pattern.search(text if isinstance(pattern.pattern, str) else text.encode())
        assert tags_module.placeholder_lines(text) == []
        assert not tags_module.has_placeholder(text)
        protected, restore = TagProtector().protect(make_unit(text))
        assert restore(protected) == text
    deep = "<note>" * 30_000 + "</note>" * 30_000
    protected, restore = TagProtector().protect(make_unit(deep))
    assert restore(protected) == deep


def test_inline_custom_tags_are_not_blocks() -> None:
    grep = "\n".join(
        f"src/App{f}.jsx:{k}:      <Button>Save {k}</Button>" for f in range(10) for k in range(1, 9)
    )
    protected, _ = TagProtector().protect(make_unit(grep))
    assert protected == grep  # a tag inside a match line is content, not a protected block
    view = "<Layout>\n  <Button>Save</Button>\n</Layout>"
    protected, restore = TagProtector().protect(make_unit(view))
    assert len(PLACEHOLDER_RE.findall(protected)) == 1  # a block whose tag starts a line is kept whole
    assert restore(protected) == view
    body = json.dumps(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "where is the Save button of App3?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c", "content": grep},
            ],
        }
    ).encode()
    res = Engine(ProxyConfig()).compress(body, path="/v1/chat/completions")
    assert res.applied == ["search"]


def test_text_using_every_private_use_character_passes_through_the_engine_unchanged() -> None:
    pua = "".join(chr(c) for c in range(0xE000, 0xF900))
    text = (
        pua
        + "\n<system-reminder>x</system-reminder>\n"
        + "\n".join(f"line {i} of output" for i in range(200))
    )
    res = Engine(ProxyConfig()).compress(
        body_with(f"<output>\n{text}\n</output>"), path="/v1/chat/completions"
    )
    assert not res.changed
    assert any(e.startswith("tags: ValueError") for e in res.errors)


_PIECES = ["\ue000", "\ue001", "\uf8ff", "\uf900", "\uff0c", "\ud800", "7", "42", "x", "é", "日", "\n", " "]
_ASCII_PIECES = ["\x01", "\x02", "\x03", "7", "42", "x", "\n", " "]


def _placeholder_lines_by_regex(text: str) -> list[tuple[int, int]]:
    spans = set()
    for m in PLACEHOLDER_RE.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.start())
        spans.add((start, len(text) if end == -1 else end))
    return sorted(spans)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_placeholder_lines_are_the_lines_the_regex_finds(text: str) -> None:
    # the byte-level scan (private-use lead bytes, then character offsets) agrees with PLACEHOLDER_RE
    assert tags_module.placeholder_lines(text) == _placeholder_lines_by_regex(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*_PIECES, *_ASCII_PIECES]), max_size=40).map("".join))
def test_placeholder_lines_of_both_kinds_are_the_lines_the_regex_finds(text: str) -> None:
    # \x01 found by str.find, private-use ones in the bytes: together what PLACEHOLDER_RE finds
    assert tags_module.placeholder_lines(text) == _placeholder_lines_by_regex(text)
    ascii_text = "".join(c for c in text if c.isascii())
    assert tags_module.placeholder_lines(ascii_text) == _placeholder_lines_by_regex(ascii_text)


def test_sentinels_skip_private_use_characters_already_in_the_text() -> None:
    text = "<system-reminder>x</system-reminder>\n\ue000\ue001 \uf8ff powerline \ue0b0"
    protected, restore = TagProtector().protect(make_unit(text))
    assert protected.startswith("\ue0020\ue003")
    assert restore(protected) == text


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="<>/ ab-_:.\n\ue000x", max_size=80))
def test_tag_scan_equals_finditer(text: str) -> None:
    """The find-driven tag scan yields exactly TAG_RE.finditer's matches."""
    got = [m.span() for m in tags_module._tags(text)]
    assert got == [m.span() for m in tags_module.TAG_RE.finditer(text)]


def test_tag_scan_on_many_openers() -> None:
    text = "<" * 50_000 + "<a>" + "</" * 20_000 + "</a>"
    assert [m.span() for m in tags_module._tags(text)] == [
        m.span() for m in tags_module.TAG_RE.finditer(text)
    ]


def test_sentinels_of_ascii_text_keep_it_ascii_unless_it_holds_them() -> None:
    assert tags_module._sentinels("plain <output>x</output>") == ("\x01", "\x02")
    assert tags_module._sentinels("has \x01 in it") == ("\ue000", "\ue001")
    assert tags_module._sentinels("has \x02 in it") == ("\ue000", "\ue001")
    assert tags_module._sentinels("has \ue000 and \ue002") == ("\ue001", "\ue003")


def test_protected_ascii_text_stays_ascii_and_restores() -> None:
    text = "<system-reminder>a</system-reminder>\n<output>\nx\n</output>\n"
    protected, restore = TagProtector().protect(make_unit(text))
    assert protected.isascii()
    assert PLACEHOLDER_RE.findall(protected) == ["\x010\x02", "\x011\x02", "\x012\x02"]
    assert restore(protected) == text
    assert restore(protected.replace("\x011\x02", "")) is None  # lost: fail closed
    # ASCII text already holding a sentinel character gets private-use placeholders: no collision
    text = "\x010\x02 looks like one\n<system-reminder>a</system-reminder>"
    protected, restore = TagProtector().protect(make_unit(text))
    assert "\ue0000\ue001" in protected
    assert restore(protected) == text


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*_PIECES, "\x01", "\x02", "\x010\x02"]), max_size=40).map("".join))
def test_has_placeholder_is_the_regex_search(text: str) -> None:
    assert tags_module.has_placeholder(text) == (PLACEHOLDER_RE.search(text) is not None)
