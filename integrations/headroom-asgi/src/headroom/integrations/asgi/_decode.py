"""Decoding a request's content-encoding under a size cap, so that a decompression bomb stays unread."""

from __future__ import annotations

import importlib
import io
import zlib
from typing import Any

_zstd: Any
try:  # optional extra: headroom-asgi[zstd]
    _zstd = importlib.import_module("zstandard")
except ImportError:  # pragma: no cover - depends on the environment
    _zstd = None

_CHUNK = 64 * 1024


class DecodeError(Exception):
    """The body could not be decoded (corrupt data, or an encoding we do not read)."""


class TooLarge(DecodeError):
    """The decoded body would exceed the cap."""


def supported_encodings() -> frozenset[str]:
    """Content-encodings this installation can decode."""
    names = {"gzip", "x-gzip", "deflate"}
    if _zstd is not None:
        names.add("zstd")
    return frozenset(names)


def decode(data: bytes, encoding: str, cap: int) -> bytes:
    """``data`` decoded from ``encoding`` (one of :func:`supported_encodings`), at most ``cap`` bytes.

    Raises :class:`TooLarge` past the cap and :class:`DecodeError` on corrupt or truncated data.
    """
    if encoding in ("gzip", "x-gzip"):
        return _zlib(data, zlib.MAX_WBITS | 16, cap)
    if encoding == "deflate":
        try:  # RFC 9110 "deflate" is the zlib format; some clients send raw deflate
            return _zlib(data, zlib.MAX_WBITS, cap)
        except TooLarge:
            raise
        except DecodeError:
            return _zlib(data, -zlib.MAX_WBITS, cap)
    if encoding == "zstd" and _zstd is not None:
        return _zstandard(data, cap)
    raise DecodeError(f"unsupported content-encoding {encoding!r}")


def _zlib(data: bytes, wbits: int, cap: int) -> bytes:
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(data, cap + 1)
    except zlib.error as exc:
        raise DecodeError(str(exc)) from exc
    if len(out) > cap or d.unconsumed_tail:
        raise TooLarge(f"decoded body exceeds {cap} bytes")
    if not d.eof or d.unused_data:
        raise DecodeError("truncated or trailing data")
    return out


def _zstandard(data: bytes, cap: int) -> bytes:
    reader: Any = _zstd.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    parts: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = reader.read(min(_CHUNK, cap + 1 - size))
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
            if size > cap:
                raise TooLarge(f"decoded body exceeds {cap} bytes")
    except _zstd.ZstdError as exc:
        raise DecodeError(str(exc)) from exc
    return b"".join(parts)
