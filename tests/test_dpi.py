"""DPI in this process or in a worker: the same results in the same order, and the compact
forms that carry flows and observations between the processes give back equal objects.

The flows come from a small simulated hospital capture (TLS, DICOM, HL7, DNS, DHCP …)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import pytest

from medshield import dpi
from medshield.capture import open_capture
from medshield.core.flow import FlowPayload, FlowRecord
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


def inspect(payloads: list[FlowPayload], workers: int) -> list[tuple[FlowRecord, dpi.Dissected]]:
    seen: list[tuple[FlowRecord, dpi.Dissected]] = []
    inspector = dpi.Inspector(lambda flow, result: seen.append((flow, result)), workers)
    for start in range(0, len(payloads), 50):
        inspector.submit(payloads[start : start + 50])
    inspector.finish()
    return seen


def test_worker_gives_the_results_of_this_process_in_order(
    payloads: list[FlowPayload], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks and a worker that takes one at a time: chunks go both ways.
    monkeypatch.setattr(dpi, "CHUNK_FLOWS", 16)
    monkeypatch.setattr(dpi, "WORKER_CHUNKS", 1)
    here = inspect(payloads, workers=0)
    shared = inspect(payloads, workers=1)
    assert [flow for flow, _ in shared] == [p.flow for p in payloads]
    assert shared == here
    assert [repr(result) for _, result in shared] == [repr(result) for _, result in here]
    assert {result.app for _, result in here} >= {"tls", "dicom", "hl7", "dns", "dhcp"}


def test_flows_travel_flat_and_come_back_equal(payloads: list[FlowPayload]) -> None:
    assert dpi.flat_form_applies()
    assert any(p.datagrams for p in payloads)
    assert any(p.client_bytes and p.server_bytes for p in payloads)
    back = dpi.unpack_payloads(dpi.pack_payloads(payloads))
    assert back == payloads
    assert [repr(p) for p in back] == [repr(p) for p in payloads]


def test_observations_travel_compact_and_come_back_equal(payloads: list[FlowPayload]) -> None:
    dispatcher = Dispatcher(default_dissectors())
    results = [dpi.dissect_flow(dispatcher, payload) for payload in payloads]
    back = pickle.loads(dpi.compact_dumps(results))
    assert back == results
    assert [repr(r) for r in back] == [repr(r) for r in results]
    kinds = {type(o) for r in back for o in r.observations}
    assert len(kinds) >= 5


@dataclass(frozen=True)
class Unslotted:
    value: int


@dataclass(frozen=True, slots=True)
class Slotted:
    value: int
    label: str = "x"


def test_only_fully_slotted_dataclasses_travel_compact() -> None:
    assert dpi.slot_layout(Unslotted) is None
    assert dpi.slot_layout(int) is None
    layout = dpi.slot_layout(Slotted)
    assert layout is not None
    assert layout.values(Slotted(3, "y")) == (3, "y")
    assert dpi.rebuild(Slotted, (4, "z")) == Slotted(4, "z")
    assert pickle.loads(dpi.compact_dumps([Unslotted(1), Slotted(2)])) == [
        Unslotted(1),
        Slotted(2),
    ]
