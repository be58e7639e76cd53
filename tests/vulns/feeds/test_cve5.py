"""CVE JSON 5 records of the shared cvelistV5 folder."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from medshield.testing.environment import require_shared
from medshield.vulns.feeds.cve5 import load, parse_cve5
from medshield.vulns.model import ProductStatus, RemediationCategory
from medshield.vulns.versions import InRange, RangeKind


def record(name: str) -> Path:
    return next(require_shared("advisories/cvelistV5").rglob(name))


def test_eli_electrocardiographs_and_their_bounds() -> None:
    (advisory,) = load(record("CVE-2022-26388.json")).advisories
    assert advisory.id == "CVE-2022-26388"
    assert advisory.publisher == "Baxter"
    names = {p.name: p for p in advisory.products}
    # "lessThanOrEqual": "2.6.0" from "version": "0": everything up to 2.6.0.
    eli_380 = names["ELI 380 Resting Electrocardiograph"]
    assert eli_380.vendor == "Welch Allyn"
    assert eli_380.version.contains("2.6.0") is InRange.YES
    assert eli_380.version.contains("1.0") is InRange.YES
    assert eli_380.version.contains("2.6.1") is InRange.NO
    assert (
        names["ELI 250c/BUR 250c Resting Electrocardiograph"].version.contains("2.1.3")
        is InRange.NO
    )
    (vulnerability,) = advisory.vulnerabilities
    assert vulnerability.cwes == ("CWE-259",)
    best = vulnerability.best_score()
    assert best is not None and best.base_score == 6.4
    assert vulnerability.remediations[0].category is RemediationCategory.VENDOR_FIX


def test_all_versions_and_adp_container() -> None:
    (advisory,) = load(record("CVE-2025-0626.json")).advisories
    (product,) = advisory.products
    assert (product.vendor, product.name) == ("Contec Health", "CMS8000 Patient Monitor")
    assert product.version.kind is RangeKind.ALL
    (vulnerability,) = advisory.vulnerabilities
    scores = {s.score.version for s in vulnerability.scores}
    assert {"3.1", "4.0"} <= scores


def test_free_text_version_without_vendor_is_unparsed() -> None:
    (advisory,) = load(record("CVE-2020-25175.json")).advisories
    (product,) = advisory.products
    assert product.vendor == ""
    assert product.version.kind is RangeKind.UNPARSED
    assert product.version.contains("BT03") is InRange.UNKNOWN


def test_unaffected_versions_become_not_affected_products() -> None:
    document = json.loads(record("CVE-2022-26388.json").read_text())
    changed = copy.deepcopy(document)
    changed["containers"]["cna"]["affected"] = [
        {
            "vendor": "Example",
            "product": "Pump",
            "defaultStatus": "unaffected",
            "versions": [
                {
                    "version": "1.0",
                    "lessThan": "1.4",
                    "status": "affected",
                    "versionType": "custom",
                },
                {
                    "version": "2.0",
                    "lessThan": "2.2",
                    "status": "affected",
                    "versionType": "custom",
                },
                {"version": "1.4", "status": "unaffected"},
            ],
        }
    ]
    advisory = parse_cve5(changed, "mem.json")
    affected, unaffected = advisory.products
    assert affected.version.vers == ("vers:intdot/>=1.0|<1.4|>=2.0|<2.2",)
    assert affected.version.contains("2.1") is InRange.YES
    assert affected.version.contains("1.5") is InRange.NO
    statuses = dict(advisory.vulnerabilities[0].product_status)
    assert statuses[ProductStatus.KNOWN_AFFECTED] == (affected.product_id,)
    assert statuses[ProductStatus.KNOWN_NOT_AFFECTED] == (unaffected.product_id,)
