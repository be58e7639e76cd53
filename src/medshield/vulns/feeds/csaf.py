"""CSAF 2.0 security advisories (OASIS CSAF Version 2.0, §3.1 product tree, §3.2 vulnerabilities).

CISA publishes its ICS and ICS-medical advisories (ICSA, ICSMA) in this format. The product
tree is walked in full — nested ``branches`` (vendor → product_name → product_version or
product_version_range), ``full_product_names`` and ``relationships`` — and each product becomes
a flat :class:`Product` with its vendor, name, version text and parsed range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from medshield.core.errors import BadInputError
from medshield.vulns.cpe import parse_cpe
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
from medshield.vulns.versions import ALL_VERSIONS, VersionSpec, parse_range, unparsed

_VERSION_CATEGORIES = ("product_version", "product_version_range", "service_pack", "patch_level")
_SUMMARY_NOTES = ("summary", "description", "details", "general")
_SCORE_KEYS = (("cvss_v3", "3.1"), ("cvss_v4", "4.0"), ("cvss_v2", "2.0"))


class CsafFeed:
    """CSAF 2.0 JSON documents (``document.csaf_version``)."""

    kind: ClassVar[FeedKind] = FeedKind.CSAF
    name: ClassVar[str] = "CSAF 2.0"

    def sniff(self, sample: Sample) -> bool:
        document = sample.json_object()
        if document is None:
            return False
        header = document.get("document")
        return isinstance(header, dict) and "csaf_version" in header

    def read(self, sample: Sample) -> FeedResult:
        return FeedResult(advisories=(parse_csaf(sample.json(), sample.source),))


def load(path: Path) -> FeedResult:
    """Read CSAF advisories from a file or every file of a folder."""
    return load_with(CsafFeed(), path)


def parse_csaf(document: Any, source: str) -> Advisory:
    """One CSAF document as an :class:`Advisory` (§3.1 document, §3.1.x product tree, §3.2)."""
    root = obj(document, "document root", source, required=True)
    header = obj(root.get("document"), "document", source, required=True)
    tracking = obj(header.get("tracking"), "document.tracking", source, required=True)
    publisher = obj(header.get("publisher"), "document.publisher", source)
    tree = obj(root.get("product_tree"), "product_tree", source)
    products = _products(tree, source)
    groups = _product_groups(tree, source)
    vulnerabilities = tuple(
        _vulnerability(entry, f"vulnerabilities[{i}]", source, groups)
        for i, entry in enumerate(objects(root.get("vulnerabilities"), "vulnerabilities", source))
    )
    return Advisory(
        id=required_text(tracking.get("id"), "document.tracking.id", source),
        kind=FeedKind.CSAF,
        title=required_text(header.get("title"), "document.title", source),
        source=source,
        publisher=text(publisher.get("name"), "document.publisher.name", source),
        initial_release=text(tracking.get("initial_release_date"), "tracking", source) or None,
        current_release=text(tracking.get("current_release_date"), "tracking", source) or None,
        revision=text(tracking.get("version"), "document.tracking.version", source),
        url=_self_url(header, source),
        summary=_summary(header.get("notes"), "document.notes", source),
        products=products,
        vulnerabilities=vulnerabilities,
    )


def _self_url(header: dict[str, Any], source: str) -> str | None:
    urls = [
        text(ref.get("url"), "document.references.url", source)
        for ref in objects(header.get("references"), "document.references", source)
        if ref.get("category") == "self"
    ]
    human = [url for url in urls if url and not url.endswith(".json")]
    chosen = human or urls
    return chosen[0] if chosen else None


def _summary(notes: Any, where: str, source: str) -> str:
    by_category: dict[str, str] = {}
    for note in objects(notes, where, source):
        category = text(note.get("category"), f"{where}.category", source)
        by_category.setdefault(category, text(note.get("text"), f"{where}.text", source))
    return next((by_category[c] for c in _SUMMARY_NOTES if by_category.get(c)), "")


# --- product tree (§3.1) ------------------------------------------------------------------


def _products(tree: dict[str, Any], source: str) -> tuple[Product, ...]:
    found: dict[str, Product] = {}
    for product in _branch_products(tree.get("branches"), source):
        found.setdefault(product.product_id, product)
    for i, entry in enumerate(
        objects(tree.get("full_product_names"), "full_product_names", source)
    ):
        product = _loose_product(entry, f"product_tree.full_product_names[{i}]", source)
        found.setdefault(product.product_id, product)
    relationships = objects(tree.get("relationships"), "product_tree.relationships", source)
    for i, entry in enumerate(relationships):
        product = _relationship_product(entry, f"product_tree.relationships[{i}]", source, found)
        found.setdefault(product.product_id, product)
    return tuple(found.values())


def _branch_products(branches: Any, source: str) -> list[Product]:
    """Pre-order walk of §3.1.2 branches, carrying the categories seen on the way down."""
    products: list[Product] = []
    pending: list[tuple[dict[str, Any], str, dict[str, str]]] = []

    def push(node: Any, where: str, context: dict[str, str]) -> None:
        children = objects(node, where, source)
        pending.extend(
            (children[i], f"{where}[{i}]", context) for i in reversed(range(len(children)))
        )

    push(branches, "product_tree.branches", {})
    while pending:
        branch, at, context = pending.pop()
        category = text(branch.get("category"), f"{at}.category", source)
        name = text(branch.get("name"), f"{at}.name", source).strip()
        inner = {**context, category: name}
        if "product" in branch:
            products.append(_tree_product(branch["product"], f"{at}.product", source, inner))
        if "branches" in branch:
            push(branch["branches"], f"{at}.branches", inner)
    return products


def _tree_product(entry: Any, where: str, source: str, context: dict[str, str]) -> Product:
    product = obj(entry, where, source, required=True)
    full_name = required_text(product.get("name"), f"{where}.name", source)
    helper = obj(product.get("product_identification_helper"), f"{where}.helper", source)
    version_text = next((context[c] for c in _VERSION_CATEGORIES if context.get(c)), "")
    name = context.get("product_name") or context.get("product_family") or full_name
    return Product(
        product_id=required_text(product.get("product_id"), f"{where}.product_id", source),
        vendor=context.get("vendor", ""),
        name=name,
        full_name=full_name,
        version_text=version_text,
        version=parse_range(version_text) if version_text else ALL_VERSIONS,
        vers=version_text if version_text.startswith("vers:") else None,
        family=context.get("product_family", ""),
        cpe=text(helper.get("cpe"), f"{where}.helper.cpe", source) or None,
        purl=text(helper.get("purl"), f"{where}.helper.purl", source) or None,
        model_numbers=texts(helper.get("model_numbers"), f"{where}.helper.model_numbers", source),
    )


def _loose_product(entry: dict[str, Any], where: str, source: str) -> Product:
    """A §3.1.3 full product name without branches: vendor and version come from its CPE."""
    full_name = required_text(entry.get("name"), f"{where}.name", source)
    helper = obj(entry.get("product_identification_helper"), f"{where}.helper", source)
    cpe_text = text(helper.get("cpe"), f"{where}.helper.cpe", source) or None
    cpe = parse_cpe(cpe_text) if cpe_text else None
    vendor, name, version = "", full_name, unparsed(full_name)
    if cpe is not None:
        vendor, name = cpe.vendor.replace("_", " "), cpe.product.replace("_", " ")
        version = ALL_VERSIONS if cpe.version in {"*", ""} else parse_range(cpe.version)
    return Product(
        product_id=required_text(entry.get("product_id"), f"{where}.product_id", source),
        vendor=vendor,
        name=name,
        full_name=full_name,
        version_text=version.raw,
        version=version,
        cpe=cpe_text,
        purl=text(helper.get("purl"), f"{where}.helper.purl", source) or None,
        model_numbers=texts(helper.get("model_numbers"), f"{where}.helper.model_numbers", source),
    )


def _relationship_product(
    entry: dict[str, Any], where: str, source: str, known: dict[str, Product]
) -> Product:
    """A §3.1.5 relationship: the component's versions on the platform it is installed on."""
    named = obj(entry.get("full_product_name"), f"{where}.full_product_name", source, required=True)
    full_name = required_text(named.get("name"), f"{where}.full_product_name.name", source)
    component_id = text(entry.get("product_reference"), f"{where}.product_reference", source)
    platform_id = text(
        entry.get("relates_to_product_reference"), f"{where}.relates_to_product_reference", source
    )
    component, platform = known.get(component_id), known.get(platform_id)
    version: VersionSpec = component.version if component else unparsed(full_name)
    anchor = platform or component
    return Product(
        product_id=required_text(named.get("product_id"), f"{where}.product_id", source),
        vendor=anchor.vendor if anchor else "",
        name=anchor.name if anchor else full_name,
        full_name=full_name,
        version_text=component.version_text if component else "",
        version=version,
        vers=component.vers if component else None,
        family=anchor.family if anchor else "",
        cpe=platform.cpe if platform else None,
        purl=component.purl if component else None,
        model_numbers=platform.model_numbers if platform else (),
        platform=platform_id or None,
        component=component_id or None,
    )


