"""C2 beaconing from an infected IoT gateway (simulate/attacks/beaconing.py)."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

import dpkt
import pytest

from medshield.core.enums import FindingKind
from medshield.simulate.attacks.base import attack_start, compromised_workstation
from medshield.simulate.attacks.beaconing import C2, SCENARIO, conversations
from medshield.simulate.context import INTERNET, PUBLIC_RESOLVER, REMOTE_SERVICE, Context
from medshield.simulate.facts import AttackStep, Risk
from medshield.simulate.personas import Role
from medshield.simulate.population import SimDevice
from medshield.simulate.runner import Simulation
from medshield.simulate.wire import US

from .conftest import (
    SITE,
    PlantedRun,
    attack_steps,
    frames_of,
    iso_us,
    plant,
    planted_on_site,
    read_frames,
    tshark_fields,
)

PLANTED = planted_on_site(SCENARIO.name)
LONG = dataclasses.replace(PLANTED, duration=600.0)
"""Long enough for a dozen beacons and a second lookup once the first answer's TTL ran out."""
C2_NAME = "cdn-update.telemetry-sync.example"
C2_IP = "185.193.127.14"


@dataclass(frozen=True)
class Planted:
    """The small site with the scenario planted: the run, the beaconing device and the site
    resolver it asks, and the attack as the bytes show it."""

    run: PlantedRun
    device: SimDevice
    resolver: SimDevice
    attack: list[tuple[int, bytes]]
    """The frames the bytes show to belong to the attack."""


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    run = plant(PLANTED, tmp_path_factory.mktemp("beaconing"))
    device, resolver, _ = _parties(run.simulation)
    return Planted(run, device, resolver, _attack(read_frames(run.pcap), run.simulation))


def _parties(simulation: Simulation) -> tuple[SimDevice, SimDevice, SimDevice]:
    hospital = simulation.hospital
    return (
        hospital.one(Role.IOT_GATEWAY),
        hospital.one(Role.INFRASTRUCTURE_SERVER),
        hospital.router,
    )


def _attack(frames: list[tuple[int, bytes]], simulation: Simulation) -> list[tuple[int, bytes]]:
    """The frames the bytes show to belong to the attack (all of them to or from the device)."""
    device, resolver, router = _parties(simulation)
    return [
        (ts, frame)
        for ts, frame in frames
        if device.mac in (frame[:6], frame[6:12]) and _is_attack(frame, device, resolver, router)
    ]


@dataclass(frozen=True)
class LongRun:
    """The attack frames of a ten-minute run, straight from the simulation."""

    context: Context
    device: SimDevice
    attack: list[tuple[int, bytes]]


@pytest.fixture(scope="module")
def long_run() -> LongRun:
    simulation = Simulation(LONG)
    frames = frames_of(simulation.items())
    return LongRun(simulation.context, _parties(simulation)[0], _attack(frames, simulation))


def _is_attack(frame: bytes, device: SimDevice, resolver: SimDevice, router: SimDevice) -> bool:
    """What the bytes show: the device's ARP for its next hops, its DNS with the resolver
    about the C2 name, and any traffic with the C2 address."""
    eth = dpkt.ethernet.Ethernet(frame)
    if isinstance(eth.data, dpkt.arp.ARP):
        arp = eth.data
        hops = (resolver, router)
        asks = arp.sha == device.mac and any(arp.tpa == hop.ip for hop in hops)
        tells = arp.tha == device.mac and any(arp.sha == hop.mac for hop in hops)
        return asks or tells
    ip = eth.data
    if not isinstance(ip, dpkt.ip.IP):
        return False
    c2 = IPv4Address(C2_IP).packed
    if c2 in (ip.src, ip.dst):
        assert device.ip in (ip.src, ip.dst)
        return True
    datagram = ip.data
    if (
        isinstance(datagram, dpkt.udp.UDP)
        and 53 in (datagram.sport, datagram.dport)
        and {ip.src, ip.dst} == {device.ip, resolver.ip}
    ):
        message = dpkt.dns.DNS(bytes(ip.data.data))
        return [q.name for q in message.qd] == [C2_NAME]
    return False


