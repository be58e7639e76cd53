"""Where flows start and end inside a group of packets sharing a key.

A TCP flow closes on RST, or once both sides sent FIN (RFC 9293 §3.6). A closed flow still
takes the packets that trail the close (final ACKs, retransmitted FINs) for
``CLOSE_LINGER`` seconds; a new SYN or a later packet on the same key starts a new flow.
Idle and active timeouts follow NFStream: idle from the last packet, active from the first.

Only the packets that can end or start a flow are looked at one by one: TCP SYN/FIN/RST and
idle gaps (found with numpy beforehand). Active-timeout and close-linger crossings between
them are found with a numpy search.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from medshield.core.flow import FlowEnd
from medshield.core.settings import FlowSettings
from medshield.flows.keys import FlowKey
from medshield.flows.ordered import I64, OrderedPackets, Segments
from medshield.flows.state import FlowState

FIN = 0x01
SYN = 0x02
RST = 0x04
ACK = 0x10
LIFECYCLE_FLAGS = SYN | FIN | RST

CLOSE_LINGER = 5.0
"""Seconds a closed TCP flow keeps absorbing trailing packets (Zeek's tcp_close_delay)."""

FlowStarter = Callable[[FlowKey, int, float], FlowState]
"""Starts a flow for a key at a packet position and timestamp, and records its segment."""


class Splitter:
    """Walks the lifecycle points of one group at a time (step 2 of the module docstring)."""

    def __init__(
        self,
        start_flow: FlowStarter,
        ordered: OrderedPackets,
        segments: Segments,
        points: I64,
        gap: npt.NDArray[np.bool_],
        settings: FlowSettings,
    ) -> None:
        self.start_flow = start_flow
        self.ordered = ordered
        self.segments = segments
        self.ts = ordered.ts
        self.points = points.tolist()
        self.point_ts = ordered.ts[points].tolist()
        self.point_flags = ordered.flags[points].tolist()
        self.point_side = ordered.side[points].tolist()
        self.point_gap = gap[points].tolist()
        self.idle = settings.idle_timeout
        self.active = settings.active_timeout

    def split(
        self,
        key: FlowKey,
        flow: FlowState | None,
        start: int,
        end: int,
        lo: int,
        hi: int,
        group_max: float,
        opener: tuple[float, int, int],
    ) -> None:
        """Cut one group into flows; ``opener`` is (ts, flags, side) of its first packet."""
        if self._single_flow(key, flow, start, lo, hi, group_max, opener):
            return
        ts0, flags0, side0 = opener
        stale = flow is not None and ts0 - flow.last_seen > self.idle
        current = self._enter(key, flow, start, ts0, flags0, stale, opening=True)
        track(current, ts0, flags0, side0)
        previous = start + 1
        for j in range(lo, hi):
            position = self.points[j]
            if position == start:
                continue
            current = self._crossings(key, current, previous, position, group_max)
            ts, flags = self.point_ts[j], self.point_flags[j]
            current = self._enter(
                key, current, position, ts, flags, self.point_gap[j], opening=False
            )
            track(current, ts, flags, self.point_side[j])
            previous = position + 1
        self._crossings(key, current, previous, end, group_max)

    def _single_flow(
        self,
        key: FlowKey,
        flow: FlowState | None,
        start: int,
        lo: int,
        hi: int,
        group_max: float,
        opener: tuple[float, int, int],
    ) -> bool:
        """The common case in one pass: the whole group joins one flow (e.g. SYN … FIN, FIN,
        ACK). Decided on the lifecycle points alone; False leaves the group untouched for
        the exact walk."""
        ts0 = opener[0]
        if flow is not None:
            if flow.closed_at is not None or ts0 - flow.last_seen > self.idle:
                return False
            first_seen = flow.first_seen
            fin_a, fin_b = flow.fin
        else:
            first_seen = ts0
            fin_a = fin_b = False
        if group_max - first_seen >= self.active:
            return False
        closed_at: float | None = None
        reason = FlowEnd.EOF
        point_flags, point_side, point_gap = self.point_flags, self.point_side, self.point_gap
        for j in range(lo, hi):
            flags = point_flags[j]
            if point_gap[j] or (closed_at is not None and flags & (SYN | ACK) == SYN):
                return False
            if flags & RST and closed_at is None:
                closed_at, reason = self.point_ts[j], FlowEnd.RST
            if flags & FIN:
                if point_side[j]:
                    fin_b = True
                else:
                    fin_a = True
                if fin_a and fin_b and closed_at is None:
                    closed_at, reason = self.point_ts[j], FlowEnd.FIN
        if closed_at is not None and group_max > closed_at + CLOSE_LINGER:
            return False
        if flow is None:
            flow = self.start_flow(key, start, ts0)
        else:
            self.segments.starts.append(start)
            self.segments.flows.append(flow)
        flow.fin = [fin_a, fin_b]
        if closed_at is not None:
            flow.closed_at, flow.close_reason = closed_at, reason
        return True

    def _enter(
        self,
        key: FlowKey,
        current: FlowState | None,
        position: int,
        ts: float,
        flags: int,
        gap: bool,
        *,
        opening: bool,
    ) -> FlowState:
        """The flow that the packet at ``position`` belongs to, starting one if needed."""
        if current is not None:
            reason = self._end_before(current, ts, flags, gap)
            if reason is None:
                if opening:
                    self.segments.starts.append(position)
                    self.segments.flows.append(current)
                return current
            self.segments.finished.append((current, reason))
        return self.start_flow(key, position, ts)

    def _end_before(self, flow: FlowState, ts: float, flags: int, gap: bool) -> FlowEnd | None:
        """Why a packet with ``ts`` and ``flags`` cannot join ``flow`` (None if it can)."""
        if flow.closed_at is not None:
            new_syn = flags & (SYN | ACK) == SYN
            if new_syn or gap or ts - flow.closed_at > CLOSE_LINGER:
                return flow.close_reason
            return None
        if gap:
            return FlowEnd.IDLE
        if ts - flow.first_seen >= self.active:
            return FlowEnd.ACTIVE
        return None

    def _crossings(
        self, key: FlowKey, current: FlowState, lo: int, hi: int, group_max: float
    ) -> FlowState:
        """Between lifecycle points only an active timeout or the close linger can end a
        flow; find those crossings with a numpy search."""
        while lo < hi:
            close_limit = (
                math.inf if current.closed_at is None else current.closed_at + CLOSE_LINGER
            )
            active_limit = current.first_seen + self.active
            if group_max <= close_limit and group_max < active_limit:
                return current
            window = self.ts[lo:hi]
            hit = (window > close_limit) | (window >= active_limit)
            if not hit.any():
                return current
            position = lo + int(np.argmax(hit))
            ts = float(self.ts[position])
            reason = current.close_reason if ts > close_limit else FlowEnd.ACTIVE
            self.segments.finished.append((current, reason))
            current = self.start_flow(key, position, ts)
            lo = position + 1
        return current


def _track(flow: FlowState, ts: float, flags: int, side: int) -> None:
    """RFC 9293 §3.6: RST aborts; FIN from both sides closes."""
    if flags & RST and flow.closed_at is None:
        flow.closed_at = ts
        flow.close_reason = FlowEnd.RST
    if flags & FIN:
        flow.fin[side] = True
        if flow.fin[0] and flow.fin[1] and flow.closed_at is None:
            flow.closed_at = ts
            flow.close_reason = FlowEnd.FIN


def track(flow: FlowState, ts: float, flags: int, side: int) -> None:
    """RFC 9293 §3.6: RST aborts; FIN from both sides closes."""
    if flags & RST and flow.closed_at is None:
        flow.closed_at = ts
        flow.close_reason = FlowEnd.RST
    if flags & FIN:
        flow.fin[side] = True
        if flow.fin[0] and flow.fin[1] and flow.closed_at is None:
            flow.closed_at = ts
            flow.close_reason = FlowEnd.FIN
