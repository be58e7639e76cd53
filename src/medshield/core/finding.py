"""Findings (posture, vulnerabilities) and alerts (behaviour), as emitted by the analyses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from medshield.core.enums import AlertKind, FindingKind, Severity


def stable_id(prefix: str, *parts: str) -> str:
    """A short id that is the same for the same facts in every run and database."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
    return f"{prefix}-{digest}"


@dataclass(frozen=True, slots=True)
class Finding:
    """A posture or vulnerability finding about one device.

    ``evidence`` is redacted by the check that made it: no PHI, no full secret.
    """

    kind: FindingKind
    severity: Severity
    device: str
    """Device id (or IP address for a host outside the inventory)."""
    title: str
    evidence: str
    remediation: str
    practice: str
    """The seed practice or control this finding serves (e.g. HICP 405-HC 2023 practice 2)."""
    detail_key: str = ""
    """What makes two findings of the same kind on one device different (e.g. the peer)."""
    first_seen: float | None = None

    @property
    def id(self) -> str:
        """Stable id: kind, device and detail key."""
        return stable_id("f", self.kind.value, self.device, self.detail_key)


@dataclass(frozen=True, slots=True)
class Alert:
    """A behaviour alert: something a device did in a time window."""

    kind: AlertKind
    severity: Severity
    device: str
    peer: str | None
    start: float
    end: float
    evidence: str

    @property
    def id(self) -> str:
        """Stable id: kind, device, peer and start time."""
        return stable_id("a", self.kind.value, self.device, self.peer or "", f"{self.start:.6f}")
