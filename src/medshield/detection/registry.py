"""The detectors an assessment runs, listed once (no registration by import side effect)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from medshield.core.finding import Alert
from medshield.core.flow import FlowRecord
from medshield.core.observation import Observation
from medshield.core.registry import Registry
from medshield.detection.base import Detector, Namer
from medshield.detection.beaconing import BeaconingDetector
from medshield.detection.brute_force import BruteForceDetector
from medshield.detection.exfiltration import ExfiltrationDetector
from medshield.detection.lateral_movement import LateralMovementDetector
from medshield.detection.port_scan import PortScanDetector
from medshield.detection.spoofing import SpoofingDetector
from medshield.flows.hosts import HostSighting

DetectorFactory = Callable[[], Detector]


def default_detectors() -> Registry[DetectorFactory]:
    """Every detector, by name; each factory makes a fresh, empty detector."""
    registry: Registry[DetectorFactory] = Registry("detector")
    for name, factory in _factories():
        registry.register(name, factory)
    return registry


def _factories() -> list[tuple[str, DetectorFactory]]:
    return [
        ("port_scan", PortScanDetector),
        ("brute_force", BruteForceDetector),
        ("exfiltration", ExfiltrationDetector),
        ("beaconing", BeaconingDetector),
        ("lateral_movement", LateralMovementDetector),
        ("spoofing", SpoofingDetector),
    ]


class BehaviourMonitor:
    """Feeds every detector of a registry and gathers their alerts, in a stable order."""

    def __init__(self, detectors: Registry[DetectorFactory] | None = None) -> None:
        registry = detectors if detectors is not None else default_detectors()
        self.detectors: list[Detector] = [factory() for factory in registry]

    def flow(self, flow: FlowRecord, app: str) -> None:
        """A completed flow, to every detector."""
        for detector in self.detectors:
            detector.flow(flow, app)

    def observations(self, observations: Iterable[Observation]) -> None:
        """Observations, to every detector."""
        for observation in observations:
            for detector in self.detectors:
                detector.observation(observation)

    def sightings(self, sightings: Iterable[HostSighting]) -> None:
        """Host sightings, to every detector."""
        for sighting in sightings:
            for detector in self.detectors:
                detector.sighting(sighting)

    def alerts(self, name: Namer) -> list[Alert]:
        """Every detector's alerts, by start time, kind and device."""
        found = [alert for detector in self.detectors for alert in detector.alerts(name)]
        return sorted(found, key=lambda a: (a.start, a.kind.value, a.device, a.peer or ""))
