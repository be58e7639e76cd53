"""The streaming machinery shared by the pcap and pcapng readers.

A reader owns one large numpy buffer at a time. It reads the capture into it in chunks, walks
the record (or block) headers sequentially to find where each packet starts (the only
per-packet Python code), and hands the packets out as :class:`PacketBatch` views over that
buffer: frames are never copied. Batches already handed out keep their buffer alive, so when
the buffer is full the unread tail is moved to a fresh buffer instead of being overwritten.

Subclasses provide ``_walk`` (the tight record-header loop) and ``_build`` (numpy gathers of
the record headers into batch arrays).
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import NamedTuple, NoReturn

import numpy as np
import numpy.typing as npt

from medshield.capture.problems import CaptureProblem
from medshield.capture.source import ByteSource, SourceError
from medshield.core.errors import CaptureError
from medshield.core.packets import LinkType, PacketBatch

READ_BYTES = 16 << 20
"""Bytes asked of the source per read."""
BUFFER_BYTES = 64 << 20
"""Size of one reading buffer; batches of one buffer share it."""
POOL_BUFFERS = 3
"""Reading buffers kept for reuse: first-touch page faults on fresh buffers cost more CPU
than the reads themselves."""
MIN_ROOM = 1 << 20
"""Below this much free space, start a fresh buffer rather than read a sliver."""
MAX_RECORD_BYTES = 16 << 20
"""No link layer MedShield reads has frames near this size: a longer record is corruption."""
LIBPCAP_MAX_SNAPLEN = 262144
"""libpcap's MAXIMUM_SNAPLEN: larger captured lengths than this and the snaplen are corrupt."""

_UNREFERENCED = 3
"""References to a free pooled buffer: the pool list, the loop variable, the call argument."""

SUPPORTED_LINKTYPES = frozenset(int(linktype) for linktype in LinkType)

Int64Array = npt.NDArray[np.int64]
UInt32Array = npt.NDArray[np.uint32]
Float64Array = npt.NDArray[np.float64]


class Corruption(NamedTuple):
    """Where the readable part of a capture ends and why."""

    offset: int
    reason: str


class WalkResult(NamedTuple):
    """What a header walk stopped on: more data needed, a flush request, or corruption."""

    position: int
    flush: bool = False
    error: str | None = None


class Frames(NamedTuple):
    """Packet arrays of one link type, before they become a batch."""

    linktype: int
    frame_start: Int64Array
    caplen: UInt32Array
    wirelen: UInt32Array
    ts: Float64Array


