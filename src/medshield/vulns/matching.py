"""Match inventory devices to advisory products: vendor, then model, then version.

1. **Vendor.** The device's ``vendor`` attribute and the advisory product's vendor resolve to
   vendor ids through the alias table (``vendors.yaml``); a related vendor (an acquisition)
   counts with a lower confidence.
2. **Model.** Names compare as sets of informative tokens (``names.informative``), after the
   vendor's own words are removed from both sides. A match is *exact* (same tokens, or the
   model equals one of the product's model numbers), *contained* (the device model's tokens
   are all in the product name, family or model numbers: "Alaris 8015" in "Alaris 8015 PC
   unit"), or *specific* (the product's tokens are all in a longer device model).
3. **Version.** The device's ``firmware`` is compared with the product's range
   (:class:`~medshield.vulns.versions.VersionSpec`). In range → ``affected``; out of range →
   no match; unknown — no firmware seen, a range MedShield cannot read ("unparsed"), a version
   of another family — → ``in_triage``: a *possible, low-confidence* match for a person to
   decide, never a silent "affected".

Software a device reports (``device.software``) matches products of the device's vendor, or
products whose vendor the software names, or — with a lower confidence — any product whose
name equals the software's.

Advisory products are indexed by vendor id and token, so each device looks at only the few
products that share a token with its model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from medshield.core.device import Device
from medshield.vulns.fixes import AdvisoryFixes
from medshield.vulns.model import (
    Advisory,
    EpssScore,
    KevEntry,
    Product,
    ProductStatus,
    Vulnerability,
)
from medshield.vulns.names import fold, informative, tokens
from medshield.vulns.vendors import VendorTable, load_vendor_table
from medshield.vulns.versions import FirmwareVersion, InRange, RangeKind, parse_version
from medshield.vulns.vex import Analysis, AnalysisState

RELATED_VENDOR = 0.8
"""Confidence factor when the device's vendor is only related to the advisory's."""
UNKNOWN_VERSION = 0.5
"""Confidence factor when the device's version is not known."""
UNDECIDABLE_RANGE = 0.4
"""Confidence factor when the range cannot decide (unparsed text, another version family)."""
QUALIFIED_RANGE = 0.8
"""Confidence factor when the range carries a condition MedShield cannot check."""
UNLISTED_PRODUCT = 0.6
"""Confidence factor for a product the advisory lists under no product status."""
SOFTWARE_BY_NAME = 0.6
"""Product-name factor for software matched by name alone, across vendors."""

_PLATFORM_WORDS = frozenset({"windows", "linux", "android", "ios", "xp", "vista", "server"})
_SHOWN_RANGE = 80
"""Longest range text quoted in a match's ``why`` (CVE records can hold paragraphs)."""


@dataclass(frozen=True, slots=True)
class Match:
    """A device that an advisory (probably) applies to, and why."""

    device: str
    advisory: str
    cves: tuple[str, ...]
    product_id: str
    product: str
    """Vendor and product name as the advisory writes them."""
    affected_range: str
    """The affected versions as written in the advisory ("<= 4.2.1", "All versions")."""
    fixed_in: str | None
    why: str
    confidence: float
    cvss: float | None
    state: AnalysisState
    version: str | None = None
    """The device version that was compared (None when unknown)."""
    vers: tuple[str, ...] = ()
    kev: bool = False
    epss: float | None = None

    def analyses(self) -> tuple[Analysis, ...]:
        """The default VEX analysis of each CVE: this match's state."""
        detail = f"MedShield matching ({self.confidence:.2f}): {self.why}"
        return tuple(
            Analysis(self.device, self.advisory, cve, self.state, None, detail) for cve in self.cves
        )

    def to_json(self) -> dict[str, Any]:
        """The match as ``vulns --json`` writes it (schema ``medshield.vulns/1``)."""
        return {
            "device": self.device,
            "advisory": self.advisory,
            "cves": list(self.cves),
            "cvss": self.cvss,
            "kev": self.kev,
            "epss": self.epss,
            "affected_range": self.affected_range,
            "fixed_in": self.fixed_in,
            "why": self.why,
            "state": self.state.value,
            "confidence": self.confidence,
            "product": self.product,
        }


