"""The HTML report, the communication map and the FHIR export, from a real assessment."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from medshield.report.commap import communication_map
from medshield.report.html import render_report
from medshield.testing.cli import assess_json, invoke


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A small simulated hospital, assessed into its own database."""
    folder = tmp_path_factory.mktemp("report")
    capture = folder / "h.pcap"
    code, _, err = invoke(
        "simulate", "--devices", "16", "--duration", "120", "--seed", "4", "--out", str(capture)
    )
    assert code == 0, err
    return folder, assess_json(capture, folder)


def test_report_groups_findings_by_severity_and_lists_firmware(
    assessed: tuple[Path, dict[str, Any]],
) -> None:
    document = assessed[1]
    html = render_report(document)
    severities = {f["severity"] for f in document["findings"]}
    for severity in severities:
        assert f'<h3 class="sev-{severity}">' in html
    headings = re.findall(r'<h3 class="sev-(\w+)">', html)
    order = ["critical", "high", "medium", "low", "info"]
    assert headings == sorted(headings, key=order.index)
    for device in document["devices"]:
        if device["firmware"]:
            assert device["firmware"] in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")


def test_communication_map_draws_medical_devices_and_peers(
    assessed: tuple[Path, dict[str, Any]],
) -> None:
    document = assessed[1]
    svg = communication_map(document["devices"], document["communications"])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    medical_ips = {
        ip
        for d in document["devices"]
        if d["category"] in {"infusion pump", "patient monitor", "imaging modality"}
        for ip in d["ips"]
    }
    drawn = set(re.findall(r"<circle[^>]*><title>[^<]* (\d+\.\d+\.\d+\.\d+) ", svg))
    assert drawn and drawn <= {ip for d in document["devices"] for ip in d["ips"]}
    assert medical_ips & drawn
    assert svg.count("<line ") >= len(drawn)


def test_map_is_empty_without_medical_traffic() -> None:
    devices = [{"category": "workstation", "ips": ["10.0.0.5"], "criticality": "low"}]
    comms = [{"src": "10.0.0.5", "dst": "10.0.0.9", "packets": 3}]
    assert communication_map(devices, comms) == ""


def test_inventory_exports_valid_fhir_and_csv(assessed: tuple[Path, dict[str, Any]]) -> None:
    folder, document = assessed
    db = f"sqlite:///{folder / 'medshield.db'}"
    code, out, err = invoke("inventory", "--db", db, "--format", "fhir")
    assert code == 0, err
    bundle = Bundle.model_validate(json.loads(out))
    resources = [entry.resource for entry in bundle.entry or []]
    assert len(resources) == len(document["devices"])
    by_id = {r.id: r for r in resources}
    for device in document["devices"]:
        resource = by_id[device["id"]]
        assert resource.type.text == device["category"]
        if device["mac"]:
            assert any(i.value == device["mac"] for i in resource.identifier or [])
    code, out, _ = invoke("inventory", "--db", db, "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("id,mac,ips,vendor")
    assert len(lines) == len(document["devices"]) + 1
