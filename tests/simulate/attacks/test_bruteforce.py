"""FTP password guessing from the compromised workstation (simulate/attacks/bruteforce.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import dpkt
import pytest

from medshield.simulate.attacks.base import attack_start, compromised_workstation
from medshield.simulate.attacks.bruteforce import SCENARIO, conversations
from medshield.simulate.context import Context
from medshield.simulate.facts import AttackStep
from medshield.simulate.personas import Role
from medshield.simulate.population import Hospital, SimDevice

from .conftest import (
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


@dataclass(frozen=True)
class Planted:
    """The small site with the scenario planted: the run, who guesses whose logins, and the
    attack as the bytes show it."""

    run: PlantedRun
    attacker: SimDevice
    target: SimDevice
    attack: list[tuple[int, bytes]]
    """The frames the bytes show to belong to the attack."""
    streams: list[Stream]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    run = plant(PLANTED, tmp_path_factory.mktemp("bruteforce"))
    attacker = compromised_workstation(run.hospital)
    target = run.hospital.one(Role.LAB_ANALYSER)
    frames = read_frames(run.pcap)
    attack = [(ts, f) for ts, f in frames if _is_attack(f, attacker, target, 21)]
    return Planted(run, attacker, target, attack, _streams(attack, attacker, 21))


def _is_attack(frame: bytes, attacker: SimDevice, target: SimDevice, port: int) -> bool:
    """What the bytes show: TCP between the two on the service port, or their ARP exchange."""
    eth = dpkt.ethernet.Ethernet(frame)
    if isinstance(eth.data, dpkt.arp.ARP):
        arp = eth.data
        asks = arp.sha == attacker.mac and arp.tpa == target.ip
        tells = arp.sha == target.mac and arp.tha == attacker.mac
        return bool(asks or tells)
    ip = eth.data
    if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.tcp.TCP):
        return False
    return {ip.src, ip.dst} == {attacker.ip, target.ip} and port in (ip.data.sport, ip.data.dport)


@dataclass
class Stream:
    """One control connection as the bytes show it."""

    client_port: int
    times: list[int] = dataclasses.field(default_factory=list)
    lines: list[tuple[int, bool, str]] = dataclasses.field(default_factory=list)
    """(time, from the client, text) of every segment with data."""
    first_fin_from_server: bool | None = None
    syn_from_client: bool = False


def _streams(frames: list[tuple[int, bytes]], client: SimDevice, port: int) -> list[Stream]:
    by_port: dict[int, Stream] = {}
    for ts, frame in frames:
        ip = dpkt.ethernet.Ethernet(frame).data
        if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.tcp.TCP):
            continue
        segment = ip.data
        if segment.dport == port and ip.src == client.ip:
            stream = by_port.setdefault(segment.sport, Stream(segment.sport))
            from_client = True
        elif segment.sport == port and ip.dst == client.ip:
            stream = by_port.setdefault(segment.dport, Stream(segment.dport))
            from_client = False
        else:
            continue
        if not stream.times and segment.flags & dpkt.tcp.TH_SYN:
            stream.syn_from_client = from_client and not segment.flags & dpkt.tcp.TH_ACK
        stream.times.append(ts)
        if segment.flags & dpkt.tcp.TH_FIN and stream.first_fin_from_server is None:
            stream.first_fin_from_server = not from_client
        if segment.data:
            stream.lines.append((ts, from_client, bytes(segment.data).decode("latin-1")))
    return list(by_port.values())


def _guesses(streams: list[Stream]) -> list[tuple[str, str]]:
    pairs = []
    for stream in streams:
        sent = [text for _, client, text in stream.lines if client]
        users = [line[5:-2] for line in sent if line.startswith("USER ")]
        words = [line[5:-2] for line in sent if line.startswith("PASS ")]
        pairs += list(zip(users, words, strict=True))
    return pairs


def test_truth_window_is_what_the_frames_show(planted: Planted) -> None:
    attack = planted.attack
    assert len(attack) > 100
    (entry,) = planted.run.truth["attacks"]
    assert entry == {
        "scenario": "bruteforce",
        "kind": "brute-force",
        "attacker": planted.attacker.id,
        "attacker_ip": planted.attacker.ip_text,
        "targets": [planted.target.ip_text],
        "ports": [21],
        "start": iso_us(attack[0][0]),
        "end": iso_us(attack[-1][0]),
        "frames": len(attack),
    }
    assert attack[0][0] == attack_start(planted.run.context, planted.attacker, offset_s=30.0)
    # The workstation never talked to the analyser before: it resolves its MAC first.
    assert isinstance(dpkt.ethernet.Ethernet(attack[0][1]).data, dpkt.arp.ARP)
    # The guessing is over well within the capture, ~40 s at most.
    assert attack[-1][0] - attack[0][0] < 40_000_000


def test_every_attack_frame_carries_the_step_and_no_other_fact(planted: Planted) -> None:
    for item in planted.run.attack:
        (step,) = attack_steps(item)
        assert item[2] == (step,)  # type: ignore[misc]
        assert step.port == 21 and step.target == planted.target.ip_text
    assert frames_of(planted.run.attack) == planted.attack


def test_parallel_connections_each_guess_up_to_three_times_and_all_fail(planted: Planted) -> None:
    streams = planted.streams
    guesses = _guesses(streams)
    assert 40 <= len(guesses) <= 60
    assert len(set(guesses)) == len(guesses)
    assert planted.target.product.login not in guesses
    for stream in streams:
        assert stream.syn_from_client
        texts = [text for _, _, text in stream.lines]
        assert texts[0] == f"{planted.target.product.banner}\r\n"
        attempts = (len(texts) - 1) // 4
        assert 1 <= attempts <= 3 and len(texts) == 1 + 4 * attempts
        for index in range(attempts):
            user, answer, password, refusal = texts[1 + 4 * index : 5 + 4 * index]
            assert user.startswith("USER ") and password.startswith("PASS ")
            assert answer == f"331 Password required for {user[5:-2]}.\r\n"
            assert refusal == "530 Login incorrect.\r\n"
        # The server drops the connection after its third failure, else the tool hangs up.
        assert stream.first_fin_from_server is (attempts == 3)
    assert max(_concurrent(streams)) == 4


def _concurrent(streams: list[Stream]) -> list[int]:
    """How many connections are open at each connection's start."""
    spans = [(s.times[0], s.times[-1]) for s in streams]
    return [sum(1 for a, b in spans if a <= start <= b) for start, _ in spans]