@dataclass(frozen=True, slots=True)
class IndexedProduct:
    """An advisory product prepared for matching."""

    advisory: Advisory
    product: Product
    vendor_ids: frozenset[str]
    words: frozenset[str]
    vendor_words: frozenset[str]
    model_keys: frozenset[str]
    affected_by: tuple[Vulnerability, ...]
    resolved_in: tuple[Vulnerability, ...]
    unlisted: bool
    fixed_in: str | None


@dataclass(frozen=True, slots=True)
class _Hit:
    """One product a device (or one of its software components) matched."""

    entry: IndexedProduct
    confidence: float
    state: AnalysisState | None
    """None when the product does not apply (out of range, fixed, not affected)."""
    version: str | None
    why: str
    decided: bool
    """The product's range decided about the version (in or out), rather than "unknown"."""


class AdvisoryIndex:
    """Advisory products indexed by vendor id → token, and by token across vendors."""

    def __init__(self, advisories: Iterable[Advisory], vendors: VendorTable | None = None) -> None:
        self.vendors = vendors if vendors is not None else load_vendor_table()
        self.entries: list[IndexedProduct] = []
        self._by_vendor: dict[str, dict[str, list[int]]] = {}
        self._by_token: dict[str, list[int]] = {}
        self._signatures: dict[str, dict[str, list[int]]] = {}
        self._vendor_words: dict[str, frozenset[str]] = {}
        for advisory in advisories:
            self._add(advisory)
        self._index_signatures()

    def _index_signatures(self) -> None:
        """File each product under its rarest token: a model holding all the product's tokens
        holds that one, so looking up the model's tokens finds every product within it."""
        for vendor_id, postings in self._by_vendor.items():
            signatures = self._signatures.setdefault(vendor_id, {})
            for position in {p for ids in postings.values() for p in ids}:
                words = self.entries[position].words
                if words:
                    rarest = min(sorted(words), key=lambda w: len(postings.get(w, ())))
                    signatures.setdefault(rarest, []).append(position)

    def __len__(self) -> int:
        return len(self.entries)

    def vendor_words(self, vendor_id: str) -> frozenset[str]:
        """Tokens spelling ``vendor_id`` (removed from names before they are compared)."""
        words = self._vendor_words.get(vendor_id)
        if words is None:
            words = self._vendor_words[vendor_id] = self.vendors.words(vendor_id)
        return words

    def fitting(self, vendor_id: str, words: frozenset[str], squashed: str) -> set[int]:
        """Products of ``vendor_id`` whose tokens hold ``words`` or lie within them, or whose
        model number is ``squashed``: the only ones a device model can name."""
        postings = self._by_vendor.get(vendor_id)
        if not postings:
            return set()
        found = {p for p in postings.get(squashed, ()) if squashed in self.entries[p].model_keys}
        if not words:
            return found
        rarest = min(words, key=lambda w: len(postings.get(w, ())))
        found.update(p for p in postings.get(rarest, ()) if words <= self.entries[p].words)
        signatures = self._signatures.get(vendor_id, {})
        for word in words:
            found.update(p for p in signatures.get(word, ()) if self.entries[p].words <= words)
        return found

    def by_token(self, words: Iterable[str]) -> set[int]:
        """Indexes of products of any vendor that share a token with ``words``."""
        found: set[int] = set()
        for word in words:
            found.update(self._by_token.get(word, ()))
        return found

    def _add(self, advisory: Advisory) -> None:
        fixed = _fixed_versions_by_name(advisory)
        stated = AdvisoryFixes(advisory)
        listed: dict[str, list[tuple[Vulnerability, frozenset[ProductStatus]]]] = {}
        for vulnerability in advisory.vulnerabilities:
            for status, ids in vulnerability.product_status:
                for product_id in ids:
                    listed.setdefault(product_id, []).append((vulnerability, frozenset({status})))
        carriers = {p.platform for p in advisory.products if p.component} | {
            p.component for p in advisory.products if p.component
        }
        for product in advisory.products:
            if product.product_id in carriers and product.product_id not in listed:
                # A platform or component of a CSAF relationship: the relationship products
                # carry its status, matching it alone would only add noise.
                continue
            vendor_ids = (
                self.vendors.canonical(product.vendor)
                if product.vendor.strip()
                else self.vendors.known(product.name)
            )
            if not vendor_ids:
                continue
            entry = self._entry(
                advisory, product, vendor_ids, listed.get(product.product_id, []), fixed, stated
            )
            position = len(self.entries)
            self.entries.append(entry)
            keys = entry.words | entry.model_keys
            for vendor_id in vendor_ids:
                postings = self._by_vendor.setdefault(vendor_id, {})
                for word in keys:
                    postings.setdefault(word, []).append(position)
            for word in keys:
                self._by_token.setdefault(word, []).append(position)

    def _entry(
        self,
        advisory: Advisory,
        product: Product,
        vendor_ids: frozenset[str],
        statuses: list[tuple[Vulnerability, frozenset[ProductStatus]]],
        fixed: dict[str, str],
        stated: AdvisoryFixes,
    ) -> IndexedProduct:
        # Words of known vendors, and of the vendor string when it names a single company,
        # brands aside: "Hillrom and ELI, Baxter" must not strip "ELI" from "ELI 380".
        known = [self.vendor_words(v) for v in vendor_ids if v in self.vendors.vendors]
        single = (
            frozenset(tokens(product.vendor)) - self.vendors.brand_words
            if len(vendor_ids) == 1
            else frozenset()
        )
        own = single.union(*known)
        names = [product.name, product.family, *product.model_numbers]
        if product.version.kind is RangeKind.UNPARSED:
            names.append(product.version_text)
        named = informative(tuple(w for n in names for w in tokens(n)))
        # A product named like its vendor ("OpenClinic GA" by OpenClinic GA) keeps its words.
        words = named - own or named
        affected = tuple(dict.fromkeys(v for v, s in statuses if any(x.affected for x in s)))
        resolved = tuple(dict.fromkeys(v for v, s in statuses if any(x.resolved for x in s)))
        return IndexedProduct(
            advisory=advisory,
            product=product,
            vendor_ids=vendor_ids,
            words=words,
            vendor_words=own,
            model_keys=frozenset(_squash(m) for m in product.model_numbers if _squash(m)),
            affected_by=affected or (advisory.vulnerabilities if not statuses else ()),
            resolved_in=resolved,
            unlisted=not statuses,
            fixed_in=fixed_version(advisory, product, fixed, stated),
        )


