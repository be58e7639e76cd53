"""pcapng files (draft-ietf-opsawg-pcapng): sections, interfaces and packet blocks.

Read: Section Header Blocks of either byte order (§4.1), Interface Description Blocks with
their link type, snaplen, ``if_tsresol`` and ``if_tsoffset`` (§4.2), Enhanced Packet Blocks
(§4.3), Simple Packet Blocks (§4.4) and the obsolete Packet Block (Appendix A). Every other
block type is skipped by its length, as §3.1 asks of readers.
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from medshield.capture.records import (
    LIBPCAP_MAX_SNAPLEN,
    MAX_RECORD_BYTES,
    CaptureReader,
    Corruption,
    Frames,
    Int64Array,
    WalkResult,
)

SECTION_HEADER = 0x0A0D0D0A
"""§4.1 block type; a palindrome, so it reads the same in both byte orders."""
INTERFACE_DESCRIPTION = 0x00000001
OBSOLETE_PACKET = 0x00000002
SIMPLE_PACKET = 0x00000003
ENHANCED_PACKET = 0x00000006
PACKET_BLOCKS = frozenset({ENHANCED_PACKET, SIMPLE_PACKET, OBSOLETE_PACKET})

SECTION_MAGIC = SECTION_HEADER.to_bytes(4, "big")
_BYTE_ORDER_MAGIC = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
"""§4.1: 0x1A2B3C4D written in the writer's byte order."""
_SECTION_MIN_BYTES = 28
_INTERFACE_MIN_BYTES = 20
_OPTION_TSRESOL = 9
_OPTION_TSOFFSET = 14
_DEFAULT_TICKS = 10**6
"""§4.2: without if_tsresol, timestamps count microseconds."""
_MAX_TICKS = 10**18

_BLOCK_FIELDS = np.arange(28, dtype=np.int64)
"""EPB/OPB: type, length, interface, ts high, ts low, captured length, original length."""
_TRAILER_FIELDS = np.arange(4, dtype=np.int64)


def is_pcapng(magic: bytes) -> bool:
    """True when ``magic`` (the first 4 bytes) is a Section Header Block type."""
    return magic[:4] == SECTION_MAGIC


def ticks_per_second(tsresol: int) -> int:
    """§4.2 if_tsresol: MSB clear → 10^-v seconds, set → 2^-v; out-of-range → microseconds."""
    ticks = 2 ** (tsresol & 0x7F) if tsresol & 0x80 else 10**tsresol
    return ticks if 0 < ticks <= _MAX_TICKS else _DEFAULT_TICKS


