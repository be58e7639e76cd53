"""What the attack scenario tests share: one scenario planted on the small site (written to
disk and generated again, once per module) and the readers their tests apply to the bytes.

The checks every registered scenario must pass (benign frames unchanged, a truth window equal
to the attack frames) live in tests/simulate/test_attacks.py; the files here assert what is
particular to each scenario.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dpkt

from medshield.simulate.context import Context
from medshield.simulate.facts import AttackStep
from medshield.simulate.population import Hospital
from medshield.simulate.runner import Simulation, SimulationConfig, simulate_to_files
from medshield.simulate.wire import US, Item

SITE = SimulationConfig(devices=20, duration=120.0, seed=3)
"""The small site (every role present) each scenario is planted on: the one the generic
scenario tests of tests/simulate/test_attacks.py use, so they cover these runs too."""


def planted_on_site(name: str) -> SimulationConfig:
    """:data:`SITE` with the one registered attack scenario ``name`` planted."""
    return dataclasses.replace(SITE, attacks=(name,))


@dataclass(frozen=True)
class PlantedRun:
    """A run with a scenario planted: the capture and truth written, and the same run
    generated again, frame by frame, to compare with them."""

    pcap: Path
    truth: dict[str, Any]
    simulation: Simulation
    items: list[Item]
    attack: list[Item]
    """The items that carry an :class:`AttackStep`, in capture order."""

    @property
    def hospital(self) -> Hospital:
        return self.simulation.hospital

    @property
    def context(self) -> Context:
        return self.simulation.context


def plant(config: SimulationConfig, folder: Path) -> PlantedRun:
    """Write ``config``'s capture and truth into ``folder`` and generate its items again."""
    pcap, truth = folder / "planted.pcap", folder / "truth.json"
    simulate_to_files(config, pcap, truth)
    simulation = Simulation(config)
    items = list(simulation.items())
    attack = [item for item in items if attack_steps(item)]
    return PlantedRun(pcap, json.loads(truth.read_text()), simulation, items, attack)


def attack_steps(item: Item) -> list[AttackStep]:
    """The :class:`AttackStep` facts of a conversation item (none on a benign frame)."""
    facts: tuple[object, ...] = item[2] if len(item) > 2 else ()
    return [fact for fact in facts if isinstance(fact, AttackStep)]


def frames_of(items: Iterable[Item]) -> list[tuple[int, bytes]]:
    """(timestamp µs, frame) of each item, its facts left out."""
    return [(item[0], item[1]) for item in items]


def read_frames(pcap: Path) -> list[tuple[int, bytes]]:
    """(timestamp µs, frame) of every record, the timestamp read from the record header."""
    with pcap.open("rb") as stream:
        return [(round(ts * US), bytes(buf)) for ts, buf in dpkt.pcap.Reader(stream)]


def iso_us(ts_us: int) -> str:
    """A µs timestamp as the truth writes an attack's start and end: ISO 8601 UTC, to the
    microsecond (ISO 8601-1:2019 §5.4.2, decimal fraction of the second)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_us // US)) + f".{ts_us % US:06d}Z"


def dotted(ip: bytes) -> str:
    """An IPv4 address in dotted-decimal text (RFC 791 §3.2 holds it as four octets)."""
    return ".".join(map(str, ip))


def attack_window(run: PlantedRun, out: Path) -> Path:
    """The capture's records from the first to the last attack frame (benign ones among them
    too), written to ``out``: a tool run on it sees the attack in its real surroundings."""
    first_us, last_us = run.attack[0][0], run.attack[-1][0]
    with run.pcap.open("rb") as source, out.open("wb") as sink:
        writer = dpkt.pcap.Writer(sink)
        for ts, buf in dpkt.pcap.Reader(source):
            if first_us <= round(ts * US) <= last_us:
                writer.writepkt(buf, ts)
    return out


def tshark_fields(tshark: str, pcap: Path, display_filter: str, *fields: str) -> list[list[str]]:
    """One row of ``fields`` (the frame number when none is named) per frame of ``pcap`` that
    matches ``display_filter``; a field with several values joins them with commas."""
    names = fields or ("frame.number",)
    found = subprocess.run(
        [tshark, "-n", "-r", str(pcap), "-Y", display_filter, "-T", "fields"]
        + [arg for name in names for arg in ("-e", name)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.split("\t") for line in found.stdout.splitlines()]
