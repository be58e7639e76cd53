"""What a fingerprint is: one signal (a protocol's observations) turned into device attributes.

Each module of this package reads one kind of observation and writes attributes with their
evidence onto the devices the observation is about. Fingerprints never create devices: the
identity step (MAC and IP sightings) decides which devices exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from medshield.core.device import Device, Evidence
from medshield.core.flow import Endpoint
from medshield.core.observation import Observation


@dataclass(frozen=True, slots=True)
class Binding:
    """An IP address that a protocol proves belongs to a MAC (e.g. a DHCP ACK)."""

    mac: str
    ip: str
    ts: float
    source: str


class Resolver(Protocol):
    """Finds the inventory device behind a MAC, an IP or a flow endpoint."""

    def by_mac(self, mac: str | None) -> Device | None:
        """The device with this MAC address."""
        ...

    def by_ip(self, ip: str | None) -> Device | None:
        """The device that holds this IP address."""
        ...

    def by_endpoint(self, endpoint: Endpoint | None) -> Device | None:
        """The device behind a flow endpoint (its MAC where the IP is its own, else its IP)."""
        ...


class Fingerprint(Protocol):
    """A signal: the observation kinds it reads and how it annotates devices."""

    @property
    def name(self) -> str:
        """Signal name, used as the evidence source prefix."""
        ...

    @property
    def kinds(self) -> frozenset[str]:
        """Observation kinds this fingerprint reads."""
        ...

    def bindings(self, observation: Observation) -> Iterable[Binding]:
        """IP ownership the observation proves (most signals prove none)."""
        ...

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """Write the observation's facts onto the devices it concerns."""
        ...


class NoBindings:
    """Mixin for fingerprints that prove no IP ownership."""

    def bindings(self, observation: Observation) -> Iterable[Binding]:
        """No bindings."""
        return ()


def note(
    device: Device | None,
    name: str,
    value: str | None,
    confidence: float,
    observation: Observation,
    detail: str,
) -> None:
    """Record attribute ``name`` = ``value`` on ``device`` with the observation as evidence."""
    if device is None or not value:
        return
    evidence = Evidence(observation.kind, observation.ts, detail, observation.flow_id)
    device.add_attribute(name, value, confidence, evidence)