def test_c2_host_is_public_and_used_by_nothing_else() -> None:
    assert (C2.name, IPv4Address(C2.ip)) == (C2_NAME, IPv4Address(C2_IP))
    assert C2.name.endswith(".example") and IPv4Address(C2.ip).is_global
    others = {host.ip for host in (*INTERNET, PUBLIC_RESOLVER, REMOTE_SERVICE)}
    assert C2.ip not in others
    benign = Simulation(SITE).items()
    assert not any(
        item[1][12:14] == b"\x08\x00" and C2.ip in (item[1][26:30], item[1][30:34])
        for item in benign
    )


def test_truth_window_is_what_the_frames_show(planted: Planted) -> None:
    attack = planted.attack
    (entry,) = planted.run.truth["attacks"]
    assert entry == {
        "scenario": "beaconing",
        "kind": "beaconing",
        "attacker": planted.device.id,
        "attacker_ip": planted.device.ip_text,
        "targets": [planted.resolver.ip_text, C2_IP],
        "ports": [53, 443],
        "start": iso_us(attack[0][0]),
        "end": iso_us(attack[-1][0]),
        "frames": len(attack),
    }
    assert attack[0][0] == attack_start(planted.run.context, planted.device, offset_s=45.0)


def test_every_attack_frame_carries_the_step_and_only_the_exposure_besides(
    planted: Planted,
) -> None:
    exposures: list[Risk] = []
    for item in planted.run.attack:
        (step,) = attack_steps(item)
        others = [f for f in item[2] if not isinstance(f, AttackStep)]  # type: ignore[misc]
        risks = [f for f in others if isinstance(f, Risk)]
        assert risks == others
        exposures += risks
        packet = dpkt.ethernet.Ethernet(item[1]).data
        if isinstance(packet, dpkt.arp.ARP):
            towards_resolver = planted.resolver.ip in (packet.spa, packet.tpa)
        else:
            towards_resolver = isinstance(packet.data, dpkt.udp.UDP)
        expected = (planted.resolver.ip_text, 53) if towards_resolver else (C2_IP, 443)
        assert (step.target, step.port) == expected
    assert frames_of(planted.run.attack) == planted.attack
    # The gateway is a medical device: its first beacon shows the truth's internet exposure.
    (exposure,) = exposures
    assert (exposure.kind, exposure.device) == (FindingKind.INTERNET_EXPOSURE, planted.device.id)
    assert C2_IP in exposure.detail


def test_tshark_shows_the_lookup_and_the_sni_of_every_hello(planted: Planted, tshark: str) -> None:
    gateway = planted.device.ip_text
    rows = tshark_fields(
        tshark,
        planted.run.pcap,
        f"ip.addr == {gateway} && (dns || tls || (tcp.analysis.flags && ip.addr == {C2_IP}))",
        "frame.time_epoch",
        "ip.src",
        "ip.dst",
        "dns.flags.response",
        "dns.qry.name",
        "dns.a",
        "tls.handshake.type",
        "tls.handshake.extensions_server_name",
        "tls.handshake.version",
        "tcp.analysis.flags",
    )
    lookups = [(response, name, a) for _, _, _, response, name, a, *_ in rows if name]
    assert lookups == [("0", C2_NAME, ""), ("1", C2_NAME, C2_IP)]
    hellos = [
        (dst, sni)
        for _, src, dst, _, _, _, types, sni, _, _ in rows
        if src == gateway and "1" in types.split(",")
    ]
    times = [float(row[0]) for row in rows if row[1] == gateway and "1" in row[6].split(",")]
    syns = [
        frame
        for _, frame in planted.attack
        if frame[12:14] == b"\x08\x00" and frame[47] & 0x12 == 0x02  # SYN without ACK
    ]
    assert len(hellos) == len(syns) >= 2
    assert hellos == [(C2_IP, C2_NAME)] * len(hellos)
    for earlier, later in itertools.pairwise(times):
        assert 0.97 * 30 - 1e-6 <= later - earlier <= 1.03 * 30 + 1e-6
    versions = [
        version
        for _, src, _, _, _, _, types, _, version, _ in rows
        if src == C2_IP and "2" in types.split(",")
    ]
    assert versions == ["0x0303"] * len(hellos)
    assert [row for row in rows if row[-1]] == []