class CaptureReader:
    """An open capture: iterate it once for its packet batches.

    ``problems`` collects what went wrong after the first good record (truncation, corrupt
    records, unsupported link types); ``packets`` and ``bytes`` count every record read
    (``bytes`` in original wire length), ``skipped_packets`` those of unsupported link types.
    """

    format_name = "capture"

    def __init__(
        self,
        path: str,
        source: ByteSource,
        buffer: npt.NDArray[np.uint8],
        filled: int,
        batch_packets: int,
    ) -> None:
        self.path = path
        self.compressed = source.compressed
        self.problems: list[CaptureProblem] = []
        self.packets = 0
        self.bytes = 0
        self.skipped_packets = 0
        self._source = source
        self._limit = max(1, batch_packets)
        self._buffer = buffer
        self._view = buffer.data
        self._pool = [buffer]
        self._filled = filled
        self._pos = 0
        self._base = 0
        """File offset (in decompressed bytes) of ``_buffer[0]``."""
        self._eof = filled == 0
        self._read_error: str | None = None
        self._reported_linktypes: set[int] = set()
        self._start()
        self._batches = self._generate()
        self._prefetched = self._prefetch()

    # -- to be provided by a format ---------------------------------------------------------

    def _start(self) -> None:
        """Parse the file header and set ``_pos`` to the first record."""
        raise NotImplementedError

    def _walk(self, view: memoryview, pos: int, end: int, starts: list[int]) -> WalkResult:
        """Append the offsets of complete packet records in ``view[pos:end]`` to ``starts``."""
        raise NotImplementedError

    def _build(self, starts: Int64Array) -> tuple[list[Frames], Corruption | None]:
        """Packet arrays of the records at ``starts``; a corruption cuts them short."""
        raise NotImplementedError

    # -- public -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[PacketBatch]:
        if self._prefetched is not None:
            first, self._prefetched = self._prefetched, None
            yield first
            del first  # let its buffer return to the pool
        yield from self._batches

    def close(self) -> None:
        """Stop reading and release the file."""
        self._batches.close()
        self._source.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers for formats ----------------------------------------------------------------

    def _reject(self, offset: int, reason: str) -> NoReturn:
        """Give up on the whole file."""
        self._source.close()
        raise CaptureError(self.path, reason, offset)

    def _fail(self, offset: int, reason: str) -> None:
        """Record a problem, or reject the file when nothing readable came before it."""
        if self.packets == 0:
            self._reject(offset, reason)
        self.problems.append(CaptureProblem(self.path, offset, reason))

    def _file_offset(self, pos: int) -> int:
        return self._base + pos

    # -- the loop ---------------------------------------------------------------------------

    def _prefetch(self) -> PacketBatch | None:
        """Read up to the first batch now, so a broken first record fails at open time."""
        try:
            return next(self._batches)
        except StopIteration:
            return None

    def _generate(self) -> Generator[PacketBatch, None, None]:
        try:
            yield from self._read_all()
        finally:
            self._source.close()

    def _read_all(self) -> Iterator[PacketBatch]:
        while True:
            if not self._eof and len(self._buffer) - self._filled < MIN_ROOM:
                self._rebuffer()
            starts: list[int] = []
            result = self._collect(starts)
            corruption = None
            if result.error is not None:
                corruption = Corruption(self._file_offset(result.position), result.error)
            if starts:
                frames, cut = self._build(np.asarray(starts, dtype=np.int64))
                yield from self._batches_of(frames)
                corruption = cut or corruption
            if corruption is not None:
                self._fail(corruption.offset, corruption.reason)
                return
            if self._eof and not result.flush:
                self._finish()
                return

    def _collect(self, starts: list[int]) -> WalkResult:
        """Walk and read until a batch is full, the buffer is full, or the data ends."""
        while True:
            result = self._walk(self._view, self._pos, self._filled, starts)
            self._pos = result.position
            if result.flush or result.error is not None:
                return result
            if len(starts) >= self._limit or self._eof or not self._read_more():
                return result

    def _read_more(self) -> bool:
        """Read the next chunk; False when the buffer has no room left."""
        room = len(self._buffer) - self._filled
        if room == 0:
            return False
        want = min(room, READ_BYTES)
        try:
            got = self._source.readinto(self._view[self._filled : self._filled + want])
        except SourceError as error:
            self._read_error = str(error)
            got = 0
        if got == 0:
            self._eof = True
        self._filled += got
        return True

    def _rebuffer(self) -> None:
        """Move the unread tail to a fresh buffer (batches handed out keep the old one)."""
        rest = self._filled - self._pos
        if self._pos == 0 and rest == len(self._buffer):
            # Unreachable while records are capped below the buffer size; guards a livelock.
            self._read_error = "record larger than the reading buffer"
            self._eof = True
            return
        fresh = self._free_buffer()
        fresh[:rest] = self._buffer[self._pos : self._filled]
        self._base += self._pos
        self._buffer = fresh
        self._view = fresh.data
        self._pos = 0
        self._filled = rest

    def _free_buffer(self) -> npt.NDArray[np.uint8]:
        """A pooled buffer that no batch (nor anything derived from one) still references, or
        a new one.

        CPython reference counts tell: a pooled buffer held only by the pool, this loop and
        getrefcount's own argument is free. A batch, a view or a memoryview of it adds one.
        """
        for candidate in self._pool:
            if sys.getrefcount(candidate) <= _UNREFERENCED:
                return candidate
        fresh = np.empty(BUFFER_BYTES, dtype=np.uint8)
        if len(self._pool) < POOL_BUFFERS:
            self._pool.append(fresh)
        return fresh

    def _finish(self) -> None:
        """At the end of data: report a read error or a record cut short."""
        leftover = self._filled - self._pos
        if self._read_error is not None:
            self._fail(self._file_offset(self._pos), self._read_error)
        elif leftover:
            self._fail(
                self._file_offset(self._pos),
                f"capture ends in the middle of a record ({leftover} bytes of it present)",
            )

    def _batches_of(self, frames: list[Frames]) -> Iterator[PacketBatch]:
        for part in frames:
            first_index = self.packets
            count = len(part.ts)
            self.packets += count
            self.bytes += int(part.wirelen.sum(dtype=np.uint64))
            if part.linktype not in SUPPORTED_LINKTYPES:
                self.skipped_packets += count
                self._report_linktype(part.linktype, part.frame_start)
                continue
            yield PacketBatch(
                source=self.path,
                linktype=part.linktype,
                buffer=self._buffer,
                frame_start=part.frame_start,
                caplen=part.caplen,
                wirelen=part.wirelen,
                ts=part.ts,
                first_index=first_index,
            )

    def _report_linktype(self, linktype: int, frame_start: Int64Array) -> None:
        """One problem per unsupported link type and file; its packets are skipped."""
        if linktype in self._reported_linktypes:
            return
        self._reported_linktypes.add(linktype)
        offset = self._file_offset(int(frame_start[0]))
        message = f"link type {linktype} is not supported; its packets are skipped"
        self.problems.append(CaptureProblem(self.path, offset, message))
