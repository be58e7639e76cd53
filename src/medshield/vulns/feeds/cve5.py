"""CVE JSON 5.x records (CVE Record Format 5.0/5.1, as laid out in CVEProject/cvelistV5).

The CNA container's ``affected`` entries become products: vendor, product and a range built
from each ``versions[]`` item (``version`` up to ``lessThan``/``lessThanOrEqual``, or a single
version, or free text such as "All versions" read as CSAF free text is). ADP containers (CISA's
vulnrichment) add metrics and weaknesses the CNA left out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from medshield.vulns.feeds.base import Sample, load_with
from medshield.vulns.feeds.cvss import cvss_score
from medshield.vulns.feeds.jsonshape import obj, objects, required_text, text, texts
from medshield.vulns.model import (
    Advisory,
    FeedKind,
    FeedResult,
    Product,
    ProductScore,
    ProductStatus,
    Remediation,
    RemediationCategory,
    Vulnerability,
)
from medshield.vulns.versions import (
    Constraint,
    RangeKind,
    VersionSpec,
    from_constraints,
    parse_range,
    unparsed,
)

_METRICS = (("cvssV3_1", "3.1"), ("cvssV3_0", "3.0"), ("cvssV4_0", "4.0"), ("cvssV2_0", "2.0"))
_OPEN_START = {"", "0", "*", "-", "n/a"}
_FIX_WORDS = re.compile(r"\b(?:update|upgrade|patch|fixed|release[sd]?)\b", re.IGNORECASE)


class Cve5Feed:
    """CVE JSON 5.x records (``dataType: CVE_RECORD``)."""

    kind: ClassVar[FeedKind] = FeedKind.CVE5
    name: ClassVar[str] = "CVE JSON 5"

    def sniff(self, sample: Sample) -> bool:
        document = sample.json_object()
        if document is None:
            return False
        return document.get("dataType") == "CVE_RECORD" or (
            isinstance(document.get("cveMetadata"), dict)
            and isinstance(document.get("containers"), dict)
        )

    def read(self, sample: Sample) -> FeedResult:
        return FeedResult(advisories=(parse_cve5(sample.json(), sample.source),))


def load(path: Path) -> FeedResult:
    """Read CVE JSON 5 records from a file or every file of a folder (cvelistV5 layout)."""
    return load_with(Cve5Feed(), path)


def parse_cve5(document: Any, source: str) -> Advisory:
    """One CVE record as an :class:`Advisory`."""
    root = obj(document, "document root", source, required=True)
    metadata = obj(root.get("cveMetadata"), "cveMetadata", source, required=True)
    containers = obj(root.get("containers"), "containers", source, required=True)
    cna = obj(containers.get("cna"), "containers.cna", source)
    adps = objects(containers.get("adp"), "containers.adp", source)
    cve_id = required_text(metadata.get("cveId"), "cveMetadata.cveId", source)
    products, statuses = _affected(cna, "containers.cna", source)
    if not products:
        for i, adp in enumerate(adps):
            products, statuses = _affected(adp, f"containers.adp[{i}]", source)
            if products:
                break
    scores = _scores(cna, "containers.cna", source)
    cwes = _cwes(cna, "containers.cna", source)
    for i, adp in enumerate(adps):
        scores = scores or _scores(adp, f"containers.adp[{i}]", source)
        cwes = cwes or _cwes(adp, f"containers.adp[{i}]", source)
    summary = _english(cna.get("descriptions"), "containers.cna.descriptions", source)
    title = text(cna.get("title"), "containers.cna.title", source) or cve_id
    vulnerability = Vulnerability(
        cve=cve_id,
        title=title,
        summary=summary,
        cwes=cwes,
        product_status=statuses,
        remediations=_solutions(cna, products, source),
        scores=scores,
    )
    return Advisory(
        id=cve_id,
        kind=FeedKind.CVE5,
        title=title,
        source=source,
        publisher=text(metadata.get("assignerShortName"), "cveMetadata.assignerShortName", source),
        initial_release=text(metadata.get("datePublished"), "cveMetadata", source) or None,
        current_release=text(metadata.get("dateUpdated"), "cveMetadata", source) or None,
        url=f"https://www.cve.org/CVERecord?id={cve_id}",
        summary=summary,
        products=products,
        vulnerabilities=(vulnerability,),
    )


def _english(descriptions: Any, where: str, source: str) -> str:
    entries = objects(descriptions, where, source)
    english = [e for e in entries if str(e.get("lang", "")).lower().startswith("en")]
    chosen = (english or entries or [{}])[0]
    return text(chosen.get("value"), f"{where}.value", source)


def _affected(
    container: dict[str, Any], where: str, source: str
) -> tuple[tuple[Product, ...], tuple[tuple[ProductStatus, tuple[str, ...]], ...]]:
    products: list[Product] = []
    affected_ids: list[str] = []
    unaffected_ids: list[str] = []
    for i, entry in enumerate(objects(container.get("affected"), f"{where}.affected", source)):
        at = f"{where}.affected[{i}]"
        vendor = text(entry.get("vendor"), f"{at}.vendor", source)
        name = text(entry.get("product"), f"{at}.product", source) or text(
            entry.get("packageName"), f"{at}.packageName", source
        )
        cpes = texts(entry.get("cpes"), f"{at}.cpes", source)
        default = text(entry.get("defaultStatus"), f"{at}.defaultStatus", source) or "unknown"
        versions = objects(entry.get("versions"), f"{at}.versions", source)
        by_status: dict[str, list[dict[str, Any]]] = {}
        for item in versions:
            status = text(item.get("status"), f"{at}.versions.status", source) or "affected"
            by_status.setdefault(status, []).append(item)
        if "affected" in by_status or (default == "affected" and not versions):
            spec = _spec(by_status.get("affected", []), at, source)
            products.append(_product(f"{i}", vendor, name, spec, cpes))
            affected_ids.append(products[-1].product_id)
        if "unaffected" in by_status:
            spec = _spec(by_status["unaffected"], at, source)
            products.append(_product(f"{i}-unaffected", vendor, name, spec, cpes))
            unaffected_ids.append(products[-1].product_id)
    statuses: list[tuple[ProductStatus, tuple[str, ...]]] = []
    if affected_ids:
        statuses.append((ProductStatus.KNOWN_AFFECTED, tuple(affected_ids)))
    if unaffected_ids:
        statuses.append((ProductStatus.KNOWN_NOT_AFFECTED, tuple(unaffected_ids)))
    return tuple(products), tuple(statuses)


def _product(key: str, vendor: str, name: str, spec: VersionSpec, cpes: tuple[str, ...]) -> Product:
    return Product(
        product_id=f"affected-{key}",
        vendor=vendor if vendor.lower() not in {"n/a", "unknown"} else "",
        name=name,
        full_name=f"{vendor} {name} {spec.raw}".strip(),
        version_text=spec.raw,
        version=spec,
        vers=spec.raw if spec.raw.startswith("vers:") else None,
        cpe=cpes[0] if cpes else None,
    )


def _spec(items: list[dict[str, Any]], where: str, source: str) -> VersionSpec:
    """The union of ``versions[]`` items as one range (CVE 5 ``version``/``lessThan`` rules)."""
    if not items:
        return parse_range("*")
    constraints: list[Constraint] = []
    raws: list[str] = []
    for item in items:
        version = text(item.get("version"), f"{where}.versions.version", source).strip()
        below = text(item.get("lessThan"), f"{where}.versions.lessThan", source).strip()
        upto = text(
            item.get("lessThanOrEqual"), f"{where}.versions.lessThanOrEqual", source
        ).strip()
        if below or upto:
            if version not in _OPEN_START:
                constraints.append(Constraint(">=", version))
            constraints.append(Constraint("<", below) if below else Constraint("<=", upto))
            raws.append(f"{version} to {'<' + below if below else '<=' + upto}")
            continue
        spec = parse_range(version)
        raws.append(version)
        if spec.kind is RangeKind.ALL:
            return spec
        if spec.kind is RangeKind.UNPARSED or len(spec.alternatives) != 1:
            return unparsed(" | ".join(text(i.get("version"), where, source) for i in items))
        constraints.extend(spec.alternatives[0])
    return from_constraints(" | ".join(raws), constraints)


def _scores(container: dict[str, Any], where: str, source: str) -> tuple[ProductScore, ...]:
    scores: list[ProductScore] = []
    for i, metric in enumerate(objects(container.get("metrics"), f"{where}.metrics", source)):
        for key, version in _METRICS:
            score = cvss_score(metric.get(key), f"{where}.metrics[{i}].{key}", source, version)
            if score is not None:
                scores.append(ProductScore(score))
    return tuple(scores)


def _cwes(container: dict[str, Any], where: str, source: str) -> tuple[str, ...]:
    found: list[str] = []
    for problem in objects(container.get("problemTypes"), f"{where}.problemTypes", source):
        for entry in objects(problem.get("descriptions"), f"{where}.problemTypes", source):
            cwe = text(entry.get("cweId"), f"{where}.problemTypes.cweId", source)
            if cwe:
                found.append(cwe)
    return tuple(dict.fromkeys(found))


def _solutions(
    container: dict[str, Any], products: tuple[Product, ...], source: str
) -> tuple[Remediation, ...]:
    solutions: list[Remediation] = []
    ids = tuple(p.product_id for p in products)
    for entry in objects(container.get("solutions"), "containers.cna.solutions", source):
        details = text(entry.get("value"), "containers.cna.solutions.value", source).strip()
        if details:
            fix = _FIX_WORDS.search(details)
            category = RemediationCategory.VENDOR_FIX if fix else RemediationCategory.MITIGATION
            solutions.append(Remediation(category, details, ids))
    return tuple(solutions)
