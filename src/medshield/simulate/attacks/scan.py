"""Port scan: the compromised workstation SYN-scans the site's medical devices and servers.

Modelled on ``nmap -sS -n`` with default timing (T3) run from the phished desktop:

* host discovery on the local segment is an ARP ping (RFC 826): one who-has per target, each
  answered, before any TCP probe;
* each target is then probed on :data:`SCAN_PORTS` (nmap's most frequent TCP ports plus the
  medical and building-automation ones: DICOM, HL7 MLLP, MQTT, Modbus) in an order shuffled
  per target, from one source port per target block, at a few hundred probes per second;
* a probe is nmap's raw SYN: window 1024, a single MSS option, random sequence number, IP ID
  and TTL, no DF bit;
* a port the simulated device really serves (:func:`served_ports`) answers SYN/ACK and the
  scanner's own stack, which knows no such connection, resets it (RFC 9293 §3.10.7.1); a
  closed port answers RST/ACK (§3.10.7.1, CLOSED state); one target in
  :data:`FILTERED_EVERY` sits behind a host firewall that drops every probe silently.

nmap's retransmission of unanswered probes is not modelled: every (target, port) pair is
probed exactly once, so the probe count is targets × ports.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

from medshield.simulate.attacks.base import (
    AttackScenario,
    attack_start,
    compromised_workstation,
    internal_step,
)
from medshield.simulate.context import Context, arp_resolve
from medshield.simulate.facts import AttackStep
from medshield.simulate.ftp import FTP_PORT
from medshield.simulate.hl7 import MLLP_PORT
from medshield.simulate.http import HTTP_PORT
from medshield.simulate.modbus import MODBUS_PORT
from medshield.simulate.mqtt import BROKER_PORT
from medshield.simulate.personas import Role
from medshield.simulate.population import Hospital, SimDevice
from medshield.simulate.tcp import ACK, RST, SYN
from medshield.simulate.telnet import TELNET_PORT
from medshield.simulate.tls import HTTPS_PORT
from medshield.simulate.wire import (
    PROTO_TCP,
    Item,
    Nic,
    ethernet_header,
    finish_checksum,
    pad,
    word_sum,
)

TARGET_ROLES = frozenset(
    {
        Role.PUMP_SERVER,
        Role.PACS,
        Role.HL7_ENGINE,
        Role.PATIENT_MONITOR,
        Role.INFUSION_PUMP,
        Role.CT_SCANNER,
        Role.MR_SCANNER,
        Role.LAB_ANALYSER,
        Role.IOT_GATEWAY,
        Role.BUILDING_CONTROLLER,
    }
)
"""Roles the attacker is after: medical devices, the servers behind them, the cold-room PLC."""
MAX_TARGETS = 16

DICOM_PORT = 104
SMB_PORT = 445
SCAN_PORTS: tuple[int, ...] = (
    # nmap's most frequent TCP ports (nmap-services open frequency)
    *(21, 22, 23, 25, 53, 80, 81, 88, 110, 111, 135, 139, 143, 179, 199, 389, 443, 445),
    *(465, 513, 514, 515, 548, 554, 587, 631, 993, 995, 1025, 1433, 1720, 1723, 1900),
    *(2000, 2049, 3000, 3128, 3306, 3389, 5060, 5432, 5900, 6000, 8000, 8008, 8080, 8081),
    *(8443, 8888, 9100, 10000, 49152, 49154),
    # medical and automation services: S7, DICOM, Modbus, MQTT, HL7 MLLP, DICOM over TLS,
    # Orthanc, OPC UA, MQTT over TLS, DICOM (alternate), DNP3
    *(102, 104, 502, 1883, 2575, 2761, 2762, 4242, 4840, 8883, 11112, 20000),
)
FILTERED_EVERY = 4
"""Every fourth target (the 4th, 8th …) drops probes: a host firewall, no answer at all."""

NMAP_WINDOW = 1024
NMAP_SYN_OPTIONS = b"\x02\x04\x05\xb4"
"""nmap's SYN carries one option, MSS 1460 (RFC 9293 §3.2); the answer echoes only MSS."""
NMAP_TTL = (37, 60)
"""Probe TTLs are random in this range, as nmap sets them on its raw packets."""
SOURCE_PORTS = (33000, 64000)
"""nmap's probe source port: random in this range, fixed for a target block."""
PROBE_GAP_US = (1_000, 3_000)
"""Between probes: about 500 per second on average (300–1000)."""
ANSWER_LAG_US = (150, 600)
"""Target's turnaround for a SYN; less than the smallest probe gap, so frames stay in order."""
RESET_LAG_US = (20, 80)
"""The scanner's kernel answering a SYN/ACK it did not expect."""
ARP_GAP_US = (1_000, 2_500)
BLOCK_GAP_US = (5_000, 40_000)
"""Between discovery and the first block, and between target blocks."""

