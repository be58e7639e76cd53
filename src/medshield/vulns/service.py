"""Vulnerability intelligence over the store: import feeds, and assess the inventory's devices.

:func:`import_feeds` reads feed files and folders (``vulns.importer``) and upserts what they
hold. :func:`assess_vulnerabilities` matches devices against the stored advisories and turns
the matches into what the assessment reports:

- **matches**, annotated with CISA KEV and FIRST EPSS; an SBOM whose ``metadata.component``
  names a device's vendor and model (or that was bound to the device's serial number) lends the
  device its components as software, so that advisories about those components match too;
  VEX states a person set override the matcher's default state per CVE (CISA "Minimum
  Requirements for VEX", 2023); ``not_affected`` and ``fixed`` matches are kept but report
  nothing;
- **findings**: ``known-vulnerability`` per device and advisory (severity from the CVSS base
  score by FIRST CVSS v3.1 §5's qualitative scale, critical for a CVE in KEV, one step lower
  for a match still in triage), ``end-of-life-software`` where the advisory says no fix is
  planned (CSAF 2.0 §3.2.3.12.1 ``no_fix_planned``) or that the product is past its end of
  life, and MDS2 declarations the traffic contradicts (``posture.mds2_declared``);
- **risk**: a score per device and for the site with its factor breakdown
  (``risk.scoring``), the prioritised remediation list (``risk.remediation``), and — given
  activity profiles — the patch plan (``risk.patch_plan``).
"""

from __future__ import annotations

import getpass
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from medshield.core.device import Device
from medshield.core.enums import Criticality, FindingKind, Practice, Severity
from medshield.core.errors import BadInputError
from medshield.core.finding import Finding
from medshield.posture.mds2_declared import (
    DETAIL_PREFIX,
    declared_vs_observed,
    same_model,
    same_vendor,
)
from medshield.risk.activity import ActivityProfile
from medshield.risk.patch_plan import PatchPlan, PlanSettings, plan_patches
from medshield.risk.remediation import RemediationItem, remediation_plan
from medshield.risk.scoring import DeviceRisk, SiteRisk, score_device, score_site
from medshield.risk.weights import RiskWeights, load_weights
from medshield.store.devices import DeviceRepository
from medshield.store.vulns import (
    EVERY_ADVISORY,
    EVERY_CVE,
    AnalysisRepository,
    StoredAnalysis,
    StoredSbom,
    VulnRepository,
    WriteCounts,
)
from medshield.vulns.feeds.cyclonedx import software_of
from medshield.vulns.importer import import_paths
from medshield.vulns.matching import AdvisoryIndex, Match, annotate, match_devices
from medshield.vulns.model import (
    Advisory,
    FeedKind,
    FeedProblem,
    Product,
    Remediation,
    RemediationCategory,
    Vulnerability,
)
from medshield.vulns.names import tokens
from medshield.vulns.vendors import VendorTable
from medshield.vulns.versions import normalise_version_text
from medshield.vulns.vex import Analysis, AnalysisState, Justification

VULNS_SCHEMA = "medshield.vulns/1"
ACTIVE_STATES = frozenset({AnalysisState.AFFECTED, AnalysisState.IN_TRIAGE})
"""States that report a finding and count in the risk score."""
_END_OF_LIFE = re.compile(
    r"\bend[- ]of[- ](?:life|support|service)\b|\bEOL\b|\bEOS\b"
    r"|\bno longer (?:be )?(?:supported|maintained|serviced)\b|\bout of support\b",
    re.IGNORECASE,
)
END_OF_LIFE_PREFIX = "eol:"
"""Detail keys of end-of-life findings made from advisories (other checks may make their own)."""
_MODEL_TOKEN = re.compile(r"(?=[a-z]*\d)(?=\d*[a-z])[a-z0-9]+")
"""A model-number token: letters and digits together, no dots (``mx8000``, ``em2400``)."""
_SENTENCE = re.compile(r"(?<=[.;!?])\s+|\n+")
_FIX_CATEGORIES = frozenset({RemediationCategory.VENDOR_FIX, RemediationCategory.OPTIONAL_PATCH})
_SHOWN_CVES = 8
_EXCERPT = 160


