"""Devices of the inventory: identity, attributes, and the evidence behind each attribute."""

from __future__ import annotations

from dataclasses import dataclass, field

from medshield.core.enums import Criticality, DeviceCategory


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why MedShield believes an attribute: which observation, when, in which flow."""

    source: str
    """Observation kind or signal name, e.g. ``dhcp.request``, ``oui``, ``arp``."""
    ts: float
    detail: str
    """A short human-readable statement; never PHI, never a full secret."""
    flow_id: int | None = None


@dataclass(slots=True)
class Attribute:
    """One value of a device attribute, its confidence (0–1) and its evidence."""

    value: str
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)

    def corroborate(self, evidence: Evidence, confidence: float, keep: int = 5) -> None:
        """Add evidence for the same value; keep the strongest confidence and a few examples."""
        self.confidence = max(self.confidence, confidence)
        if len(self.evidence) < keep:
            self.evidence.append(evidence)


@dataclass(frozen=True, slots=True)
class Software:
    """A software component a device runs, as named by the protocol that revealed it."""

    name: str
    version: str
    source: str


@dataclass(slots=True)
class Device:
    """A device of the inventory, keyed by MAC address (by IP where no MAC is seen)."""

    id: str
    mac: str | None
    first_seen: float
    last_seen: float
    ips: set[str] = field(default_factory=set)
    attributes: dict[str, dict[str, Attribute]] = field(default_factory=dict)
    """Attribute name → value → Attribute (an attribute may have several values)."""
    software: list[Software] = field(default_factory=list)
    protocols: set[str] = field(default_factory=set)
    peers: set[str] = field(default_factory=set)
    category: DeviceCategory = DeviceCategory.UNKNOWN
    category_confidence: float = 0.0
    criticality: Criticality = Criticality.LOW
    packets: int = 0
    bytes: int = 0

    def add_attribute(
        self, name: str, value: str, confidence: float, evidence: Evidence
    ) -> Attribute:
        """Record ``value`` for attribute ``name`` with its evidence; merge a repeated value."""
        values = self.attributes.setdefault(name, {})
        attribute = values.get(value)
        if attribute is None:
            attribute = values[value] = Attribute(value, confidence, [evidence])
        else:
            attribute.corroborate(evidence, confidence)
        return attribute

    def values(self, name: str) -> list[str]:
        """Values of attribute ``name``, most confident first."""
        found = self.attributes.get(name, {})
        return [a.value for a in sorted(found.values(), key=lambda a: -a.confidence)]

    def best(self, name: str) -> str | None:
        """The most confident value of attribute ``name``, or None."""
        values = self.values(name)
        return values[0] if values else None

    def maker(self) -> str | None:
        """Who made the device: the manufacturer it states (DICOM, HL7 SFT, Modbus …), else
        the vendor its MAC prefix is registered to (which may be a NIC or module maker)."""
        return self.best("manufacturer") or self.best("vendor")

    def seen(self, ts: float) -> None:
        """Widen the first/last-seen window to include ``ts``."""
        self.first_seen = min(self.first_seen, ts)
        self.last_seen = max(self.last_seen, ts)

    def add_software(self, software: Software) -> None:
        """Add a software component once."""
        if software not in self.software:
            self.software.append(software)


def device_id_for_mac(mac: str) -> str:
    """Stable device id of a MAC address (same across captures and databases)."""
    return "mac-" + mac.replace(":", "").lower()


def device_id_for_ip(ip: str) -> str:
    """Stable device id of a device known only by IP (raw-IP captures)."""
    return "ip-" + ip.replace(":", "_")
