"""Byte sources under a capture reader: a plain file or a gzip stream (RFC 1952).

A source fills caller-owned buffers (``readinto``) so that the reader never holds the whole
file. Anything that goes wrong underneath (OS errors, corrupt or truncated compressed data)
surfaces as :class:`SourceError`, which the reader turns into a problem or a CaptureError.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import BinaryIO, Protocol

GZIP_MAGIC = b"\x1f\x8b"
"""RFC 1952 §2.3.1: ID1 ID2. Detected by content, never by file name."""

_COMPRESSED_READ = 1 << 20
_GZIP_WBITS = 16 + zlib.MAX_WBITS
"""zlib window bits that accept a gzip header and trailer."""


class SourceError(Exception):
    """The bytes under a capture could not be read (I/O error, corrupt compression)."""


class ByteSource(Protocol):
    """What a capture reader reads from."""

    compressed: bool

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` as far as possible; 0 means end of data."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...


class FileSource:
    """An uncompressed capture file."""

    compressed = False

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._failure: SourceError | None = None

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` from the file, looping over short reads; a read error after some
        bytes is reported on the next call."""
        if self._failure is not None:
            raise self._failure
        filled = 0
        try:
            while filled < len(view):
                got = self._file.readinto(view[filled:])  # type: ignore[attr-defined]
                if not got:
                    break
                filled += got
        except OSError as error:
            failure = SourceError(f"read error: {error.strerror or error}")
            if not filled:
                raise failure from error
            self._failure = failure
        return filled

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class GzipSource:
    """A gzip-compressed capture, decompressed as it is read (RFC 1952, members concatenated).

    Output is produced at most ``len(view)`` bytes at a time (zlib ``max_length``), so a
    highly compressible file cannot make one read explode in memory.
    """

    compressed = True

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._carry = b""
        """Compressed bytes already read that belong to the next member."""
        self._pending = b""
        self._pending_at = 0
        self._failure: SourceError | None = None

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` with decompressed bytes.

        An error after some bytes were produced is held back until the next call, so that
        the bytes before a truncation or corruption are still read.
        """
        if self._failure is not None:
            raise self._failure
        filled = 0
        while filled < len(view):
            if self._pending_at >= len(self._pending):
                try:
                    self._pending = self._inflate(len(view) - filled)
                except SourceError as error:
                    if not filled:
                        raise
                    self._failure = error
                    break
                self._pending_at = 0
                if not self._pending:
                    break
            take = min(len(view) - filled, len(self._pending) - self._pending_at)
            view[filled : filled + take] = self._pending[self._pending_at : self._pending_at + take]
            self._pending_at += take
            filled += take
        return filled

    def _inflate(self, want: int) -> bytes:
        """The next decompressed bytes (at most ``want``), b"" after the last member."""
        while True:
            if self._inflater.eof and not self._next_member():
                return b""
            data = self._inflater.unconsumed_tail or self._read_compressed()
            if not data:
                raise SourceError("compressed data ends early (truncated gzip stream)")
            try:
                out = self._inflater.decompress(data, want)
            except zlib.error as error:
                raise SourceError(f"corrupt gzip data ({error})") from error
            if out:
                return out

    def _next_member(self) -> bool:
        """Start the next gzip member (RFC 1952 §2.2); False when none follows.

        Bytes after the last member that are not a gzip header are ignored, as gzip(1) does.
        """
        data = self._inflater.unused_data or self._read_compressed()
        if not data.startswith(GZIP_MAGIC):
            return False
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._carry = data
        return True

    def _read_compressed(self) -> bytes:
        if self._carry:
            data, self._carry = self._carry, b""
            return data
        try:
            return self._file.read(_COMPRESSED_READ)
        except OSError as error:
            raise SourceError(f"read error: {error.strerror or error}") from error

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def open_source(path: Path) -> ByteSource:
    """Open ``path`` as a byte source, decompressing when it starts with the gzip magic.

    Raises OSError when the file cannot be opened (the caller names the file).
    """
    file = open(path, "rb")  # noqa: SIM115 - the source owns and closes it
    try:
        magic = file.peek(2)[:2]
    except OSError:
        file.close()
        raise
    if magic == GZIP_MAGIC:
        return GzipSource(file)
    return FileSource(file)