# --- import ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one ``feeds import`` read, stored and could not use."""

    files: Mapping[FeedKind, int]
    """Files read, per format."""
    advisories: int
    vulnerabilities: int
    cves: int
    """Distinct CVE ids in the advisories read."""
    kev: int
    """Distinct CVEs of the KEV entries read (the JSON and CSV catalogs hold the same)."""
    epss: int
    sboms: int
    sbom_components: int
    mds2_forms: int
    written: WriteCounts
    """Records new or changed in the store (a re-import of the same files writes nothing)."""
    problems: tuple[FeedProblem, ...]
    skipped: tuple[FeedProblem, ...]

    @property
    def records(self) -> int:
        """Records read, of every kind."""
        return self.advisories + self.kev + self.epss + self.sboms + self.mds2_forms

    @property
    def usable(self) -> bool:
        """Something was imported."""
        return self.records > 0

    def lines(self) -> list[str]:
        """The summary as a few lines of text."""
        formats = ", ".join(f"{kind.value} {count}" for kind, count in self.files.items())
        written = self.written
        changed = (
            written.advisories + written.kev + written.epss + written.sboms + written.mds2_forms
        )
        return [
            f"Read {sum(self.files.values())} file(s): {formats or 'none'}",
            f"Advisories: {self.advisories} ({self.vulnerabilities} vulnerabilities, "
            f"{self.cves} CVEs); KEV: {self.kev} CVEs; EPSS: {self.epss} scores; "
            f"SBOMs: {self.sboms} ({self.sbom_components} components); "
            f"MDS2 forms: {self.mds2_forms}",
            f"Stored: {changed} new or changed record(s)"
            + (f"; skipped {len(self.skipped)} file(s)" if self.skipped else "")
            + (f"; {len(self.problems)} problem(s)" if self.problems else ""),
        ]


def import_feeds(session: Session, paths: Iterable[Path]) -> ImportSummary:
    """Import feed files and folders into the store; bad files become problems, not errors."""
    result = import_paths(list(paths))
    written = VulnRepository(session).store(result)
    files: dict[FeedKind, int] = {}
    for _, kind in result.files:
        files[kind] = files.get(kind, 0) + 1
    return ImportSummary(
        files=files,
        advisories=len({a.id for a in result.advisories}),
        vulnerabilities=sum(len(a.vulnerabilities) for a in result.advisories),
        cves=len({cve for a in result.advisories for cve in a.cves}),
        kev=len({entry.cve for entry in result.kev}),
        epss=len({score.cve for score in result.epss}),
        sboms=len(result.sboms),
        sbom_components=sum(len(sbom.components) for sbom in result.sboms),
        mds2_forms=len(result.mds2_forms),
        written=written,
        problems=result.problems,
        skipped=result.skipped,
    )


# --- VEX analyses set by people -------------------------------------------------------


def set_analysis(
    session: Session,
    device_id: str,
    target: str,
    state: AnalysisState,
    *,
    justification: Justification | None = None,
    note: str = "",
    author: str | None = None,
    now: float | None = None,
) -> StoredAnalysis:
    """Record a person's VEX analysis of ``target`` on a device.

    ``target`` is a CVE id (the statement holds in every advisory carrying it) or the id of a
    stored advisory (it holds for every vulnerability of that advisory).
    """
    if DeviceRepository(session).get(device_id) is None:
        raise BadInputError(device_id, "no such device in the database")
    target = target.strip()
    if not target:
        raise BadInputError("--set-state", "a CVE or advisory id is needed")
    if VulnRepository(session).has_advisory(target):
        advisory, cve = target, EVERY_CVE
    else:
        advisory, cve = EVERY_ADVISORY, target.upper()
    analysis = Analysis(device_id, advisory, cve, state, justification, note)
    who = author or _user()
    decided = time.time() if now is None else now
    AnalysisRepository(session).set(analysis, who, decided)
    return StoredAnalysis(analysis, who, decided)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def apply_analyses(
    matches: Iterable[Match],
    analyses: Iterable[StoredAnalysis],
    advisories: Mapping[str, Advisory],
) -> list[Match]:
    """Matches with the states people set: per CVE, the most specific statement wins
    (device × advisory × CVE, then device × CVE, then device × advisory).

    A match whose CVEs got different states is split into one match per state, each with the
    CVEs and the CVSS score of its part.
    """
    index = {(s.analysis.device, s.analysis.advisory, s.analysis.cve): s for s in analyses}
    if not index:
        return list(matches)
    result: list[Match] = []
    for match in matches:
        decided: dict[StoredAnalysis | None, list[str]] = {}
        for cve in match.cves or (EVERY_CVE,):
            decided.setdefault(_statement(index, match, cve), []).append(cve)
        if list(decided) == [None]:
            result.append(match)
            continue
        advisory = advisories.get(match.advisory)
        for statement, cves in decided.items():
            part = match
            if len(decided) > 1:
                kept = tuple(c for c in cves if c)
                part = replace(part, cves=kept, cvss=_cvss_of(advisory, match, kept))
            if statement is not None:
                part = replace(
                    part, state=statement.analysis.state, why=f"{part.why}; {_said(statement)}"
                )
            result.append(part)
    return result


