"""``feeds import`` then ``assess``: advisories per device with KEV flags, explainable risk."""

from __future__ import annotations

import json
from pathlib import Path

from medshield.testing.cli import invoke
from medshield.testing.environment import require_shared

GE_IMAGING_ADVISORY = "ICSMA-20-343-01"
"""GE Healthcare imaging and ultrasound products (the simulator's GE CT runs an affected
release): read from the advisory file itself, not from MedShield."""


def _advisory_cves(advisories: Path, tracking_id: str) -> list[str]:
    for path in advisories.rglob("*.json"):
        if path.stem.lower() == tracking_id.lower():
            document = json.loads(path.read_text())
            return [v["cve"] for v in document["vulnerabilities"] if "cve" in v]
    raise AssertionError(f"{tracking_id} not in the shared advisories")


def _kev_catalog(path: Path, cves: list[str]) -> Path:
    """A KEV catalog in CISA's JSON layout listing ``cves`` (what a user would download)."""
    entries = [
        {
            "cveID": cve,
            "vendorProject": "GE Healthcare",
            "product": "Imaging",
            "vulnerabilityName": "test entry",
            "dateAdded": "2024-01-01",
            "shortDescription": "",
            "requiredAction": "Apply updates.",
            "dueDate": "2024-01-22",
            "knownRansomwareCampaignUse": "Unknown",
            "notes": "",
        }
        for cve in cves
    ]
    path.write_text(
        json.dumps(
            {
                "title": "CISA Catalog of Known Exploited Vulnerabilities",
                "catalogVersion": "2024.01.01",
                "dateReleased": "2024-01-01T00:00:00.000Z",
                "count": len(entries),
                "vulnerabilities": entries,
            }
        )
    )
    return path


def test_assess_after_feeds_import_lists_advisories_with_kev_and_additive_risk(
    simulated: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    advisories = require_shared("advisories/cisa-csaf")
    cves = _advisory_cves(advisories, GE_IMAGING_ADVISORY)
    kev = _kev_catalog(tmp_path / "kev.json", cves)
    db = f"sqlite:///{tmp_path / 'm.db'}"
    code, out, err = invoke("feeds", "import", str(advisories), str(kev), "--db", db)
    assert code == 0, err
    assert "csaf" in out
    document_path = tmp_path / "a.json"
    code, _, err = invoke(
        "assess", str(simulated[0]), "--db", db, "--json", str(document_path), "-q"
    )
    assert code == 0, err
    document = json.loads(document_path.read_text())
    matched = {d["id"]: d["vulnerabilities"] for d in document["devices"] if d["vulnerabilities"]}
    ge = [
        v
        for matches in matched.values()
        for v in matches
        if v["advisory"] == GE_IMAGING_ADVISORY and v["state"] == "affected"
    ]
    assert ge, matched.keys()
    assert all(v["kev"] is True and set(v["cves"]) <= set(cves) for v in ge)
    kinds = {f["kind"] for f in document["findings"]}
    assert "known-vulnerability" in kinds
    for device in document["devices"]:
        risk = device["risk"]
        assert 0 <= risk["score"] <= 100
        assert sum(f["points"] for f in risk["factors"]) == risk["score"], device["id"]
    ge_device = next(d for d in document["devices"] if d["id"] in matched)
    assert ge_device["risk"]["score"] > 0
    code, _, _ = invoke("vulns", "--db", db, "--json", str(tmp_path / "v.json"), "--quiet")
    assert code == 0
    listed = json.loads((tmp_path / "v.json").read_text())
    assert listed["schema"] == "medshield.vulns/1"
    assert any(m["advisory"] == GE_IMAGING_ADVISORY and m["kev"] for m in listed["matches"])
