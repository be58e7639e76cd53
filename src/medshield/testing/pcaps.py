"""Flow payloads read from a real capture with dpkt, for dissector tests.

This is a deliberately simple, independent reader (not MedShield's own capture and flow
code) so that dissector tests start from real bytes without depending on the packages they
feed: packets are grouped by their bidirectional 5-tuple, TCP payloads of each direction are
put in sequence order (retransmissions dropped), UDP payloads are kept per datagram.
"""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dpkt

from medshield.core.enums import Direction, Transport
from medshield.core.flow import Datagram, DirectionStats, Endpoint, FlowPayload, FlowRecord

PREFIX_BYTES = 8192
"""Bytes kept per TCP direction, as the flow layer does by default."""

_TCP_SYN = 0x02
_TCP_ACK = 0x10
_LINKTYPE_NULL = 0
_LINKTYPE_ETHERNET = 1
_LINKTYPE_RAW = (101, 12, 14, 228, 229)
_LINKTYPE_LINUX_SLL = 113
_LINKTYPE_LINUX_SLL2 = 276

Address = tuple[str, int]


@dataclass
class _Segment:
    ts: float
    src: Address
    seq: int
    data: bytes


@dataclass
class _Flow:
    transport: Transport
    first: Address
    second: Address
    first_seen: float
    last_seen: float
    syn_from: Address | None = None
    segments: list[_Segment] = field(default_factory=list)


def _ip_layer(linktype: int, frame: bytes) -> Any:
    """The IPv4/IPv6 packet inside a frame of the capture's link type, or None."""
    if linktype == _LINKTYPE_ETHERNET:
        return dpkt.ethernet.Ethernet(frame).data
    if linktype in _LINKTYPE_RAW:
        return dpkt.ip6.IP6(frame) if frame[:1] and frame[0] >> 4 == 6 else dpkt.ip.IP(frame)
    if linktype == _LINKTYPE_LINUX_SLL:
        return dpkt.sll.SLL(frame).data
    if linktype == _LINKTYPE_LINUX_SLL2:
        return dpkt.sll2.SLL2(frame).data
    if linktype == _LINKTYPE_NULL:
        return dpkt.loopback.Loopback(frame).data
    return None


def _innermost_ip(layer: Any) -> Any:
    """Descend through VLAN, PPPoE/PPP and similar wrappers to the first IP packet."""
    for _ in range(6):
        if isinstance(layer, (dpkt.ip.IP, dpkt.ip6.IP6)):
            return layer
        if not isinstance(layer, dpkt.Packet):
            return None
        layer = layer.data
    return None


def _address(ip: object) -> tuple[str, str] | None:
    if isinstance(ip, dpkt.ip.IP):
        return socket.inet_ntop(socket.AF_INET, ip.src), socket.inet_ntop(socket.AF_INET, ip.dst)
    if isinstance(ip, dpkt.ip6.IP6):
        return socket.inet_ntop(socket.AF_INET6, ip.src), socket.inet_ntop(socket.AF_INET6, ip.dst)
    return None


def _packets(path: Path) -> list[tuple[float, Transport, Address, Address, int, int, bytes]]:
    """(ts, transport, src, dst, tcp flags, tcp seq, payload) of every TCP/UDP packet."""
    rows: list[tuple[float, Transport, Address, Address, int, int, bytes]] = []
    with path.open("rb") as handle:
        reader = dpkt.pcap.UniversalReader(handle)
        linktype = reader.datalink()
        for ts, frame in reader:
            try:
                ip = _innermost_ip(_ip_layer(linktype, frame))
            except (dpkt.UnpackError, IndexError):
                continue
            addresses = _address(ip)
            segment = getattr(ip, "data", None)
            if addresses is None:
                continue
            if isinstance(segment, dpkt.tcp.TCP):
                transport, flags, seq = Transport.TCP, segment.flags, segment.seq
            elif isinstance(segment, dpkt.udp.UDP):
                transport, flags, seq = Transport.UDP, 0, 0
            else:
                continue
            src = (addresses[0], segment.sport)
            dst = (addresses[1], segment.dport)
            rows.append((float(ts), transport, src, dst, flags, seq, bytes(segment.data)))
    return rows


def _client_first(flow: _Flow) -> bool:
    """True when ``flow.first`` is the client: SYN sender, else the higher port, else first."""
    if flow.syn_from is not None:
        return flow.syn_from == flow.first
    if flow.first[1] != flow.second[1]:
        return flow.first[1] > flow.second[1]
    return True


