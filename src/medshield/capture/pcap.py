"""Classic libpcap files (draft-ietf-opsawg-pcap §4 file header, §5 packet record).

Both byte orders and both timestamp resolutions (magic 0xA1B2C3D4 for microseconds,
0xA1B23C4D for nanoseconds) are read.
"""

from __future__ import annotations

import struct

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from medshield.capture.records import (
    LIBPCAP_MAX_SNAPLEN,
    MAX_RECORD_BYTES,
    CaptureReader,
    Corruption,
    Frames,
    Int64Array,
    WalkResult,
)

FILE_HEADER_BYTES = 24
RECORD_HEADER_BYTES = 16
PATCHED_RECORD_HEADER_BYTES = 24
"""Alexey Kuznetzov's patched libpcap (shipped in Red Hat 6.1) appends ifindex, protocol and
packet type to each record header while keeping the standard magic; Wireshark's libpcap
reader tells the variants apart by which one yields sane record headers."""
_PROBE_RECORDS = 3

MAGICS: dict[bytes, tuple[str, float]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
"""§4: magic number → byte order and timestamp fraction unit."""

_LINKTYPE_MASK = 0x0FFFFFFF
"""§4: the upper 4 bits of LinkType carry FCS information, not the link type."""


def is_pcap(magic: bytes) -> bool:
    """True when ``magic`` (the first 4 bytes) starts a classic pcap file."""
    return magic[:4] in MAGICS


class PcapReader(CaptureReader):
    """A classic pcap file."""

    format_name = "pcap"

    def _start(self) -> None:
        if self._filled < FILE_HEADER_BYTES:
            self._reject(0, "file ends inside the pcap file header")
        header = bytes(self._view[:FILE_HEADER_BYTES])
        self._order, self._fraction = MAGICS[header[:4]]
        major, _minor, _zone, _sigfigs, snaplen, network = struct.unpack(
            self._order + "HHiIII", header[4:]
        )
        if major != 2:
            self._reject(4, f"unsupported pcap version {major}")
        self.linktype = network & _LINKTYPE_MASK
        self.snaplen = snaplen
        self._max_caplen = min(max(snaplen, LIBPCAP_MAX_SNAPLEN), MAX_RECORD_BYTES)
        self._caplen_at = struct.Struct(self._order + "8xI").unpack_from
        self._words = np.dtype(self._order + "u4")
        self._pos = FILE_HEADER_BYTES
        self._record_header = RECORD_HEADER_BYTES
        if not self._plausible(RECORD_HEADER_BYTES) and self._plausible(
            PATCHED_RECORD_HEADER_BYTES
        ):
            self._record_header = PATCHED_RECORD_HEADER_BYTES

    def _plausible(self, header_bytes: int) -> bool:
        """Do the first records chain sensibly with ``header_bytes``-byte record headers?"""
        lengths = struct.Struct(self._order + "II")
        pos, end = FILE_HEADER_BYTES, self._filled
        for _ in range(_PROBE_RECORDS):
            if pos == end:
                return True
            if pos + header_bytes > end:
                return False
            caplen, wirelen = lengths.unpack_from(self._view, pos + 8)
            if caplen > self._max_caplen or wirelen < caplen or wirelen > MAX_RECORD_BYTES:
                return False
            pos += header_bytes + caplen
            if pos > end:
                return False
        return True

    def _walk(self, view: memoryview, pos: int, end: int, starts: list[int]) -> WalkResult:
        """§5: each record is a 16-byte header (24 when patched) then ``caplen`` bytes.

        The hottest loop of the reader: one unpack per record. Impossible lengths are
        checked here only when a record does not fit (a huge length always ends up there);
        ``_build`` checks the others with numpy.
        """
        caplen_at = self._caplen_at
        header_bytes = self._record_header
        append = starts.append
        try:
            for _ in range(self._limit - len(starts)):
                # A header that does not fit always fails this test too: lengths are >= 0.
                following = pos + header_bytes + caplen_at(view, pos)[0]
                if following > end:
                    return self._not_fitting(pos, end, following)
                append(pos)
                pos = following
        except struct.error:
            pass  # the header runs past the buffer: wait for more data
        return WalkResult(pos)

    def _not_fitting(self, pos: int, end: int, following: int) -> WalkResult:
        """A record that does not fit: corrupt when its length is impossible, else wait for
        more data (bytes past ``end`` are not data yet, so a cut header proves nothing)."""
        if pos + self._record_header <= end:
            caplen = following - pos - self._record_header
            if caplen > self._max_caplen:
                return WalkResult(pos, error=self._impossible(caplen))
        return WalkResult(pos)

    def _impossible(self, caplen: int) -> str:
        return f"impossible captured length {caplen} (snaplen {self.snaplen})"

    def _build(self, starts: Int64Array) -> tuple[list[Frames], Corruption | None]:
        rows = sliding_window_view(self._buffer, RECORD_HEADER_BYTES)[starts]
        headers = rows.view(self._words)
        caplen = headers[:, 2]
        corruption = None
        impossible = caplen > self._max_caplen
        if impossible.any():
            cut = int(np.argmax(impossible))
            offset = self._file_offset(int(starts[cut]))
            corruption = Corruption(offset, self._impossible(int(caplen[cut])))
            starts, headers = starts[:cut], headers[:cut]
        seconds = headers[:, 0].astype(np.float64)
        fraction = headers[:, 1].astype(np.float64)
        frames = Frames(
            linktype=self.linktype,
            frame_start=starts + self._record_header,
            caplen=headers[:, 2].astype(np.uint32),
            wirelen=headers[:, 3].astype(np.uint32),
            ts=seconds + fraction * self._fraction,
        )
        return ([frames] if len(starts) else []), corruption
