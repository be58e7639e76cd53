"""nmap-style SYN scan from the compromised workstation (simulate/attacks/scan.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import dpkt
import pytest

from medshield.simulate.attacks.base import attack_start, compromised_workstation
from medshield.simulate.attacks.scan import SCENARIO, conversations, scan_targets, served_ports
from medshield.simulate.facts import AttackStep
from medshield.simulate.personas import Role
from medshield.simulate.population import SimDevice
from medshield.simulate.runner import Simulation, SimulationConfig
from medshield.simulate.wire import US, Item

from ..checks import checksums_ok
from .conftest import (
    SITE,
    PlantedRun,
    attack_steps,
    attack_window,
    dotted,
    plant,
    planted_on_site,
    tshark_fields,
)

PLANTED = planted_on_site(SCENARIO.name)
MEDICAL_PORTS = {21, 23, 80, 104, 443, 445, 502, 1883, 2575, 3389, 8883, 11112}
"""Ports a scan of a hospital must cover: file transfer, telnet, web, DICOM, SMB, Modbus,
MQTT, HL7 MLLP, RDP."""
SMB, TELNET = 445, 23


@dataclass(frozen=True)
class Probe:
    """One SYN of the scan and what came back."""

    at: int
    target: str
    port: int
    seq: int
    answer: dpkt.tcp.TCP | None = None
    reset: dpkt.tcp.TCP | None = None


@dataclass(frozen=True)
class Planted:
    """The small site with the scan planted: the run, the scanner, its targets, its probes."""

    run: PlantedRun
    attacker: SimDevice
    targets: list[SimDevice]
    probes: list[Probe]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    run = plant(PLANTED, tmp_path_factory.mktemp("scan"))
    attacker = compromised_workstation(run.hospital)
    return Planted(run, attacker, scan_targets(run.hospital), _probes(run.attack, attacker))


def _probes(attack: list[Item], attacker: SimDevice) -> list[Probe]:
    """The probes in sending order, each with the target's answer and the scanner's reset."""
    probes: dict[tuple[bytes, int, int], Probe] = {}
    for ts, frame, *_ in attack:
        ip = dpkt.ethernet.Ethernet(frame).data
        if not isinstance(ip, dpkt.ip.IP):
            continue
        tcp = ip.data
        if ip.src == attacker.ip and tcp.flags == dpkt.tcp.TH_SYN:
            key = (ip.dst, tcp.dport, tcp.sport)
            probes[key] = Probe(ts, dotted(ip.dst), tcp.dport, tcp.seq)
        elif ip.src == attacker.ip:
            key = (ip.dst, tcp.dport, tcp.sport)
            probes[key] = dataclasses.replace(probes[key], reset=tcp)
        else:
            key = (ip.src, tcp.sport, tcp.dport)
            probes[key] = dataclasses.replace(probes[key], answer=tcp)
    return sorted(probes.values(), key=lambda probe: probe.at)


def test_every_target_answers_an_arp_request_before_its_first_probe(planted: Planted) -> None:
    resolved: dict[str, int] = {}
    first_probe: dict[str, int] = {}
    for ts, frame, *_ in planted.run.attack:
        packet = dpkt.ethernet.Ethernet(frame).data
        if isinstance(packet, dpkt.arp.ARP) and packet.op == dpkt.arp.ARP_OP_REPLY:
            assert packet.tha == planted.attacker.mac
            resolved.setdefault(dotted(packet.spa), ts)
        elif isinstance(packet, dpkt.ip.IP) and packet.src == planted.attacker.ip:
            first_probe.setdefault(dotted(packet.dst), ts)
    assert set(resolved) == set(first_probe) == {t.ip_text for t in planted.targets}
    assert all(resolved[ip] < first_probe[ip] for ip in resolved)


def test_targets_are_the_medical_devices_and_their_servers_in_index_order(
    planted: Planted,
) -> None:
    wanted = {
        Role.PATIENT_MONITOR,
        Role.INFUSION_PUMP,
        Role.CT_SCANNER,
        Role.MR_SCANNER,
        Role.LAB_ANALYSER,
        Role.IOT_GATEWAY,
        Role.PACS,
        Role.HL7_ENGINE,
        Role.PUMP_SERVER,
        Role.BUILDING_CONTROLLER,
    }
    site = [d.ip_text for d in Simulation(SITE).hospital.devices if d.role in wanted]
    assert len(site) < 16  # the small site: every one of them is scanned
    assert list(dict.fromkeys(p.target for p in planted.probes)) == site


def test_every_probe_is_an_nmap_syn_and_each_pair_is_probed_once(planted: Planted) -> None:
    ports = {probe.port for probe in planted.probes}
    assert ports >= MEDICAL_PORTS and 40 <= len(ports) <= 100
    pairs = [(probe.target, probe.port) for probe in planted.probes]
    assert len(pairs) == len(set(pairs)) == len(planted.targets) * len(ports)
    for _, frame, *_ in planted.run.attack:
        ip = dpkt.ethernet.Ethernet(frame).data
        if isinstance(ip, dpkt.ip.IP) and ip.data.flags == dpkt.tcp.TH_SYN:
            assert ip.src == planted.attacker.ip and not ip.df
            assert ip.data.win == 1024
            assert dpkt.tcp.parse_opts(ip.data.opts) == [(dpkt.tcp.TCP_OPT_MSS, b"\x05\xb4")]
        if isinstance(ip, dpkt.ip.IP):
            assert checksums_ok(frame)


def test_ports_are_shuffled_per_target_from_one_source_port(planted: Planted) -> None:
    orders: dict[str, list[int]] = {}
    for _, frame, *_ in planted.run.attack:
        ip = dpkt.ethernet.Ethernet(frame).data
        if isinstance(ip, dpkt.ip.IP) and ip.data.flags == dpkt.tcp.TH_SYN:
            orders.setdefault(dotted(ip.dst), []).append(ip.data.sport)
    assert all(len(set(sports)) == 1 for sports in orders.values())
    by_target: dict[str, list[int]] = {}
    for probe in planted.probes:
        by_target.setdefault(probe.target, []).append(probe.port)
    sequences = {tuple(order) for order in by_target.values()}
    assert len(sequences) == len(by_target)
    assert all(order != sorted(order) for order in by_target.values())


def test_open_ports_handshake_half_way_and_closed_ports_reset(planted: Planted) -> None:
    for probe in planted.probes:
        answer = probe.answer
        if answer is None:
            assert probe.reset is None
            continue
        assert answer.ack == probe.seq + 1
        if answer.flags == dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK:
            assert probe.reset is not None and probe.reset.flags == dpkt.tcp.TH_RST
            assert probe.reset.seq == probe.seq + 1
        else:
            assert answer.flags == dpkt.tcp.TH_RST | dpkt.tcp.TH_ACK and answer.win == 0
            assert probe.reset is None


def test_about_one_target_in_four_is_silent(planted: Planted) -> None:
    silent = {p.target for p in planted.probes} - {p.target for p in planted.probes if p.answer}
    assert len(silent) == len(planted.targets) // 4
    answering = {p.target for p in planted.probes if p.answer}
    assert all(p.answer is not None for p in planted.probes if p.target in answering)


def test_open_ports_are_the_services_the_site_really_runs(planted: Planted) -> None:
    """Every server port the benign traffic shows on a scanned, answering target is open; the
    only other open ports are services the benign traffic of two minutes may not show."""
    hospital = Simulation(SITE).hospital
    answering = {p.target for p in planted.probes if p.answer}
    scanned = {p.port for p in planted.probes}
    found = {
        (p.target, p.port)
        for p in planted.probes
        if p.answer is not None and p.answer.flags & dpkt.tcp.TH_SYN
    }
    shown = {
        (c["dst"], c["dport"])
        for c in planted.run.truth["communications"]
        if c["transport"] == "tcp" and c["dst"] in answering and c["dport"] in scanned
    }
    assert shown and shown <= found
    by_ip = {d.ip_text: d for d in hospital.devices}
    for ip, port in found - shown:
        device = by_ip[ip]
        pump_telnet = device.role is Role.INFUSION_PUMP and port == TELNET
        dicom = device.role is Role.PACS and port in {104, 11112}
        smb = device.role in (Role.PACS, Role.HL7_ENGINE) and port == SMB
        assert pump_telnet or dicom or smb, (ip, port)
    expected = {
        (t.ip_text, port)
        for t in planted.targets
        if t.ip_text in answering
        for port in served_ports(hospital, t)
    }
    assert found == expected


def test_the_scan_runs_at_a_few_hundred_probes_a_second(planted: Planted) -> None:
    first, last = planted.probes[0].at, planted.probes[-1].at
    rate = (len(planted.probes) - 1) / ((last - first) / US)
    assert 300 <= rate <= 1000
    assert planted.run.attack[0][0] == attack_start(
        Simulation(SITE).context, planted.attacker, offset_s=0.0
    )


def test_every_frame_names_the_probed_target_and_port(planted: Planted) -> None:
    for item in planted.run.attack:
        (step,) = attack_steps(item)
        assert (step.scenario, step.kind, step.attacker) == (
            "scan",
            "port-scan",
            planted.attacker.id,
        )
        packet = dpkt.ethernet.Ethernet(item[1]).data
        if isinstance(packet, dpkt.arp.ARP):
            assert step.port is None
            assert step.target in {dotted(packet.tpa), dotted(packet.spa)}
            continue
        assert step.target in {dotted(packet.src), dotted(packet.dst)} - {planted.attacker.ip_text}
        tcp = packet.data
        probed = tcp.dport if packet.src == planted.attacker.ip else tcp.sport
        assert step.port == probed
        assert all(isinstance(f, AttackStep) for f in item[2])  # type: ignore[misc]


def test_the_truth_names_the_scanner_its_targets_and_the_probed_ports(planted: Planted) -> None:
    """Beyond the window every scenario's truth must match (tests/simulate/test_attacks.py):
    who scans, and the ports the probes on the wire show, in the order first probed."""
    (entry,) = planted.run.truth["attacks"]
    assert (entry["scenario"], entry["kind"]) == ("scan", "port-scan")
    assert entry["attacker"] == planted.attacker.id
    assert entry["attacker_ip"] == planted.attacker.ip_text
    assert entry["targets"] == [t.ip_text for t in planted.targets]
    assert entry["ports"] == list(dict.fromkeys(p.port for p in planted.probes))


def test_tshark_counts_one_syn_per_probe(tshark: str, planted: Planted, tmp_path: Path) -> None:
    """On the capture's records from the first to the last attack frame (benign ones too)."""
    (entry,) = planted.run.truth["attacks"]
    window = attack_window(planted.run, tmp_path / "window.pcap")
    attacker = planted.attacker.ip_text
    syn_filter = f"ip.src=={attacker} && tcp.flags.syn==1 && tcp.flags.ack==0"
    syns = tshark_fields(tshark, window, syn_filter)
    assert len(syns) == len(entry["targets"]) * len(entry["ports"])
    fields = ("ip.src", "ip.dst", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.reset")
    rows = tshark_fields(
        tshark,
        window,
        f"ip.addr=={attacker} && tcp",
        *fields,
        "tcp.window_size_value",
        "tcp.hdr_len",
    )
    mine = [row for row in rows if attacker in row[:2] and {row[0], row[1]} & set(entry["targets"])]
    probes = [r for r in mine if r[0] == attacker and r[2:5] == ["1", "0", "0"]]
    assert len(probes) == len(syns) and {r[5] for r in probes} == {"1024"}
    # A SYN/ACK echoes only the options of the SYN: nmap's lone MSS gives a 24-byte header.
    open_ports = [r for r in mine if r[1] == attacker and r[2:5] == ["1", "1", "0"]]
    assert {r[6] for r in open_ports} == {"24"}
    resets = [r for r in mine if r[0] == attacker and r[2:5] == ["0", "0", "1"]]
    closed = [r for r in mine if r[1] == attacker and r[2:5] == ["0", "1", "1"]]
    assert len(resets) == len(open_ports) == sum(1 for p in planted.probes if p.reset)
    assert len(closed) == sum(1 for p in planted.probes if p.answer and not p.reset)
    assert len(mine) == len(probes) + len(open_ports) + len(resets) + len(closed)


def test_a_large_site_is_scanned_on_sixteen_targets_at_most() -> None:
    context = Simulation(SimulationConfig(devices=400, duration=300.0, seed=5)).context
    (scan,) = conversations(context)
    frames = list(scan)
    targets = {attack_steps(item)[0].target for item in frames}
    assert len(targets) == 16 and len(frames) < 50_000
    assert [ts for ts, *_ in frames] == sorted(ts for ts, *_ in frames)
