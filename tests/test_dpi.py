"""DPI of completed flows: the first dissector that reads something names the application,
a dissector's failure is counted and does not stop the others.

The flows come from a small simulated hospital capture (TLS, DICOM, HL7, DNS, DHCP …)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medshield import dpi
from medshield.capture import open_capture
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.flows.table import FlowTable
from medshield.protocols.registry import Dispatcher, default_dissectors
from medshield.simulate import SimulationConfig, simulate_to_files


@pytest.fixture(scope="module")
def payloads(tmp_path_factory: pytest.TempPathFactory) -> list[FlowPayload]:
    capture = tmp_path_factory.mktemp("dpi") / "site.pcap"
    simulate_to_files(SimulationConfig(devices=10, duration=60.0, seed=5), capture, None)
    table = FlowTable()
    found: list[FlowPayload] = []
    with open_capture(Path(capture)) as reader:
        for batch in reader:
            found += table.feed(batch)
    return found + table.flush()


def test_simulated_flows_are_labelled_by_their_dissectors(payloads: list[FlowPayload]) -> None:
    dispatcher = Dispatcher(default_dissectors())
    results = [dpi.dissect_flow(dispatcher, payload) for payload in payloads]
    assert {result.app for result in results} >= {"tls", "dicom", "hl7", "dns", "dhcp"}
    assert sum(result.errors for result in results) == 0
    kinds = {type(o) for r in results for o in r.observations}
    assert len(kinds) >= 5
    for payload, result in zip(payloads, results, strict=True):
        assert all(o.flow_id == payload.flow.flow_id for o in result.observations)


class Failing:
    """A dissector that claims every flow and fails on it."""

    name = "failing"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def dissect(self, payload: FlowPayload) -> list[Observation]:
        raise self.error


class FakeDispatcher:
    def __init__(self, *dissectors: object) -> None:
        self.dissectors = dissectors
        self.real = Dispatcher(default_dissectors())

    def for_flow(self, payload: FlowPayload) -> list[object]:
        return [*self.dissectors, *self.real.for_flow(payload)]

    def label(self, transport: int, port: int) -> str | None:
        return self.real.label(transport, port)


@pytest.mark.parametrize("error", [DissectorError("bad bytes"), ValueError("a bug")])
def test_a_failing_dissector_is_counted_and_the_others_still_run(
    payloads: list[FlowPayload], error: Exception
) -> None:
    dicom = next(p for p in payloads if p.flow.server.port == 104 and p.client_bytes)
    alone = dpi.dissect_flow(Dispatcher(default_dissectors()), dicom)
    dispatcher = FakeDispatcher(Failing(error))
    shared = dpi.dissect_flow(dispatcher, dicom)  # type: ignore[arg-type]
    assert shared.errors == 1
    assert shared.app == alone.app == "dicom"
    assert shared.observations == alone.observations
