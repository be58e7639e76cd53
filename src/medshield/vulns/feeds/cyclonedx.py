"""CycloneDX SBOMs in JSON (CycloneDX specification 1.2–1.6, ``bomFormat: CycloneDX``).

Reading is tolerant on purpose: real SBOMs from device makers leave fields empty, use
``publisher`` instead of ``supplier``, or nest components. Only a structure that cannot be a
BOM (components that are not objects, a missing component name) is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from medshield.core.device import Software
from medshield.vulns.feeds.base import Sample, load_with
from medshield.vulns.feeds.jsonshape import number, obj, objects, required_text, text
from medshield.vulns.model import (
    FeedKind,
    FeedResult,
    Sbom,
    SbomComponent,
    SbomVulnerability,
    Score,
)

_RATING_METHODS = {"CVSSv2": "2.0", "CVSSv3": "3.0", "CVSSv31": "3.1", "CVSSv4": "4.0"}
"""CycloneDX ``ratings[].method`` values and the CVSS version each names."""


class CycloneDxFeed:
    """CycloneDX JSON documents."""

    kind: ClassVar[FeedKind] = FeedKind.CYCLONEDX
    name: ClassVar[str] = "CycloneDX JSON"

    def sniff(self, sample: Sample) -> bool:
        document = sample.json_object()
        return document is not None and document.get("bomFormat") == "CycloneDX"

    def read(self, sample: Sample) -> FeedResult:
        return FeedResult(sboms=(parse_cyclonedx(sample.json(), sample.source),))


def load(path: Path) -> FeedResult:
    """Read CycloneDX SBOMs from a file or every file of a folder."""
    return load_with(CycloneDxFeed(), path)


def parse_cyclonedx(document: Any, source: str) -> Sbom:
    """One CycloneDX BOM: the described device (``metadata.component``) and its components."""
    root = obj(document, "document root", source, required=True)
    metadata = obj(root.get("metadata"), "metadata", source)
    device = metadata.get("component")
    components: list[SbomComponent] = []
    pending = [(root.get("components"), "components")]
    while pending:
        items, where = pending.pop()
        for i, item in enumerate(objects(items, where, source)):
            components.append(_component(item, f"{where}[{i}]", source))
            if item.get("components"):
                pending.append((item["components"], f"{where}[{i}].components"))
    return Sbom(
        source=source,
        serial=text(root.get("serialNumber"), "serialNumber", source),
        spec_version=text(root.get("specVersion"), "specVersion", source),
        version=int(number(root.get("version"), "version", source) or 1),
        timestamp=text(metadata.get("timestamp"), "metadata.timestamp", source),
        device=_component(obj(device, "metadata.component", source), "metadata.component", source)
        if device
        else None,
        components=tuple(components),
        vulnerabilities=tuple(
            _vulnerability(item, f"vulnerabilities[{i}]", source)
            for i, item in enumerate(
                objects(root.get("vulnerabilities"), "vulnerabilities", source)
            )
        ),
    )


def _component(item: dict[str, Any], where: str, source: str) -> SbomComponent:
    supplier = item.get("supplier")
    supplier_name = (
        text(obj(supplier, f"{where}.supplier", source).get("name"), f"{where}.supplier", source)
        if isinstance(supplier, dict)
        else text(supplier, f"{where}.supplier", source)
    )
    name = required_text(item.get("name"), f"{where}.name", source)
    return SbomComponent(
        bom_ref=text(item.get("bom-ref"), f"{where}.bom-ref", source),
        type=text(item.get("type"), f"{where}.type", source),
        name=name,
        version=text(item.get("version"), f"{where}.version", source),
        group=text(item.get("group"), f"{where}.group", source),
        supplier=supplier_name,
        publisher=text(item.get("publisher"), f"{where}.publisher", source),
        purl=text(item.get("purl"), f"{where}.purl", source) or None,
        cpe=text(item.get("cpe"), f"{where}.cpe", source) or None,
        description=text(item.get("description"), f"{where}.description", source),
    )


def _vulnerability(item: dict[str, Any], where: str, source: str) -> SbomVulnerability:
    ratings = []
    for rating in objects(item.get("ratings"), f"{where}.ratings", source):
        score = number(rating.get("score"), f"{where}.ratings.score", source)
        if score is not None:
            method = text(rating.get("method"), f"{where}.ratings.method", source)
            ratings.append(
                Score(
                    version=_RATING_METHODS.get(method, method),
                    base_score=score,
                    vector=text(rating.get("vector"), f"{where}.ratings.vector", source),
                    severity=text(rating.get("severity"), f"{where}.ratings.severity", source),
                )
            )
    analysis = obj(item.get("analysis"), f"{where}.analysis", source)
    origin = obj(item.get("source"), f"{where}.source", source)
    return SbomVulnerability(
        id=required_text(item.get("id"), f"{where}.id", source),
        source=text(origin.get("name"), f"{where}.source.name", source),
        ratings=tuple(ratings),
        affects=tuple(
            text(a.get("ref"), f"{where}.affects.ref", source)
            for a in objects(item.get("affects"), f"{where}.affects", source)
        ),
        state=text(analysis.get("state"), f"{where}.analysis.state", source),
        justification=text(analysis.get("justification"), f"{where}.analysis", source),
        description=text(item.get("description"), f"{where}.description", source),
        cwes=tuple(f"CWE-{int(c)}" for c in item.get("cwes") or () if isinstance(c, int | float)),
    )


def software_of(sbom: Sbom) -> list[Software]:
    """The SBOM's components as device software (for matching advisories to them)."""
    return [
        Software(component.name, component.version, f"sbom:{sbom.serial or sbom.source}")
        for component in sbom.components
        if component.version
    ]
