"""Closed vocabularies, defined once and shared by CLI, API, store and reports."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Severity(StrEnum):
    """Finding and alert severities, most severe first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical up to 4 for info, so that sorting puts the worst first."""
        return list(Severity).index(self)


class DeviceCategory(StrEnum):
    """What a device is, in the words of a clinical engineer."""

    INFUSION_PUMP = "infusion pump"
    PATIENT_MONITOR = "patient monitor"
    IMAGING_MODALITY = "imaging modality"
    PACS = "PACS"
    HL7_INTERFACE_ENGINE = "HL7 interface engine"
    LAB_ANALYSER = "lab analyser"
    MEDICAL_IOT_GATEWAY = "medical IoT gateway"
    WORKSTATION = "workstation"
    SERVER = "server"
    NETWORK_DEVICE = "network device"
    PRINTER = "printer"
    UNKNOWN = "unknown"


class Criticality(StrEnum):
    """Clinical criticality: what harm follows when the device stops or lies."""

    LIFE_SUSTAINING = "life-sustaining"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class FindingKind(StrEnum):
    """Posture finding kinds (PRODUCT.md, assessment JSON)."""

    CLEARTEXT_PHI = "cleartext-phi"
    CLEARTEXT_CREDENTIALS = "cleartext-credentials"
    DEFAULT_CREDENTIALS = "default-credentials"
    WEAK_AUTHENTICATION = "weak-authentication"
    INSECURE_PROTOCOL = "insecure-protocol"
    WEAK_TLS = "weak-tls"
    KNOWN_VULNERABILITY = "known-vulnerability"
    END_OF_LIFE_SOFTWARE = "end-of-life-software"
    INTERNET_EXPOSURE = "internet-exposure"
    FLAT_NETWORK = "flat-network"


class AlertKind(StrEnum):
    """Behaviour alert kinds (PRODUCT.md, assessment JSON)."""

    UNFAMILIAR_DESTINATION = "unfamiliar-destination"
    NEW_PROTOCOL = "new-protocol"
    PORT_SCAN = "port-scan"
    BRUTE_FORCE = "brute-force"
    DATA_EXFILTRATION = "data-exfiltration"
    BEACONING = "beaconing"
    LATERAL_MOVEMENT = "lateral-movement"
    SPOOFING = "spoofing"
    ANOMALY = "anomaly"


class Transport(IntEnum):
    """IP protocol numbers of the transports MedShield tracks (IANA protocol numbers)."""

    ICMP = 1
    TCP = 6
    UDP = 17
    ICMPV6 = 58

    @property
    def label(self) -> str:
        """Lower-case name as written in JSON (``tcp``, ``udp``)."""
        return self.name.lower()


def transport_label(protocol: int) -> str:
    """``tcp``/``udp``/``icmp`` for known IP protocol numbers, ``ip<N>`` otherwise."""
    try:
        return Transport(protocol).label
    except ValueError:
        return f"ip{protocol}"


class Direction(IntEnum):
    """Direction of a packet or byte stream within a flow."""

    CLIENT_TO_SERVER = 0
    SERVER_TO_CLIENT = 1


MEDICAL_CATEGORIES = frozenset(
    {
        DeviceCategory.INFUSION_PUMP,
        DeviceCategory.PATIENT_MONITOR,
        DeviceCategory.IMAGING_MODALITY,
        DeviceCategory.PACS,
        DeviceCategory.HL7_INTERFACE_ENGINE,
        DeviceCategory.LAB_ANALYSER,
        DeviceCategory.MEDICAL_IOT_GATEWAY,
    }
)
"""Categories that count as medical devices (internet-exposure and flat-network rules)."""


class Practice(StrEnum):
    """The practices MedShield's findings serve, with the HIPAA Security Rule clause behind each."""

    ENCRYPT_IN_TRANSIT = "Encrypt data in transit (HIPAA 164.312(e)(1) transmission security)"
    STRONG_AUTHENTICATION = (
        "Unique, strong authentication; no default or shared passwords "
        "(HIPAA 164.312(a)(2)(i), 164.312(d))"
    )
    SECURE_PROTOCOLS = (
        "Disable insecure management protocols (HIPAA 164.312(e)(1), 164.308(a)(1)(ii)(B))"
    )
    PATCH_FIRMWARE = "Keep firmware and software patched (HIPAA 164.308(a)(1)(ii)(B))"
    SEGMENT_NETWORK = (
        "Segment the network; least-privilege access to medical devices (HIPAA 164.312(a)(1))"
    )