@dataclass(slots=True)
class DeviceMatcher:
    """Matches devices against an :class:`AdvisoryIndex`.

    A device's matches depend only on its vendor, model, firmware and software, so they are
    computed once per distinct combination (a hospital runs fleets of identical pumps).
    """

    index: AdvisoryIndex
    cache: bool = True
    """Reuse whole results across devices with the same attributes (off only to measure: the
    model-candidate lookups stay cached either way)."""
    _results: dict[tuple[Any, ...], list[Match]] = field(default_factory=dict)
    _models: dict[tuple[str, str], list[tuple[int, float, str]]] = field(default_factory=dict)
    _versions: dict[str, FirmwareVersion | None] = field(default_factory=dict)

    def match(self, device: Device) -> list[Match]:
        """Every advisory that applies (or may apply) to ``device``, best first."""
        vendor = device.maker() or ""
        model = device.best("model") or ""
        firmware = device.best("firmware")
        software = tuple((s.name, s.version) for s in device.software)
        key = (vendor, model, firmware, software)
        found = self._results.get(key) if self.cache else None
        if found is None:
            found = _group("", self._hits(vendor, model, firmware, software))
            if self.cache:
                self._results[key] = found
        return [replace(m, device=device.id) for m in found]

    def _hits(
        self, vendor: str, model: str, firmware: str | None, software: tuple[tuple[str, str], ...]
    ) -> list[_Hit]:
        hits: list[_Hit] = []
        version = self._version(firmware)
        for position, factor, rule in self._model_candidates(vendor, model):
            hits.append(self._judge(self.index.entries[position], factor, rule, version, firmware))
        for name, software_version in software:
            hits.extend(self._software_hits(vendor, name, software_version))
        return _drop_undecided(hits)

    def _version(self, text: str | None) -> FirmwareVersion | None:
        if text is None:
            return None
        if text not in self._versions:
            self._versions[text] = parse_version(text)
        return self._versions[text]

    def _model_candidates(self, vendor: str, model: str) -> list[tuple[int, float, str]]:
        key = (vendor, model)
        cached = self._models.get(key)
        if cached is None:
            cached = self._models[key] = self._find_models(vendor, model)
        return cached

    def _find_models(self, vendor: str, model: str) -> list[tuple[int, float, str]]:
        if not vendor.strip() or not model.strip():
            return []
        found: list[tuple[int, float, str]] = []
        own_ids = self.index.vendors.canonical(vendor)
        related = {r for v in own_ids for r in self.index.vendors.related(v)} - own_ids
        named = informative(tokens(model))
        model_words = named - (frozenset(tokens(vendor)) - self.index.vendors.brand_words) or named
        squashed = _squash(model)
        for vendor_id, vendor_factor in [(v, 1.0) for v in own_ids] + [
            (r, RELATED_VENDOR) for r in related
        ]:
            words = model_words - self.index.vendor_words(vendor_id) or model_words
            for position in sorted(self.index.fitting(vendor_id, words, squashed)):
                entry = self.index.entries[position]
                product_factor, rule = _model_fit(words, squashed, model, entry)
                if product_factor:
                    why = _vendor_reason(vendor, entry, vendor_factor) + "; " + rule
                    found.append((position, vendor_factor * product_factor, why))
        return found

    def _software_hits(self, vendor: str, name: str, version_text: str) -> list[_Hit]:
        words = informative(tokens(name))
        if not words:
            return []
        own_ids = self.index.vendors.canonical(vendor) if vendor.strip() else frozenset()
        named_ids = self.index.vendors.known(name)
        hits: list[_Hit] = []
        version = self._version(version_text)
        for position in self.index.by_token(words):
            entry = self.index.entries[position]
            same_vendor = bool(entry.vendor_ids & (own_ids | named_ids))
            remaining = words - entry.vendor_words
            if not _distinctive(remaining) or not entry.words:
                continue
            if same_vendor and (remaining <= entry.words or entry.words <= remaining):
                factor, how = 0.9, "names the product of the device's (or its own) vendor"
            elif remaining == entry.words and not entry.words & _PLATFORM_WORDS:
                factor, how = SOFTWARE_BY_NAME, "has the product's name (vendor not confirmed)"
            else:
                continue
            rule = f"software {name!r} {how} {entry.product.name!r}"
            hits.append(self._judge(entry, factor, rule, version, version_text or None))
        return hits

    def _judge(
        self,
        entry: IndexedProduct,
        factor: float,
        rule: str,
        version: FirmwareVersion | None,
        version_text: str | None,
    ) -> _Hit:
        """The verdict on one product; a hit whose state is None does not apply."""
        spec = entry.product.version
        verdict = spec.contains(version)
        if not entry.affected_by or verdict is InRange.NO:
            decided = verdict is not InRange.UNKNOWN
            return _Hit(entry, 0.0, None, version_text, "", decided)
        range_text = _shorten(spec.raw or "all versions")
        if verdict is InRange.YES:
            state = AnalysisState.AFFECTED
            version_factor = 1.0 if spec.raw or spec.kind is not RangeKind.ALL else 0.9
            said = (
                f"{range_text!r} covers every version"
                if spec.kind is RangeKind.ALL
                else f"version {version_text!r} is within {range_text!r}"
            )
        elif version is None and spec.kind is not RangeKind.UNPARSED:
            state, version_factor = AnalysisState.IN_TRIAGE, UNKNOWN_VERSION
            said = f"version unknown, affected range {range_text!r}: possible match"
        else:
            state, version_factor = AnalysisState.IN_TRIAGE, UNDECIDABLE_RANGE
            said = (
                f"version {version_text!r} cannot be compared with {range_text!r}: "
                "possible, low-confidence match"
            )
        if spec.qualifier:
            version_factor *= QUALIFIED_RANGE
            said += f" (only {spec.qualifier!r}, not checked)"
        if entry.unlisted:
            version_factor *= UNLISTED_PRODUCT
            said += "; the advisory gives this product no status"
            state = AnalysisState.IN_TRIAGE
        confidence = round(factor * version_factor, 3)
        decided = verdict is InRange.YES
        return _Hit(entry, confidence, state, version_text, f"{rule}; {said}", decided)


