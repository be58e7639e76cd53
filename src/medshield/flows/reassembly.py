"""In-order reassembly of the first bytes of one TCP direction (RFC 9293 §3.4, §3.10.7.4).

Only a prefix is kept (``limit`` bytes). Segments are placed by their sequence number
relative to the initial sequence number: the SYN's ISN + 1 when the SYN was seen, else the
sequence number of the first data segment. Retransmissions and overlaps keep the bytes
that arrived first; segments after a hole wait until the hole is filled. The stream stops
collecting once the prefix is full and data beyond it was seen, or after a hole has stayed
open for ``HOLE_PATIENCE`` segments.
"""

from __future__ import annotations

SEQ_MODULO = 1 << 32
HALF_SEQ_SPACE = 1 << 31
SYN = 0x02
HOLE_PATIENCE = 64
"""Segments to wait for a missing one before giving up on the rest of the prefix."""


class TcpPrefix:
    """The reassembled first bytes of one direction of a TCP connection."""

    __slots__ = ("base", "collecting", "data", "first_ts", "furthest", "limit", "pending", "waited")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.base: int | None = None
        self.data = bytearray()
        self.pending: dict[int, bytes] = {}
        """Segments after a hole, by relative sequence number."""
        self.furthest = 0
        """End (relative) of the furthest payload byte seen."""
        self.first_ts: float | None = None
        self.collecting = limit > 0
        self.waited = 0

    @property
    def truncated(self) -> bool:
        """More payload followed than the prefix holds."""
        return self.furthest > len(self.data)

    @property
    def gap(self) -> bool:
        """A missing segment cut the prefix short of its limit."""
        return len(self.data) < self.limit and self.furthest > len(self.data)

    def add(self, seq: int, flags: int, payload: memoryview, ts: float) -> None:
        """Take one segment: its sequence number, TCP flags, payload and timestamp."""
        if flags & SYN:
            if not self.data and not self.pending:
                self.base = (seq + 1) % SEQ_MODULO
            seq += 1
        if not payload:
            return
        if self.base is None:
            self.base = seq
        relative = (seq - self.base) % SEQ_MODULO
        have = len(self.data)
        end = relative + len(payload)
        if relative == have and end < self.limit and not self.pending:
            # The common case, a segment right after the prefix so far.
            if not have:
                self.first_ts = ts
            self.data += payload
            self.furthest = max(self.furthest, end)
            return
        if relative >= HALF_SEQ_SPACE:
            relative -= SEQ_MODULO
            end = relative + len(payload)
        if end <= 0:
            return
        if relative < 0:
            payload, relative = payload[-relative:], 0
        self.furthest = max(self.furthest, end)
        if relative < self.limit:
            self._place(relative, payload[: self.limit - relative], ts)
        self._settle()

    def can_take_in_order(self) -> bool:
        """True when the next bytes can only extend the prefix (no waiting segments)."""
        return self.collecting and not self.pending

    def take_in_order(self, base: int, payload: bytes, seen: int, first_ts: float | None) -> None:
        """Append bytes already checked to continue the prefix in order (the vectorised path).

        ``base`` is the stream's relative zero, ``seen`` the relative end of the furthest byte
        of the segments taken, ``first_ts`` the time of byte 0 when it is among them.
        """
        self.base = base
        if payload:
            if not self.data:
                self.first_ts = first_ts
            self.data += payload
        self.furthest = max(self.furthest, seen)
        self._settle()

    def _place(self, relative: int, payload: memoryview, ts: float) -> None:
        have = len(self.data)
        if relative > have:
            known = self.pending.get(relative)
            if known is None or len(known) < len(payload):
                self.pending[relative] = bytes(payload)
            return
        if relative + len(payload) <= have:
            return
        if have == 0:
            self.first_ts = ts
        self.data += payload[have - relative :]
        if self.pending:
            self._drain()

    def _drain(self) -> None:
        """Append waiting segments that the contiguous prefix now reaches."""
        for relative in sorted(self.pending):
            have = len(self.data)
            if relative > have:
                return
            segment = self.pending.pop(relative)
            if relative + len(segment) > have:
                self.data += segment[have - relative :]

    def _settle(self) -> None:
        if len(self.data) >= self.limit:
            self.collecting = self.furthest <= self.limit
            return
        if self.furthest > len(self.data):
            self.waited += 1
            self.collecting = self.waited <= HOLE_PATIENCE
