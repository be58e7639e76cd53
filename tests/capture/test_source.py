"""Byte sources: plain files and streamed gzip (RFC 1952)."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest

from medshield.capture.source import FileSource, GzipSource, SourceError

DATA = bytes(range(256)) * 400


def drain(source: FileSource | GzipSource, size: int = 1000) -> bytes:
    out = bytearray()
    buffer = bytearray(size)
    while got := source.readinto(memoryview(buffer)):
        out += buffer[:got]
    return bytes(out)


def test_file_source_reads_everything() -> None:
    assert drain(FileSource(io.BytesIO(DATA))) == DATA


def test_gzip_source_decompresses_in_bounded_steps() -> None:
    source = GzipSource(io.BytesIO(gzip.compress(DATA)))
    buffer = bytearray(100)
    assert source.readinto(memoryview(buffer)) == 100
    assert bytes(buffer) == DATA[:100]
    assert drain(source) == DATA[100:]


def test_gzip_source_ignores_trailing_garbage() -> None:
    source = GzipSource(io.BytesIO(gzip.compress(DATA) + b"trailing junk"))
    assert drain(source) == DATA


def test_gzip_source_reports_truncation() -> None:
    compressed = gzip.compress(DATA)
    source = GzipSource(io.BytesIO(compressed[:-20]))
    with pytest.raises(SourceError, match="truncated"):
        drain(source)


def test_gzip_source_reports_corruption_not_zlib_error() -> None:
    raw = zlib.compress(DATA)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    broken = header + b"\xff\xff\xff" + raw[10:]
    with pytest.raises(SourceError, match="corrupt"):
        drain(GzipSource(io.BytesIO(broken)))