def match_devices(
    devices: Iterable[Device], advisories: AdvisoryIndex | Iterable[Advisory]
) -> list[Match]:
    """Matches of every device against the advisories (an index is built when needed)."""
    index = advisories if isinstance(advisories, AdvisoryIndex) else AdvisoryIndex(advisories)
    matcher = DeviceMatcher(index)
    return [found for device in devices for found in matcher.match(device)]


def annotate(
    matches: Iterable[Match], kev: Iterable[KevEntry] = (), epss: Iterable[EpssScore] = ()
) -> list[Match]:
    """Matches with ``kev`` set when a CVE is in the KEV catalog and the highest EPSS score."""
    known = {entry.cve for entry in kev}
    scores: Mapping[str, float] = {score.cve: score.epss for score in epss}
    annotated = []
    for found in matches:
        probabilities = [scores[c] for c in found.cves if c in scores]
        annotated.append(
            replace(
                found,
                kev=any(c in known for c in found.cves),
                epss=max(probabilities) if probabilities else None,
            )
        )
    return annotated


def default_analyses(matches: Iterable[Match]) -> list[Analysis]:
    """The default VEX analysis of every matched device × CVE."""
    return [analysis for found in matches for analysis in found.analyses()]


def _fixed_versions_by_name(advisory: Advisory) -> dict[str, str]:
    """Folded product name → version text of the advisory's ``fixed``/``first_fixed`` products."""
    fixed_ids = frozenset().union(
        *(
            v.products_with(ProductStatus.FIXED, ProductStatus.FIRST_FIXED)
            for v in advisory.vulnerabilities
        )
    )
    found: dict[str, str] = {}
    for product in advisory.products:
        if product.product_id in fixed_ids and product.version_text:
            found.setdefault(fold(product.name), product.version_text)
    return found


