"""Factories for risk tests: devices, advisory matches and findings."""

from __future__ import annotations

from medshield.core.device import Device
from medshield.core.enums import Criticality, FindingKind, Severity
from medshield.core.finding import Finding
from medshield.vulns.matching import Match
from medshield.vulns.vex import AnalysisState


def make_device(device_id: str, criticality: Criticality = Criticality.LOW) -> Device:
    return Device(device_id, None, 0.0, 0.0, criticality=criticality)


def make_match(
    device: str,
    advisory: str = "ICSMA-00-000-01",
    *,
    cvss: float | None = 9.8,
    state: AnalysisState = AnalysisState.AFFECTED,
    kev: bool = False,
    epss: float | None = None,
    fixed_in: str | None = "2.0",
) -> Match:
    return Match(
        device=device,
        advisory=advisory,
        cves=("CVE-2099-0001",),
        product_id="P1",
        product="Example Pump",
        affected_range="< 2.0",
        fixed_in=fixed_in,
        why="test",
        confidence=0.9,
        cvss=cvss,
        state=state,
        kev=kev,
        epss=epss,
    )


def make_finding(device: str, kind: FindingKind, remediation: str = "fix it") -> Finding:
    return Finding(
        kind=kind,
        severity=Severity.HIGH,
        device=device,
        title=f"{kind.value} on {device}",
        evidence="test",
        remediation=remediation,
        practice="test",
        detail_key=kind.value,
    )