_IP = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIHHHH")


def scan_targets(hospital: Hospital) -> list[SimDevice]:
    """The devices the scan probes: those of :data:`TARGET_ROLES`, in index order, at most
    :data:`MAX_TARGETS`."""
    return [d for d in hospital.devices if d.role in TARGET_ROLES][:MAX_TARGETS]


def served_ports(hospital: Hospital, device: SimDevice) -> frozenset[int]:
    """The TCP ports on which ``device`` accepts connections in the simulated site.

    The servers the simulator's benign conversations talk to (:mod:`.scenario`): telnet on
    pumps with a service login, FTP (when it has a login) and HTTPS on the first lab analyser,
    HTTP and DICOM on the PACS (104 and every modality's configured port), MLLP on the HL7
    engine, MQTT and HTTPS on the pump server, Modbus/TCP on the building controller; plus the
    SMB service of the PACS and HL7 engine that the ``lateral`` scenario logs into.
    """
    role = device.role
    if role is Role.INFUSION_PUMP:
        return frozenset({TELNET_PORT}) if device.product.login else frozenset()
    if role is Role.LAB_ANALYSER:
        if device.index != hospital.one(Role.LAB_ANALYSER).index:
            return frozenset()
        return frozenset({HTTPS_PORT, *((FTP_PORT,) if device.product.login else ())})
    if role is Role.PACS:
        modalities = hospital.of(Role.CT_SCANNER) + hospital.of(Role.MR_SCANNER)
        dicom = {DICOM_PORT, *(m.product.dicom_port for m in modalities)}
        return frozenset({HTTP_PORT, SMB_PORT, *dicom})
    if role is Role.HL7_ENGINE:
        return frozenset({MLLP_PORT, SMB_PORT})
    if role is Role.PUMP_SERVER:
        return frozenset({BROKER_PORT, HTTPS_PORT})
    if role is Role.BUILDING_CONTROLLER:
        return frozenset({MODBUS_PORT})
    return frozenset()


def is_filtered(position: int) -> bool:
    """Whether the target at ``position`` of the scan order drops every probe."""
    return position % FILTERED_EVERY == FILTERED_EVERY - 1


def tcp_segment(
    src: Nic,
    dst: Nic,
    *,
    ttl: int,
    ident: int,
    dont_fragment: bool,
    ports: tuple[int, int],
    seq: int,
    ack: int,
    flags: int,
    window: int,
    options: bytes = b"",
) -> bytes:
    """One IPv4/TCP segment without payload, headers as given (RFC 791 §3.1, RFC 9293 §3.1).

    The scan needs header values :class:`~medshield.simulate.tcp.TcpSide` keeps fixed (nmap's
    window and TTL, no DF), so the segment is written field by field.
    """
    header_len = 20 + len(options)
    total = 20 + header_len
    flags_offset = 0x4000 if dont_fragment else 0
    ip_header = _IP.pack(0x45, 0, total, ident, flags_offset, ttl, PROTO_TCP, 0, src.ip, dst.ip)
    ip_check = finish_checksum(word_sum(ip_header))
    ip_header = _IP.pack(
        0x45, 0, total, ident, flags_offset, ttl, PROTO_TCP, ip_check, src.ip, dst.ip
    )
    off_flags = header_len << 10 | flags
    tcp_header = _TCP.pack(*ports, seq, ack, off_flags, window, 0, 0) + options
    pseudo = src.ip + dst.ip + struct.pack("!HH", PROTO_TCP, header_len)
    tcp_check = finish_checksum(word_sum(pseudo + tcp_header))
    tcp_header = _TCP.pack(*ports, seq, ack, off_flags, window, tcp_check, 0) + options
    packet = ip_header + tcp_header
    return pad(ethernet_header(dst.mac, src.mac) + packet)


def conversations(ctx: Context) -> list[Iterator[Item]]:
    """One scan run (none on a site without targets)."""
    if not scan_targets(ctx.hospital):
        return []
    return [_scan(ctx)]


