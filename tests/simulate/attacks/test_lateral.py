"""SMB2 admin-share logons and an RDP probe from the compromised workstation
(simulate/attacks/lateral.py)."""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from pathlib import Path

import dpkt
import pytest

from medshield.simulate.attacks.base import attack_start, compromised_workstation
from medshield.simulate.attacks.lateral import SCENARIO, conversations
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
SMB, RDP = 445, 3389
NEGOTIATE, SESSION_SETUP, TREE_CONNECT = 0, 1, 3
MORE_PROCESSING_REQUIRED = 0xC0000016
NTLMSSP = b"NTLMSSP\x00"


@dataclass
class Connection:
    """One TCP connection of the attack: its segments in order, by direction."""

    host: str
    port: int
    segments: list[tuple[int, bool, dpkt.tcp.TCP]] = field(default_factory=list)
    """(time µs, sent by the attacker, segment)."""

    def payloads(self, from_attacker: bool) -> list[bytes]:
        return [bytes(s.data) for _, mine, s in self.segments if mine is from_attacker and s.data]


@dataclass(frozen=True)
class Planted:
    """The small site with the lateral movement planted: the run, the attacker, and the
    attack's TCP connections as the bytes show them."""

    run: PlantedRun
    attacker: SimDevice
    connections: list[Connection]

    def to(self, port: int) -> list[Connection]:
        return [c for c in self.connections if c.port == port]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    run = plant(PLANTED, tmp_path_factory.mktemp("lateral"))
    attacker = compromised_workstation(run.hospital)
    return Planted(run, attacker, _connections(run.attack, attacker))


def _connections(attack: list[Item], attacker: SimDevice) -> list[Connection]:
    found: dict[tuple[bytes, int, int], Connection] = {}
    for ts, frame, *_ in attack:
        ip = dpkt.ethernet.Ethernet(frame).data
        if not isinstance(ip, dpkt.ip.IP):
            continue
        tcp = ip.data
        mine = ip.src == attacker.ip
        peer, port, client_port = (
            (ip.dst, tcp.dport, tcp.sport) if mine else (ip.src, tcp.sport, tcp.dport)
        )
        connection = found.setdefault((peer, port, client_port), Connection(dotted(peer), port))
        connection.segments.append((ts, mine, tcp))
    return list(found.values())


def _smb2(payload: bytes) -> tuple[int, int, int, bytes]:
    """(command, status, flags, body) of one direct-TCP SMB2 message (MS-SMB2 §2.1, §2.2.1)."""
    assert payload[0] == 0 and int.from_bytes(payload[1:4], "big") == len(payload) - 4
    header = payload[4:68]
    assert header[:4] == b"\xfeSMB" and struct.unpack_from("<H", header, 4)[0] == 64
    status, command = struct.unpack_from("<IH", header, 8)
    (flags,) = struct.unpack_from("<I", header, 16)
    return command, status, flags, payload[68:]


def _ntlm(body: bytes) -> bytes:
    start = body.index(NTLMSSP)
    return body[start:]


def _ntlm_field(message: bytes, at: int) -> bytes:
    length, _, offset = struct.unpack_from("<HHI", message, at)
    return message[offset : offset + length]


def test_the_attacker_moves_to_three_to_five_new_hosts(planted: Planted) -> None:
    hosts = [c.host for c in planted.to(SMB)]
    assert 3 <= len(hosts) <= 5 and len(set(hosts)) == len(hosts)
    hospital = planted.run.hospital
    workstations = hospital.of(Role.CLINICAL_WORKSTATION) + hospital.of(Role.BIOMED_WORKSTATION)
    allowed = {d.ip_text for d in workstations if d != planted.attacker} | {
        hospital.one(Role.PACS).ip_text,
        hospital.one(Role.HL7_ENGINE).ip_text,
    }
    assert set(hosts) <= allowed
    benign = [item[1] for item in planted.run.items if not attack_steps(item)]
    benign_ports = set()
    for frame in benign:
        ip = dpkt.ethernet.Ethernet(frame).data
        if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP):
            benign_ports |= {ip.data.sport, ip.data.dport}
    assert not benign_ports & {SMB, RDP}  # nothing else on the site speaks SMB or RDP