def _relative(seq: int, reference: int) -> int:
    """Signed distance from ``reference`` to ``seq`` in 32-bit sequence space."""
    distance = (seq - reference) % 2**32
    return distance - 2**32 if distance >= 2**31 else distance


def _stream(segments: list[_Segment], src: Address) -> tuple[bytes, float | None, bool]:
    """In-order bytes one side sent, first copy of each byte kept, stopping at a gap."""
    mine = [segment for segment in segments if segment.src == src and segment.data]
    if not mine:
        return b"", None, False
    reference = mine[0].seq
    base = min(_relative(segment.seq, reference) for segment in mine)
    ordered = sorted(mine, key=lambda segment: (_relative(segment.seq, reference), segment.ts))
    data = bytearray()
    for segment in ordered:
        offset = _relative(segment.seq, reference) - base
        if offset > len(data):
            break
        data += segment.data[len(data) - offset :]
    return bytes(data[:PREFIX_BYTES]), mine[0].ts, len(data) > PREFIX_BYTES


def _payload(flow_id: int, flow: _Flow) -> FlowPayload:
    client, server = (flow.first, flow.second) if _client_first(flow) else (flow.second, flow.first)
    record = FlowRecord(
        flow_id=flow_id,
        transport=int(flow.transport),
        client=Endpoint(*client),
        server=Endpoint(*server),
        first_seen=flow.first_seen,
        last_seen=flow.last_seen,
        c2s=DirectionStats(),
        s2c=DirectionStats(),
        source="pcap",
    )
    if flow.transport == Transport.UDP:
        datagrams = tuple(
            Datagram(
                Direction.CLIENT_TO_SERVER if segment.src == client else Direction.SERVER_TO_CLIENT,
                segment.ts,
                segment.data,
            )
            for segment in flow.segments
        )
        return FlowPayload(flow=record, datagrams=datagrams)
    client_bytes, client_ts, client_cut = _stream(flow.segments, client)
    server_bytes, server_ts, server_cut = _stream(flow.segments, server)
    return FlowPayload(
        flow=record,
        client_bytes=client_bytes,
        server_bytes=server_bytes,
        client_truncated=client_cut,
        server_truncated=server_cut,
        client_first_ts=client_ts,
        server_first_ts=server_ts,
    )


def read_flow_payloads(path: Path) -> list[FlowPayload]:
    """Every TCP/UDP flow of a pcap or pcapng file, in order of first packet."""
    flows: dict[tuple[Transport, frozenset[Address]], _Flow] = {}
    for ts, transport, src, dst, flags, seq, data in _packets(path):
        key = (transport, frozenset((src, dst)))
        flow = flows.get(key)
        if flow is None:
            flow = flows[key] = _Flow(transport, src, dst, ts, ts)
        flow.last_seen = ts
        if flags & _TCP_SYN and not flags & _TCP_ACK:
            flow.syn_from = src
        if transport == Transport.UDP or data:
            flow.segments.append(_Segment(ts, src, seq, data))
    return [_payload(index, flow) for index, flow in enumerate(flows.values(), start=1)]


def flows_to_port(path: Path, port: int) -> list[FlowPayload]:
    """The flows of a capture whose server (or, for UDP, either side) uses ``port``."""
    return [
        payload
        for payload in read_flow_payloads(path)
        if payload.flow.server.port == port
        or (payload.flow.transport == Transport.UDP and payload.flow.client.port == port)
    ]


def tshark_fields(
    tshark: str, path: Path, fields: list[str], display_filter: str | None = None
) -> list[list[str]]:
    """One row per packet with the values tshark decodes for ``fields`` (the reference).

    Each cell holds the field's occurrences joined by ``,`` as tshark prints them.
    """
    command = [tshark, "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "quote=n"]
    if display_filter:
        command += ["-Y", display_filter]
    for name in fields:
        command += ["-e", name]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    return [line.split("\t") for line in result.stdout.splitlines()]


def merge_captures(mergecap: str, paths: list[Path], out: Path) -> Path:
    """One pcapng holding the packets of ``paths`` in time order (``mergecap``), so that a
    single tshark run can serve as the reference for several small UDP captures."""
    command = [mergecap, "-F", "pcapng", "-w", str(out), *map(str, paths)]
    subprocess.run(command, capture_output=True, check=True, timeout=60)
    return out
