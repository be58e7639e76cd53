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
from medshield.store.records import Communication

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


def device_document(device: Device) -> dict[str, Any]:
    """One device as the assessment JSON writes it."""
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
        "risk": {"score": 0, "factors": []},
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
        "devices": [device_document(d) for d in result.devices],
        "findings": [finding_document(f) for f in result.findings],
        "alerts": [alert_document(a) for a in result.alerts],
        "communications": [communication_document(c) for c in result.communications],
    }
