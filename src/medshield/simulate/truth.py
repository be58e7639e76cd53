"""Ground truth of a simulated capture (schema ``medshield.truth/1``) and the rules behind it.

The truth lists what a correct assessor must report from the capture: every device that sent a
frame, who talked to whom, and every posture finding, no more. It is built from the facts
attached to the frames actually written (see :mod:`.facts`), so a capture cut short by
``--duration`` or ``--max-packets`` has a truth that matches it.

Devices
    One entry per source MAC seen (the router included: internet hosts appear behind its MAC and
    are not devices). ``vendor`` is the IEEE registry organisation of the OUI as netaddr returns
    it; ``category`` and ``criticality`` follow :data:`~.personas.ROLE_CLASSES`; ``software``
    and ``identifiers`` hold only values some frame of the capture shows.

Communications
    One entry per (client IP, server IP, server port, transport, application) of unicast flows.
    Broadcast and multicast traffic (ARP, DHCP DISCOVER/OFFER/REQUEST/ACK at boot, mDNS, SSDP)
    is not listed; unicast DHCP renewals are. Application labels are the dissector names:
    ``dhcp dns hl7 dicom mqtt tls http snmp telnet ftp modbus``.

Risk rules (kinds of :class:`~medshield.core.enums.FindingKind`; at most one entry per kind and
device, ``device`` is the device id, ``detail`` says which evidence showed it)
    ``cleartext-phi``
        The device that *sends* patient data in cleartext: the sender of an HL7 v2 message with a
        PID segment over plain MLLP (monitors' ORU^R01, lab ORU^R01, ADT^A01), and the requestor
        of a DICOM C-STORE whose dataset carries the patient module without TLS (the modality).
        Receivers (engine, PACS) and the HL7 ACK (no PID) are not findings.
    ``cleartext-credentials``
        The device whose credential is exposed, i.e. the server being logged into: telnet login,
        FTP USER/PASS, HTTP ``Authorization: Basic``, MQTT CONNECT with a password (the broker).
        SNMP communities are not counted here (see the next two rules).
    ``default-credentials``
        The server or agent that accepted a credential that is its maker's documented factory
        default: the telnet login ``root``/``dbps`` of a Digi Connect module, and the SNMP
        community ``public``.
    ``insecure-protocol``
        The device *offering* telnet, FTP, or SNMP v1/v2c: the server or agent that answered.
    ``weak-tls``
        The TLS server that negotiated TLS ≤ 1.1, or a 3DES/RC4/NULL/EXPORT suite, or presented
        an expired or self-signed leaf certificate (visible in TLS ≤ 1.2 handshakes).
    ``internet-exposure``
        A medical device (:data:`~.personas.MEDICAL_CATEGORIES`) exchanging traffic with a
        public (globally routable) address. Workstations and servers talking to the internet are
        not findings.
    ``flat-network``
        A medical device whose /24 holds a workstation that sent traffic in the capture; one
        entry per medical device. The address plan keeps roles in separate /24s except the
        planted legacy ward (:mod:`.population`).
    Not planted, so never listed: ``weak-authentication``, ``known-vulnerability`` and
    ``end-of-life-software`` (the last two need advisory feeds, not the capture alone).
    Modbus/TCP is not an ``insecure-protocol`` finding: PRODUCT.md names telnet, FTP and
    SNMP v1/v2c only.
Attacks (``--attacks``)
    One entry per scenario planted, built from the :class:`~.facts.AttackStep` facts of the
    frames written: ``scenario``, the alert ``kind`` a detector must raise, the ``attacker``
    (device id, or IP beyond the router) and its ``attacker_ip``, the ``targets`` (IPs) and
    ``ports`` in the order first attacked, the ``start`` and ``end`` (ISO 8601 UTC, to the
    microsecond) of its first and last frame, and its ``frames``. Attack traffic is not
    listed among the communications.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

import netaddr

from medshield.core.enums import DeviceCategory, FindingKind
from medshield.simulate.facts import AttackStep, Communication, Identifier, Risk, SoftwareSeen
from medshield.simulate.personas import MEDICAL_CATEGORIES
from medshield.simulate.population import Hospital, SimDevice
from medshield.simulate.wire import US

SCHEMA = "medshield.truth/1"
IDENTIFIER_KEYS = (
    "dicom_ae",
    "hl7_application",
    "hl7_facility",
    "dhcp_vendor_class",
    "hostname",
    "mqtt_client_id",
)


def vendor_of(mac: str) -> str:
    """The IEEE registry organisation of a MAC's OUI, as netaddr reports it ('' if unknown)."""
    try:
        return str(netaddr.EUI(mac).oui.registration().org)
    except (netaddr.NotRegisteredError, netaddr.AddrFormatError):
        return ""


