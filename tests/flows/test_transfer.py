"""Flows cross between processes as flat tuples and come back equal to what was sent."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from medshield.capture import open_capture
from medshield.core.flow import FlowPayload
from medshield.flows import transfer
from medshield.flows.process import iter_flows
from medshield.simulate import SimulationConfig, simulate_to_files


def simulated_flows(tmp_path: Path) -> list[FlowPayload]:
    capture = tmp_path / "site.pcap"
    simulate_to_files(SimulationConfig(devices=10, duration=40.0, seed=9), capture, None)
    return list(iter_flows([open_capture(capture)]))


def test_flows_travel_flat_and_come_back_equal(tmp_path: Path) -> None:
    payloads = simulated_flows(tmp_path)
    assert transfer.flat_form_applies()
    assert any(p.datagrams for p in payloads)
    assert any(p.client_bytes and p.server_bytes for p in payloads)
    packed = transfer.pack_payloads(payloads)
    assert pickle.loads(packed)[0] is True  # the flat form, not pickled dataclasses
    back = transfer.unpack_payloads(packed)
    assert back == payloads
    assert [repr(p) for p in back] == [repr(p) for p in payloads]
    # Equal endpoints come back as one object.
    endpoints = {id(p.flow.client) for p in back} | {id(p.flow.server) for p in back}
    assert len(endpoints) == len({p.flow.client for p in back} | {p.flow.server for p in back})


def test_flow_records_travel_flat_and_come_back_equal(tmp_path: Path) -> None:
    flows = [p.flow for p in simulated_flows(tmp_path)]
    packed = transfer.pack_records(flows)
    assert pickle.loads(packed)[0] is True
    assert transfer.unpack_records(packed) == flows


def test_without_the_flat_form_flows_travel_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payloads = simulated_flows(tmp_path)[:20]
    monkeypatch.setattr(transfer, "flat_form_applies", lambda: False)
    packed = transfer.pack_payloads(payloads)
    assert pickle.loads(packed)[0] is False
    assert transfer.unpack_payloads(packed) == payloads
    records = transfer.pack_records([p.flow for p in payloads])
    assert pickle.loads(records)[0] is False
    assert transfer.unpack_records(records) == [p.flow for p in payloads]
