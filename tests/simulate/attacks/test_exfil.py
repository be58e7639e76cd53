"""PACS staging and upload to an unfamiliar internet host (simulate/attacks/exfil.py)."""

from __future__ import annotations

import itertools
import struct
import subprocess
from dataclasses import dataclass
from ipaddress import IPv4Address

import dpkt
import pytest
from cryptography import x509

from medshield.simulate.attacks.base import attack_start, compromised_workstation
from medshield.simulate.attacks.exfil import SCENARIO, STUDIES, conversations
from medshield.simulate.context import INTERNET
from medshield.simulate.facts import AttackStep
from medshield.simulate.personas import Role
from medshield.simulate.population import SimDevice
from medshield.simulate.runner import Simulation, SimulationConfig
from medshield.simulate.wire import Item

from ..checks import checksums_ok
from .conftest import PlantedRun, attack_steps, frames_of, plant, planted_on_site, read_frames

PLANTED = planted_on_site(SCENARIO.name)
MB = 1_000_000
HANDSHAKE, CHANGE_CIPHER_SPEC, ALERT, APPLICATION_DATA = 22, 20, 21, 23


@dataclass(frozen=True)
class Segment:
    """A TCP segment of the attack, decoded."""

    ts: int
    src: str
    dst: str
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    payload: bytes
    frame: bytes


@dataclass(frozen=True)
class Planted:
    """The small site with the scenario planted: the run, its attack decoded, and who is who."""

    run: PlantedRun
    attack: list[tuple[int, bytes, AttackStep]]
    """(time µs, frame, step) of each attack item."""
    segments: list[Segment]
    """The attack's TCP segments, decoded once."""
    staging: list[Segment]
    """Those between the attacker and the PACS web port."""
    upload: list[Segment]
    """Those between the attacker and the upload host's port 443."""
    upload_ip: str
    start_us: int
    attacker: SimDevice
    pacs: SimDevice
    resolver: SimDevice


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    run = plant(PLANTED, tmp_path_factory.mktemp("exfil"))
    hospital = run.hospital
    attack = [_with_step(item) for item in run.attack]
    decoded = (_decode(ts, frame) for ts, frame, _ in attack)
    segments = [segment for segment in decoded if segment is not None]
    attacker, pacs = compromised_workstation(hospital), hospital.one(Role.PACS)
    upload_ip = _upload_ip(attack)
    return Planted(
        run,
        attack,
        segments,
        _connection(segments, attacker.ip_text, pacs.ip_text, 80),
        _connection(segments, attacker.ip_text, upload_ip, 443),
        upload_ip,
        attack_start(run.context, attacker, offset_s=60.0),
        attacker,
        pacs,
        hospital.one(Role.INFRASTRUCTURE_SERVER),
    )


def _with_step(item: Item) -> tuple[int, bytes, AttackStep]:
    """(time µs, frame, step) of an attack item, which carries exactly one step."""
    (step,) = attack_steps(item)
    return item[0], item[1], step


def _decode(ts: int, frame: bytes) -> Segment | None:
    """The TCP segment an Ethernet II / IPv4 frame carries (RFC 791 §3.1, RFC 9293 §3.1).

    Hand-decoded: dpkt takes seconds over the upload's 30,000 frames; a sample is checked
    against dpkt in :func:`test_attack_checksums_and_decoding_agree_with_dpkt`.
    """
    if frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    at = 14 + (frame[14] & 0x0F) * 4
    end = 14 + int.from_bytes(frame[16:18], "big")  # Ethernet padding is not payload
    sport, dport, seq, ack, offset_flags = struct.unpack_from("!HHIIH", frame, at)
    return Segment(
        ts,
        str(IPv4Address(frame[26:30])),
        str(IPv4Address(frame[30:34])),
        sport,
        dport,
        seq,
        ack,
        offset_flags & 0xFF,
        frame[at + (offset_flags >> 12) * 4 : end],
        frame,
    )


def _connection(segments: list[Segment], client: str, server: str, port: int) -> list[Segment]:
    """The segments between ``client`` and ``server``:``port``."""
    return [
        s
        for s in segments
        if (s.src, s.dst, s.dport) == (client, server, port)
        or (s.src, s.dst, s.sport) == (server, client, port)
    ]


def _stream(segments: list[Segment], src: str) -> bytes:
    """The bytes ``src`` sent, checking that each segment follows the previous one exactly."""
    data = [s for s in segments if s.src == src and s.payload]
    for before, after in itertools.pairwise(data):
        assert after.seq == (before.seq + len(before.payload)) & 0xFFFFFFFF
    return b"".join(s.payload for s in data)