def _statement(
    index: Mapping[tuple[str, str, str], StoredAnalysis], match: Match, cve: str
) -> StoredAnalysis | None:
    for key in (
        (match.device, match.advisory, cve),
        (match.device, EVERY_ADVISORY, cve),
        (match.device, match.advisory, EVERY_CVE),
    ):
        found = index.get(key)
        if found is not None:
            return found
    return None


def _said(statement: StoredAnalysis) -> str:
    analysis = statement.analysis
    day = time.strftime("%Y-%m-%d", time.gmtime(statement.decided_at))
    reason = f" ({analysis.justification.value})" if analysis.justification else ""
    note = f": {analysis.detail}" if analysis.detail else ""
    return f"set {analysis.state.value}{reason} by {statement.author} on {day}{note}"


def _cvss_of(advisory: Advisory | None, match: Match, cves: tuple[str, ...]) -> float | None:
    if advisory is None:
        return match.cvss
    scores = [
        score.base_score
        for v in advisory.vulnerabilities
        if v.cve in cves or (not cves and not v.cve)
        if (score := v.best_score(match.product_id) or v.best_score()) is not None
    ]
    return max(scores) if scores else None


# --- SBOMs ----------------------------------------------------------------------------


def attach_sboms(
    devices: Iterable[Device], sboms: Sequence[StoredSbom], vendors: VendorTable
) -> list[Device]:
    """Devices with the components of the SBOMs that describe them added as software.

    An SBOM bound to a serial number describes the device reporting that serial; an unbound
    SBOM describes every device whose vendor and model its ``metadata.component`` names (and
    whose firmware, when both are known, is the version the SBOM describes).
    """
    if not sboms:
        return list(devices)
    result = []
    for device in devices:
        extra = [
            s
            for stored in sboms
            if _describes(stored, device, vendors)
            for s in software_of(stored.sbom)
        ]
        if not extra:
            result.append(device)
            continue
        software = list(device.software)
        software += [item for item in extra if item not in software]
        result.append(replace(device, software=software))
    return result


def _describes(stored: StoredSbom, device: Device, vendors: VendorTable) -> bool:
    if stored.device_serial:
        return stored.device_serial in device.values("serial")
    vendor, model = device.maker(), device.best("model")
    if not vendor or not model or not stored.vendor or not stored.model:
        return False
    vendor_ids = vendors.canonical(stored.vendor)
    if not same_vendor(vendor_ids, vendor, vendors):
        return False
    if not same_model(stored.model, model, vendor_ids, vendors):
        return False
    described = stored.sbom.device.version if stored.sbom.device else ""
    firmware = device.best("firmware")
    if not described or not firmware:
        return True
    return normalise_version_text(described) == normalise_version_text(firmware)


# --- findings -------------------------------------------------------------------------


def cvss_severity(score: float | None) -> Severity:
    """FIRST CVSS v3.1 specification §5, qualitative severity rating scale (no score: medium)."""
    if score is None:
        return Severity.MEDIUM
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.INFO


def match_severity(match: Match) -> Severity:
    """Critical for a CVE in CISA KEV; else by CVSS, one step lower while still in triage."""
    if match.kev:
        return Severity.CRITICAL
    severity = cvss_severity(match.cvss)
    if match.state is AnalysisState.IN_TRIAGE and severity not in (Severity.LOW, Severity.INFO):
        return list(Severity)[severity.rank + 1]
    return severity


def known_vulnerability_findings(
    matches: Iterable[Match], advisories: Mapping[str, Advisory]
) -> list[Finding]:
    """One ``known-vulnerability`` finding per device and advisory with an active match."""
    groups = _active_groups(matches)
    return [
        _vulnerability_finding(group, advisories.get(group[0].advisory))
        for group in groups.values()
    ]


