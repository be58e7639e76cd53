"""The dissector registry: the default dissectors, listed once, and flow → dissector dispatch.

Adding a protocol is one new module exposing ``DISSECTOR`` plus one line in
:func:`default_dissectors`. Nothing registers itself on import.
"""

from __future__ import annotations

from collections.abc import Sequence

from medshield.core.enums import Transport
from medshield.core.flow import FlowPayload
from medshield.core.registry import Registry
from medshield.protocols.base import Dissector


def default_dissectors() -> Registry[Dissector]:
    """Every dissector MedShield ships, in dispatch order."""
    from medshield.protocols import dhcp, dns, http

    registry: Registry[Dissector] = Registry("dissector")
    for module in (dhcp, dns, http):
        registry.register(module.DISSECTOR.name, module.DISSECTOR)
    return registry


def first_client_bytes(payload: FlowPayload) -> bytes:
    """The bytes a probe looks at: the client's stream, or the first datagram."""
    if payload.client_bytes:
        return payload.client_bytes
    if payload.datagrams:
        return payload.datagrams[0].payload
    return payload.server_bytes


def dissectors_for(payload: FlowPayload, registry: Registry[Dissector]) -> list[Dissector]:
    """Dissectors that apply to a flow: by server port first, then by probe on its first bytes."""
    flow = payload.flow
    by_port: list[Dissector] = []
    by_probe: list[Dissector] = []
    head: bytes | None = None
    for dissector in registry:
        signature = dissector.signature
        if signature.transport != flow.transport:
            continue
        ports = signature.ports
        if flow.server.port in ports or (
            flow.transport == Transport.UDP and flow.client.port in ports
        ):
            by_port.append(dissector)
        elif signature.probe is not None:
            if head is None:
                head = first_client_bytes(payload)
            if head and signature.probe(head):
                by_probe.append(dissector)
    return by_port + by_probe


def port_label(transport: int, port: int, registry: Sequence[Dissector]) -> str | None:
    """The protocol name a server port suggests, for flows no dissector read."""
    for dissector in registry:
        if dissector.signature.transport == transport and port in dissector.signature.ports:
            return dissector.name
    return None