def _tls_records(attack: list[tuple[int, bytes]], sender: bytes) -> list[tuple[int, int, bytes]]:
    """(time, client port, first TLS record) of each data segment ``sender`` sent."""
    out = []
    for ts, frame in attack:
        ip = dpkt.ethernet.Ethernet(frame).data
        if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP) and ip.src == sender:
            segment = ip.data
            port = segment.sport if segment.dport == 443 else segment.dport
            if segment.data:
                out.append((ts, port, bytes(segment.data)))
    return out


def test_beacons_every_30_s_with_constant_sizes_until_the_end(long_run: LongRun) -> None:
    sent = _tls_records(long_run.attack, long_run.device.ip)
    received = _tls_records(long_run.attack, IPv4Address(C2_IP).packed)
    hellos = [ts for ts, _, data in sent if data[0] == 22 and data[5] == 1]
    assert len(hellos) >= 10
    for earlier, later in itertools.pairwise(hellos):
        assert 0.97 * 30 * US <= later - earlier <= 1.03 * 30 * US
    # Until the end: the next beacon would fall past the end of the capture.
    assert long_run.context.end_us - hellos[-1] <= 1.03 * 30 * US
    for records in (sent, received):
        # One application-data record each way per beacon, of nearly the same size.
        sizes = [int.from_bytes(data[3:5], "big") for _, _, data in records if data[0] == 23]
        ports = [port for _, port, data in records if data[0] == 23]
        assert len(sizes) == len(set(ports)) == len(hellos)
        assert min(sizes) >= 200 and max(sizes) <= 400 and max(sizes) - min(sizes) <= 20


def test_resolves_again_only_when_the_answer_expired(long_run: LongRun) -> None:
    answers: list[tuple[int, int]] = []
    connects: list[int] = []
    for ts, frame in long_run.attack:
        ip = dpkt.ethernet.Ethernet(frame).data
        if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.udp.UDP):
            message = dpkt.dns.DNS(bytes(ip.data.data))
            if message.an:
                answers.append((ts, message.an[0].ttl))
        elif isinstance(ip, dpkt.ip.IP) and ip.data.flags & 0x12 == 0x02:
            connects.append(ts)
    assert len(answers) == 2
    for ts in connects:
        latest = [(at, ttl) for at, ttl in answers if at <= ts][-1]
        assert ts - latest[0] < latest[1] * US
    (first, ttl), (second, _) = answers
    assert second - first >= ttl * US
    # The re-resolution answers right before a beacon; no beacon with an expired address.
    assert any(0 < connect - second < US for connect in connects)


def test_without_an_iot_gateway_the_compromised_workstation_beacons() -> None:
    simulation = Simulation(dataclasses.replace(SITE, devices=12))
    hospital = simulation.hospital
    assert not hospital.of(Role.IOT_GATEWAY)
    workstation = compromised_workstation(hospital)
    items: list[Any] = [item for talk in conversations(simulation.context) for item in talk]
    steps = [step for item in items for step in attack_steps(item)]
    assert len(steps) == len(items) and {step.attacker for step in steps} == {workstation.id}
    first = dpkt.ethernet.Ethernet(items[0][1])
    # It already talks to the resolver and the internet: no ARP, the lookup comes first.
    assert isinstance(first.data, dpkt.ip.IP) and first.data.src == workstation.ip
    assert dpkt.dns.DNS(bytes(first.data.data.data)).qd[0].name == C2_NAME
    assert [item[0] for item in items] == sorted(item[0] for item in items)
