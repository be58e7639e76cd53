"""The dissector registry: the default dissectors, listed once, and flow → dissector dispatch.

Adding a protocol is one new module exposing ``DISSECTOR`` plus one line in
:func:`default_dissectors`. Nothing registers itself on import.
"""

from __future__ import annotations

from medshield.core.enums import Transport
from medshield.core.flow import FlowPayload
from medshield.core.registry import Registry
from medshield.protocols.base import Dissector


def default_dissectors() -> Registry[Dissector]:
    """Every dissector MedShield ships, in dispatch order."""
    from medshield.protocols import (
        dhcp,
        dicom,
        dns,
        ftp,
        hl7,
        http,
        modbus,
        mqtt,
        snmp,
        ssdp,
        telnet,
        tls,
    )

    registry: Registry[Dissector] = Registry("dissector")
    modules = (hl7, dicom, mqtt, tls, http, dhcp, dns, snmp, telnet, ftp, modbus, ssdp)
    for module in modules:
        registry.register(module.DISSECTOR.name, module.DISSECTOR)
    return registry


def first_client_bytes(payload: FlowPayload) -> bytes:
    """The bytes a probe looks at: the client's stream, or the first datagram."""
    if payload.client_bytes:
        return payload.client_bytes
    if payload.datagrams:
        return payload.datagrams[0].payload
    return payload.server_bytes


class Dispatcher:
    """Flow → dissectors, with the port table built once (one lookup per flow, not a scan)."""

    def __init__(self, registry: Registry[Dissector]) -> None:
        self.by_port: dict[tuple[int, int], list[Dissector]] = {}
        self.probing: dict[int, list[Dissector]] = {}
        for dissector in registry:
            signature = dissector.signature
            transport = int(signature.transport)
            for port in signature.ports:
                self.by_port.setdefault((transport, port), []).append(dissector)
            if signature.probe is not None:
                self.probing.setdefault(transport, []).append(dissector)
        self.other_probes = {
            key: [d for d in self.probing.get(key[0], ()) if all(d is not c for c in chosen)]
            for key, chosen in self.by_port.items()
        }
        """Per port, the probing dissectors not already chosen by that port (made once)."""

    def for_flow(self, payload: FlowPayload) -> list[Dissector]:
        """Dissectors that apply: by server port (for UDP either port), then by probe."""
        flow = payload.flow
        key = (flow.transport, flow.server.port)
        by_port = self.by_port.get(key)
        if by_port is None and flow.transport == Transport.UDP:
            key = (flow.transport, flow.client.port)
            by_port = self.by_port.get(key)
        if by_port is None:
            chosen: list[Dissector] = []
            probing = self.probing.get(flow.transport, ())
        else:
            chosen = list(by_port)
            probing = self.other_probes[key]
        if probing:
            head = first_client_bytes(payload)
            if head:
                chosen += [d for d in probing if d.signature.probe and d.signature.probe(head)]
        return chosen

    def label(self, transport: int, port: int) -> str | None:
        """The protocol name a server port suggests, for flows no dissector read."""
        found = self.by_port.get((transport, port))
        return found[0].name if found else None


def dissectors_for(payload: FlowPayload, registry: Registry[Dissector]) -> list[Dissector]:
    """Dissectors that apply to a flow (see :class:`Dispatcher`; builds one per call)."""
    return Dispatcher(registry).for_flow(payload)
