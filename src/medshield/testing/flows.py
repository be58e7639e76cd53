"""Factories for flows and flow payloads, so dissector tests start from real bytes."""

from __future__ import annotations

from collections.abc import Iterable

from medshield.core.enums import Direction, Transport
from medshield.core.flow import Datagram, DirectionStats, Endpoint, FlowPayload, FlowRecord


def make_flow(
    *,
    transport: Transport = Transport.TCP,
    client: Endpoint | None = None,
    server: Endpoint | None = None,
    server_port: int = 80,
    first_seen: float = 1_700_000_000.0,
    flow_id: int = 1,
) -> FlowRecord:
    """A flow record between two example hosts (documentation addresses, RFC 5737)."""
    return FlowRecord(
        flow_id=flow_id,
        transport=int(transport),
        client=client or Endpoint("192.0.2.10", 49152, "00:00:5e:00:53:0a"),
        server=server or Endpoint("192.0.2.20", server_port, "00:00:5e:00:53:14"),
        first_seen=first_seen,
        last_seen=first_seen + 1.0,
        c2s=DirectionStats(packets=1),
        s2c=DirectionStats(packets=1),
    )


def tcp_payload(
    client_bytes: bytes, server_bytes: bytes = b"", *, server_port: int = 80, **flow_args: object
) -> FlowPayload:
    """A TCP flow payload with the given reassembled prefixes."""
    flow = make_flow(transport=Transport.TCP, server_port=server_port, **flow_args)  # type: ignore[arg-type]
    return FlowPayload(
        flow=flow,
        client_bytes=client_bytes,
        server_bytes=server_bytes,
        client_first_ts=flow.first_seen if client_bytes else None,
        server_first_ts=flow.first_seen + 0.01 if server_bytes else None,
    )


def udp_payload(
    datagrams: Iterable[tuple[Direction, bytes]] | Iterable[bytes],
    *,
    server_port: int = 53,
    client_port: int = 49152,
    **flow_args: object,
) -> FlowPayload:
    """A UDP flow payload; plain ``bytes`` items are client-to-server datagrams."""
    flow = make_flow(
        transport=Transport.UDP,
        client=Endpoint("192.0.2.10", client_port, "00:00:5e:00:53:0a"),
        server_port=server_port,
        **flow_args,  # type: ignore[arg-type]
    )
    items: list[Datagram] = []
    for index, item in enumerate(datagrams):
        direction, data = item if isinstance(item, tuple) else (Direction.CLIENT_TO_SERVER, item)
        items.append(Datagram(direction, flow.first_seen + index * 0.001, data))
    return FlowPayload(flow=flow, datagrams=tuple(items))