def _upload_ip(attack: list[tuple[int, bytes, AttackStep]]) -> str:
    """The public address the attack reaches (its one target beyond the site)."""
    (public,) = {s.target for _, _, s in attack if IPv4Address(s.target).is_global}
    return public


def _lookups(planted: Planted) -> list[tuple[int, str, dpkt.dns.DNS]]:
    """(time, destination IP, message) of the attack's DNS datagrams."""
    found = []
    for ts, frame, step in planted.attack:
        if step.port == 53:
            ip = dpkt.ethernet.Ethernet(frame).data
            found.append((ts, str(IPv4Address(ip.dst)), dpkt.dns.DNS(bytes(ip.data.data))))
    return found


def _queried_name(planted: Planted) -> str:
    """The one name the attack looks up."""
    (name,) = {q.name for _, _, message in _lookups(planted) for q in message.qd}
    return str(name)


def _tls_records(stream: bytes) -> list[tuple[int, int, bytes]]:
    """(content type, version, fragment) of each TLS record, all of them whole."""
    records, at = [], 0
    while at < len(stream):
        kind, version, length = struct.unpack_from("!BHH", stream, at)
        assert at + 5 + length <= len(stream)
        records.append((kind, version, stream[at + 5 : at + 5 + length]))
        at += 5 + length
    return records


def _http_messages(stream: bytes) -> list[tuple[str, dict[str, str], bytes]]:
    """(start line, lower-case headers, body by Content-Length) of each HTTP/1.1 message."""
    messages, at = [], 0
    while at < len(stream):
        end = stream.index(b"\r\n\r\n", at)
        start, *lines = stream[at:end].decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
        length = int(headers.get("content-length", "0"))
        messages.append((start, headers, stream[end + 4 : end + 4 + length]))
        at = end + 4 + length
    return messages


def test_every_attack_frame_carries_only_its_step(planted: Planted) -> None:
    attacker = planted.attacker
    assert len(planted.attack) < 50_000
    for item, (_, _, step) in zip(planted.run.attack, planted.attack, strict=True):
        assert item[2] == (step,)  # type: ignore[misc]  # no Communication, Risk or Identifier
    segments = iter(planted.segments)
    for ts, frame, step in planted.attack:
        assert (step.scenario, step.kind) == ("exfil", "data-exfiltration")
        assert (step.attacker, step.attacker_ip) == (attacker.id, attacker.ip_text)
        if frame[12:14] == b"\x08\x06":
            arp = dpkt.ethernet.Ethernet(frame).data
            assert step.port is None and step.target == planted.pacs.ip_text
            assert {arp.spa, arp.tpa} == {attacker.ip, planted.pacs.ip}
            continue
        if frame[23] == 6:
            segment = next(segments)
            assert segment.ts == ts
            ends, ports = {segment.src, segment.dst}, (segment.sport, segment.dport)
        else:
            ip = dpkt.ethernet.Ethernet(frame).data
            ends = {str(IPv4Address(ip.src)), str(IPv4Address(ip.dst))}
            ports = (ip.data.sport, ip.data.dport)
        assert ends == {attacker.ip_text, step.target}
        assert step.port in ports


def test_attack_checksums_and_decoding_agree_with_dpkt(planted: Planted) -> None:
    frames = [f for _, f, s in planted.attack if s.port is not None]
    # Every handshake and DNS frame, then a sample of the bulk (dpkt is slow on 30k frames).
    for frame in frames[:200] + frames[200::97] + frames[-20:]:
        assert checksums_ok(frame)
    for segment in planted.segments[::101]:
        tcp = dpkt.ethernet.Ethernet(segment.frame).data.data
        assert (tcp.sport, tcp.dport, tcp.seq, tcp.ack) == (
            segment.sport,
            segment.dport,
            segment.seq,
            segment.ack,
        )
        assert tcp.flags == segment.flags and bytes(tcp.data) == segment.payload


def test_truth_names_the_targets_in_order_and_no_upload_communication(planted: Planted) -> None:
    """Beyond the window every scenario's truth must match (tests/simulate/test_attacks.py):
    its fields, who exfiltrates to whom and when, and no benign talk with the upload host."""
    (entry,) = planted.run.truth["attacks"]
    assert set(entry) == {
        "scenario",
        "kind",
        "attacker",
        "attacker_ip",
        "targets",
        "ports",
        "start",
        "end",
        "frames",
    }
    upload = planted.upload_ip
    assert entry["scenario"] == "exfil" and entry["kind"] == "data-exfiltration"
    assert entry["attacker"] == planted.attacker.id
    assert entry["attacker_ip"] == planted.attacker.ip_text
    # First attacked: the PACS (ARP, then HTTP), the resolver (DNS), the upload host (TLS).
    assert entry["targets"] == [planted.pacs.ip_text, planted.resolver.ip_text, upload]
    assert entry["ports"] == [80, 53, 443]
    first, last = planted.attack[0][0], planted.attack[-1][0]
    assert first == planted.start_us
    assert last - first < 40_000_000  # the core of the attack fits a two-minute capture
    communications = planted.run.truth["communications"]
    assert not [c for c in communications if upload in (c["src"], c["dst"])]