def _active_groups(matches: Iterable[Match]) -> dict[tuple[str, str], list[Match]]:
    groups: dict[tuple[str, str], list[Match]] = {}
    for match in matches:
        if match.state in ACTIVE_STATES:
            groups.setdefault((match.device, match.advisory), []).append(match)
    return groups


def _vulnerability_finding(group: list[Match], advisory: Advisory | None) -> Finding:
    first = group[0]
    cves = tuple(dict.fromkeys(c for m in group for c in m.cves))
    severity = min((match_severity(m) for m in group), key=lambda s: s.rank)
    affected = any(m.state is AnalysisState.AFFECTED for m in group)
    kev = any(m.kev for m in group)
    epss = max((m.epss for m in group if m.epss is not None), default=None)
    cvss = max((m.cvss for m in group if m.cvss is not None), default=None)
    shown = ", ".join(cves[:_SHOWN_CVES]) + (
        f" and {len(cves) - _SHOWN_CVES} more" if len(cves) > _SHOWN_CVES else ""
    )
    facts = [
        f"{first.advisory} ({shown or 'no CVE id'}) on {first.product}",
        f"device version {first.version!r}" if first.version else "device version unknown",
        f"affected {first.affected_range!r}",
        f"fixed in {first.fixed_in}" if first.fixed_in else "no fixed version named",
        f"CVSS {cvss:.1f}" if cvss is not None else "no CVSS score",
    ]
    if kev:
        facts.append("in CISA KEV (exploited in the wild)")
    if epss is not None:
        facts.append(f"EPSS {epss:.3f}")
    state = "affected" if affected else "possible match, in triage"
    title = advisory.title if advisory else first.advisory
    return Finding(
        kind=FindingKind.KNOWN_VULNERABILITY,
        severity=severity,
        device=first.device,
        title=f"Known vulnerability ({state}): {title}",
        evidence="; ".join(facts) + f"; why: {first.why}",
        remediation=_vulnerability_remediation(first, advisory),
        practice=Practice.PATCH_FIRMWARE.value,
        detail_key=first.advisory,
    )


def _vulnerability_remediation(match: Match, advisory: Advisory | None) -> str:
    where = f" ({advisory.url})" if advisory and advisory.url else ""
    if match.fixed_in:
        return (
            f"Update {match.product} to {match.fixed_in} or later as {match.advisory}{where} "
            "describes; until then apply its mitigations and restrict the device's network "
            "access to the peers it needs."
        )
    return (
        f"Apply the mitigations of {match.advisory}{where} and restrict the device's network "
        "access to the peers it needs until the manufacturer ships a fix."
    )


def end_of_life_statement(match: Match, advisory: Advisory) -> Remediation | None:
    """The advisory's remediation saying no fix is planned for the matched product, or that
    it is past its end of life; None when it says neither."""
    product = next((p for p in advisory.products if p.product_id == match.product_id), None)
    named = [words for p in advisory.products if (words := tokens(p.name)) and p is not product]
    for vulnerability in _relevant(advisory, match):
        for remediation in vulnerability.remediations_for(match.product_id):
            if remediation.category is RemediationCategory.NO_FIX_PLANNED:
                return remediation
            said = [
                part for part in _SENTENCE.split(remediation.details) if _END_OF_LIFE.search(part)
            ]
            if not said:
                continue
            # "The CareLink 9790 has been placed into end-of-life status" is listed for every
            # programmer of the advisory: when the sentence names products, it must name this one.
            text = tuple(word for sentence in said for word in tokens(sentence))
            if product is not None and _about(text, product, named):
                return remediation
    return None


def _about(text: tuple[str, ...], product: Product, named: list[tuple[str, ...]]) -> bool:
    """Whether an end-of-life sentence is about ``product``: it names it, or names no product
    of the advisory and no other model ("MX8000" in an advisory about Brilliance CTs)."""
    own = tokens(product.name)
    if _mentions(text, own):
        return True
    if any(_mentions(text, words) for words in named):
        return False
    models = {word for word in text if _MODEL_TOKEN.fullmatch(word)}
    mine = set(own) | set(tokens(product.full_name))
    mine |= {word for number in product.model_numbers for word in tokens(number)}
    return not models or bool(models & mine)


def _mentions(text: tuple[str, ...], words: tuple[str, ...]) -> bool:
    """``words`` appear in ``text`` one after the other (token-wise: "AP" is not in "apply")."""
    size = len(words)
    return size > 0 and any(text[i : i + size] == words for i in range(len(text) - size + 1))


