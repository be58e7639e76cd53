"""The I/O edge: capture files (pcap, pcapng, gzip-compressed or not) read as packet batches."""

from medshield.capture.problems import CaptureProblem
from medshield.capture.reader import CaptureReader, open_capture

__all__ = ["CaptureProblem", "CaptureReader", "open_capture"]
