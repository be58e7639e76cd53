"""The assessment JSON document, schema ``medshield.assessment/1`` (PRODUCT.md).

Besides the contract's keys, each device carries ``evidence``: for every attribute value its
confidence and the observations behind it, so that every claim in the inventory can be
traced to a flow and a time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from medshield.core.device import Device
from medshield.core.finding import Alert, Finding
from medshield.risk.remediation import group_actions
from medshield.store.records import Communication
from medshield.vulns.service import match_json

if TYPE_CHECKING:
    from medshield.pipeline import AssessmentResult

SCHEMA = "medshield.assessment/1"

IDENTIFIER_ATTRIBUTES = (
    "dicom_ae",
    "hl7_application",
    "hl7_facility",
    "dhcp_vendor_class",
    "hostname",
    "mqtt_client_id",
)


def iso(ts: float | None) -> str | None:
    """ISO 8601 UTC with a Z suffix, or None."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def device_document(
    device: Device,
    risk: dict[str, Any] | None = None,
    vulnerabilities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One device as the assessment JSON writes it (risk and matches where assessed)."""
    return {
        "id": device.id,
        "mac": device.mac,
        "ips": sorted(device.ips),
        "vendor": device.best("vendor"),
        "manufacturer": device.best("manufacturer") or device.best("vendor"),
        "model": device.best("model"),
        "firmware": device.best("firmware"),
        "serial": device.best("serial"),
        "hostname": device.best("hostname"),
        "category": device.category.value,
        "category_confidence": round(device.category_confidence, 3),
        "criticality": device.criticality.value,
        "software": [
            {"name": s.name, "version": s.version, "source": s.source} for s in device.software
        ],
        "identifiers": {name: device.values(name) for name in IDENTIFIER_ATTRIBUTES},
        "protocols": sorted(device.protocols),
        "peers": sorted(device.peers),
        "first_seen": iso(device.first_seen),
        "last_seen": iso(device.last_seen),
        "packets": device.packets,
        "bytes": device.bytes,
        "risk": risk or {"score": 0, "factors": []},
        "vulnerabilities": vulnerabilities or [],
        "evidence": _evidence(device),
    }


def _evidence(device: Device) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [
            {
                "value": attribute.value,
                "confidence": round(attribute.confidence, 3),
                "evidence": [
                    {
                        "source": e.source,
                        "time": iso(e.ts),
                        "flow": e.flow_id,
                        "detail": e.detail,
                    }
                    for e in attribute.evidence
                ],
            }
            for attribute in values.values()
        ]
        for name, values in sorted(device.attributes.items())
    }


def finding_document(finding: Finding) -> dict[str, Any]:
    """One finding as the assessment JSON writes it."""
    return {
        "id": finding.id,
        "kind": finding.kind.value,
        "severity": finding.severity.value,
        "device": finding.device,
        "title": finding.title,
        "evidence": finding.evidence,
        "remediation": finding.remediation,
        "practice": finding.practice,
    }


def alert_document(alert: Alert) -> dict[str, Any]:
    """One alert as the assessment JSON writes it."""
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "device": alert.device,
        "peer": alert.peer,
        "start": iso(alert.start),
        "end": iso(alert.end),
        "evidence": alert.evidence,
    }


def communication_document(comm: Communication) -> dict[str, Any]:
    """One aggregated communication as the assessment JSON writes it."""
    return {
        "src": comm.src,
        "dst": comm.dst,
        "dport": comm.dport,
        "transport": comm.transport,
        "app": comm.app or None,
        "packets": comm.packets,
        "bytes": comm.bytes,
    }


def assessment_document(result: AssessmentResult) -> dict[str, Any]:
    """The whole assessment JSON document."""
    summary = result.summary
    return {
        "schema": SCHEMA,
        "capture": {
            "files": summary.files,
            "packets": summary.packets,
            "bytes": summary.bytes,
            "flows": summary.flows,
            "start": iso(summary.start),
            "end": iso(summary.end),
            "problems": summary.problems + summary.unusable,
        },
        "devices": [_assessed_device(d, result) for d in result.devices],
        "findings": [finding_document(f) for f in result.findings],
        "alerts": [alert_document(a) for a in result.alerts],
        "communications": [communication_document(c) for c in result.communications],
        "site_risk": _site_risk(result),
        "remediation": _remediation(result),
    }


def _assessed_device(device: Device, result: AssessmentResult) -> dict[str, Any]:
    vulns = result.vulns
    if vulns is None:
        return device_document(device)
    risk = vulns.risks.get(device.id)
    matches = [match_json(m) for m in vulns.matches_of(device.id)]
    return device_document(device, risk.to_json() if risk else None, matches)


def _site_risk(result: AssessmentResult) -> dict[str, Any] | None:
    if result.vulns is None:
        return None
    site = result.vulns.site
    return {
        "score": site.score,
        "devices": site.devices,
        "considered": list(site.considered),
        "factors": [{"name": f.name, "points": f.points, "why": f.why} for f in site.factors],
    }


def _remediation(result: AssessmentResult) -> list[dict[str, Any]]:
    if result.vulns is None:
        return []
    return [
        {
            "action": action.action,
            "source": action.source,
            "devices": list(action.devices),
            "reduces_risk_by": action.reduces_by,
        }
        for action in group_actions(result.vulns.remediation)
    ]
