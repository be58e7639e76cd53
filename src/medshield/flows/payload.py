"""Step 4 of the flow table: the first bytes of each flow direction.

Payload-carrying packets of flows that still collect go to the per-direction reassembly
(``reassembly.TcpPrefix``) or to the datagram list, one run at a time: a run is the packets
of one (flow, direction) in capture order (UDP: of one flow). Runs whose segments continue
their prefix exactly in order are checked and taken with numpy; the rest go segment by
segment. A run stops as soon as its direction has what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medshield.core.settings import FlowSettings
from medshield.flows.headers import Headers
from medshield.flows.lifecycle import SYN
from medshield.flows.ordered import I64, OrderedPackets, Segments
from medshield.flows.reassembly import TcpPrefix
from medshield.flows.state import FlowState

FIRST_PASS = 64
"""Payload packets per run prepared at once; an 8 KiB prefix of full-size segments needs
six. Runs still collecting after them get the rest."""


def collect_payload(
    headers: Headers,
    ordered: OrderedPackets,
    segments: Segments,
    segment_of: I64,
    collecting: npt.NDArray[np.bool_],
    settings: FlowSettings,
) -> None:
    """Step 4. A run is the packets of one (flow, direction) in capture order (UDP: of one
    flow). Only the first ``FIRST_PASS`` packets of each run are prepared at first: most
    directions fill their prefix sooner. Runs still collecting get the rest afterwards."""
    side = ordered.side
    wanted = collecting[segment_of, side]
    if not wanted.any():
        return
    order = ordered.grouping.order
    caplen = headers.payload_caplen[order]
    carries = (ordered.tcp & ((caplen > 0) | ((ordered.flags & SYN) != 0))) | ordered.udp
    chosen = np.flatnonzero(wanted & carries)
    if not len(chosen):
        return
    run_side = np.where(ordered.tcp[chosen], side[chosen], 0).astype(np.int64)
    rank = _rank_in_run(segment_of[chosen], run_side)
    early = rank < FIRST_PASS
    feed = _RunFeeder(headers, ordered, segments, segment_of, caplen, settings)
    feed(chosen[early], run_side[early])
    late = chosen[~early]
    if len(late):
        late_side = run_side[~early]
        late_run = segment_of[late] * 2 + late_side
        runs, which = np.unique(late_run, return_inverse=True)
        still = [segments.flows[run >> 1].side_collecting(run & 1) for run in runs.tolist()]
        keep = np.asarray(still, dtype=np.bool_)[which]
        feed(late[keep], late_side[keep])


def _rank_in_run(segment: I64, run_side: I64) -> I64:
    """Position of each packet within its run, without sorting: ``segment`` is ascending
    (packets come in grouping order), so a run's rank is a running count of its side
    within the segment."""
    count = len(segment)
    new_segment = np.ones(count, dtype=np.bool_)
    new_segment[1:] = segment[1:] != segment[:-1]
    block = np.cumsum(new_segment) - 1
    block_start = np.flatnonzero(new_segment)
    ones = np.cumsum(run_side)
    zeros = np.arange(1, count + 1) - ones
    ones_before = (ones - run_side)[block_start][block]
    zeros_before = (zeros - (1 - run_side))[block_start][block]
    rank: I64 = np.where(run_side == 1, ones - 1 - ones_before, zeros - 1 - zeros_before)
    return rank


class _RunFeeder:
    """Prepares chosen payload packets as Python lists and feeds them run by run."""

    def __init__(
        self,
        headers: Headers,
        ordered: OrderedPackets,
        segments: Segments,
        segment_of: I64,
        caplen: I64,
        settings: FlowSettings,
    ) -> None:
        self.headers = headers
        self.ordered = ordered
        self.flows = segments.flows
        self.segment_of = segment_of
        self.caplen = caplen
        self.max_datagrams = settings.max_datagrams

    def __call__(self, chosen: I64, run_side: I64) -> None:
        if not len(chosen):
            return
        run_key = self.segment_of[chosen] * 2 + run_side
        by_run = np.argsort(run_key, kind="stable")
        chosen, run_key = chosen[by_run], run_key[by_run]
        run_starts = np.flatnonzero(np.r_[True, run_key[1:] != run_key[:-1]])
        run_ends = np.append(run_starts[1:], len(chosen))
        in_order = self._in_order_runs(chosen, run_starts, run_ends)
        if in_order.any():
            slow = ~np.repeat(in_order, run_ends - run_starts)
            chosen, run_key = chosen[slow], run_key[slow]
            if not len(chosen):
                return
            run_starts = np.flatnonzero(np.r_[True, run_key[1:] != run_key[:-1]])
            run_ends = np.append(run_starts[1:], len(chosen))
        headers, ordered = self.headers, self.ordered
        packets = ordered.grouping.order[chosen]
        runs = _PayloadRuns(
            segment=self.segment_of[chosen].tolist(),
            side=ordered.side[chosen].tolist(),
            seq=headers.seq[packets].tolist(),
            flags=ordered.flags[chosen].tolist(),
            start=headers.payload_start[packets].tolist(),
            length=self.caplen[chosen].tolist(),
            ts=ordered.ts[chosen].tolist(),
        )
        bounds = zip(run_starts.tolist(), run_ends.tolist(), strict=True)
        _feed_runs(runs, bounds, self.flows, headers.batch.buffer.data, self.max_datagrams)

    def _in_order_runs(self, chosen: I64, run_starts: I64, run_ends: I64) -> npt.NDArray[np.bool_]:
        """Take the TCP runs whose segments extend their prefix exactly in order, with numpy;
        return which runs were taken. Anything irregular (a hole, an overlap, a SYN after
        the first segment, segments already waiting) is left to ``TcpPrefix.add``."""
        ordered, headers = self.ordered, self.headers
        tcp_runs = ordered.tcp[chosen[run_starts]]
        if not tcp_runs.any():
            return np.zeros(len(run_starts), dtype=np.bool_)
        first_segment = self.segment_of[chosen[run_starts]].tolist()
        first_side = ordered.side[chosen[run_starts]].tolist()
        state = _RunState.of(self.flows, first_segment, first_side, tcp_runs.tolist())
        lengths = run_ends - run_starts
        run_of = np.repeat(np.arange(len(run_starts)), lengths)
        packets = ordered.grouping.order[chosen]
        flags = ordered.flags[chosen]
        syn = ((flags & SYN) != 0).astype(np.int64)
        seq = (headers.seq[packets].astype(np.int64) + syn) & 0xFFFFFFFF
        size = self.caplen[chosen]
        late_syns = np.add.reduceat(syn, run_starts) - syn[run_starts]
        base = np.where(state.base_known, state.base, seq[run_starts])
        relative = (seq - base[run_of]) & 0xFFFFFFFF
        before = np.cumsum(size) - size
        expected = state.have[run_of] + before - before[run_starts][run_of]
        misplaced = np.add.reduceat(
            ((size > 0) & (relative != expected)).astype(np.int64), run_starts
        )
        taken: npt.NDArray[np.bool_] = (
            tcp_runs
            & state.clean
            & (misplaced == 0)
            & (late_syns == 0)
            & ~(state.base_known & (np.add.reduceat(syn, run_starts) > 0))
        )
        if not taken.any():
            return taken
        self._append(chosen, run_starts, run_of, taken, state, base, expected, size)
        return taken

    def _append(
        self,
        chosen: I64,
        run_starts: I64,
        run_of: I64,
        taken: npt.NDArray[np.bool_],
        state: _RunState,
        base: I64,
        expected: I64,
        size: I64,
    ) -> None:
        """Hand each taken run its bytes (slices of the batch buffer, joined once per run)."""
        packet_taken = taken[run_of]
        keep = np.where(packet_taken, np.clip(state.limit[run_of] - expected, 0, size), 0)
        seen = state.have + np.add.reduceat(np.where(packet_taken, size, 0), run_starts)
        position = np.arange(len(chosen))
        first_kept = np.minimum.reduceat(np.where(keep > 0, position, len(chosen)), run_starts)
        first_ts = self.ordered.ts[chosen][np.minimum(first_kept, len(chosen) - 1)]
        kept = keep > 0
        slices = np.add.reduceat(kept.astype(np.int64), run_starts)
        starts = self.headers.payload_start[self.ordered.grouping.order[chosen[kept]]].tolist()
        ends = (np.asarray(starts, dtype=np.int64) + keep[kept]).tolist()
        buffer = self.headers.batch.buffer.data
        runs = np.flatnonzero(taken)
        done = 0
        for run, count, run_base, run_seen, run_ts in zip(
            runs.tolist(),
            slices[runs].tolist(),
            base[runs].tolist(),
            seen[runs].tolist(),
            first_ts[runs].tolist(),
            strict=True,
        ):
            pieces = [
                buffer[a:b]
                for a, b in zip(starts[done : done + count], ends[done : done + count], strict=True)
            ]
            done += count
            stream = state.streams[run]
            if stream is None:  # a taken run is always TCP; this only narrows the type
                continue
            stream.take_in_order(run_base, b"".join(pieces), run_seen, run_ts if count else None)


@dataclass(frozen=True, slots=True)
class _RunState:
    """The prefix state at the start of each run, as arrays (UDP runs: placeholders)."""

    streams: list[TcpPrefix | None]
    base_known: npt.NDArray[np.bool_]
    base: I64
    have: I64
    limit: I64
    clean: npt.NDArray[np.bool_]

    @classmethod
    def of(
        cls, flows: list[FlowState], segments: list[int], sides: list[int], tcp: list[bool]
    ) -> _RunState:
        streams: list[TcpPrefix | None] = []
        known, bases, haves, limits, clean = [], [], [], [], []
        for segment, side, is_tcp in zip(segments, sides, tcp, strict=True):
            prefixes = flows[segment].prefixes
            stream = prefixes[side] if is_tcp and prefixes is not None else None
            streams.append(stream)
            if stream is None:
                known.append(False)
                bases.append(0)
                haves.append(0)
                limits.append(0)
                clean.append(False)
                continue
            known.append(stream.base is not None)
            bases.append(stream.base or 0)
            haves.append(len(stream.data))
            limits.append(stream.limit)
            clean.append(stream.can_take_in_order())
        return cls(
            streams=streams,
            base_known=np.asarray(known, dtype=np.bool_),
            base=np.asarray(bases, dtype=np.int64),
            have=np.asarray(haves, dtype=np.int64),
            limit=np.asarray(limits, dtype=np.int64),
            clean=np.asarray(clean, dtype=np.bool_),
        )


@dataclass(frozen=True, slots=True)
class _PayloadRuns:
    segment: list[int]
    side: list[int]
    seq: list[int]
    flags: list[int]
    start: list[int]
    length: list[int]
    ts: list[float]


def _feed_runs(
    runs: _PayloadRuns,
    bounds: zip[tuple[int, int]],
    flows: list[FlowState],
    buffer: memoryview,
    max_datagrams: int,
) -> None:
    """Hand payload packets to reassembly, one (flow, direction) run at a time; a run stops
    as soon as its direction has what it needs."""
    for first, stop in bounds:
        flow = flows[runs.segment[first]]
        if flow.prefixes is not None:
            prefix = flow.prefixes[runs.side[first]]
            for i in range(first, stop):
                start = runs.start[i]
                prefix.add(
                    runs.seq[i], runs.flags[i], buffer[start : start + runs.length[i]], runs.ts[i]
                )
                if not prefix.collecting:
                    break
        elif flow.datagrams is not None:
            datagrams = flow.datagrams
            for i in range(first, stop):
                start = runs.start[i]
                payload = bytes(buffer[start : start + runs.length[i]])
                datagrams.append((runs.side[i], runs.ts[i], payload))
                if len(datagrams) >= max_datagrams:
                    flow.collecting = False
                    break
