"""Packet batches: the unit the capture edge hands to the flow table.

A batch is a struct of arrays (one numpy array per field) over consecutive packets of one
source, so that header fields can be parsed for thousands of packets with one numpy call
instead of one Python object per packet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt


class LinkType(IntEnum):
    """pcap LINKTYPE_* values MedShield decodes (tcpdump.org link-layer header types)."""

    NULL = 0
    ETHERNET = 1
    RAW = 101
    LINUX_SLL = 113
    LOOP = 108
    IPV4 = 228
    IPV6 = 229
    LINUX_SLL2 = 276


@dataclass(frozen=True, slots=True)
class PacketBatch:
    """Raw frames of consecutive packets of one capture, as arrays.

    ``buffer`` holds the captured bytes; frame ``i`` is
    ``buffer[frame_start[i] : frame_start[i] + caplen[i]]``.
    """

    source: str
    linktype: int
    buffer: npt.NDArray[np.uint8]
    frame_start: npt.NDArray[np.int64]
    caplen: npt.NDArray[np.uint32]
    wirelen: npt.NDArray[np.uint32]
    ts: npt.NDArray[np.float64]
    first_index: int
    """Index of this batch's first packet within its source (0-based)."""

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def frame(self, i: int) -> bytes:
        """The captured bytes of packet ``i`` of the batch (slow path, for tests and rare cases)."""
        start = int(self.frame_start[i])
        return self.buffer[start : start + int(self.caplen[i])].tobytes()
