"""Host sightings: which (MAC, IP) pairs sent traffic, ARP bindings, and MAC-level peers.

Everything is aggregated per batch with numpy (grouping by key, ``reduceat``), then merged
into small dictionaries in a loop over the batch's distinct keys. The destination MACs each
source MAC sends to let later stages recognise a gateway (one MAC fronting many IPs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from medshield.core.packets import PacketBatch
from medshield.flows.addresses import ip_text, ipv4_text, mac_text
from medshield.flows.headers import Headers, decode
from medshield.flows.keys import group_rows

_K = TypeVar("_K")

ARP_REQUEST = 1
ARP_REPLY = 2
"""RFC 826 ar$op values."""


@dataclass(frozen=True, slots=True)
class HostSighting:
    """A (MAC, IP) pair seen as a sender, with when and how much.

    ``via`` is ``"ip"`` for IP packets sent from that address, ``"arp"`` for ARP messages
    announcing the binding. ``mac`` is None on captures without a link layer (raw IP).
    """

    mac: str | None
    ip: str
    first_seen: float
    last_seen: float
    packets: int
    bytes: int
    via: str


@dataclass(frozen=True, slots=True)
class ArpBinding:
    """An ARP sender binding (RFC 826): sender MAC and IP, per opcode.

    ``gratuitous`` marks announcements where the sender asks or answers for its own address
    (sender IP equals target IP, RFC 5227 §3).
    """

    mac: str
    ip: str
    op: int
    gratuitous: bool
    first_seen: float
    last_seen: float
    packets: int


@dataclass(slots=True)
class _Tally:
    first_seen: float
    last_seen: float
    packets: int
    bytes: int

    def add(self, first: float, last: float, packets: int, octets: int) -> None:
        self.first_seen = min(self.first_seen, first)
        self.last_seen = max(self.last_seen, last)
        self.packets += packets
        self.bytes += octets


class HostTable:
    """Aggregates host sightings over the batches of one or more captures."""

    def __init__(self) -> None:
        self._ip: dict[tuple[int, int, int], _Tally] = {}
        self._arp: dict[tuple[int, int, int, bool], _Tally] = {}
        self._peers: dict[int, dict[int, int]] = {}

    def feed(self, packets: Headers | PacketBatch) -> None:
        """Add a batch (or its decoded headers)."""
        headers = packets if isinstance(packets, Headers) else decode(packets)
        if not len(headers):
            return
        self._feed_ip(headers)
        self._feed_arp(headers)
        self._feed_peers(headers)

    def sightings(self) -> list[HostSighting]:
        """Every (MAC, IP) pair seen, by IP packets and by ARP, ordered by first sighting."""
        found = [
            HostSighting(
                mac_text(mac),
                ip_text(high, low),
                t.first_seen,
                t.last_seen,
                t.packets,
                t.bytes,
                "ip",
            )
            for (mac, high, low), t in self._ip.items()
        ]
        by_pair: dict[tuple[int, int], _Tally] = {}
        for (mac, address, _op, _gratuitous), t in self._arp.items():
            pair = by_pair.get((mac, address))
            if pair is None:
                by_pair[(mac, address)] = _Tally(t.first_seen, t.last_seen, t.packets, t.bytes)
            else:
                pair.add(t.first_seen, t.last_seen, t.packets, t.bytes)
        found += [
            HostSighting(
                mac_text(mac),
                ipv4_text(address),
                t.first_seen,
                t.last_seen,
                t.packets,
                t.bytes,
                "arp",
            )
            for (mac, address), t in by_pair.items()
        ]
        found.sort(key=lambda s: (s.first_seen, s.via, s.ip, s.mac or ""))
        return found

    def arp_bindings(self) -> list[ArpBinding]:
        """ARP sender bindings per opcode, ordered by first sighting."""
        bindings = [
            ArpBinding(
                mac_text(mac) or "",
                ipv4_text(address),
                op,
                gratuitous,
                t.first_seen,
                t.last_seen,
                t.packets,
            )
            for (mac, address, op, gratuitous), t in self._arp.items()
        ]
        bindings.sort(key=lambda b: (b.first_seen, b.ip, b.mac, b.op))
        return bindings

    def peer_macs(self) -> dict[str, dict[str, int]]:
        """Source MAC → destination MAC → packets (broadcast and multicast included)."""
        return {
            mac_text(source) or "": {mac_text(dest) or "": count for dest, count in peers.items()}
            for source, peers in self._peers.items()
        }

    # -- aggregation ------------------------------------------------------------------------

    def _feed_ip(self, headers: Headers) -> None:
        # 0.0.0.0 sources stay: a DHCP client before its lease is a device all the same; the
        # inventory never binds the unspecified address to it (RFC 1122 §3.2.1.3).
        chosen = np.flatnonzero(headers.is_ip)
        columns = [headers.src_mac[chosen], headers.src_hi[chosen], headers.src_lo[chosen]]
        for (mac, high, low), tally in _aggregate(headers, chosen, columns):
            _merge(self._ip, (mac, high, low), tally)

    def _feed_arp(self, headers: Headers) -> None:
        """RFC 826 senders; a probe from 0.0.0.0 (RFC 5227 §2.1.1) binds nothing."""
        op = headers.arp_op
        chosen = np.flatnonzero(
            ((op == ARP_REQUEST) | (op == ARP_REPLY))
            & (headers.arp_sha != 0)
            & (headers.arp_spa != 0)
        )
        gratuitous = (headers.arp_spa[chosen] == headers.arp_tpa[chosen]).astype(np.uint64)
        columns = [
            headers.arp_sha[chosen],
            headers.arp_spa[chosen].astype(np.uint64),
            op[chosen].astype(np.uint64),
            gratuitous,
        ]
        for key, tally in _aggregate(headers, chosen, columns):
            mac, address, code, announced = key
            _merge(self._arp, (mac, address, code, bool(announced)), tally)

    def _feed_peers(self, headers: Headers) -> None:
        chosen = np.flatnonzero(headers.src_mac != 0)
        order, starts, ends = group_rows([headers.src_mac[chosen], headers.dst_mac[chosen]])
        firsts = chosen[order[starts]]
        counts = (ends - starts).tolist()
        for source, dest, count in zip(
            headers.src_mac[firsts].tolist(), headers.dst_mac[firsts].tolist(), counts, strict=True
        ):
            peers = self._peers.setdefault(source, {})
            peers[dest] = peers.get(dest, 0) + count


def _aggregate(
    headers: Headers, chosen: npt.NDArray[np.int64], columns: list[npt.NDArray[np.uint64]]
) -> list[tuple[tuple[int, ...], _Tally]]:
    """Per distinct row of ``columns`` (over packets ``chosen``): first/last ts, packets, bytes."""
    if not len(chosen):
        return []
    order, starts, ends = group_rows(columns)
    packets = chosen[order]
    ts = headers.batch.ts[packets]
    wire = headers.batch.wirelen[packets].astype(np.int64)
    keys = list(zip(*(column[order[starts]].tolist() for column in columns), strict=True))
    firsts = np.minimum.reduceat(ts, starts).tolist()
    lasts = np.maximum.reduceat(ts, starts).tolist()
    octets = np.add.reduceat(wire, starts).tolist()
    counts = (ends - starts).tolist()
    return [
        (key, _Tally(first, last, count, size))
        for key, first, last, count, size in zip(keys, firsts, lasts, counts, octets, strict=True)
    ]


def _merge(table: dict[_K, _Tally], key: _K, tally: _Tally) -> None:
    known = table.get(key)
    if known is None:
        table[key] = tally
    else:
        known.add(tally.first_seen, tally.last_seen, tally.packets, tally.bytes)
