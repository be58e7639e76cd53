"""CycloneDX SBOMs: the two real medical-device SBOMs of the shared data, and VEX entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medshield.core.errors import BadInputError
from medshield.testing.environment import require_shared
from medshield.vulns.feeds.cyclonedx import load, parse_cyclonedx, software_of


def count_components(node: Any) -> int:
    """Components at any depth, counted independently of the parser."""
    total = 0
    for component in node.get("components", []):
        total += 1 + count_components(component)
    return total


@pytest.mark.parametrize("name", ["narrow.sbom.json", "extended.sbom.json"])
def test_shared_sboms(name: str) -> None:
    source = require_shared("sbom/sbom-completeness") / name
    document = json.loads(source.read_text())
    (sbom,) = load(source).sboms
    assert sbom.serial == document["serialNumber"]
    assert sbom.spec_version == document["specVersion"]
    assert len(sbom.components) == count_components(document)
    assert sbom.device is not None and sbom.device.type == "device"
    by_ref = {c.bom_ref: c for c in sbom.components}
    for raw in document["components"]:
        component = by_ref[raw["bom-ref"]]
        assert (component.name, component.version, component.cpe, component.purl) == (
            raw["name"],
            raw["version"],
            raw["cpe"],
            raw["purl"],
        )
    versioned = [c for c in document["components"] if c["version"]]
    assert len(software_of(sbom)) == len(versioned)


def test_vulnerabilities_nested_components_and_supplier() -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:00000000-0000-0000-0000-000000000001",
        "version": 2,
        "metadata": {"component": {"type": "device", "name": "Pump", "version": "4.2"}},
        "components": [
            {
                "type": "firmware",
                "bom-ref": "fw",
                "name": "pump-fw",
                "version": "4.2.1",
                "supplier": {"name": "Example Medical"},
                "components": [
                    {"type": "library", "bom-ref": "ssl", "name": "wolfssl", "version": "4.8.1"}
                ],
            }
        ],
        "vulnerabilities": [
            {
                "id": "CVE-2022-25638",
                "source": {"name": "NVD"},
                "ratings": [{"score": 6.5, "severity": "medium", "method": "CVSSv31"}],
                "cwes": [295],
                "affects": [{"ref": "ssl"}],
                "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
            }
        ],
    }
    sbom = parse_cyclonedx(document, "bom.json")
    assert [c.name for c in sbom.components] == ["pump-fw", "wolfssl"]
    assert sbom.components[0].supplier == "Example Medical"
    assert sbom.version == 2
    (vulnerability,) = sbom.vulnerabilities
    assert vulnerability.affects == ("ssl",)
    assert vulnerability.ratings[0].version == "3.1"
    assert vulnerability.cwes == ("CWE-295",)
    assert (vulnerability.state, vulnerability.justification) == (
        "not_affected",
        "code_not_reachable",
    )


def test_component_without_name_is_refused() -> None:
    document = {"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [{"type": "library"}]}
    with pytest.raises(BadInputError, match=r"bom.json: components\[0\].name: missing"):
        parse_cyclonedx(document, "bom.json")


def test_sniff_ignores_other_json(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"specVersion": "1.4"}')
    assert load(tmp_path).sboms == ()