def _relevant(advisory: Advisory, match: Match) -> list[Vulnerability]:
    if not match.cves:
        return list(advisory.vulnerabilities)
    return [v for v in advisory.vulnerabilities if v.cve in match.cves]


def end_of_life_findings(
    matches: Iterable[Match], advisories: Mapping[str, Advisory]
) -> list[Finding]:
    """``end-of-life-software`` findings: active matches whose advisory plans no fix."""
    findings = []
    for (device, advisory_id), group in _active_groups(matches).items():
        advisory = advisories.get(advisory_id)
        if advisory is None:
            continue
        statement = next(
            (s for m in group if (s := end_of_life_statement(m, advisory)) is not None), None
        )
        if statement is None:
            continue
        affected = any(m.state is AnalysisState.AFFECTED for m in group)
        findings.append(
            Finding(
                kind=FindingKind.END_OF_LIFE_SOFTWARE,
                severity=Severity.HIGH if affected else Severity.MEDIUM,
                device=device,
                title="Software past its end of life: no fix is planned",
                evidence=(
                    f"{advisory_id} on {group[0].product} ({statement.category.value}): "
                    f"{_excerpt(statement.details)!r}"
                ),
                remediation=(
                    "Plan the replacement or upgrade of the device with the manufacturer; until "
                    "then isolate it on its own segment with only the peers it needs "
                    "(see `medshield patch-plan`)."
                ),
                practice=Practice.PATCH_FIRMWARE.value,
                detail_key=END_OF_LIFE_PREFIX + advisory_id,
            )
        )
    return findings


def no_fix_reason(match: Match, advisory: Advisory | None) -> str | None:
    """Why no fix is available for ``match`` (None when one is: a fixed version or a vendor
    fix the advisory lists for the product)."""
    if advisory is None:
        return None if match.fixed_in else "the advisory is not stored"
    statement = end_of_life_statement(match, advisory)
    if statement is not None:
        return f"no fix planned ({statement.category.value}): {_excerpt(statement.details)}"
    if match.fixed_in:
        return None
    categories = {
        r.category for v in _relevant(advisory, match) for r in v.remediations_for(match.product_id)
    }
    if categories & _FIX_CATEGORIES:
        return None
    if RemediationCategory.FIX_PLANNED in categories:
        return "a fix is planned but not yet available"
    if RemediationCategory.NONE_AVAILABLE in categories:
        return "the advisory says no fix is available"
    return "the advisory names no fixed version and no vendor fix"


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"


# --- the assessment -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VulnAssessment:
    """Matches, the findings they make, risk, the remediation list and the patch plan."""

    matches: tuple[Match, ...]
    findings: tuple[Finding, ...]
    """New findings: known vulnerabilities, end-of-life software, MDS2 contradictions."""
    risks: Mapping[str, DeviceRisk]
    site: SiteRisk
    remediation: tuple[RemediationItem, ...]
    patch_plan: PatchPlan | None = None
    advisories: Mapping[str, Advisory] = field(default_factory=dict)

    def matches_of(self, device_id: str) -> list[Match]:
        """The matches of one device, best first."""
        return [m for m in self.matches if m.device == device_id]

    def to_json(self) -> dict[str, Any]:
        """``vulns --json``: schema ``medshield.vulns/1``."""
        return vulns_document(self.matches)


def match_json(match: Match) -> dict[str, Any]:
    """One match as PRODUCT.md's ``vulns --json`` contract writes it (exactly these keys)."""
    return {
        "device": match.device,
        "advisory": match.advisory,
        "cves": list(match.cves),
        "cvss": match.cvss,
        "kev": match.kev,
        "epss": match.epss,
        "affected_range": match.affected_range,
        "fixed_in": match.fixed_in,
        "why": match.why,
        "state": match.state.value,
    }


def vulns_document(matches: Iterable[Match]) -> dict[str, Any]:
    """``{"schema": "medshield.vulns/1", "matches": [...]}``."""
    return {"schema": VULNS_SCHEMA, "matches": [match_json(m) for m in matches]}


@dataclass(frozen=True, slots=True)
class AdvisoryCatalog:
    """The stored advisories and their matching index: the costly part of an assessment to
    build, reusable while the advisories do not change (a long-running service, a test)."""

    advisories: Mapping[str, Advisory]
    index: AdvisoryIndex


