"""NVD CVE API 2.0 JSON (``{"vulnerabilities": [{"cve": {...}}]}`` pages and single items).

Each CVE becomes an :class:`Advisory` whose products are the vulnerable CPE match criteria
of its ``configurations`` (NVD CVE API 2.0 schema, ``cpeMatch``): vendor and product from the
CPE, versions from the CPE's version or the ``versionStart*``/``versionEnd*`` bounds. In an
``AND`` configuration ("firmware running on hardware"), the non-vulnerable criteria name the
platform the vulnerable product runs on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from medshield.core.errors import BadInputError
from medshield.vulns.cpe import ANY, NA, parse_cpe, product_words
from medshield.vulns.feeds.base import Sample, load_with
from medshield.vulns.feeds.cvss import cvss_score
from medshield.vulns.feeds.jsonshape import obj, objects, required_text, text
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
from medshield.vulns.versions import Constraint, from_constraints

_METRICS = (
    ("cvssMetricV31", "3.1"),
    ("cvssMetricV30", "3.0"),
    ("cvssMetricV40", "4.0"),
    ("cvssMetricV2", "2.0"),
)
_BOUNDS = (
    ("versionStartIncluding", ">="),
    ("versionStartExcluding", ">"),
    ("versionEndIncluding", "<="),
    ("versionEndExcluding", "<"),
)


class NvdFeed:
    """NVD CVE API 2.0 responses and single CVE items."""

    kind: ClassVar[FeedKind] = FeedKind.NVD
    name: ClassVar[str] = "NVD CVE API 2.0"

    def sniff(self, sample: Sample) -> bool:
        document = sample.json_object()
        if document is None:
            return False
        if document.get("format") == "NVD_CVE" or isinstance(document.get("cve"), dict):
            return True
        items = document.get("vulnerabilities")
        return (
            isinstance(items, list)
            and bool(items)
            and isinstance(items[0], dict)
            and isinstance(items[0].get("cve"), dict)
        )

    def read(self, sample: Sample) -> FeedResult:
        return FeedResult(advisories=parse_nvd(sample.json(), sample.source))


def load(path: Path) -> FeedResult:
    """Read NVD CVE API 2.0 JSON from a file or every file of a folder."""
    return load_with(NvdFeed(), path)


def parse_nvd(document: Any, source: str) -> tuple[Advisory, ...]:
    """Every CVE of an API response (or the one CVE of a single item)."""
    root = obj(document, "document root", source, required=True)
    if "cve" in root:
        return (_advisory(obj(root["cve"], "cve", source, required=True), "cve", source),)
    items = objects(root.get("vulnerabilities"), "vulnerabilities", source)
    return tuple(
        _advisory(
            obj(item.get("cve"), f"vulnerabilities[{i}].cve", source, required=True),
            f"vulnerabilities[{i}].cve",
            source,
        )
        for i, item in enumerate(items)
    )


def _advisory(cve: dict[str, Any], where: str, source: str) -> Advisory:
    cve_id = required_text(cve.get("id"), f"{where}.id", source)
    products = _products(cve, where, source)
    summary = _english(cve.get("descriptions"), f"{where}.descriptions", source)
    vulnerability = Vulnerability(
        cve=cve_id,
        title=cve_id,
        summary=summary,
        cwes=_cwes(cve, where, source),
        product_status=((ProductStatus.KNOWN_AFFECTED, tuple(p.product_id for p in products)),)
        if products
        else (),
        remediations=_patches(cve, where, source),
        scores=_scores(cve, where, source),
    )
    return Advisory(
        id=cve_id,
        kind=FeedKind.NVD,
        title=cve_id,
        source=source,
        publisher=text(cve.get("sourceIdentifier"), f"{where}.sourceIdentifier", source),
        initial_release=text(cve.get("published"), f"{where}.published", source) or None,
        current_release=text(cve.get("lastModified"), f"{where}.lastModified", source) or None,
        url=f"https://nvd.nist.gov/vuln/detail/{cve_id}",
        summary=summary,
        products=products,
        vulnerabilities=(vulnerability,),
    )


def _english(descriptions: Any, where: str, source: str) -> str:
    entries = objects(descriptions, where, source)
    english = [e for e in entries if str(e.get("lang", "")).lower().startswith("en")]
    chosen = (english or entries or [{}])[0]
    return text(chosen.get("value"), f"{where}.value", source)


def _cwes(cve: dict[str, Any], where: str, source: str) -> tuple[str, ...]:
    found: list[str] = []
    for weakness in objects(cve.get("weaknesses"), f"{where}.weaknesses", source):
        for entry in objects(weakness.get("description"), f"{where}.weaknesses", source):
            value = text(entry.get("value"), f"{where}.weaknesses.value", source)
            if value.startswith("CWE-"):
                found.append(value)
    return tuple(dict.fromkeys(found))


def _scores(cve: dict[str, Any], where: str, source: str) -> tuple[ProductScore, ...]:
    metrics = obj(cve.get("metrics"), f"{where}.metrics", source)
    scores: list[ProductScore] = []
    for key, version in _METRICS:
        for entry in objects(metrics.get(key), f"{where}.metrics.{key}", source):
            data = obj(entry.get("cvssData"), f"{where}.metrics.{key}.cvssData", source)
            if "baseSeverity" not in data and entry.get("baseSeverity"):
                data = {**data, "baseSeverity": entry["baseSeverity"]}
            score = cvss_score(data, f"{where}.metrics.{key}.cvssData", source, version)
            if score is not None:
                scores.append(ProductScore(score))
    return tuple(scores)


def _patches(cve: dict[str, Any], where: str, source: str) -> tuple[Remediation, ...]:
    patches: list[Remediation] = []
    for ref in objects(cve.get("references"), f"{where}.references", source):
        tags = {str(tag) for tag in ref.get("tags") or () if isinstance(tag, str)}
        url = text(ref.get("url"), f"{where}.references.url", source)
        if "Patch" in tags and url:
            patches.append(Remediation(RemediationCategory.VENDOR_FIX, "Patch reference", (), url))
    return tuple(patches)


def _products(cve: dict[str, Any], where: str, source: str) -> tuple[Product, ...]:
    products: dict[str, Product] = {}
    for i, config in enumerate(
        objects(cve.get("configurations"), f"{where}.configurations", source)
    ):
        at = f"{where}.configurations[{i}]"
        matches = [
            (match, f"{at}.nodes.cpeMatch")
            for node in objects(config.get("nodes"), f"{at}.nodes", source)
            for match in objects(node.get("cpeMatch"), f"{at}.nodes.cpeMatch", source)
        ]
        platforms = [m.get("criteria") for m, _ in matches if m.get("vulnerable") is False]
        platform = str(platforms[0]) if platforms and config.get("operator") == "AND" else None
        for match, match_at in matches:
            if match.get("vulnerable") is not False:
                product = _product(match, match_at, source, platform)
                products.setdefault(product.product_id, product)
    return tuple(products.values())


def _product(match: dict[str, Any], where: str, source: str, platform: str | None) -> Product:
    criteria = required_text(match.get("criteria"), f"{where}.criteria", source)
    cpe = parse_cpe(criteria)
    if cpe is None:
        raise BadInputError(source, f"{where}.criteria: not a CPE 2.3 name: {criteria!r}")
    constraints = [
        Constraint(comparator, text(match.get(key), f"{where}.{key}", source))
        for key, comparator in _BOUNDS
        if match.get(key)
    ]
    if cpe.version not in {ANY, NA, ""}:
        constraints = [Constraint("=", cpe.version)]
    version_text = ", ".join(f"{c.comparator} {c.version}" for c in constraints) or "*"
    product_id = text(match.get("matchCriteriaId"), f"{where}.matchCriteriaId", source) or (
        criteria + "|" + version_text
    )
    vendor, name = cpe.vendor.replace("_", " "), product_words(cpe)
    return Product(
        product_id=product_id,
        vendor=vendor,
        name=name,
        full_name=f"{vendor} {name} {version_text}",
        version_text=version_text,
        version=from_constraints(version_text, constraints),
        cpe=criteria,
        platform=platform,
    )
