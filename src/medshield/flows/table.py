"""The flow table: batches of packets in, finished bidirectional flows out.

Per batch, the work is vectorised wherever it does not depend on order:

1. headers are decoded and packets grouped by flow key (``keys.group_flows``);
2. a Python loop over the batch's *distinct keys* cuts each group into flow segments
   (``lifecycle``: TCP close, timeouts);
3. counters, flags, first/last timestamps and inter-arrival statistics of every segment are
   aggregated with ``bincount`` and ``ufunc.reduceat``, then added to the flow states in a
   loop over segments;
4. payload-carrying packets of flows that still collect their first bytes go to the
   per-direction reassembly or the datagram list (``payload``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medshield.core.flow import FlowEnd, FlowPayload
from medshield.core.packets import PacketBatch
from medshield.core.settings import FlowSettings
from medshield.flows.headers import Headers, decode
from medshield.flows.keys import FlowKey, group_flows, unpack_key_fields
from medshield.flows.lifecycle import ACK, CLOSE_LINGER, LIFECYCLE_FLAGS, SYN, Splitter
from medshield.flows.ordered import F64, I64, OrderedPackets, Segments
from medshield.flows.payload import collect_payload
from medshield.flows.state import FlowState, TextCache


@dataclass(slots=True)
class FlowCounters:
    """What the table saw, for the capture summary and for diagnosing odd captures."""

    packets: int = 0
    flow_packets: int = 0
    not_ip: int = 0
    later_fragments: int = 0
    """Non-first IP fragments: no ports, so not attributed to a flow."""
    malformed: int = 0


class FlowTable:
    """Bidirectional flows with timeouts, TCP lifecycle and first-bytes reassembly.

    ``feed`` returns the flows that the batch completed; ``flush`` returns the rest at the end
    of input. Flow ids increase in order of each flow's first packet.
    """

    def __init__(self, settings: FlowSettings | None = None) -> None:
        self.settings = settings or FlowSettings()
        self.counters = FlowCounters()
        self._flows: dict[FlowKey, FlowState] = {}
        self._next_id = 1
        self._batch_number = 0
        self._texts = TextCache()

    def __len__(self) -> int:
        """Flows currently in the table."""
        return len(self._flows)

    def feed(self, batch: PacketBatch, headers: Headers | None = None) -> list[FlowPayload]:
        """Add a batch (``headers`` if already decoded); return the flows it completed."""
        if headers is None:
            headers = decode(batch)
        eligible = headers.is_ip & ~headers.later_fragment
        self._count(headers, eligible)
        segments = Segments()
        if eligible.any():
            ordered = OrderedPackets.of(headers, group_flows(headers, eligible))
            self._segment(ordered, segments, batch.source)
            self._number(segments.created)
            segment_of, collecting = self._aggregate(headers, ordered, segments)
            collect_payload(headers, ordered, segments, segment_of, collecting, self.settings)
        if len(batch):
            self._sweep(float(batch.ts[-1]), segments.finished)
        self._batch_number += 1
        self._texts.bound()
        return _export(segments.finished, self._texts)

    def flush(self) -> list[FlowPayload]:
        """End of input: every flow left, closed ones with their close reason, others EOF."""
        left = [
            (flow, flow.close_reason if flow.closed_at is not None else FlowEnd.EOF)
            for flow in self._flows.values()
        ]
        self._flows.clear()
        return _export(left, self._texts)

    # -- bookkeeping ------------------------------------------------------------------------

    def _count(self, headers: Headers, eligible: npt.NDArray[np.bool_]) -> None:
        counters = self.counters
        counters.packets += len(headers)
        counters.flow_packets += int(np.count_nonzero(eligible))
        counters.not_ip += int(np.count_nonzero(~headers.is_ip))
        counters.later_fragments += int(np.count_nonzero(headers.later_fragment))
        counters.malformed += headers.malformed

    def _number(self, created: list[FlowState]) -> None:
        created.sort(key=lambda flow: flow.first_order)
        for flow in created:
            flow.flow_id = self._next_id
            self._next_id += 1

    def _new_flow(
        self,
        key: FlowKey,
        position: int,
        ts: float,
        ordered: OrderedPackets,
        segments: Segments,
        source: str,
    ) -> FlowState:
        flow = FlowState(
            key, ts, source, (self._batch_number, int(ordered.grouping.order[position]))
        )
        flow.start_collecting(self.settings.prefix_bytes, self.settings.max_datagrams)
        self._flows[key] = flow
        segments.starts.append(position)
        segments.flows.append(flow)
        segments.created.append(flow)
        return flow

    # -- step 2: cutting groups into flows --------------------------------------------------

    def _segment(self, ordered: OrderedPackets, segments: Segments, source: str) -> None:
        settings = self.settings
        grouping = ordered.grouping
        ts = ordered.ts
        starts, ends = grouping.group_start, grouping.group_end
        gap = np.zeros(len(ts), dtype=np.bool_)
        gap[1:] = np.diff(ts) > settings.idle_timeout
        gap[starts] = False
        points = np.flatnonzero(gap | ((ordered.flags & LIFECYCLE_FLAGS) != 0))
        first_point = np.searchsorted(points, starts).tolist()
        last_point = np.searchsorted(points, ends).tolist()
        group_first = ts[starts].tolist()
        group_max = np.maximum.reduceat(ts, starts).tolist()
        opener_flags = ordered.flags[starts].tolist()
        opener_side = ordered.side[starts].tolist()

        def start_flow(key: FlowKey, position: int, ts: float) -> FlowState:
            return self._new_flow(key, position, ts, ordered, segments, source)

        splitter = Splitter(start_flow, ordered, segments, points, gap, settings)
        flows = self._flows
        idle, active = settings.idle_timeout, settings.active_timeout
        for g, (key, start, end) in enumerate(
            zip(grouping.keys, starts.tolist(), ends.tolist(), strict=True)
        ):
            flow = flows.get(key)
            if first_point[g] == last_point[g]:
                if flow is None and group_max[g] - group_first[g] < active:
                    self._new_flow(key, start, group_first[g], ordered, segments, source)
                    continue
                if (
                    flow is not None
                    and flow.closed_at is None
                    and group_first[g] - flow.last_seen <= idle
                    and group_max[g] - flow.first_seen < active
                ):
                    segments.starts.append(start)
                    segments.flows.append(flow)
                    continue
            opener = (group_first[g], int(opener_flags[g]), int(opener_side[g]))
            splitter.split(
                key, flow, start, end, first_point[g], last_point[g], group_max[g], opener
            )

    # -- step 3: statistics -----------------------------------------------------------------

    def _aggregate(
        self, headers: Headers, ordered: OrderedPackets, segments: Segments
    ) -> tuple[I64, npt.NDArray[np.bool_]]:
        """Add each segment's counters to its flow; return each packet's segment and which
        (segment, side) still collect payload."""
        order = ordered.grouping.order
        ts, side, flags = ordered.ts, ordered.side, ordered.flags
        count = len(ts)
        starts = np.asarray(segments.starts, dtype=np.int64)
        lengths = np.diff(np.append(starts, count))
        segment_of = np.repeat(np.arange(len(starts)), lengths)
        slot = segment_of * 2 + side
        slots = 2 * len(starts)
        packets = np.bincount(slot, minlength=slots).reshape(-1, 2)
        wire = headers.batch.wirelen[order].astype(np.float64)
        octets = np.bincount(slot, weights=wire, minlength=slots).reshape(-1, 2).astype(np.int64)
        payload = headers.payload_len[order].astype(np.float64)
        payloads = np.bincount(slot, weights=payload, minlength=slots).reshape(-1, 2)
        payloads = payloads.astype(np.int64)
        flags_a = np.bitwise_or.reduceat(np.where(side == 0, flags, 0), starts).tolist()
        flags_b = np.bitwise_or.reduceat(np.where(side == 1, flags, 0), starts).tolist()
        times = _segment_times(ts, starts, lengths)
        position = np.arange(count)
        first_a = np.minimum.reduceat(np.where(side == 0, position, count), starts)
        first_b = np.minimum.reduceat(np.where(side == 1, position, count), starts)
        syn_only = (flags & (SYN | ACK)) == SYN
        first_syn = np.minimum.reduceat(np.where(syn_only, position, count), starts)
        src_mac = headers.src_mac[order]
        last = max(count - 1, 0)
        mac_a = np.where(first_a < count, src_mac[np.minimum(first_a, last)], 0).tolist()
        mac_b = np.where(first_b < count, src_mac[np.minimum(first_b, last)], 0).tolist()
        opener_side = side[starts].tolist()
        opener_dst = headers.dst_mac[order][starts].tolist()
        syn_side = np.where(
            first_syn < count, side[np.minimum(first_syn, last)].astype(np.int64), -1
        ).tolist()
        collecting = np.zeros((len(starts), 2), dtype=np.bool_)
        counts = zip(
            packets[:, 0].tolist(),
            packets[:, 1].tolist(),
            octets[:, 0].tolist(),
            octets[:, 1].tolist(),
            payloads[:, 0].tolist(),
            payloads[:, 1].tolist(),
            strict=True,
        )
        for k, (
            flow,
            (packets_a, packets_b, octets_a, octets_b, payload_a, payload_b),
        ) in enumerate(zip(segments.flows, counts, strict=True)):
            _add_times(flow, times, k)
            flow.packets[0] += packets_a
            flow.packets[1] += packets_b
            flow.bytes[0] += octets_a
            flow.bytes[1] += octets_b
            flow.payload[0] += payload_a
            flow.payload[1] += payload_b
            flow.flags[0] |= flags_a[k]
            flow.flags[1] |= flags_b[k]
            _learn_macs(flow, mac_a[k], mac_b[k], opener_side[k], opener_dst[k])
            _choose_client(flow, syn_side[k], opener_side[k])
            if flow.collecting or flow.prefixes is not None:
                collecting[k, 0] = flow.side_collecting(0)
                collecting[k, 1] = flow.side_collecting(1)
        return segment_of, collecting

    # -- step 4: payload --------------------------------------------------------------------

    # -- expiry -----------------------------------------------------------------------------

    def _sweep(self, now: float, finished: list[tuple[FlowState, FlowEnd]]) -> None:
        """Export flows that timed out, or closed more than ``CLOSE_LINGER`` ago, by ``now``."""
        idle, active = self.settings.idle_timeout, self.settings.active_timeout
        expired: list[FlowKey] = []
        for key, flow in self._flows.items():
            if flow.closed_at is not None:
                if now - flow.closed_at <= CLOSE_LINGER and now - flow.last_seen <= idle:
                    continue
                reason = flow.close_reason
            elif now - flow.last_seen > idle:
                reason = FlowEnd.IDLE
            elif now - flow.first_seen >= active:
                reason = FlowEnd.ACTIVE
            else:
                continue
            expired.append(key)
            finished.append((flow, reason))
        for key in expired:
            del self._flows[key]


@dataclass(frozen=True, slots=True)
class _Times:
    first: list[float]
    last: list[float]
    earliest: list[float]
    latest: list[float]
    iat_count: list[int]
    iat_sum: list[float]
    iat_sumsq: list[float]
    iat_min: list[float]
    iat_max: list[float]


def _segment_times(ts: F64, starts: I64, lengths: I64) -> _Times:
    """Per-segment timestamps and inter-arrival statistics (capture order within a segment;
    a timestamp that goes backwards counts as a zero gap)."""
    gaps = np.empty(len(ts), dtype=np.float64)
    gaps[0] = np.nan
    gaps[1:] = np.maximum(np.diff(ts), 0.0)
    gaps[starts] = np.nan
    zeroed = np.where(np.isnan(gaps), 0.0, gaps)
    return _Times(
        first=ts[starts].tolist(),
        last=ts[starts + lengths - 1].tolist(),
        earliest=np.minimum.reduceat(ts, starts).tolist(),
        latest=np.maximum.reduceat(ts, starts).tolist(),
        iat_count=(lengths - 1).tolist(),
        iat_sum=np.add.reduceat(zeroed, starts).tolist(),
        iat_sumsq=np.add.reduceat(zeroed * zeroed, starts).tolist(),
        iat_min=np.fmin.reduceat(gaps, starts).tolist(),
        iat_max=np.fmax.reduceat(gaps, starts).tolist(),
    )


def _add_times(flow: FlowState, times: _Times, k: int) -> None:
    if flow.packets[0] or flow.packets[1]:
        _add_gap(flow, max(times.first[k] - flow.last_ts, 0.0))
    count = times.iat_count[k]
    if count:
        flow.iat_count += count
        flow.iat_sum += times.iat_sum[k]
        flow.iat_sumsq += times.iat_sumsq[k]
        flow.iat_min = min(flow.iat_min, times.iat_min[k])
        flow.iat_max = max(flow.iat_max, times.iat_max[k])
    flow.first_seen = min(flow.first_seen, times.earliest[k])
    flow.last_seen = max(flow.last_seen, times.latest[k])
    flow.last_ts = times.last[k]


def _add_gap(flow: FlowState, gap: float) -> None:
    flow.iat_count += 1
    flow.iat_sum += gap
    flow.iat_sumsq += gap * gap
    flow.iat_min = min(flow.iat_min, gap)
    flow.iat_max = max(flow.iat_max, gap)


def _learn_macs(flow: FlowState, mac_a: int, mac_b: int, opener_side: int, opener_dst: int) -> None:
    """A side's MAC is the source MAC of its packets; until it sends, the destination MAC of
    the other side's packets stands in."""
    for side, mac in ((0, mac_a), (1, mac_b)):
        if mac and not flow.mac_known[side]:
            flow.macs[side] = mac
            flow.mac_known[side] = True
    receiver = 1 - opener_side
    if not flow.mac_known[receiver] and not flow.macs[receiver]:
        flow.macs[receiver] = opener_dst


def _choose_client(flow: FlowState, syn_side: int, opener_side: int) -> None:
    """Client: sender of the first SYN without ACK; else the side with the higher
    (ephemeral) port; else the sender of the first packet."""
    if syn_side >= 0 and not flow.client_by_syn:
        flow.client = syn_side
        flow.client_by_syn = True
        return
    if flow.client >= 0:
        return
    _vlan, _proto, a_port, b_port = unpack_key_fields(flow.key[4])
    if a_port != b_port:
        flow.client = 0 if a_port > b_port else 1
    else:
        flow.client = opener_side


def _export(finished: list[tuple[FlowState, FlowEnd]], texts: TextCache) -> list[FlowPayload]:
    finished.sort(key=lambda item: item[0].flow_id)
    return [flow.export(reason, texts) for flow, reason in finished]
