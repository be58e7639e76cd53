"""Domain records of vulnerability intelligence: advisories, KEV, EPSS, SBOMs, MDS2 forms.

Every record is a frozen dataclass built only from the input file, so importing the same
file twice yields equal records and a store can upsert them by their natural keys
(``Advisory.id``, ``KevEntry.cve``, ``EpssScore.cve``, ``Sbom.serial``, ``Mds2Form.key``).
Vocabulary follows the formats: product status and remediation categories are CSAF 2.0's
(OASIS CSAF v2.0 §3.2.3.9, §3.2.3.12.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from medshield.vulns.versions import VersionSpec


class FeedKind(StrEnum):
    """Input formats MedShield imports."""

    CSAF = "csaf"
    NVD = "nvd"
    CVE5 = "cve5"
    KEV = "kev"
    EPSS = "epss"
    CYCLONEDX = "cyclonedx"
    MDS2 = "mds2"


class ProductStatus(StrEnum):
    """CSAF 2.0 §3.2.3.9 product status groups."""

    FIRST_AFFECTED = "first_affected"
    FIRST_FIXED = "first_fixed"
    FIXED = "fixed"
    KNOWN_AFFECTED = "known_affected"
    KNOWN_NOT_AFFECTED = "known_not_affected"
    LAST_AFFECTED = "last_affected"
    RECOMMENDED = "recommended"
    UNDER_INVESTIGATION = "under_investigation"

    @property
    def affected(self) -> bool:
        """The product is (or may be) vulnerable."""
        return self in _AFFECTED

    @property
    def resolved(self) -> bool:
        """The product is fixed or not affected."""
        return self in _RESOLVED


_AFFECTED = frozenset(
    {
        ProductStatus.FIRST_AFFECTED,
        ProductStatus.KNOWN_AFFECTED,
        ProductStatus.LAST_AFFECTED,
        ProductStatus.UNDER_INVESTIGATION,
    }
)
_RESOLVED = frozenset(
    {ProductStatus.FIRST_FIXED, ProductStatus.FIXED, ProductStatus.KNOWN_NOT_AFFECTED}
)


class RemediationCategory(StrEnum):
    """CSAF 2.0 §3.2.3.12.1 remediation categories (with CSAF 2.1's two additions)."""

    MITIGATION = "mitigation"
    NO_FIX_PLANNED = "no_fix_planned"
    NONE_AVAILABLE = "none_available"
    VENDOR_FIX = "vendor_fix"
    WORKAROUND = "workaround"
    FIX_PLANNED = "fix_planned"
    OPTIONAL_PATCH = "optional_patch"


@dataclass(frozen=True, slots=True)
class Score:
    """A CVSS base score (FIRST CVSS v3.1 §2 / v4.0 §2)."""

    version: str
    """CVSS version: ``2.0``, ``3.0``, ``3.1`` or ``4.0``."""
    base_score: float
    vector: str
    severity: str = ""


@dataclass(frozen=True, slots=True)
class ProductScore:
    """A score and the products it applies to (empty: the whole vulnerability)."""

    score: Score
    product_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Product:
    """A product an advisory speaks about, flattened from a CSAF product tree, an NVD CPE
    match or a CVE record's ``affected`` entry."""

    product_id: str
    vendor: str
    name: str
    """Product name without version (CSAF ``product_name`` branch, CPE product, CVE product)."""
    full_name: str
    version_text: str
    """The version or range exactly as written (may be empty)."""
    version: VersionSpec
    vers: str | None = None
    """The ``vers:`` string when the source gave one."""
    family: str = ""
    cpe: str | None = None
    purl: str | None = None
    model_numbers: tuple[str, ...] = ()
    platform: str | None = None
    """Where the product runs: the CSAF ``relates_to_product_reference`` of an ``installed_on``
    relationship, or the non-vulnerable CPE of an NVD ``AND`` configuration."""
    component: str | None = None
    """The CSAF ``product_reference`` of a relationship (the firmware or software part)."""


@dataclass(frozen=True, slots=True)
class Remediation:
    """CSAF 2.0 §3.2.3.12 remediation, or a CVE record's solution."""

    category: RemediationCategory
    details: str
    product_ids: tuple[str, ...] = ()
    url: str | None = None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """One vulnerability of an advisory (CSAF 2.0 §3.2)."""

    cve: str | None
    title: str = ""
    summary: str = ""
    cwes: tuple[str, ...] = ()
    product_status: tuple[tuple[ProductStatus, tuple[str, ...]], ...] = ()
    remediations: tuple[Remediation, ...] = ()
    scores: tuple[ProductScore, ...] = ()
    ids: tuple[str, ...] = ()
    """Other identifiers (vendor tracking numbers, ``system_name:text``)."""

    def statuses(self, product_id: str) -> frozenset[ProductStatus]:
        """The status groups that list ``product_id``."""
        return frozenset(status for status, ids in self.product_status if product_id in ids)

    def products_with(self, *statuses: ProductStatus) -> frozenset[str]:
        """Product ids listed under any of ``statuses``."""
        wanted = set(statuses)
        return frozenset(
            pid for status, ids in self.product_status if status in wanted for pid in ids
        )

    def best_score(self, product_id: str | None = None) -> Score | None:
        """The highest base score that applies to ``product_id`` (v3 preferred over v4/v2)."""
        scores = [
            entry.score
            for entry in self.scores
            if product_id is None or not entry.product_ids or product_id in entry.product_ids
        ]
        if not scores:
            return None
        preferred = [s for s in scores if s.version.startswith("3")] or scores
        return max(preferred, key=lambda s: s.base_score)

    def remediations_for(self, product_id: str) -> tuple[Remediation, ...]:
        """Remediations that name ``product_id`` (or name no product at all)."""
        return tuple(
            r for r in self.remediations if not r.product_ids or product_id in r.product_ids
        )


@dataclass(frozen=True, slots=True)
class Advisory:
    """A security advisory (CSAF document), or one CVE (NVD, CVE record)."""

    id: str
    kind: FeedKind
    title: str
    source: str
    """The file it was read from."""
    publisher: str = ""
    initial_release: str | None = None
    current_release: str | None = None
    revision: str = ""
    url: str | None = None
    summary: str = ""
    products: tuple[Product, ...] = ()
    vulnerabilities: tuple[Vulnerability, ...] = ()

    @property
    def cves(self) -> tuple[str, ...]:
        """CVE ids of the advisory, in order, without repeats."""
        return tuple(dict.fromkeys(v.cve for v in self.vulnerabilities if v.cve))


@dataclass(frozen=True, slots=True)
class KevEntry:
    """An entry of CISA's Known Exploited Vulnerabilities catalog (KEV schema v1)."""

    cve: str
    vendor_project: str
    product: str
    name: str = ""
    date_added: str = ""
    due_date: str = ""
    ransomware: bool | None = None
    """``knownRansomwareCampaignUse``: True for "Known", None for "Unknown"."""
    required_action: str = ""
    description: str = ""
    notes: str = ""
    cwes: tuple[str, ...] = ()
    catalog_version: str = ""


@dataclass(frozen=True, slots=True)
class EpssScore:
    """FIRST EPSS probability of exploitation in the next 30 days, and its percentile."""

    cve: str
    epss: float
    percentile: float
    model_version: str = ""
    score_date: str = ""


@dataclass(frozen=True, slots=True)
class SbomComponent:
    """A CycloneDX component (CycloneDX 1.6 ``components[]`` / ``metadata.component``)."""

    bom_ref: str
    type: str
    name: str
    version: str = ""
    group: str = ""
    supplier: str = ""
    publisher: str = ""
    purl: str | None = None
    cpe: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class SbomVulnerability:
    """A CycloneDX ``vulnerabilities[]`` entry (CycloneDX 1.4+), with its VEX analysis."""

    id: str
    source: str = ""
    ratings: tuple[Score, ...] = ()
    affects: tuple[str, ...] = ()
    """``bom-ref``s of the affected components."""
    state: str = ""
    justification: str = ""
    description: str = ""
    cwes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sbom:
    """A CycloneDX bill of materials: the device it describes and its components."""

    source: str
    serial: str
    spec_version: str
    version: int = 1
    timestamp: str = ""
    device: SbomComponent | None = None
    components: tuple[SbomComponent, ...] = ()
    vulnerabilities: tuple[SbomVulnerability, ...] = ()


class Answer(StrEnum):
    """An MDS2 answer (HN 1-2019: "Yes", "No", "N/A"; blank is unknown)."""

    YES = "yes"
    NO = "no"
    NOT_APPLICABLE = "n/a"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Mds2Answer:
    """One answered MDS2 question."""

    question_id: str
    question: str
    answer: Answer
    text: str = ""
    """The answer cell as written (e.g. "DOC-1" holds the manufacturer name)."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class DeclaredCapability:
    """A security capability the manufacturer declares in an MDS2 form."""

    name: str
    value: bool | None
    """True/False from a Yes/No answer; None for N/A or blank."""
    question_id: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Mds2Form:
    """A Manufacturer Disclosure Statement for Medical Device Security (ANSI/NEMA HN 1-2019)."""

    source: str
    manufacturer: str
    model: str
    version: str = ""
    description: str = ""
    document_id: str = ""
    release_date: str = ""
    answers: tuple[Mds2Answer, ...] = ()
    capabilities: tuple[DeclaredCapability, ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        """Natural key: manufacturer, model and document id."""
        return (self.manufacturer, self.model, self.document_id)

    def capability(self, name: str) -> bool | None:
        """The declared value of capability ``name`` (None when unanswered or unknown)."""
        for capability in self.capabilities:
            if capability.name == name:
                return capability.value
        return None


@dataclass(frozen=True, slots=True)
class FeedProblem:
    """A file (or part of one) that could not be imported, and why."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What one feed read from one file (or the files of one folder)."""

    advisories: tuple[Advisory, ...] = ()
    kev: tuple[KevEntry, ...] = ()
    epss: tuple[EpssScore, ...] = ()
    sboms: tuple[Sbom, ...] = ()
    mds2_forms: tuple[Mds2Form, ...] = ()
    problems: tuple[FeedProblem, ...] = ()
    skipped: tuple[FeedProblem, ...] = ()
    """Files recognised as not being a feed (a JSON Schema beside the KEV catalog …)."""
    files: tuple[tuple[str, FeedKind], ...] = field(default=())
    """Files imported, with the format each was read as."""

    @property
    def records(self) -> int:
        """How many records of any kind the result holds."""
        return (
            len(self.advisories)
            + len(self.kev)
            + len(self.epss)
            + len(self.sboms)
            + len(self.mds2_forms)
        )

    @classmethod
    def combine(cls, results: Iterable[FeedResult]) -> FeedResult:
        """One result holding the records and problems of ``results``, in order."""
        parts = list(results)
        return cls(
            advisories=tuple(a for r in parts for a in r.advisories),
            kev=tuple(k for r in parts for k in r.kev),
            epss=tuple(e for r in parts for e in r.epss),
            sboms=tuple(s for r in parts for s in r.sboms),
            mds2_forms=tuple(m for r in parts for m in r.mds2_forms),
            problems=tuple(p for r in parts for p in r.problems),
            skipped=tuple(p for r in parts for p in r.skipped),
            files=tuple(f for r in parts for f in r.files),
        )


ImportResult = FeedResult
"""The result of importing many paths: the same record collections, over every file."""
