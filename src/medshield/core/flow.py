"""Flows and the payload prefixes handed to dissectors."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from medshield.core.enums import Direction, Transport


class FlowEnd(StrEnum):
    """Why the flow table exported a flow."""

    IDLE = "idle"
    ACTIVE = "active"
    FIN = "fin"
    RST = "rst"
    EOF = "eof"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One side of a flow. ``mac`` is None on raw-IP captures."""

    ip: str
    port: int
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class DirectionStats:
    """Counters of one direction of a flow."""

    packets: int = 0
    bytes: int = 0
    """Bytes on the wire (original frame length)."""
    payload_bytes: int = 0
    """Transport payload bytes (TCP/UDP data)."""
    tcp_flags: int = 0
    """OR of every TCP flag byte seen in this direction (0 for UDP)."""


TCP_SYN = 0x02
TCP_RST = 0x04
"""RFC 9293 §3.1 control bits."""


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """A bidirectional flow as exported by the flow table.

    The client is the side that sent the first SYN; without a SYN, the side with the higher
    (ephemeral) port, and for equal standing the sender of the first packet.
    """

    flow_id: int
    transport: int
    """IP protocol number (6 TCP, 17 UDP, 1 ICMP …)."""
    client: Endpoint
    server: Endpoint
    first_seen: float
    last_seen: float
    c2s: DirectionStats
    s2c: DirectionStats
    iat_min: float = 0.0
    iat_mean: float = 0.0
    iat_max: float = 0.0
    iat_std: float = 0.0
    """Inter-arrival times in seconds across both directions."""
    vlan: int | None = None
    end_reason: FlowEnd = FlowEnd.EOF
    source: str = ""

    @property
    def packets(self) -> int:
        """Packets in both directions."""
        return self.c2s.packets + self.s2c.packets

    @property
    def bytes(self) -> int:
        """Wire bytes in both directions."""
        return self.c2s.bytes + self.s2c.bytes

    @property
    def duration(self) -> float:
        """Seconds between the first and last packet."""
        return self.last_seen - self.first_seen

    @property
    def refused(self) -> bool:
        """A TCP connection attempt the server did not take (RFC 9293 §3.5, §3.10.7.2): no
        data either way, and from the server nothing, or only resets. Port scans and
        connections to closed or filtered ports are made of these; the server takes part in
        no conversation, so it does not *serve* the port."""
        if self.transport != Transport.TCP or self.c2s.payload_bytes or self.s2c.payload_bytes:
            return False
        flags = self.s2c.tcp_flags
        return self.s2c.packets == 0 or (bool(flags & TCP_RST) and not flags & TCP_SYN)


@dataclass(frozen=True, slots=True)
class Datagram:
    """One UDP payload (or other message-oriented payload) of a flow."""

    direction: Direction
    ts: float
    payload: bytes


@dataclass(frozen=True, slots=True)
class FlowPayload:
    """What a dissector sees of a flow: its record and the first bytes of each direction.

    For TCP, ``client_bytes``/``server_bytes`` are the in-order reassembled first bytes of each
    direction (up to the configured prefix size); ``*_truncated`` tells that more followed,
    ``*_gap`` that a missing segment cut the prefix short. For UDP, ``datagrams`` holds the
    first datagrams in capture order and the byte fields are empty.
    """

    flow: FlowRecord
    client_bytes: bytes = b""
    server_bytes: bytes = b""
    client_truncated: bool = False
    server_truncated: bool = False
    client_gap: bool = False
    server_gap: bool = False
    client_first_ts: float | None = None
    server_first_ts: float | None = None
    datagrams: tuple[Datagram, ...] = field(default_factory=tuple)
