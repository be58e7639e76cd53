"""Fixtures shared by the simulator tests: one small simulated capture, decoded once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dpkt
import pytest

from medshield.simulate import Simulation, SimulationConfig, simulate_to_files

SMALL = SimulationConfig(devices=20, duration=120.0, seed=3)


@dataclass(frozen=True)
class Capture:
    """A simulated capture on disk, its truth and its decoded frames."""

    pcap: Path
    truth: dict[str, Any]
    frames: list[tuple[float, bytes]]


@pytest.fixture(scope="session")
def small_capture(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    """A 20-device, two-minute hospital (every role present), written once per session."""
    folder = tmp_path_factory.mktemp("simulated")
    pcap, truth = folder / "hospital.pcap", folder / "truth.json"
    simulate_to_files(SMALL, pcap, truth)
    with pcap.open("rb") as stream:
        frames = [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(stream)]
    return Capture(pcap, json.loads(truth.read_text()), frames)


def tcp_payloads(frames: list[tuple[float, bytes]], port: int) -> list[tuple[int, bytes]]:
    """(source port, payload) of every TCP segment with data to or from ``port``."""
    out = []
    for _, buf in frames:
        ip = dpkt.ethernet.Ethernet(buf).data
        if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP):
            segment = ip.data
            if port in (segment.sport, segment.dport) and segment.data:
                out.append((segment.sport, bytes(segment.data)))
    return out


@pytest.fixture(scope="session")
def simulation() -> Simulation:
    """The small hospital's simulation object (devices and context, nothing generated yet)."""
    return Simulation(SMALL)


def decode(item: tuple[Any, ...]) -> dpkt.ethernet.Ethernet:
    """The Ethernet frame of a conversation item."""
    return dpkt.ethernet.Ethernet(item[1])


def facts_of(items: list[Any]) -> list[object]:
    """Every truth fact the items carry, in order."""
    return [fact for item in items if len(item) > 2 for fact in item[2]]
