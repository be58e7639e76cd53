"""CSAF 2.0 advisories: every shared CISA file against an independent walk of its JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medshield.core.errors import BadInputError
from medshield.vulns.feeds.csaf import CsafFeed, load, parse_csaf
from medshield.vulns.model import Advisory, ProductStatus, RemediationCategory
from medshield.vulns.versions import RangeKind


def walk_pairs(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of every object in a JSON document, like ``jq '.. | objects'``."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk_pairs(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_pairs(item)


def declared_product_ids(document: dict[str, Any]) -> set[str]:
    """Ids of full product names anywhere in the product tree (branch leaves, full_product_names,
    relationships)."""
    ids = set()
    for key, value in walk_pairs(document["product_tree"]):
        if key in {"product", "full_product_name"}:
            ids.add(value["product_id"])
        elif key == "full_product_names":
            ids.update(item["product_id"] for item in value)
    return ids


def declared_cves(document: dict[str, Any]) -> set[str]:
    return {value for key, value in walk_pairs(document["vulnerabilities"]) if key == "cve"}


def csaf_files(advisories_dir: Path) -> list[Path]:
    return sorted((advisories_dir / "cisa-csaf").rglob("*.json"))


def test_products_and_cves_of_every_advisory(
    advisories_dir: Path, by_id: dict[str, Advisory]
) -> None:
    files = csaf_files(advisories_dir)
    assert len(files) == 344
    for file in files:
        document = json.loads(file.read_text())
        advisory = by_id[document["document"]["tracking"]["id"]]
        assert advisory.source == str(file)
        assert {p.product_id for p in advisory.products} == declared_product_ids(document), file
        assert len(advisory.products) == len(declared_product_ids(document))
        assert set(advisory.cves) == declared_cves(document), file


def test_medical_advisories_are_all_there(advisories_dir: Path) -> None:
    medical = [f for f in csaf_files(advisories_dir) if f.name.startswith("icsma-")]
    assert len(medical) == 144


def test_document_fields(advisories_dir: Path) -> None:
    file = advisories_dir / "cisa-csaf/OT/white/2024/icsma-24-023-01.json"
    (advisory,) = load(file).advisories
    assert advisory.id == "ICSMA-24-023-01"
    assert advisory.title == "Orthanc Osimis DICOM Web Viewer"
    assert advisory.publisher == "CISA"
    assert advisory.initial_release == advisory.current_release == "2024-01-23T07:00:00.000000Z"
    assert advisory.url == "https://www.cisa.gov/news-events/ics-medical-advisories/icsma-24-023-01"
    (product,) = advisory.products
    assert (product.vendor, product.name, product.version_text) == (
        "Orthanc",
        "Osimis WebViewer",
        "1.4.2.0-9d9eff4",
    )
    assert product.version.kind is RangeKind.EXACT
    (vulnerability,) = advisory.vulnerabilities
    assert vulnerability.cve == "CVE-2023-7238"
    assert vulnerability.cwes == ("CWE-79",)
    assert vulnerability.statuses("CSAFPID-0001") == {ProductStatus.KNOWN_AFFECTED}
    score = vulnerability.best_score("CSAFPID-0001")
    assert score is not None
    assert (score.base_score, score.severity) == (7.1, "high")
    assert score.vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:L"
    categories = [r.category for r in vulnerability.remediations]
    assert categories == [RemediationCategory.MITIGATION, RemediationCategory.MITIGATION]
    assert vulnerability.remediations[1].url is not None


def test_free_text_ranges_of_a_cisa_advisory(by_id: dict[str, Advisory]) -> None:
    advisory = by_id["ICSMA-18-240-01"]
    (product,) = advisory.products
    assert product.version_text == ">= 4.01 | <= 4.34"
    assert product.version.vers == ("vers:intdot/>=4.01|<=4.34",)


def test_relationships_become_products_on_their_platform(by_id: dict[str, Advisory]) -> None:
    advisory = by_id["ICSA-24-235-03"]
    products = {p.product_id: p for p in advisory.products}
    related = products["CSAFPID-0109"]
    assert related.full_name == "Mobotix P3 Firmware MX-V4.0.1.15 installed on Mobotix P3 D24M"
    assert (related.platform, related.component) == ("CSAFPID-0001", "CSAFPID-0034")
    assert related.name == products["CSAFPID-0001"].name
    assert related.version == products["CSAFPID-0034"].version


def test_product_groups_expand_in_remediations() -> None:
    document = _minimal_csaf()
    document["product_tree"]["product_groups"] = [{"group_id": "G1", "product_ids": ["P1", "P2"]}]
    document["vulnerabilities"][0]["remediations"] = [
        {"category": "vendor_fix", "details": "Update to 2.0", "group_ids": ["G1"]}
    ]
    advisory = parse_csaf(document, "mem.json")
    assert advisory.vulnerabilities[0].remediations[0].product_ids == ("P1", "P2")


def test_full_product_names_take_vendor_and_version_from_cpe() -> None:
    document = _minimal_csaf()
    document["product_tree"]["full_product_names"] = [
        {
            "name": "Example Pump 3.1",
            "product_id": "P9",
            "product_identification_helper": {
                "cpe": "cpe:2.3:o:example:pump_firmware:3.1:*:*:*:*:*:*:*"
            },
        }
    ]
    advisory = parse_csaf(document, "mem.json")
    product = {p.product_id: p for p in advisory.products}["P9"]
    assert (product.vendor, product.name) == ("example", "pump firmware")
    assert product.version.contains("3.1").value == "yes"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["document"].pop("title"), "document.title"),
        (lambda d: d.update(vulnerabilities={"cve": "x"}), "vulnerabilities: expected list"),
        (
            lambda d: d["vulnerabilities"][0].update(product_status={"broken": ["P1"]}),
            "unknown group 'broken'",
        ),
        (lambda d: d["product_tree"]["branches"][0].update(name=["x"]), "expected text"),
    ],
)
def test_wrong_shapes_raise_bad_input_naming_the_field(change: Any, message: str) -> None:
    document = _minimal_csaf()
    change(document)
    with pytest.raises(BadInputError, match=r"mem\.json") as raised:
        parse_csaf(document, "mem.json")
    assert message in str(raised.value)


def test_sniff_takes_csaf_only(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(_minimal_csaf()))
    (tmp_path / "b.json").write_text(json.dumps({"bomFormat": "CycloneDX"}))
    result = load(tmp_path)
    assert [a.id for a in result.advisories] == ["TEST-0001"]
    assert [Path(p.source).name for p in result.problems] == ["b.json"]
    assert CsafFeed.name in result.problems[0].message


def _minimal_csaf() -> dict[str, Any]:
    return {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": "Example",
            "publisher": {"category": "vendor", "name": "Example", "namespace": "https://x"},
            "tracking": {
                "id": "TEST-0001",
                "version": "1",
                "status": "final",
                "initial_release_date": "2024-01-01T00:00:00Z",
                "current_release_date": "2024-01-01T00:00:00Z",
            },
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Example",
                    "branches": [
                        {
                            "category": "product_name",
                            "name": "Pump",
                            "branches": [
                                {
                                    "category": "product_version_range",
                                    "name": "vers:intdot/<2.0",
                                    "product": {"name": "Example Pump < 2.0", "product_id": "P1"},
                                },
                                {
                                    "category": "product_version",
                                    "name": "2.0",
                                    "product": {"name": "Example Pump 2.0", "product_id": "P2"},
                                },
                            ],
                        }
                    ],
                }
            ]
        },
        "vulnerabilities": [
            {
                "cve": "CVE-2099-0001",
                "product_status": {"known_affected": ["P1"], "fixed": ["P2"]},
            }
        ],
    }