class PcapngReader(CaptureReader):
    """A pcapng file, possibly of several sections and interfaces of several link types."""

    format_name = "pcapng"

    def _start(self) -> None:
        self._set_byte_order("<")
        self._linktypes: list[int] = []
        self._snaplens: list[int] = []
        self._ticks: list[int] = []
        self._offsets: list[int] = []
        self._last_ts = 0.0
        self._pos = 0

    def _set_byte_order(self, order: str) -> None:
        self._order = order
        self._header_at = struct.Struct(order + "II").unpack_from
        self._words = np.dtype(order + "u4")

    def _walk(self, view: memoryview, pos: int, end: int, starts: list[int]) -> WalkResult:
        """§3.1: every block starts with its type and total length, a multiple of 4."""
        header_at = self._header_at
        append = starts.append
        room = self._limit - len(starts)
        last_header = end - 12
        while pos <= last_header and room:
            block_type, length = header_at(view, pos)
            if block_type == SECTION_HEADER:
                if starts:
                    return WalkResult(pos, flush=True)
                section = self._section(view, pos, end)
                if section.error is not None or section.position == pos:
                    return section
                pos = section.position
                header_at = self._header_at
                continue
            if length < 12 or length & 3 or length > MAX_RECORD_BYTES:
                return WalkResult(pos, error=f"invalid block length {length}")
            following = pos + length
            if following > end:
                break
            if block_type in PACKET_BLOCKS:
                append(pos)
                room -= 1
            elif block_type == INTERFACE_DESCRIPTION:
                error = self._interface(view, pos, length)
                if error is not None:
                    return WalkResult(pos, error=error)
            pos = following
        return WalkResult(pos)

    def _section(self, view: memoryview, pos: int, end: int) -> WalkResult:
        """§4.1: a new section sets the byte order and forgets earlier interfaces."""
        if end - pos < _SECTION_MIN_BYTES:
            return WalkResult(pos)
        order = _BYTE_ORDER_MAGIC.get(bytes(view[pos + 8 : pos + 12]))
        if order is None:
            return WalkResult(pos, error="section header with an unknown byte-order magic")
        length, major = struct.unpack_from(order + "I4xH", view, pos + 4)
        if length < _SECTION_MIN_BYTES or length & 3 or length > MAX_RECORD_BYTES:
            return WalkResult(pos, error=f"invalid section header length {length}")
        if major != 1:
            return WalkResult(pos, error=f"unsupported pcapng major version {major}")
        if pos + length > end:
            return WalkResult(pos)
        self._set_byte_order(order)
        for table in (self._linktypes, self._snaplens, self._ticks, self._offsets):
            table.clear()
        return WalkResult(pos + length)

    def _interface(self, view: memoryview, pos: int, length: int) -> str | None:
        """§4.2: link type, snaplen and the options that shape timestamps."""
        if length < _INTERFACE_MIN_BYTES:
            return f"interface description block too short ({length} bytes)"
        linktype, _reserved, snaplen = struct.unpack_from(self._order + "HHI", view, pos + 8)
        ticks, offset = _DEFAULT_TICKS, 0
        option = pos + 16
        options_end = pos + length - 4
        while option + 4 <= options_end:
            code, size = struct.unpack_from(self._order + "HH", view, option)
            value = option + 4
            if code == 0 or value + size > options_end:
                break
            if code == _OPTION_TSRESOL and size >= 1:
                ticks = ticks_per_second(view[value])
            elif code == _OPTION_TSOFFSET and size >= 8:
                offset = struct.unpack_from(self._order + "q", view, value)[0]
            option = value + ((size + 3) & ~3)
        self._linktypes.append(linktype)
        self._snaplens.append(snaplen)
        self._ticks.append(ticks)
        self._offsets.append(offset)
        return None

    def _build(self, starts: Int64Array) -> tuple[list[Frames], Corruption | None]:
        last = len(self._buffer) - 1
        words = self._buffer[np.minimum(starts[:, None] + _BLOCK_FIELDS, last)].view(self._words)
        block_type = words[:, 0]
        length = words[:, 1].astype(np.int64)
        simple = block_type == SIMPLE_PACKET
        interface = self._interface_ids(words, block_type, simple)
        caplen, wirelen = self._lengths(words, length, simple)
        cut = self._first_corrupt(starts, length, simple, interface, caplen)
        corruption = None
        if cut is not None:
            index, reason = cut
            corruption = Corruption(self._file_offset(int(starts[index])), reason)
            starts, words, interface, simple = (
                starts[:index],
                words[:index],
                interface[:index],
                simple[:index],
            )
            caplen, wirelen = caplen[:index], wirelen[:index]
        if len(starts) == 0:
            return [], corruption
        ts = self._timestamps(words, interface, simple)
        frame_start = starts + np.where(simple, 12, 28)
        linktypes = np.asarray(self._linktypes, dtype=np.int64)[interface]
        return self._split_by_linktype(linktypes, frame_start, caplen, wirelen, ts), corruption

    def _interface_ids(
        self,
        words: npt.NDArray[np.uint32],
        block_type: npt.NDArray[np.uint32],
        simple: npt.NDArray[np.bool_],
    ) -> Int64Array:
        """EPB: a 32-bit interface id; OPB: a 16-bit one (Appendix A); SPB: interface 0."""
        interface = words[:, 2].astype(np.int64)
        obsolete = block_type == OBSOLETE_PACKET
        if obsolete.any():
            narrow = interface & 0xFFFF if self._order == "<" else interface >> 16
            interface = np.where(obsolete, narrow, interface)
        interface[simple] = 0
        return interface

    def _lengths(
        self, words: npt.NDArray[np.uint32], length: Int64Array, simple: npt.NDArray[np.bool_]
    ) -> tuple[Int64Array, Int64Array]:
        """Captured and original lengths; §4.4: an SPB's captured length is implied."""
        caplen = words[:, 5].astype(np.int64)
        wirelen = words[:, 6].astype(np.int64)
        if simple.any():
            original = words[:, 2].astype(np.int64)
            implied = np.minimum(original, length - 16)
            if self._snaplens and self._snaplens[0]:
                implied = np.minimum(implied, self._snaplens[0])
            caplen = np.where(simple, implied, caplen)
            wirelen = np.where(simple, original, wirelen)
        return caplen, wirelen

    def _first_corrupt(
        self,
        starts: Int64Array,
        length: Int64Array,
        simple: npt.NDArray[np.bool_],
        interface: Int64Array,
        caplen: Int64Array,
    ) -> tuple[int, str] | None:
        """The first packet block that breaks the format, with the reason."""
        count = len(self._linktypes)
        unknown_interface = interface >= count
        overlong = caplen > length - np.where(simple, 16, 32)
        trailer_at = starts + length - 4
        trailer = self._buffer[trailer_at[:, None] + _TRAILER_FIELDS].view(self._words)[:, 0]
        bad_trailer = trailer != length
        if count:
            snaplen = np.asarray(self._snaplens, dtype=np.int64)[np.minimum(interface, count - 1)]
            over_snaplen = (snaplen > 0) & (caplen > snaplen) & (caplen > LIBPCAP_MAX_SNAPLEN)
        else:
            over_snaplen = np.zeros(len(starts), dtype=np.bool_)
        checks = (
            (unknown_interface, "packet block names an interface that was not described"),
            (overlong, "captured length exceeds the block"),
            (bad_trailer, "block trailer length does not match its header"),
            (over_snaplen, "captured length exceeds the interface snaplen"),
        )
        first: tuple[int, str] | None = None
        for bad, reason in checks:
            if bad.any():
                index = int(np.argmax(bad))
                if first is None or index < first[0]:
                    first = (index, reason)
        return first

    def _timestamps(
        self, words: npt.NDArray[np.uint32], interface: Int64Array, simple: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        """§4.3: a 64-bit tick count in the interface's resolution, plus its offset.

        SPBs carry no timestamp (§4.4); they take the previous packet's.
        """
        ticks_table = np.asarray(self._ticks, dtype=np.uint64)
        offset_table = np.asarray(self._offsets, dtype=np.float64)
        raw = (words[:, 3].astype(np.uint64) << np.uint64(32)) | words[:, 4].astype(np.uint64)
        ticks = ticks_table[interface]
        whole = raw // ticks
        fraction = (raw - whole * ticks).astype(np.float64) / ticks.astype(np.float64)
        ts = whole.astype(np.float64) + fraction + offset_table[interface]
        if simple.any():
            known = np.where(simple, -1, np.arange(len(ts)))
            previous = np.maximum.accumulate(known)
            ts = np.where(previous >= 0, ts[np.maximum(previous, 0)], self._last_ts)
        self._last_ts = float(ts[-1])
        return ts

    @staticmethod
    def _split_by_linktype(
        linktypes: Int64Array,
        frame_start: Int64Array,
        caplen: Int64Array,
        wirelen: Int64Array,
        ts: npt.NDArray[np.float64],
    ) -> list[Frames]:
        """One group per link type, in order of first appearance.

        Packets of different interfaces interleave arbitrarily; grouping within one read
        keeps batches large, at the cost of order between link types inside that read.
        """
        first_type = int(linktypes[0])
        if bool((linktypes == first_type).all()):
            return [
                Frames(
                    first_type, frame_start, caplen.astype(np.uint32), wirelen.astype(np.uint32), ts
                )
            ]
        kinds, first_seen = np.unique(linktypes, return_index=True)
        frames = []
        for kind in kinds[np.argsort(first_seen)]:
            chosen = linktypes == kind
            frames.append(
                Frames(
                    int(kind),
                    frame_start[chosen],
                    caplen[chosen].astype(np.uint32),
                    wirelen[chosen].astype(np.uint32),
                    ts[chosen],
                )
            )
        return frames