@dataclass(slots=True)
class AttackWindow:
    """What the written frames of one attack scenario show."""

    first: AttackStep
    start_us: int
    end_us: int
    targets: dict[str, None] = field(default_factory=dict)
    ports: dict[int, None] = field(default_factory=dict)
    frames: int = 0

    def add(self, step: AttackStep, ts_us: int) -> None:
        """Widen the window by one frame."""
        self.start_us = min(self.start_us, ts_us)
        self.end_us = max(self.end_us, ts_us)
        self.targets.setdefault(step.target, None)
        if step.port is not None:
            self.ports.setdefault(step.port, None)
        self.frames += 1

    def entry(self) -> dict[str, Any]:
        """The truth entry (see the module's *Attacks* rule)."""
        step = self.first
        return {
            "scenario": step.scenario,
            "kind": step.kind,
            "attacker": step.attacker,
            "attacker_ip": step.attacker_ip,
            "targets": list(self.targets),
            "ports": list(self.ports),
            "start": _iso_us(self.start_us),
            "end": _iso_us(self.end_us),
            "frames": self.frames,
        }


class TruthRecorder:
    """Collects the facts of written frames, each once, in the order they first appear."""

    def __init__(self) -> None:
        self.communications: dict[Communication, None] = {}
        self.risks: dict[tuple[FindingKind, str], Risk] = {}
        self.identifiers: dict[str, dict[str, list[str]]] = {}
        self.software: dict[str, dict[SoftwareSeen, None]] = {}
        self.attacks: dict[str, AttackWindow] = {}

    def record(self, facts: Iterable[object], ts_us: int = 0) -> None:
        """Record the facts attached to one frame written at ``ts_us``."""
        for fact in facts:
            if isinstance(fact, AttackStep):
                window = self.attacks.get(fact.scenario)
                if window is None:
                    window = self.attacks[fact.scenario] = AttackWindow(fact, ts_us, ts_us)
                window.add(fact, ts_us)
            elif isinstance(fact, Communication):
                self.communications.setdefault(fact, None)
            elif isinstance(fact, Risk):
                self.risks.setdefault((fact.kind, fact.device), fact)
            elif isinstance(fact, Identifier):
                values = self.identifiers.setdefault(fact.device, {}).setdefault(fact.key, [])
                if fact.value not in values:
                    values.append(fact.value)
            elif isinstance(fact, SoftwareSeen):
                self.software.setdefault(fact.device, {}).setdefault(fact, None)


def flat_network_risks(hospital: Hospital, seen: set[bytes]) -> list[Risk]:
    """Medical devices sharing the planted legacy-ward /24 with a workstation that talked."""
    ward = hospital.legacy_ward
    if ward is None:
        return []
    members = [d for d in hospital.devices if d.mac in seen and IPv4Address(d.ip) in ward]
    workstations = [d for d in members if d.role_class.category is DeviceCategory.WORKSTATION]
    if not workstations:
        return []
    names = ", ".join(d.ip_text for d in workstations)
    return [
        Risk(
            FindingKind.FLAT_NETWORK,
            d.id,
            f"shares {ward} with workstation {names}",
        )
        for d in members
        if d.role_class.category in MEDICAL_CATEGORIES
    ]


def _device_entry(device: SimDevice, recorder: TruthRecorder) -> dict[str, Any]:
    product = device.product
    seen_identifiers = recorder.identifiers.get(device.id, {})
    identifiers = {key: list(seen_identifiers.get(key, ())) for key in IDENTIFIER_KEYS}
    return {
        "id": device.id,
        "mac": device.mac_text,
        "ip": device.ip_text,
        "vendor": vendor_of(device.mac_text),
        "persona": device.role.value,
        "hostname": device.hostname,
        "category": device.role_class.category.value,
        "criticality": device.role_class.criticality.value,
        "model": product.model,
        "firmware": product.firmware,
        "serial": device.serial,
        "software": [
            {"name": s.name, "version": s.version, "source": s.source}
            for s in recorder.software.get(device.id, {})
        ],
        "identifiers": identifiers,
    }


def _iso(ts_us: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_us // US))


def _iso_us(ts_us: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_us // US)) + f".{ts_us % US:06d}Z"


def build_truth(
    *,
    hospital: Hospital,
    seed: int,
    duration: float,
    start_us: int,
    packets: int,
    seen: set[bytes],
    recorder: TruthRecorder,
) -> dict[str, Any]:
    """The ``medshield.truth/1`` document of a written capture."""
    devices = [d for d in hospital.devices if d.mac in seen]
    risks = list(recorder.risks.values()) + flat_network_risks(hospital, seen)
    return {
        "schema": SCHEMA,
        "seed": seed,
        "device_count": len(devices),
        "duration": duration,
        "start": _iso(start_us),
        "packets": packets,
        "devices": [_device_entry(d, recorder) for d in devices],
        "communications": [
            {"src": c.src, "dst": c.dst, "dport": c.dport, "transport": c.transport, "app": c.app}
            for c in recorder.communications
        ],
        "risks": [
            {"kind": r.kind.value, "device": r.device, "detail": r.detail}
            for r in sorted(risks, key=lambda r: (r.device, r.kind.value))
        ],
        "attacks": [window.entry() for window in recorder.attacks.values()],
    }