def test_written_capture_is_the_simulated_frames(planted: Planted) -> None:
    assert read_frames(planted.run.pcap) == frames_of(planted.run.items)


def test_staging_pulls_studies_from_the_pacs_over_http(planted: Planted) -> None:
    attacker, pacs = planted.attacker, planted.pacs
    arp = [dpkt.ethernet.Ethernet(f).data for _, f, _ in planted.attack[:2]]
    assert arp[0].op == dpkt.arp.ARP_OP_REQUEST and arp[0].tpa == pacs.ip
    assert arp[1].op == dpkt.arp.ARP_OP_REPLY and arp[1].sha == pacs.mac
    segments = planted.staging
    assert segments[0].flags == dpkt.tcp.TH_SYN and segments[0].src == attacker.ip_text
    assert len({s.sport for s in segments if s.src == attacker.ip_text}) == 1  # keep-alive
    requests = _http_messages(_stream(segments, attacker.ip_text))
    responses = _http_messages(_stream(segments, pacs.ip_text))
    assert len(requests) == len(responses) == STUDIES
    for (line, headers, _), (status, answer, body) in zip(requests, responses, strict=True):
        method, uri, version = line.split(" ")
        assert (method, version) == ("GET", "HTTP/1.1")
        assert "/rs/studies/" in uri and uri.endswith("accept=application/zip")
        assert headers["host"] == pacs.fqdn
        assert status == "HTTP/1.1 200 OK" and answer["content-type"] == "application/zip"
        assert body.startswith(b"PK\x03\x04") and len(body) == int(answer["content-length"])
    staged = sum(len(body) for _, _, body in responses)
    assert 1 * MB < staged < 6 * MB
    fins = [s for s in segments if s.flags & dpkt.tcp.TH_FIN]
    assert [s.src for s in fins] == [attacker.ip_text, pacs.ip_text]


def test_upload_name_is_resolved_through_the_site_resolver_first(planted: Planted) -> None:
    upload = planted.upload_ip
    lookups = _lookups(planted)
    queries = [(dst, m) for _, dst, m in lookups if m.qr == dpkt.dns.DNS_Q]
    assert {dst for dst, _ in queries} == {planted.resolver.ip_text}
    answers = [m for _, _, m in lookups if m.qr == dpkt.dns.DNS_R]
    assert sorted(m.qd[0].type for m in answers) == [dpkt.dns.DNS_A, dpkt.dns.DNS_AAAA]
    (a,) = [m for m in answers if m.qd[0].type == dpkt.dns.DNS_A]
    assert [str(IPv4Address(rr.ip)) for rr in a.an] == [upload]
    syn = planted.upload[0]
    staging_end = planted.staging[-1].ts
    assert staging_end < lookups[0][0] and lookups[-1][0] < syn.ts


def test_upload_host_is_new_to_the_site(planted: Planted) -> None:
    upload = IPv4Address(planted.upload_ip)
    assert upload.is_global
    assert upload.packed not in {host.ip for host in INTERNET}
    for item in planted.run.items:
        frame = item[1]
        if not attack_steps(item) and frame[12:14] == b"\x08\x00":  # benign IPv4
            assert upload.packed not in (frame[26:30], frame[30:34])