def test_each_host_is_resolved_by_arp_before_its_connection(planted: Planted) -> None:
    resolved: dict[str, int] = {}
    for ts, frame, *_ in planted.run.attack:
        arp = dpkt.ethernet.Ethernet(frame).data
        if isinstance(arp, dpkt.arp.ARP) and arp.op == dpkt.arp.ARP_OP_REPLY:
            assert arp.tha == planted.attacker.mac
            resolved.setdefault(dotted(arp.spa), ts)
    smb = planted.to(SMB)
    assert set(resolved) == {c.host for c in smb}
    assert all(resolved[c.host] < c.segments[0][0] for c in smb)


def test_connections_open_with_a_handshake_and_the_attacker_closes_them(
    planted: Planted,
) -> None:
    syn, ack, fin = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_FIN
    for connection in planted.connections:
        flags = [(mine, s.flags & (syn | ack | fin)) for _, mine, s in connection.segments]
        assert flags[:3] == [(True, syn), (False, syn | ack), (True, ack)]
        assert flags[-3:] == [(True, fin | ack), (False, fin | ack), (True, ack)]
    for _, frame, *_ in planted.run.attack:
        if isinstance(dpkt.ethernet.Ethernet(frame).data, dpkt.ip.IP):
            assert checksums_ok(frame)


