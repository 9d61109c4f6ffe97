"""How the middleware reads and replaces request bodies, at the edges of Django's own behaviour."""

from __future__ import annotations

import io
import logging

import pytest
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.test import RequestFactory, override_settings

from headroom.engine import EngineResult
from headroom.integrations.django.middleware import apply, read_body


class OneWayStream(io.RawIOBase):
    """A stream that cannot seek, like a socket."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def test_replaced_body_is_what_every_reader_sees() -> None:
    original = b'{"messages": []}'
    request = RequestFactory().post("/v1/chat/completions", original, content_type="application/json")
    assert request.headers["content-length"] == str(len(original))  # cached before the swap
    body = read_body(request)
    assert body == original
    apply(request, body, EngineResult(body=b'{"m":1}', changed=True))
    assert request.body == b'{"m":1}'
    assert request.read() == b'{"m":1}'
    assert request.headers["content-length"] == "7"
    assert request.META["CONTENT_LENGTH"] == "7"


def test_unchanged_result_leaves_the_request_alone() -> None:
    request = RequestFactory().post("/v1/messages", b"{}", content_type="application/json")
    body = read_body(request)
    assert body is not None
    apply(request, body, EngineResult(body=body))
    assert request.body is body
    assert request.read() == b"{}"


def test_unexpected_django_internals_fail_open(caplog: pytest.LogCaptureFixture) -> None:
    request = RequestFactory().post("/v1/messages", b'{"a": 1}', content_type="application/json")
    body = read_body(request)
    assert body is not None
    del request._body  # as if Django cached the body elsewhere
    request._body = bytes(bytearray(body))  # an equal but different object
    with caplog.at_level(logging.WARNING, logger="headroom.django"):
        apply(request, body, EngineResult(body=b"{}", changed=True))
    assert request.body == b'{"a": 1}'
    assert "left unchanged" in caplog.text


def test_body_already_streamed_by_earlier_middleware_is_left_alone() -> None:
    request = RequestFactory().post("/v1/messages", b'{"a": 1}', content_type="application/json")
    assert request.read(2) == b'{"'
    assert read_body(request) is None


def test_rejected_before_reading_leaves_the_error_to_the_view() -> None:
    request = RequestFactory().post("/v1/messages", b"x" * 100, content_type="application/json")
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10):
        assert read_body(request) is None
        with pytest.raises(RequestDataTooBig):
            request.body  # noqa: B018  (the view's read fails as it would have)


def test_truncated_read_is_raised_here_so_the_view_cannot_miss_it() -> None:
    # No Content-Length and a stream that cannot seek: Django reads past its limit, caches the truncated
    # body and then raises. A second read would return the truncated body, so read_body raises instead.
    request = HttpRequest()
    request.method = "POST"
    request._read_started = False
    request._stream = io.BufferedReader(OneWayStream(b"x" * 100))
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10), pytest.raises(RequestDataTooBig):
        read_body(request)
