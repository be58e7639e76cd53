"""CISA KEV catalog, JSON and CSV forms."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from medshield.core.errors import BadInputError
from medshield.testing.environment import require_shared
from medshield.vulns.feeds.kev import load, parse_kev_csv


@pytest.fixture(scope="module")
def kev_dir() -> Path:
    return require_shared("advisories/cisa-kev")


def test_json_catalog(kev_dir: Path) -> None:
    source = kev_dir / "known_exploited_vulnerabilities.json"
    catalog = json.loads(source.read_text())
    entries = load(source).kev
    assert len(entries) == catalog["count"]
    first = catalog["vulnerabilities"][0]
    entry = entries[0]
    assert (entry.cve, entry.vendor_project, entry.product) == (
        first["cveID"],
        first["vendorProject"],
        first["product"],
    )
    assert (entry.date_added, entry.due_date) == (first["dateAdded"], first["dueDate"])
    assert entry.catalog_version == catalog["catalogVersion"]
    known = {
        v["cveID"] for v in catalog["vulnerabilities"] if v["knownRansomwareCampaignUse"] == "Known"
    }
    assert {e.cve for e in entries if e.ransomware} == known


def test_csv_matches_json(kev_dir: Path) -> None:
    from_csv = load(kev_dir / "known_exploited_vulnerabilities.csv").kev
    with (kev_dir / "known_exploited_vulnerabilities.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(from_csv) == len(rows)
    assert [e.cve for e in from_csv] == [r["cveID"] for r in rows]
    assert from_csv[0].cwes == tuple(c.strip() for c in rows[0]["cwes"].split(","))


def test_csv_without_required_columns() -> None:
    with pytest.raises(BadInputError, match=r"kev\.csv: KEV CSV without column"):
        parse_kev_csv("cveID,vendorProject,title\nCVE-1,x,y\n", "kev.csv")


def test_folder_reads_both_forms_and_reports_the_schema(kev_dir: Path) -> None:
    result = load(kev_dir)
    assert len(result.kev) > 0
    assert [Path(p.source).name for p in result.problems] == [
        "known_exploited_vulnerabilities_schema.json"
    ]