def test_each_smb_session_negotiates_authenticates_and_connects_admin_share(
    planted: Planted,
) -> None:
    for connection in planted.to(SMB):
        requests = [_smb2(p) for p in connection.payloads(True)]
        replies = [_smb2(p) for p in connection.payloads(False)]
        order = [NEGOTIATE, SESSION_SETUP, SESSION_SETUP, TREE_CONNECT]
        assert [r[0] for r in requests] == [r[0] for r in replies] == order
        assert [r[1] for r in replies] == [0, MORE_PROCESSING_REQUIRED, 0, 0]
        assert all(r[2] & 1 for r in replies) and not any(r[2] & 1 for r in requests)
        offered = requests[0][3]
        (count,) = struct.unpack_from("<H", offered, 2)
        dialects = struct.unpack_from(f"<{count}H", offered, 36)
        assert dialects == (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
        assert struct.unpack_from("<H", replies[0][3], 4)[0] == 0x0311
        ntlm = [_ntlm(requests[1][3]), _ntlm(replies[1][3]), _ntlm(requests[2][3])]
        assert [struct.unpack_from("<I", m, 8)[0] for m in ntlm] == [1, 2, 3]
        authenticate = ntlm[2]
        assert _ntlm_field(authenticate, 28).decode("utf-16-le") == "HOSPITAL"
        assert _ntlm_field(authenticate, 36).decode("utf-16-le") == "svc_backup"
        workstation = _ntlm_field(authenticate, 44).decode("utf-16-le")
        assert workstation == planted.attacker.hostname.upper()
        assert len(_ntlm_field(authenticate, 20)) > 16  # an NTLMv2 response, not NTLMv1
        tree = requests[3][3]
        path_offset, path_length = struct.unpack_from("<HH", tree, 4)
        path = tree[path_offset - 64 : path_offset - 64 + path_length].decode("utf-16-le")
        assert path == f"\\\\{connection.host}\\ADMIN$"
        assert replies[3][3][2] == 0x01  # share type: disk


def test_one_rdp_probe_of_a_workstation_it_logged_into(planted: Planted) -> None:
    (probe,) = planted.to(RDP)
    assert probe.host in {c.host for c in planted.to(SMB)}
    target = next(d for d in planted.run.hospital.devices if d.ip_text == probe.host)
    assert target.role in (Role.CLINICAL_WORKSTATION, Role.BIOMED_WORKSTATION)
    (request,) = probe.payloads(True)
    (confirm,) = probe.payloads(False)
    for tpkt in (request, confirm):
        assert tpkt[:2] == b"\x03\x00" and int.from_bytes(tpkt[2:4], "big") == len(tpkt)
        assert tpkt[4] == len(tpkt) - 5  # X.224 length indicator
    assert request[5] == 0xE0 and confirm[5] == 0xD0
    assert b"Cookie: mstshash=svc_backup\r\n" in request
    assert request[-8:-4] == b"\x01\x00\x08\x00" and confirm[-8:-4] == b"\x02\x0f\x08\x00"
    assert int.from_bytes(confirm[-4:], "little") & int.from_bytes(request[-4:], "little")


def test_the_sessions_spread_over_twenty_to_forty_seconds(planted: Planted) -> None:
    starts = sorted(c.segments[0][0] for c in planted.connections)
    assert 20 * US <= starts[-1] - starts[0] <= 40 * US
    assert all(later - earlier >= 2 * US for earlier, later in itertools.pairwise(starts))
    start = attack_start(Simulation(SITE).context, planted.attacker, offset_s=15.0)
    assert planted.run.attack[0][0] == start


def test_every_frame_names_its_target_and_port(planted: Planted) -> None:
    for item in planted.run.attack:
        (step,) = attack_steps(item)
        assert (step.scenario, step.kind, step.attacker, step.attacker_ip) == (
            "lateral",
            "lateral-movement",
            planted.attacker.id,
            planted.attacker.ip_text,
        )
        assert all(isinstance(f, AttackStep) for f in item[2])  # type: ignore[misc]
        packet = dpkt.ethernet.Ethernet(item[1]).data
        if isinstance(packet, dpkt.arp.ARP):
            assert step.port is None and step.target in {dotted(packet.spa), dotted(packet.tpa)}
            continue
        tcp = packet.data
        server_port = tcp.dport if packet.src == planted.attacker.ip else tcp.sport
        assert step.port == server_port
        assert step.target in {dotted(packet.src), dotted(packet.dst)} - {planted.attacker.ip_text}


def test_the_truth_names_the_attacker_the_smb_hosts_and_both_ports(planted: Planted) -> None:
    """Beyond the window every scenario's truth must match (tests/simulate/test_attacks.py):
    who moves, the hosts its SMB connections reach in order, SMB then RDP."""
    (entry,) = planted.run.truth["attacks"]
    assert (entry["scenario"], entry["kind"]) == ("lateral", "lateral-movement")
    assert (entry["attacker"], entry["attacker_ip"]) == (
        planted.attacker.id,
        planted.attacker.ip_text,
    )
    assert entry["targets"] == [c.host for c in planted.to(SMB)]
    assert entry["ports"] == [SMB, RDP]


def test_the_smallest_site_still_moves_to_its_servers() -> None:
    context = Simulation(SimulationConfig(devices=10, duration=120.0, seed=1)).context
    (moves,) = conversations(context)
    targets = {attack_steps(item)[0].target for item in moves}
    hospital = context.hospital
    assert compromised_workstation(hospital).role is Role.BIOMED_WORKSTATION
    assert targets == {hospital.one(Role.PACS).ip_text, hospital.one(Role.HL7_ENGINE).ip_text}


def test_tshark_decodes_smb2_ntlmssp_and_rdp(tshark: str, planted: Planted, tmp_path: Path) -> None:
    """On the capture's records from the first to the last attack frame (benign ones too)."""
    window = attack_window(planted.run, tmp_path / "window.pcap")
    fields = (
        "smb2.cmd",
        "ntlmssp.messagetype",
        "ntlmssp.auth.username",
        "ntlmssp.auth.domain",
        "smb2.tree",
        "cotp.type",
        "rdp.neg_type",
        "rdp.rt_cookie",
    )
    rows = tshark_fields(tshark, window, "smb2 || ntlmssp || rdp || cotp", *fields)
    seen = [{value for row in rows for value in row[i].split(",") if value} for i in range(8)]
    commands, ntlm, users, domains, trees, cotp, negotiation, cookies = seen
    assert {int(c) for c in commands} == {NEGOTIATE, SESSION_SETUP, TREE_CONNECT}
    assert {int(t, 16) for t in ntlm} == {1, 2, 3}
    assert (users, domains) == ({"svc_backup"}, {"HOSPITAL"})
    assert trees == {f"\\\\{c.host}\\ADMIN$" for c in planted.to(SMB)}
    assert {int(t, 16) for t in cotp} == {0x0E, 0x0D}  # X.224 CR, CC
    assert {int(t, 16) for t in negotiation} == {1, 2}
    assert cookies == {"Cookie: mstshash=svc_backup"}
    flagged = tshark_fields(
        tshark,
        window,
        "(tcp.port==445 || tcp.port==3389) && "
        "(_ws.malformed || _ws.expert.severity>=warning || tcp.analysis.flags)",
    )
    assert flagged == []