def fixed_version(
    advisory: Advisory,
    product: Product,
    fixed: dict[str, str] | None = None,
    stated: AdvisoryFixes | None = None,
) -> str | None:
    """The first fixed version of ``product``, from the most to the least structured source:
    a ``fixed``/``first_fixed`` product of the same name (CSAF 2.0 §3.2.3.9), the exclusive
    upper bound of its range, else a version that a vendor fix for this product states as
    its fix (:mod:`medshield.vulns.fixes`); None when the advisory names none."""
    fixed = _fixed_versions_by_name(advisory) if fixed is None else fixed
    same_name = fixed.get(fold(product.name))
    if same_name:
        return same_name
    bound = product.version.exclusive_upper_bound()
    if bound:
        return bound
    stated = AdvisoryFixes(advisory) if stated is None else stated
    return next(stated.stated(product), None)


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN_RANGE else text[: _SHOWN_RANGE - 1] + "…"


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text))


def _distinctive(words: frozenset[str]) -> bool:
    """Enough to name a product: a word of 3+ letters, or a 2+ character word with a digit."""
    return any(len(w) >= 3 or (len(w) >= 2 and any(c.isdigit() for c in w)) for w in words)


def _model_fit(
    words: frozenset[str], squashed: str, model: str, entry: IndexedProduct
) -> tuple[float, str]:
    """How well the device model names the product: a factor (0 = no match) and the rule."""
    name = entry.product.name
    if squashed and squashed in entry.model_keys:
        return 1.0, f"model {model!r} is a model number of {name!r}"
    if not words or not entry.words:
        return 0.0, ""
    if words == entry.words:
        return 1.0, f"model {model!r} is product {name!r}"
    if not _distinctive(words):
        return 0.0, ""
    if words <= entry.words:
        return 0.6 + 0.35 * len(words) / len(entry.words), f"model {model!r} is in {name!r}"
    if entry.words <= words and _distinctive(entry.words):
        return 0.6 + 0.3 * len(entry.words) / len(words), f"product {name!r} is in model {model!r}"
    return 0.0, ""


