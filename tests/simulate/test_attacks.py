"""Attack scenarios (simulate/attacks/): names, the spoofing scenario on real bytes, and what
every registered scenario must keep — all its frames marked, the benign traffic unchanged,
a truth window equal to its frames."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import dpkt
import pytest

from medshield.core.errors import BadInputError
from medshield.core.registry import Registry
from medshield.simulate import attacks
from medshield.simulate.attacks import SCENARIOS, parse_attacks, spoofing
from medshield.simulate.facts import Communication
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation, SimulationConfig, simulate_to_files
from medshield.simulate.wire import Item

from .attacks.conftest import attack_steps, frames_of, iso_us

ALERT_KINDS = {
    "port-scan",
    "brute-force",
    "data-exfiltration",
    "beaconing",
    "lateral-movement",
    "spoofing",
}
"""PRODUCT.md's alert kinds a planted attack can stand for."""

SITE = SimulationConfig(devices=20, duration=120.0, seed=3)


def test_none_means_no_scenario() -> None:
    assert parse_attacks("none") == ()
    assert parse_attacks(" None ") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("nuke", "unknown attack scenario 'nuke'"),
        ("none,spoofing", "cannot be combined"),
    ],
)
def test_refusals_name_the_option(text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message) as raised:
        parse_attacks(text)
    assert str(raised.value).startswith("--attacks: ")


def test_a_known_scenario_not_implemented_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attacks, "SCENARIOS", Registry[attacks.AttackScenario]("attack"))
    with pytest.raises(BadInputError, match="'spoofing' is not yet supported"):
        parse_attacks("spoofing")
    with pytest.raises(BadInputError, match="not yet supported"):
        Simulation(SimulationConfig(devices=20, duration=60.0, attacks=("spoofing",)))


def test_names_are_listed_once_in_order() -> None:
    assert parse_attacks("spoofing, SPOOFING") == ("spoofing",)


@pytest.fixture(scope="module")
def benign() -> list[Item]:
    return list(Simulation(SITE).items())


@pytest.mark.parametrize("name", SCENARIOS.names())
def test_a_planted_scenario_leaves_the_benign_traffic_unchanged(
    name: str, benign: list[Item]
) -> None:
    planted = list(Simulation(replace(SITE, attacks=(name,))).items())
    attack = [item for item in planted if attack_steps(item)]
    rest = [item for item in planted if not attack_steps(item)]
    assert attack, f"{name} planted nothing on a {SITE.devices}-device site"
    assert frames_of(rest) == frames_of(benign)
    scenario = SCENARIOS.get(name)
    assert scenario.kind in ALERT_KINDS
    for item in attack:
        (step,) = attack_steps(item)
        assert (step.scenario, step.kind) == (name, scenario.kind)
        assert not any(isinstance(f, Communication) for f in item[2])  # type: ignore[misc]


@pytest.mark.parametrize("name", SCENARIOS.names())
def test_the_truth_window_is_the_attack_frames(name: str, tmp_path: Path) -> None:
    config = replace(SITE, attacks=(name,))
    attack = [item for item in Simulation(config).items() if attack_steps(item)]
    truth_path = tmp_path / "t.json"
    simulate_to_files(config, tmp_path / "c.pcap", truth_path)
    (entry,) = json.loads(truth_path.read_text())["attacks"]
    steps = [attack_steps(item)[0] for item in attack]
    assert entry["scenario"] == name and entry["frames"] == len(attack)
    assert entry["attacker"] == steps[0].attacker
    assert entry["targets"] == list(dict.fromkeys(s.target for s in steps))
    assert entry["ports"] == list(dict.fromkeys(s.port for s in steps if s.port is not None))
    assert entry["start"] == iso_us(attack[0][0]) and entry["end"] == iso_us(attack[-1][0])


def test_spoofing_forges_bindings_the_segment_had_shown(benign: list[Item]) -> None:
    simulation = Simulation(replace(SITE, attacks=("spoofing",)))
    hospital = simulation.hospital
    attacker = attacks.base.compromised_workstation(hospital)
    engine = hospital.one(Role.HL7_ENGINE)
    victims = hospital.of(Role.PATIENT_MONITOR)[: spoofing.VICTIMS]
    forged = [item for item in simulation.items() if attack_steps(item)]
    assert len(forged) == 2 * len(victims) * spoofing.ROUNDS
    genuine: dict[bytes, set[bytes]] = {}
    for _, frame in frames_of(benign):
        arp = dpkt.ethernet.Ethernet(frame).data
        if isinstance(arp, dpkt.arp.ARP):
            genuine.setdefault(arp.spa, set()).add(arp.sha)
    claimed = set()
    for item in forged:
        eth = dpkt.ethernet.Ethernet(item[1])
        arp = eth.data
        assert isinstance(arp, dpkt.arp.ARP) and arp.op == dpkt.arp.ARP_OP_REPLY
        assert arp.sha == eth.src == attacker.mac and arp.tha == eth.dst
        assert genuine.get(arp.spa) and attacker.mac not in genuine[arp.spa]
        claimed.add(arp.spa)
    assert claimed == {engine.ip} | {monitor.ip for monitor in victims}


def test_tshark_flags_every_forged_reply(tshark: str, tmp_path: Path) -> None:
    config = replace(SITE, attacks=("spoofing",))
    capture, truth = tmp_path / "c.pcap", tmp_path / "t.json"
    simulate_to_files(config, capture, truth)
    (entry,) = json.loads(truth.read_text())["attacks"]
    flagged = subprocess.run(
        [tshark, "-r", str(capture), "-Y", "arp.duplicate-address-detected", "-T", "fields",
         "-e", "arp.src.hw_mac"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    attacker = attacks.base.compromised_workstation(Simulation(config).hospital)
    assert len(flagged) == entry["frames"] > 0
    assert set(flagged) == {attacker.mac_text}
    assert entry["attacker"] == attacker.id