def test_the_server_pauses_after_each_wrong_password(planted: Planted) -> None:
    for stream in planted.streams:
        passes = [ts for ts, client, text in stream.lines if client and text.startswith("PASS")]
        refusals = [ts for ts, client, text in stream.lines if text.startswith("530")]
        for asked, refused in zip(passes, refusals, strict=True):
            assert 1_000_000 <= refused - asked <= 2_000_000


def test_tshark_decodes_every_guess_and_refusal(planted: Planted, tshark: str) -> None:
    attacker = planted.attacker.ip_text
    rows = tshark_fields(
        tshark,
        planted.run.pcap,
        f"ip.addr == {attacker} && tcp.port == 21",
        "ftp.request.command",
        "ftp.request.arg",
        "ftp.response.code",
        "tcp.analysis.flags",
    )
    guesses = _guesses(planted.streams)
    passwords = [arg for verb, arg, _, _ in rows if verb == "PASS"]
    assert sorted(passwords) == sorted(word for _, word in guesses)
    codes = [code for _, _, code, _ in rows if code]
    assert codes.count("530") == len(guesses)
    assert set(codes) == {"220", "331", "530"}  # no login ever succeeds
    assert len(rows) == len([f for f in planted.attack if f[1][12:14] == b"\x08\x00"])
    assert not any(flags for *_, flags in rows)


def test_each_task_yields_its_frames_in_time_order(planted: Planted) -> None:
    tasks = conversations(planted.run.context)
    assert len(tasks) == 4
    for task in tasks:
        times = [item[0] for item in task]
        assert times == sorted(times)


def _step_facts(items: list[Any]) -> list[AttackStep]:
    """The facts of every item, each of which must be an attack step."""
    facts = [fact for item in items for fact in item[2]]
    assert all(isinstance(fact, AttackStep) for fact in facts)
    return facts


def _without(context: Context, *roles: Role) -> Context:
    hospital = context.hospital
    kept = tuple(d for d in hospital.devices if d.role not in roles)
    return dataclasses.replace(context, hospital=Hospital(kept, hospital.legacy_ward))


def test_without_a_lab_analyser_it_guesses_telnet_logins_on_a_pump(planted: Planted) -> None:
    context = _without(planted.run.context, Role.LAB_ANALYSER)
    pump = context.hospital.one(Role.INFUSION_PUMP)
    assert pump.product.login is not None
    items = sorted((i for c in conversations(context) for i in c), key=lambda i: i[0])
    frames = [(item[0], item[1]) for item in items]
    assert all(_is_attack(frame, planted.attacker, pump, 23) for _, frame in frames)
    assert {f.port for f in _step_facts(items)} == {23}
    streams = _streams(frames, planted.attacker, 23)
    refusals = sum(
        text.startswith("\r\nLogin incorrect") for s in streams for _, _, text in s.lines
    )
    typed = [text for s in streams for _, client, text in s.lines if client and text[:1] != "\xff"]
    assert 40 <= refusals <= 60 and len(typed) == 2 * refusals
    user, password = pump.product.login
    pairs = list(zip(typed[::2], typed[1::2], strict=True))
    assert (f"{user}\r\n", f"{password}\r\n") not in pairs
    for stream in streams:
        assert "login: " in stream.lines[2][2]  # after the option negotiation


def test_a_site_without_login_services_plants_nothing(planted: Planted) -> None:
    assert conversations(_without(planted.run.context, Role.LAB_ANALYSER, Role.INFUSION_PUMP)) == []