def load_catalog(session: Session) -> AdvisoryCatalog:
    """Every stored advisory, indexed for matching."""
    advisories = {a.id: a for a in VulnRepository(session).load_advisories()}
    return AdvisoryCatalog(advisories, AdvisoryIndex(advisories.values()))


def assess_vulnerabilities(
    session: Session,
    devices: Sequence[Device],
    findings: Sequence[Finding],
    profiles: Mapping[str, ActivityProfile] | None = None,
    *,
    plan: PlanSettings | None = None,
    weights: RiskWeights | None = None,
    catalog: AdvisoryCatalog | None = None,
    now: float | None = None,
) -> VulnAssessment:
    """Match ``devices`` against the stored intelligence and score them.

    ``findings`` are the assessment's posture findings (they count in the risk and are what
    MDS2 declarations are checked against; findings of the kinds made here are dropped and
    made again). With ``profiles`` (activity per device id), the
    result carries a patch plan. ``catalog`` saves loading and indexing the advisories again.
    """
    weights = weights or load_weights()
    findings = posture_findings(findings)
    feeds = VulnRepository(session)
    catalog = catalog or load_catalog(session)
    advisories, index = catalog.advisories, catalog.index
    candidates = attach_sboms(devices, feeds.load_sboms(), index.vendors)
    matches = match_devices(candidates, index) if advisories else []
    cves = {cve for m in matches for cve in m.cves}
    matches = annotate(matches, feeds.load_kev(cves), feeds.load_epss(cves))
    stored = AnalysisRepository(session).all([d.id for d in devices])
    matches = apply_analyses(matches, stored, advisories)
    new_findings = [
        *known_vulnerability_findings(matches, advisories),
        *end_of_life_findings(matches, advisories),
        *declared_vs_observed(feeds.load_mds2(), devices, findings, index.vendors),
    ]
    new_findings.sort(key=lambda f: (f.severity.rank, f.kind.value, f.device, f.detail_key))
    risks, remediation = _risk(devices, matches, [*findings, *new_findings], weights)
    patch = None
    if profiles is not None:
        patch = plan_patches(
            devices,
            matches,
            profiles,
            remediation,
            severities={
                key: min((match_severity(m) for m in group), key=lambda s: s.rank)
                for key, group in _active_groups(matches).items()
            },
            no_fix={
                (m.device, m.advisory): reason
                for m in matches
                if m.state in ACTIVE_STATES
                and (reason := no_fix_reason(m, advisories.get(m.advisory))) is not None
            },
            settings=plan,
            now=time.time() if now is None else now,
        )
    return VulnAssessment(
        matches=tuple(matches),
        findings=tuple(new_findings),
        risks=risks,
        site=score_site(list(risks.values()), weights),
        remediation=tuple(remediation),
        patch_plan=patch,
        advisories=advisories,
    )


def posture_findings(findings: Iterable[Finding]) -> list[Finding]:
    """``findings`` less those this module makes (stored by an earlier assessment): they are
    made again from the current intelligence and VEX states."""
    return [
        f
        for f in findings
        if f.kind is not FindingKind.KNOWN_VULNERABILITY
        and not f.detail_key.startswith((DETAIL_PREFIX, END_OF_LIFE_PREFIX))
    ]


def _risk(
    devices: Sequence[Device],
    matches: Sequence[Match],
    findings: Sequence[Finding],
    weights: RiskWeights,
) -> tuple[dict[str, DeviceRisk], list[RemediationItem]]:
    """Scores and remediation items, device by device (each sees only its own records)."""
    own_matches: dict[str, list[Match]] = {}
    for match in matches:
        own_matches.setdefault(match.device, []).append(match)
    own_findings: dict[str, list[Finding]] = {}
    for finding in findings:
        own_findings.setdefault(finding.device, []).append(finding)
    risks: dict[str, DeviceRisk] = {}
    items: list[RemediationItem] = []
    for device in devices:
        mine = own_matches.get(device.id, [])
        theirs = own_findings.get(device.id, [])
        risks[device.id] = score_device(device, mine, theirs, weights)
        # A known-vulnerability finding restates a match: its action is the advisory's.
        posture = [f for f in theirs if f.kind is not FindingKind.KNOWN_VULNERABILITY]
        active = [m for m in mine if m.state in ACTIVE_STATES]
        if active or posture:
            items += remediation_plan([device], active, posture, weights)
    order = list(Criticality)
    items.sort(key=lambda i: (-i.priority, order.index(i.criticality), i.device, i.action))
    return risks, items
