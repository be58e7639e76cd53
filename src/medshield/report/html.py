"""The self-contained HTML report: one file, inline CSS, no scripts, no external requests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from medshield.core.enums import Severity
from medshield.report.commap import communication_map
from medshield.report.document import assessment_document


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("medshield.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(document: dict[str, Any]) -> str:
    """HTML for an assessment document (the dict :func:`assessment_document` returns)."""
    devices = document["devices"]
    findings = sorted(
        document["findings"], key=lambda f: (Severity(f["severity"]).rank, f["device"])
    )
    context = {
        "doc": document,
        "devices": sorted(devices, key=lambda d: (d["category"], d["ips"] or [""])),
        "findings": findings,
        "categories": Counter(d["category"] for d in devices).most_common(),
        "severities": Counter(f["severity"] for f in findings),
        "protocols": Counter(p for d in devices for p in d["protocols"]).most_common(),
        "top_communications": document["communications"][:50],
        "findings_by_severity": _group(findings),
        "commap": Markup(communication_map(devices, document["communications"])),
    }
    return _environment().get_template("report.html.j2").render(**context)


def _group(findings: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, list[Any]]]]]:
    """Findings grouped by severity (worst first), then by device."""
    grouped: dict[str, dict[str, list[Any]]] = {}
    for finding in findings:
        by_device = grouped.setdefault(finding["severity"], {})
        by_device.setdefault(finding["device"], []).append(finding)
    return [(severity, sorted(by_device.items())) for severity, by_device in grouped.items()]


def write_report(result: Any, path: Path) -> None:
    """Write the HTML report of an assessment result to ``path``."""
    path.write_text(render_report(assessment_document(result)), encoding="utf-8")
