"""NVD CVE API 2.0 JSON: CPE match criteria with version bounds, AND configurations.

No NVD file is in the shared data; the page below follows the NVD CVE API 2.0 schema
(``cve_api_json_2.0.schema``) field for field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medshield.core.errors import BadInputError
from medshield.vulns.feeds.nvd import load, parse_nvd
from medshield.vulns.versions import InRange, RangeKind

FIRMWARE_CPE = "cpe:2.3:o:bd:alaris_pc_unit_firmware:*:*:*:*:*:*:*:*"
HARDWARE_CPE = "cpe:2.3:h:bd:alaris_pc_unit_8015:-:*:*:*:*:*:*:*"


def nvd_page() -> dict[str, Any]:
    """An API response with two CVEs, as ``/rest/json/cves/2.0`` returns it."""
    return {
        "resultsPerPage": 2,
        "startIndex": 0,
        "totalResults": 2,
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2024-06-01T00:00:00.000",
        "vulnerabilities": [
            {
                "cve": {
                    "id": "CVE-2099-1000",
                    "sourceIdentifier": "ics-cert@hq.dhs.gov",
                    "published": "2099-01-01T00:00:00.000",
                    "lastModified": "2099-01-02T00:00:00.000",
                    "vulnStatus": "Analyzed",
                    "descriptions": [
                        {"lang": "es", "value": "Una vulnerabilidad"},
                        {"lang": "en", "value": "Pump firmware accepts unauthenticated commands."},
                    ],
                    "metrics": {
                        "cvssMetricV31": [
                            {
                                "source": "nvd@nist.gov",
                                "type": "Primary",
                                "cvssData": {
                                    "version": "3.1",
                                    "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                                    "baseScore": 9.8,
                                    "baseSeverity": "CRITICAL",
                                },
                            }
                        ],
                        "cvssMetricV2": [
                            {
                                "source": "nvd@nist.gov",
                                "type": "Primary",
                                "cvssData": {
                                    "version": "2.0",
                                    "vectorString": "AV:N/AC:L/Au:N/C:C/I:C/A:C",
                                    "baseScore": 10.0,
                                },
                                "baseSeverity": "HIGH",
                            }
                        ],
                    },
                    "weaknesses": [
                        {
                            "source": "nvd@nist.gov",
                            "type": "Primary",
                            "description": [{"lang": "en", "value": "CWE-306"}],
                        },
                        {
                            "source": "x",
                            "type": "Secondary",
                            "description": [{"lang": "en", "value": "NVD-CWE-noinfo"}],
                        },
                    ],
                    "configurations": [
                        {
                            "operator": "AND",
                            "nodes": [
                                {
                                    "operator": "OR",
                                    "negate": False,
                                    "cpeMatch": [
                                        {
                                            "vulnerable": True,
                                            "criteria": FIRMWARE_CPE,
                                            "versionStartIncluding": "9.0",
                                            "versionEndExcluding": "9.33.1",
                                            "matchCriteriaId": "A1",
                                        }
                                    ],
                                },
                                {
                                    "operator": "OR",
                                    "negate": False,
                                    "cpeMatch": [
                                        {
                                            "vulnerable": False,
                                            "criteria": HARDWARE_CPE,
                                            "matchCriteriaId": "A2",
                                        }
                                    ],
                                },
                            ],
                        }
                    ],
                    "references": [
                        {"url": "https://example.org/fix", "source": "x", "tags": ["Patch"]},
                        {"url": "https://example.org/info", "source": "x"},
                    ],
                }
            },
            {
                "cve": {
                    "id": "CVE-2099-1001",
                    "descriptions": [{"lang": "en", "value": "Viewer flaw."}],
                    "configurations": [
                        {
                            "nodes": [
                                {
                                    "operator": "OR",
                                    "cpeMatch": [
                                        {
                                            "vulnerable": True,
                                            "criteria": "cpe:2.3:a:offis:dcmtk:3.6.6:*:*:*:*:*:*:*",
                                        }
                                    ],
                                }
                            ]
                        }
                    ],
                }
            },
        ],
    }


def test_page_gives_one_advisory_per_cve() -> None:
    first, second = parse_nvd(nvd_page(), "page.json")
    assert (first.id, second.id) == ("CVE-2099-1000", "CVE-2099-1001")
    assert first.summary == "Pump firmware accepts unauthenticated commands."
    assert first.url == "https://nvd.nist.gov/vuln/detail/CVE-2099-1000"
    (vulnerability,) = first.vulnerabilities
    assert vulnerability.cwes == ("CWE-306",)
    best = vulnerability.best_score()
    assert best is not None and (best.version, best.base_score) == ("3.1", 9.8)
    assert [r.url for r in vulnerability.remediations] == ["https://example.org/fix"]


def test_cpe_bounds_become_the_range_and_platform_is_kept() -> None:
    (product,) = parse_nvd(nvd_page(), "page.json")[0].products
    assert (product.vendor, product.name) == ("bd", "alaris pc unit firmware")
    assert product.platform == HARDWARE_CPE
    assert product.version.vers == ("vers:intdot/>=9.0|<9.33.1",)
    assert product.version.contains("9.19") is InRange.YES
    assert product.version.contains("9.33.1") is InRange.NO
    assert product.version.contains("8.9") is InRange.NO
    assert product.version.exclusive_upper_bound() == "9.33.1"


def test_cpe_version_is_an_exact_version() -> None:
    (product,) = parse_nvd(nvd_page(), "page.json")[1].products
    assert product.version.kind is RangeKind.EXACT
    assert product.version.contains("3.6.6") is InRange.YES
    assert product.version.contains("3.6.7") is InRange.NO


def test_single_item_form(tmp_path: Path) -> None:
    item = nvd_page()["vulnerabilities"][1]
    (tmp_path / "item.json").write_text(json.dumps(item))
    result = load(tmp_path / "item.json")
    assert [a.id for a in result.advisories] == ["CVE-2099-1001"]


def test_bad_criteria_names_the_file() -> None:
    page = nvd_page()
    match = page["vulnerabilities"][1]["cve"]["configurations"][0]["nodes"][0]["cpeMatch"][0]
    match["criteria"] = "not-a-cpe"
    with pytest.raises(BadInputError, match=r"page.json: .*not a CPE 2.3 name"):
        parse_nvd(page, "page.json")
