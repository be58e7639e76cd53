"""The mutable state of one flow while it is in the table, and its export.

Counters are kept per *side* (0 for the key's endpoint ``a``, 1 for ``b``); which side is the
client is decided as packets arrive and applied only at export.
"""

from __future__ import annotations

import math

from medshield.core.enums import Direction
from medshield.core.flow import Datagram, DirectionStats, Endpoint, FlowEnd, FlowPayload, FlowRecord
from medshield.flows.addresses import ip_text, mac_text
from medshield.flows.keys import FlowKey, unpack_key_fields
from medshield.flows.reassembly import TcpPrefix

PROTO_TCP = 6
PROTO_UDP = 17


class TextCache:
    """Text forms of addresses and endpoints already made, per table: servers recur in many
    flows, and building frozen records is the costliest part of an export."""

    __slots__ = ("endpoints",)

    def __init__(self) -> None:
        self.endpoints: dict[tuple[int, int, int, int], Endpoint] = {}

    def endpoint(self, high: int, low: int, port: int, mac: int) -> Endpoint:
        key = (high, low, port, mac)
        found = self.endpoints.get(key)
        if found is None:
            found = self.endpoints[key] = Endpoint(ip_text(high, low), port, mac_text(mac))
        return found

    def bound(self, limit: int = 200_000) -> None:
        """Keep the cache bounded on very long runs."""
        if len(self.endpoints) > limit:
            self.endpoints.clear()


class FlowState:
    """One flow in the table (see module docstring)."""

    __slots__ = (
        "bytes",
        "client",
        "client_by_syn",
        "close_reason",
        "closed_at",
        "collecting",
        "datagrams",
        "fin",
        "first_order",
        "first_seen",
        "flags",
        "flow_id",
        "iat_count",
        "iat_max",
        "iat_min",
        "iat_sum",
        "iat_sumsq",
        "key",
        "last_seen",
        "last_ts",
        "mac_known",
        "macs",
        "packets",
        "payload",
        "prefixes",
        "proto",
        "source",
        "vlan",
    )

    def __init__(
        self, key: FlowKey, first_ts: float, source: str, first_order: tuple[int, int]
    ) -> None:
        self.key = key
        vlan, proto, _a_port, _b_port = unpack_key_fields(key[4])
        self.vlan = vlan
        self.proto = proto
        self.source = source
        self.flow_id = 0
        self.first_order = first_order
        """(batch number, packet index): orders new flows for their ids."""
        self.first_seen = first_ts
        self.last_seen = first_ts
        self.last_ts = first_ts
        """Timestamp of the latest packet in capture order (for inter-arrival times)."""
        self.client = -1
        self.client_by_syn = False
        self.macs = [0, 0]
        self.mac_known = [False, False]
        """True once the side's MAC was seen as a source, not only as a destination."""
        self.packets = [0, 0]
        self.bytes = [0, 0]
        self.payload = [0, 0]
        self.flags = [0, 0]
        self.iat_count = 0
        self.iat_sum = 0.0
        self.iat_sumsq = 0.0
        self.iat_min = math.inf
        self.iat_max = 0.0
        self.fin = [False, False]
        self.closed_at: float | None = None
        self.close_reason = FlowEnd.EOF
        self.prefixes: tuple[TcpPrefix, TcpPrefix] | None = None
        self.datagrams: list[tuple[int, float, bytes]] | None = None
        self.collecting = proto in (PROTO_TCP, PROTO_UDP)

    def start_collecting(self, prefix_bytes: int, max_datagrams: int) -> None:
        """Prepare payload collection for a TCP or UDP flow."""
        if self.proto == PROTO_TCP:
            self.prefixes = (TcpPrefix(prefix_bytes), TcpPrefix(prefix_bytes))
            self.collecting = prefix_bytes > 0
        elif self.proto == PROTO_UDP:
            self.datagrams = []
            self.collecting = max_datagrams > 0

    def side_collecting(self, side: int) -> bool:
        """Does a payload packet sent by ``side`` still matter?"""
        if self.prefixes is not None:
            return self.prefixes[side].collecting
        return self.collecting

    def export(self, reason: FlowEnd, texts: TextCache | None = None) -> FlowPayload:
        """The flow record and payload prefixes handed to dissectors."""
        # Positional arguments throughout: thousands of flows per batch go through here.
        texts = texts or TextCache()
        client = self.client if self.client >= 0 else 0
        server = 1 - client
        count = self.iat_count
        record = FlowRecord(
            self.flow_id,
            self.proto,
            self._endpoint(client, texts),
            self._endpoint(server, texts),
            self.first_seen,
            self.last_seen,
            self._stats(client),
            self._stats(server),
            self.iat_min if count else 0.0,
            self.iat_sum / count if count else 0.0,
            self.iat_max,
            self._iat_std(),
            self.vlan if self.vlan >= 0 else None,
            reason,
            self.source,
        )
        if self.prefixes is not None:
            ours, theirs = self.prefixes[client], self.prefixes[server]
            return FlowPayload(
                record,
                bytes(ours.data),
                bytes(theirs.data),
                ours.truncated,
                theirs.truncated,
                ours.gap,
                theirs.gap,
                ours.first_ts,
                theirs.first_ts,
            )
        forward, backward = Direction.CLIENT_TO_SERVER, Direction.SERVER_TO_CLIENT
        datagrams = tuple(
            [
                Datagram(forward if side == client else backward, ts, payload)
                for side, ts, payload in self.datagrams or ()
            ]
        )
        return FlowPayload(record, datagrams=datagrams)

    def _endpoint(self, side: int, texts: TextCache) -> Endpoint:
        key = self.key
        if side == 0:
            return texts.endpoint(key[0], key[1], (key[4] >> 16) & 0xFFFF, self.macs[0])
        return texts.endpoint(key[2], key[3], key[4] & 0xFFFF, self.macs[1])

    def _stats(self, side: int) -> DirectionStats:
        return DirectionStats(
            self.packets[side], self.bytes[side], self.payload[side], self.flags[side]
        )

    def _iat_std(self) -> float:
        """Population standard deviation of the inter-arrival times."""
        if self.iat_count < 2:
            return 0.0
        mean = self.iat_sum / self.iat_count
        return math.sqrt(max(self.iat_sumsq / self.iat_count - mean * mean, 0.0))
