"""What a detector is: a small state machine fed during an assessment, asked for alerts at
the end.

Detectors are pushed every completed flow (refused connection attempts included: port
scans are made of them) with the application DPI gave it, every observation, and the host
sightings (MAC/IP pairs seen in IP traffic or claimed by ARP). They keep only what their
rule needs — counters per source, a few timestamps — so memory stays bounded by hosts and
peers, not packets. At the end they name devices through the inventory (:data:`Namer`) and
return :class:`~medshield.core.finding.Alert`\\ s with the evidence that raised them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from medshield.core.enums import AlertKind
from medshield.core.finding import Alert
from medshield.core.flow import Endpoint, FlowRecord
from medshield.core.observation import Observation
from medshield.flows.hosts import HostSighting

Namer = Callable[[Endpoint], str]
"""The device id of an endpoint, or its IP when it is no device of the inventory."""


class Detector(Protocol):
    """One behaviour rule (PRODUCT.md §8); a fresh instance per assessment."""

    name: str
    kind: AlertKind

    def flow(self, flow: FlowRecord, app: str) -> None:
        """A completed flow and its application label ('' when unknown)."""

    def observation(self, observation: Observation) -> None:
        """A dissector's observation."""

    def sighting(self, sighting: HostSighting) -> None:
        """A (MAC, IP) source pair seen in IP traffic (``via`` ``ip``) or ARP (``arp``)."""

    def alerts(self, name: Namer) -> list[Alert]:
        """The alerts of everything fed, naming devices with ``name``."""


class PassiveDetector:
    """A detector base that ignores every input; subclasses override what they read."""

    name = ""
    kind = AlertKind.ANOMALY

    def flow(self, flow: FlowRecord, app: str) -> None:
        """Ignored unless overridden."""

    def observation(self, observation: Observation) -> None:
        """Ignored unless overridden."""

    def sighting(self, sighting: HostSighting) -> None:
        """Ignored unless overridden."""

    def alerts(self, name: Namer) -> list[Alert]:
        """None unless overridden."""
        return []
