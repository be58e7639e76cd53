"""Classic pcap output (tcpdump.org pcap file format, LINKTYPE_ETHERNET, microseconds)."""

from __future__ import annotations

import struct
from typing import BinaryIO

from medshield.core.packets import LinkType

PCAP_MAGIC = 0xA1B2C3D4
SNAPLEN = 65535
_GLOBAL_HEADER = struct.Struct("<IHHiIII")
RECORD_HEADER = struct.Struct("<IIII")
"""Per-packet record header: seconds, microseconds, captured length, original length."""


def global_header(linktype: int = LinkType.ETHERNET, snaplen: int = SNAPLEN) -> bytes:
    """The 24-byte file header: magic, version 2.4, UTC, snap length, link type."""
    return _GLOBAL_HEADER.pack(PCAP_MAGIC, 2, 4, 0, 0, snaplen, int(linktype))


class PcapWriter:
    """Writes frames with integer-microsecond timestamps to an open binary stream."""

    __slots__ = ("_pack", "_write", "packets")

    def __init__(self, stream: BinaryIO) -> None:
        self._write = stream.write
        self._pack = RECORD_HEADER.pack
        self._write(global_header())
        self.packets = 0

    def write(self, ts_us: int, frame: bytes) -> None:
        """Append one packet record (the frame is never truncated: it is below the snap length)."""
        length = len(frame)
        self._write(self._pack(ts_us // 1_000_000, ts_us % 1_000_000, length, length))
        self._write(frame)
        self.packets += 1
