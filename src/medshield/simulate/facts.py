"""Truth facts: what a frame shows, attached to the frame that shows it.

A conversation yields ``(ts, frame, facts)`` for the frames that reveal something (the SYN of
a flow, a DHCP vendor class, a password). The writer records the facts of the frames it
actually writes, so the truth never claims what a shortened capture (``--duration``,
``--max-packets``) does not contain.
"""

from __future__ import annotations

from dataclasses import dataclass

from medshield.core.enums import FindingKind
from medshield.simulate.personas import SoftwareItem
from medshield.simulate.population import SimDevice
from medshield.simulate.wire import Nic


@dataclass(frozen=True, slots=True)
class Communication:
    """A client talked to a server port (one entry per src, dst, dport, transport, app)."""

    src: str
    dst: str
    dport: int
    transport: str
    app: str


@dataclass(frozen=True, slots=True)
class Risk:
    """A posture finding a correct assessor must raise (rules in :mod:`.truth`)."""

    kind: FindingKind
    device: str
    detail: str


@dataclass(frozen=True, slots=True)
class Identifier:
    """An identifier of a device visible in the capture (``dicom_ae``, ``hostname`` …)."""

    device: str
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class SoftwareSeen:
    """A software component of a device visible in the capture, and the protocol showing it."""

    device: str
    name: str
    version: str
    source: str


@dataclass(frozen=True, slots=True)
class AttackStep:
    """A frame of a planted attack: the scenario, who attacks, whom, and on which port.

    ``attacker`` is the attacking device's id (a host beyond the router has none: its IP);
    ``target`` is the IP address the frame is aimed at (for ARP spoofing, the IP whose
    binding is forged). Attack frames carry no :class:`Communication`: the truth's
    communications are the site's benign traffic.
    """

    scenario: str
    kind: str
    """The alert kind a detector must raise (PRODUCT.md: ``port-scan``, ``brute-force`` …)."""
    attacker: str
    attacker_ip: str
    target: str
    port: int | None = None


def communication(client: Nic, server: Nic, dport: int, transport: str, app: str) -> Communication:
    """The communication fact of a flow from ``client`` to ``server``."""
    return Communication(client.ip_text, server.ip_text, dport, transport, app)


def software(device: SimDevice, source: str) -> tuple[SoftwareSeen, ...]:
    """Facts for the software items of ``device`` that protocol ``source`` reveals."""
    return tuple(_seen(device, item) for item in device.product.software if item.source == source)


def _seen(device: SimDevice, item: SoftwareItem) -> SoftwareSeen:
    return SoftwareSeen(device.id, item.name, item.version, item.source)
