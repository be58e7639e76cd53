"""The behaviour monitor: every registered detector is fed everything, alerts come back in a
stable order, and the registry refuses a second detector under one name."""

from __future__ import annotations

import pytest

from medshield.core.enums import AlertKind, Severity
from medshield.core.errors import RegistryError
from medshield.core.finding import Alert
from medshield.core.flow import DirectionStats, Endpoint, FlowRecord
from medshield.core.observation import Observation
from medshield.core.registry import Registry
from medshield.detection.base import Namer, PassiveDetector
from medshield.detection.registry import BehaviourMonitor, DetectorFactory, default_detectors
from medshield.flows.hosts import HostSighting


class Recorder(PassiveDetector):
    """Remembers what it was fed and raises one alert per flow it saw."""

    name = "recorder"
    kind = AlertKind.ANOMALY

    def __init__(self) -> None:
        self.flows: list[tuple[FlowRecord, str]] = []
        self.observations: list[Observation] = []
        self.sightings: list[HostSighting] = []

    def flow(self, flow: FlowRecord, app: str) -> None:
        self.flows.append((flow, app))

    def observation(self, observation: Observation) -> None:
        self.observations.append(observation)

    def sighting(self, sighting: HostSighting) -> None:
        self.sightings.append(sighting)

    def alerts(self, name: Namer) -> list[Alert]:
        return [
            Alert(self.kind, Severity.LOW, name(flow.client), None, flow.first_seen, 0.0, app)
            for flow, app in reversed(self.flows)
        ]


def flow(first_seen: float, client: str) -> FlowRecord:
    return FlowRecord(
        1, 6, Endpoint(client, 40000), Endpoint("10.0.0.1", 80), first_seen, first_seen + 1,
        DirectionStats(1, 60), DirectionStats(1, 60),
    )  # fmt: skip


def test_every_detector_is_fed_and_alerts_come_sorted() -> None:
    made: list[Recorder] = []

    def factory() -> Recorder:
        made.append(Recorder())
        return made[-1]

    registry: Registry[DetectorFactory] = Registry("detector")
    registry.register("a", factory)
    registry.register("b", factory)
    monitor = BehaviourMonitor(registry)
    monitor.flow(flow(20.0, "10.0.0.7"), "http")
    monitor.flow(flow(10.0, "10.0.0.8"), "")
    monitor.observations([Observation(ts=5.0)])
    sighting = HostSighting("00:11:22:33:44:55", "10.0.0.7", 1.0, 2.0, 3, 180, "arp")
    monitor.sightings([sighting])
    assert len(made) == 2
    for recorder in made:
        assert [app for _, app in recorder.flows] == ["http", ""]
        assert recorder.observations == [Observation(ts=5.0)]
        assert recorder.sightings == [sighting]
    alerts = monitor.alerts(lambda endpoint: f"ip-{endpoint.ip}")
    assert [(a.start, a.device) for a in alerts] == [
        (10.0, "ip-10.0.0.8"),
        (10.0, "ip-10.0.0.8"),
        (20.0, "ip-10.0.0.7"),
        (20.0, "ip-10.0.0.7"),
    ]


def test_a_fresh_monitor_starts_empty() -> None:
    registry: Registry[DetectorFactory] = Registry("detector")
    registry.register("recorder", Recorder)
    first = BehaviourMonitor(registry)
    first.flow(flow(1.0, "10.0.0.9"), "")
    assert BehaviourMonitor(registry).alerts(lambda e: e.ip) == []


def test_every_alert_kind_of_an_attack_has_a_detector() -> None:
    registry = default_detectors()
    kinds = {factory().kind for factory in registry}
    assert kinds >= {
        AlertKind.PORT_SCAN,
        AlertKind.BRUTE_FORCE,
        AlertKind.DATA_EXFILTRATION,
        AlertKind.BEACONING,
        AlertKind.LATERAL_MOVEMENT,
        AlertKind.SPOOFING,
    }
    assert [factory().name for factory in registry] == registry.names()
    with pytest.raises(RegistryError):
        registry.register(registry.names()[0], Recorder)