def _scan(ctx: Context) -> Iterator[Item]:
    hospital = ctx.hospital
    attacker = compromised_workstation(hospital)
    targets = scan_targets(hospital)
    rng = ctx.rng("attack", SCENARIO.name)
    t = attack_start(ctx, attacker, offset_s=0.0)
    for target in targets:
        step = internal_step(SCENARIO, attacker, target.nic)
        for item in arp_resolve(t, attacker.nic, target.nic, lag_us=rng.randrange(150, 600)):
            yield item[0], item[1], (step,)
        t += rng.randrange(*ARP_GAP_US)
    # The scanner's own stack (it sends the RSTs): one IP ID counter, as Windows keeps.
    stack_ident = rng.getrandbits(16)
    for position, target in enumerate(targets):
        t += rng.randrange(*BLOCK_GAP_US)
        ports = list(SCAN_PORTS)
        rng.shuffle(ports)
        block = _Block(attacker, target, rng, stack_ident)
        answers = not is_filtered(position)
        open_ports = served_ports(hospital, target)
        for port in ports:
            yield from block.probe(t, port, answers=answers, listening=port in open_ports)
            t += rng.randrange(*PROBE_GAP_US)
        stack_ident = block.stack_ident


class _Block:
    """The probes to one target: nmap's fixed source port, the target's and scanner's stacks."""

    def __init__(
        self, attacker: SimDevice, target: SimDevice, rng: random.Random, stack_ident: int
    ) -> None:
        self.attacker = attacker
        self.target = target
        self.rng = rng
        self.sport = rng.randrange(*SOURCE_PORTS)
        self.stack_ident = stack_ident
        self.target_ident = rng.getrandbits(16)

    def probe(self, t: int, port: int, *, answers: bool, listening: bool) -> Iterator[Item]:
        """nmap's SYN to ``port``; the target's answer and the scanner's reset, if any."""
        rng = self.rng
        scanner, target = self.attacker.nic, self.target.nic
        step: tuple[AttackStep, ...] = (internal_step(SCENARIO, self.attacker, target, port),)
        seq = rng.getrandbits(32)
        syn = tcp_segment(
            scanner,
            target,
            ttl=rng.randrange(*NMAP_TTL),
            ident=rng.getrandbits(16),
            dont_fragment=False,
            ports=(self.sport, port),
            seq=seq,
            ack=0,
            flags=SYN,
            window=NMAP_WINDOW,
            options=NMAP_SYN_OPTIONS,
        )
        yield t, syn, step
        if not answers:
            return
        t += rng.randrange(*ANSWER_LAG_US)
        if listening:
            yield t, self._answer(port, seq, SYN | ACK, rng.getrandbits(32)), step
            t += rng.randrange(*RESET_LAG_US)
            yield t, self._reset(port, (seq + 1) & 0xFFFFFFFF), step
        else:
            yield t, self._answer(port, seq, RST | ACK, 0), step

    def _answer(self, port: int, probe_seq: int, flags: int, seq: int) -> bytes:
        """The target's SYN/ACK (window of its stack, MSS echoed) or RST/ACK (window 0)."""
        ident = self.target_ident
        self.target_ident = (ident + 1) & 0xFFFF
        syn_ack = bool(flags & SYN)
        nic = self.target.nic
        return tcp_segment(
            nic,
            self.attacker.nic,
            ttl=nic.ttl,
            ident=ident,
            dont_fragment=True,
            ports=(port, self.sport),
            seq=seq,
            ack=(probe_seq + 1) & 0xFFFFFFFF,
            flags=flags,
            window=self.target.product.stack.window if syn_ack else 0,
            options=NMAP_SYN_OPTIONS if syn_ack else b"",
        )

    def _reset(self, port: int, seq: int) -> bytes:
        """The scanner's stack resetting the half-open connection it never opened: RST with
        the SYN/ACK's acknowledgment number as sequence number (RFC 9293 §3.10.7.1)."""
        ident = self.stack_ident
        self.stack_ident = (ident + 1) & 0xFFFF
        return tcp_segment(
            self.attacker.nic,
            self.target.nic,
            ttl=self.attacker.nic.ttl,
            ident=ident,
            dont_fragment=True,
            ports=(self.sport, port),
            seq=seq,
            ack=0,
            flags=RST,
            window=0,
            options=b"",
        )


SCENARIO = AttackScenario(
    name="scan",
    kind="port-scan",
    conversations=conversations,
    summary="nmap-style TCP SYN scan of medical devices and servers from a workstation",
)