def _product_groups(tree: dict[str, Any], source: str) -> dict[str, tuple[str, ...]]:
    groups: dict[str, tuple[str, ...]] = {}
    for i, group in enumerate(objects(tree.get("product_groups"), "product_groups", source)):
        where = f"product_tree.product_groups[{i}]"
        group_id = required_text(group.get("group_id"), f"{where}.group_id", source)
        groups[group_id] = texts(group.get("product_ids"), f"{where}.product_ids", source)
    return groups


# --- vulnerabilities (§3.2) ---------------------------------------------------------------


def _vulnerability(
    entry: dict[str, Any], where: str, source: str, groups: dict[str, tuple[str, ...]]
) -> Vulnerability:
    statuses: list[tuple[ProductStatus, tuple[str, ...]]] = []
    for key, ids in obj(entry.get("product_status"), f"{where}.product_status", source).items():
        try:
            status = ProductStatus(key)
        except ValueError:
            raise BadInputError(source, f"{where}.product_status: unknown group {key!r}") from None
        statuses.append((status, texts(ids, f"{where}.product_status.{key}", source)))
    return Vulnerability(
        cve=text(entry.get("cve"), f"{where}.cve", source).strip() or None,
        title=text(entry.get("title"), f"{where}.title", source),
        summary=_summary(entry.get("notes"), f"{where}.notes", source),
        cwes=_cwes(entry, where, source),
        product_status=tuple(statuses),
        remediations=tuple(
            _remediation(item, f"{where}.remediations[{i}]", source, groups)
            for i, item in enumerate(
                objects(entry.get("remediations"), f"{where}.remediations", source)
            )
        ),
        scores=_scores(entry, where, source),
        ids=tuple(
            f"{text(i.get('system_name'), where, source)}:{text(i.get('text'), where, source)}"
            for i in objects(entry.get("ids"), f"{where}.ids", source)
        ),
    )


