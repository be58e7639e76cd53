"""Capture totals for the assessment: packets, bytes, first and last timestamp, files."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from medshield.core.packets import PacketBatch


@dataclass(slots=True)
class CaptureSummary:
    """Totals over every batch fed (bytes in original wire length)."""

    packets: int = 0
    bytes: int = 0
    start: float | None = None
    end: float | None = None
    files: list[str] = field(default_factory=list)

    def feed(self, batch: PacketBatch) -> None:
        """Add a batch."""
        if batch.source not in self.files:
            self.files.append(batch.source)
        if not len(batch):
            return
        self.packets += len(batch)
        self.bytes += int(batch.wirelen.sum(dtype=np.uint64))
        first, last = float(batch.ts.min()), float(batch.ts.max())
        self.start = first if self.start is None else min(self.start, first)
        self.end = last if self.end is None else max(self.end, last)

    @property
    def duration(self) -> float:
        """Seconds between the first and the last packet (0 without packets)."""
        if self.start is None or self.end is None:
            return 0.0
        return self.end - self.start