def test_upload_is_tls12_with_sni_and_30_mb_of_application_data(planted: Planted) -> None:
    attacker, upload = planted.attacker.ip_text, planted.upload_ip
    segments = planted.upload
    sent = _tls_records(_stream(segments, attacker))
    received = _tls_records(_stream(segments, upload))
    hello = dpkt.ssl.TLSHandshake(sent[0][2]).data
    assert isinstance(hello, dpkt.ssl.TLSClientHello)
    sni = dict(hello.extensions)[0]
    list_length, name_type, name_length = struct.unpack_from("!HBH", sni)
    name = sni[5 : 5 + name_length].decode()
    assert (list_length, name_type) == (name_length + 3, 0)
    assert name == _queried_name(planted)
    server_hello = dpkt.ssl.TLSHandshake(received[0][2]).data
    assert isinstance(server_hello, dpkt.ssl.TLSServerHello)
    assert server_hello.version == 0x0303
    chain = received[1][2]
    leaf = x509.load_der_x509_certificate(chain[10 : 10 + int.from_bytes(chain[7:10], "big")])
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [name]
    kinds = [kind for kind, _, _ in sent]
    assert kinds[:4] == [HANDSHAKE, HANDSHAKE, CHANGE_CIPHER_SPEC, HANDSHAKE]
    assert kinds[-1] == ALERT and set(kinds[4:-1]) == {APPLICATION_DATA}
    data = [fragment for kind, _, fragment in sent if kind == APPLICATION_DATA]
    assert {version for _, version, _ in sent[1:]} == {0x0303}
    assert 30 * MB <= sum(len(fragment) for fragment in data) < 32 * MB
    assert max(len(fragment) for fragment in data) == (1 << 14) + 8 + 16  # full GCM records
    assert len(set(data)) == len(data)  # every record's ciphertext differs
    assert all(fragment.count(0) < len(fragment) // 64 for fragment in data)  # not zeros
    # ServerHello, Certificate, ServerKeyExchange, ServerHelloDone; CCS, Finished; the reply.
    assert [kind for kind, _, _ in received] == [HANDSHAKE] * 4 + [
        CHANGE_CIPHER_SPEC,
        HANDSHAKE,
        APPLICATION_DATA,
    ]


def test_upload_segments_are_full_paced_and_acked(planted: Planted) -> None:
    attacker, upload = planted.attacker.ip_text, planted.upload_ip
    segments = planted.upload
    assert segments[0].flags == dpkt.tcp.TH_SYN and segments[0].src == attacker
    assert [s.src for s in segments if s.flags & dpkt.tcp.TH_FIN] == [attacker, upload]
    data = [s for s in segments if s.src == attacker and s.payload]
    assert max(len(s.payload) for s in data) == 1460
    bulk = [s for s in data if len(s.payload) == 1460]
    assert len(bulk) > 0.99 * len(data)
    seconds = (bulk[-1].ts - bulk[0].ts) / 1_000_000
    rate = sum(len(s.payload) for s in bulk) / seconds
    assert 5 * MB < rate < 10 * MB and seconds > 2
    acks = [s for s in segments if s.src == upload and s.flags == dpkt.tcp.TH_ACK and not s.payload]
    assert abs(len(acks) - len(bulk) / 2) < 10  # a delayed ACK every second segment
    sent_end = {(s.seq + len(s.payload)) & 0xFFFFFFFF for s in data}
    assert all(s.ack in sent_end for s in acks)  # each ACK acknowledges a segment boundary


def test_tshark_decodes_sni_upload_volume_and_staging_gets(planted: Planted, tshark: str) -> None:
    attacker, pacs, upload = planted.attacker.ip_text, planted.pacs.ip_text, planted.upload_ip
    shown = f"ip.src=={attacker} && (http.request || tls.handshake.type==1 || ip.dst=={upload})"
    fields = ("frame.time_epoch", "ip.dst", "tcp.srcport", "tcp.len", "http.request.method")
    fields += ("http.request.uri", "tls.handshake.extensions_server_name")
    # Custom columns in tab-separated text: half the time of "-T fields" on 57k frames.
    columns = ",".join(f'"{field}","%Cus:{field}"' for field in fields)
    command = [tshark, "-n", "-r", str(planted.run.pcap), "-Y", shown, "-T", "tabs"]
    command += ["-o", f"gui.column.format:{columns}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = [line.split("\t") for line in output.splitlines()]
    names = {row[6] for row in rows if row[1] == upload and row[6]}
    assert names == {_queried_name(planted)}
    uploaded = sum(int(row[3]) for row in rows if row[1] == upload)
    assert 30 * MB <= uploaded < 32 * MB
    staging = planted.staging
    window = (planted.start_us, staging[-1].ts)
    gets = [
        row[5]
        for row in rows
        if row[1] == pacs
        and row[4] == "GET"
        and window[0] <= round(float(row[0]) * 1_000_000) <= window[1]
        and int(row[2]) == staging[0].sport
    ]
    expected = [
        m[0].split(" ")[1] for m in _http_messages(_stream(staging, planted.attacker.ip_text))
    ]
    assert gets == expected and len(gets) == STUDIES


def test_smallest_site_starts_with_arp_for_the_pacs() -> None:
    simulation = Simulation(SimulationConfig(devices=10, duration=60.0, seed=5))
    hospital = simulation.hospital
    attacker = compromised_workstation(hospital)
    (conversation,) = conversations(simulation.context)
    first = list(itertools.islice(conversation, 3))
    request = dpkt.ethernet.Ethernet(first[0][1]).data
    assert isinstance(request, dpkt.arp.ARP)
    assert request.spa == attacker.ip and request.tpa == hospital.one(Role.PACS).ip
    syn = dpkt.ethernet.Ethernet(first[2][1]).data.data
    assert syn.flags == dpkt.tcp.TH_SYN and syn.dport == 80
    assert first[0][0] == attack_start(simulation.context, attacker, offset_s=60.0)