def _cwes(entry: dict[str, Any], where: str, source: str) -> tuple[str, ...]:
    """CSAF 2.0 has one ``cwe`` object; CSAF 2.1 a ``cwes`` list."""
    items = [obj(entry.get("cwe"), f"{where}.cwe", source)] if entry.get("cwe") else []
    items += objects(entry.get("cwes"), f"{where}.cwes", source)
    return tuple(
        text(item.get("id"), f"{where}.cwe.id", source) for item in items if item.get("id")
    )


def _remediation(
    entry: dict[str, Any], where: str, source: str, groups: dict[str, tuple[str, ...]]
) -> Remediation:
    raw_category = required_text(entry.get("category"), f"{where}.category", source)
    try:
        category = RemediationCategory(raw_category)
    except ValueError:
        raise BadInputError(source, f"{where}.category: unknown {raw_category!r}") from None
    ids = list(texts(entry.get("product_ids"), f"{where}.product_ids", source))
    for group in texts(entry.get("group_ids"), f"{where}.group_ids", source):
        ids.extend(groups.get(group, ()))
    return Remediation(
        category=category,
        details=text(entry.get("details"), f"{where}.details", source),
        product_ids=tuple(dict.fromkeys(ids)),
        url=text(entry.get("url"), f"{where}.url", source) or None,
        date=text(entry.get("date"), f"{where}.date", source) or None,
    )


def _scores(entry: dict[str, Any], where: str, source: str) -> tuple[ProductScore, ...]:
    """§3.2.3.13 ``scores`` (CSAF 2.0) or ``metrics[].content`` (CSAF 2.1)."""
    found: list[ProductScore] = []
    holders = [(item, item) for item in objects(entry.get("scores"), f"{where}.scores", source)]
    holders += [
        (item, obj(item.get("content"), f"{where}.metrics.content", source))
        for item in objects(entry.get("metrics"), f"{where}.metrics", source)
    ]
    for holder, content in holders:
        products = texts(holder.get("products"), f"{where}.scores.products", source)
        for key, default_version in _SCORE_KEYS:
            score = cvss_score(content.get(key), f"{where}.scores.{key}", source, default_version)
            if score is not None:
                found.append(ProductScore(score, products))
    return tuple(found)


__all__ = ["CsafFeed", "load", "parse_csaf"]