def _vendor_reason(vendor: str, entry: IndexedProduct, factor: float) -> str:
    relation = "is" if factor == 1.0 else "is related to"
    return f"vendor {vendor!r} {relation} advisory vendor {entry.product.vendor!r}"


def _drop_undecided(hits: list[_Hit]) -> list[_Hit]:
    """Keep the hits that apply, less the "unknown" verdicts on products whose namesake in the
    same advisory did decide: "<= L81" decides "L82", so the sibling product "<= 012U000061"
    (another part-number family) must not turn it into a possible match."""
    decided = {
        (h.entry.advisory.id, h.entry.product.vendor, h.entry.product.name)
        for h in hits
        if h.decided
    }
    return [
        h
        for h in hits
        if h.state is not None
        and (
            h.decided
            or (h.entry.advisory.id, h.entry.product.vendor, h.entry.product.name) not in decided
        )
    ]


def _group(device_id: str, hits: list[_Hit]) -> list[Match]:
    """One match per advisory: the best product, every CVE that any matched product carries."""
    by_advisory: dict[str, list[_Hit]] = {}
    for hit in hits:
        by_advisory.setdefault(hit.entry.advisory.id, []).append(hit)
    matches = []
    for advisory_id, group in by_advisory.items():
        group.sort(key=lambda h: (h.state is not AnalysisState.AFFECTED, -h.confidence))
        best = group[0]
        vulnerabilities = [v for h in group for v in h.entry.affected_by]
        cves = tuple(dict.fromkeys(v.cve for v in vulnerabilities if v.cve))
        scores = [
            score.base_score
            for h in group
            for v in h.entry.affected_by
            if (score := v.best_score(h.entry.product.product_id)) is not None
        ]
        product = best.entry.product
        matches.append(
            Match(
                device=device_id,
                advisory=advisory_id,
                cves=cves,
                product_id=product.product_id,
                product=f"{product.vendor} {product.name}".strip(),
                affected_range=product.version.raw or "all versions",
                fixed_in=best.entry.fixed_in,
                why=best.why,
                confidence=best.confidence,
                cvss=max(scores) if scores else None,
                state=best.state or AnalysisState.IN_TRIAGE,
                version=best.version,
                vers=product.version.vers,
            )
        )
    matches.sort(key=lambda m: (m.state is not AnalysisState.AFFECTED, -m.confidence, m.advisory))
    return matches
