"""Posture scenarios: protocol bytes → dissector observations → a device index → checks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from medshield.core.enums import DeviceCategory
from medshield.core.finding import Finding
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.inventory.builder import InventoryBuilder
from medshield.posture.base import Check, PostureContext, group_observations
from medshield.protocols.base import Dissector

CLIENT_MAC, SERVER_MAC = "00:00:5e:00:53:0a", "00:00:5e:00:53:14"
CLIENT_IP, SERVER_IP = "192.0.2.10", "192.0.2.20"


class Scenario:
    """Two hosts (the documentation endpoints of medshield.testing.flows) and their flows."""

    def __init__(self) -> None:
        self.builder = InventoryBuilder()
        self.observations: list[Observation] = []
        for mac, ip in ((CLIENT_MAC, CLIENT_IP), (SERVER_MAC, SERVER_IP)):
            self.builder.add_sighting(mac, ip, 1.7e9, 1.7e9 + 10, 10, 1000, "ip")

    def capture_flows(self, payloads: Iterable[FlowPayload], dissector: Dissector) -> None:
        """Flows read from a real capture: their endpoints become devices, then dissect."""
        for payload in payloads:
            for endpoint in (payload.flow.client, payload.flow.server):
                flow = payload.flow
                self.builder.add_sighting(
                    endpoint.mac, endpoint.ip, flow.first_seen, flow.last_seen, 1, 100, "ip"
                )
            found = list(dissector.dissect(payload))
            self.observations.extend(found)
            self.builder.add_flow(payload.flow, dissector.name)
            self.builder.add_observations(found)

    def flow(self, dissector: Dissector, payload: FlowPayload) -> list[Observation]:
        """Dissect a flow's bytes and keep what it shows."""
        found = list(dissector.dissect(payload))
        assert found, "the dissector read nothing from the test bytes"
        self.observations.extend(found)
        self.builder.add_flow(payload.flow, dissector.name)
        self.builder.add_observations(found)
        return found

    def run(
        self, check: Check, categories: dict[str, DeviceCategory] | None = None
    ) -> list[Finding]:
        """Build the inventory and run one check."""
        index = self.builder.build()
        for device_id, category in (categories or {}).items():
            index.devices[device_id].category = category
        context = PostureContext(index, group_observations(self.observations), self.builder.links)
        return list(check.run(context))


def kinds_by_device(findings: Iterable[Finding]) -> set[tuple[str, str]]:
    """(kind, device) pairs of findings."""
    return {(f.kind.value, f.device) for f in findings}


def evidence_of(findings: Sequence[Finding]) -> str:
    """All evidence text, for assertions that secrets never appear."""
    return " | ".join(f.evidence for f in findings)
