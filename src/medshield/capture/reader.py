"""Open a capture file of any supported format: the one entry point of the capture edge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from medshield.capture import records
from medshield.capture.pcap import PcapReader, is_pcap
from medshield.capture.pcapng import PcapngReader, is_pcapng
from medshield.capture.records import CaptureReader
from medshield.capture.source import ByteSource, SourceError, open_source
from medshield.core.errors import CaptureError

__all__ = ["CaptureReader", "open_capture"]


def open_capture(path: Path, batch_packets: int = 65536) -> CaptureReader:
    """Open ``path`` (pcap or pcapng, plain or gzip-compressed) for reading in batches.

    The format is recognised by its magic bytes, never by the file name. Raises
    :class:`CaptureError` when the file cannot be opened, is empty, is not a capture, or
    breaks before its first packet; later damage becomes a problem on the reader.
    """
    name = str(path)
    try:
        source = open_source(Path(path))
    except OSError as error:
        raise CaptureError(name, f"cannot open: {error.strerror or error}") from error
    buffer = np.empty(records.BUFFER_BYTES, dtype=np.uint8)
    filled = _first_read(name, source, buffer)
    magic = buffer[:4].tobytes()
    reader_class: type[CaptureReader]
    if is_pcap(magic):
        reader_class = PcapReader
    elif is_pcapng(magic):
        reader_class = PcapngReader
    else:
        source.close()
        kind = "compressed data" if source.compressed else "file"
        raise CaptureError(name, f"{kind} is not a pcap or pcapng capture (starts {magic.hex()})")
    return reader_class(name, source, buffer, filled, batch_packets)


def _first_read(name: str, source: ByteSource, buffer: npt.NDArray[np.uint8]) -> int:
    """Fill the start of ``buffer``; an empty or unreadable file is no capture."""
    try:
        filled = source.readinto(buffer.data[: records.READ_BYTES])
    except SourceError as error:
        source.close()
        raise CaptureError(name, str(error)) from error
    if filled == 0:
        source.close()
        raise CaptureError(name, "empty file")
    return filled
