"""SQLAlchemy 2.0 typed ORM models: the database schema.

Strings read off the wire (attribute values, software names, evidence) are ``Text``, bounded
by the store's own clipping (:mod:`medshield.store.text`) rather than by the column type;
identifiers and closed vocabularies are bounded ``String`` columns. Every timestamp is a
timezone-aware UTC :class:`UtcDateTime`. Every constraint and index is named
(``NAMING_CONVENTION``) so that migrations can refer to it on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from medshield.store.types import UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64
"""Device, finding and alert ids (``mac-…``, ``ip-…``, ``f-<16 hex>``)."""
VOCABULARY_LENGTH = 32
"""Enum values: severities, categories, criticality, kinds, statuses, transports."""
IP_LENGTH = 45
"""The longest textual IPv6 address (RFC 4291 §2.2, with an embedded IPv4 address)."""


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _device_fk() -> ForeignKey:
    return ForeignKey("devices.id", ondelete="CASCADE")


class AssessmentRow(Base):
    """One run of ``medshield assess`` over one or more capture files."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    files: Mapped[list[str]] = mapped_column(JSON)
    packets: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    flows: Mapped[int] = mapped_column(BigInteger, default=0)
    capture_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    capture_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    tool_version: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))


class DeviceRow(Base):
    """A device of the inventory, keyed by its stable id (``device_id_for_mac``/``_for_ip``)."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    mac: Mapped[str | None] = mapped_column(String(17))
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    category: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    category_confidence: Mapped[float] = mapped_column(Float)
    criticality: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    packets: Mapped[int] = mapped_column(BigInteger)
    """Total over every merge: the sum of ``device_traffic`` plus merges without assessment."""
    bytes: Mapped[int] = mapped_column(BigInteger)


class DeviceTrafficRow(Base):
    """A device's packet and byte counters as seen by one assessment.

    Re-merging an inventory for the same assessment replaces these counters instead of adding
    them again, which keeps the merge idempotent within an assessment.
    """

    __tablename__ = "device_traffic"

    device_id: Mapped[str] = mapped_column(_device_fk(), primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True
    )
    packets: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)


class DeviceIpRow(Base):
    """One IP address of a device, with the window in which the device was seen using it."""

    __tablename__ = "device_ips"

    device_id: Mapped[str] = mapped_column(_device_fk(), primary_key=True)
    ip: Mapped[str] = mapped_column(String(IP_LENGTH), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)


class AttributeRow(Base):
    """One value of one attribute of a device, with the strongest confidence seen.

    Keyed by what it is (device, name, value) rather than a generated id, so that a bulk
    merge can insert attributes and their evidence without reading generated ids back.
    """

    __tablename__ = "device_attributes"

    device_id: Mapped[str] = mapped_column(_device_fk(), primary_key=True)
    name: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    confidence: Mapped[float] = mapped_column(Float)


class EvidenceRow(Base):
    """Why an attribute value is believed: at most a few examples per value."""

    __tablename__ = "attribute_evidence"
    __table_args__ = (
        ForeignKeyConstraint(
            ["device_id", "name", "value"],
            [AttributeRow.device_id, AttributeRow.name, AttributeRow.value],
            ondelete="CASCADE",
        ),
        Index(None, "device_id", "name", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    """Insertion order: evidence is listed in the order it was first stored."""
    device_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    name: Mapped[str] = mapped_column(String(ID_LENGTH))
    value: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(ID_LENGTH))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    detail: Mapped[str] = mapped_column(Text)
    flow_id: Mapped[int | None] = mapped_column(BigInteger)


class SoftwareRow(Base):
    """A software component a device runs, as named by the protocol that revealed it."""

    __tablename__ = "device_software"

    device_id: Mapped[str] = mapped_column(_device_fk(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[str] = mapped_column(Text, primary_key=True)
    source: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)


class ProtocolRow(Base):
    """An application protocol a device was seen speaking."""

    __tablename__ = "device_protocols"

    device_id: Mapped[str] = mapped_column(_device_fk(), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)


class PeerRow(Base):
    """A device id or IP address a device talked to (not a foreign key: peers may be outside)."""

    __tablename__ = "device_peers"

    device_id: Mapped[str] = mapped_column(_device_fk(), primary_key=True)
    peer: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)


class CommunicationRow(Base):
    """Traffic aggregated by (source, destination, destination port, transport, application)."""

    __tablename__ = "communications"
    __table_args__ = (UniqueConstraint("src", "dst", "dport", "transport", "app"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    src: Mapped[str] = mapped_column(String(ID_LENGTH))
    dst: Mapped[str] = mapped_column(String(ID_LENGTH))
    dport: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    app: Mapped[str] = mapped_column(String(ID_LENGTH))
    packets: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    flows: Mapped[int] = mapped_column(BigInteger)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)


class FindingRow(Base):
    """A posture or vulnerability finding, one row per stable finding id."""

    __tablename__ = "findings"
    __table_args__ = (Index(None, "device"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    severity: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    device: Mapped[str] = mapped_column(String(ID_LENGTH))
    title: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    remediation: Mapped[str] = mapped_column(Text)
    practice: Mapped[str] = mapped_column(Text)
    detail_key: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))


class FindingAssessmentRow(Base):
    """Which assessments reported a finding."""

    __tablename__ = "finding_assessments"

    finding_id: Mapped[str] = mapped_column(
        ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True
    )
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True
    )


class AlertRow(Base):
    """A behaviour alert, one row per stable alert id."""

    __tablename__ = "alerts"
    __table_args__ = (Index(None, "device"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    severity: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    device: Mapped[str] = mapped_column(String(ID_LENGTH))
    peer: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    end: Mapped[datetime] = mapped_column(UtcDateTime)
    evidence: Mapped[str] = mapped_column(Text)
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL")
    )


# --- vulnerability intelligence (migration 0002) ------------------------------------------

ADVISORY_ID_LENGTH = 128
"""Advisory ids (``ICSMA-24-163-01``, ``CVE-2024-1234``, vendor ids such as ``cisco-sa-…``)."""
CVE_LENGTH = 64
"""CVE ids and the other vulnerability ids that stand in for them in KEV and EPSS."""
DATE_TEXT_LENGTH = 64
"""Dates kept as the feed wrote them (ISO 8601 with or without time and zone)."""
HOURS_PER_WEEK = 168


def _advisory_fk() -> ForeignKey:
    return ForeignKey("advisories.id", ondelete="CASCADE")


class AdvisoryRow(Base):
    """A security advisory (CSAF document) or one CVE record (NVD, CVE JSON 5)."""

    __tablename__ = "advisories"

    id: Mapped[str] = mapped_column(String(ADVISORY_ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str] = mapped_column(Text)
    initial_release: Mapped[str | None] = mapped_column(String(DATE_TEXT_LENGTH))
    current_release: Mapped[str | None] = mapped_column(String(DATE_TEXT_LENGTH))
    revision: Mapped[str] = mapped_column(String(DATE_TEXT_LENGTH))
    url: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(ID_LENGTH))
    """SHA-256 of the parsed record: a re-import of an unchanged advisory writes nothing."""
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AdvisoryProductRow(Base):
    """A product an advisory speaks about, with its affected-version range (``vers``)."""

    __tablename__ = "advisory_products"

    advisory_id: Mapped[str] = mapped_column(_advisory_fk(), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(Text)
    vendor: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text)
    version_text: Mapped[str] = mapped_column(Text)
    range_raw: Mapped[str] = mapped_column(Text)
    """The text the range was read from (differs from ``version_text`` for some CSAF
    relationship products)."""
    range_kind: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    range_constraints: Mapped[list[list[list[str]]]] = mapped_column(JSON)
    """One list of ``[comparator, version]`` pairs per version family (``VersionSpec``)."""
    range_qualifier: Mapped[str] = mapped_column(Text)
    range_scheme: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    vers: Mapped[str | None] = mapped_column(Text)
    family: Mapped[str] = mapped_column(Text)
    cpe: Mapped[str | None] = mapped_column(Text)
    purl: Mapped[str | None] = mapped_column(Text)
    model_numbers: Mapped[list[str]] = mapped_column(JSON)
    platform: Mapped[str | None] = mapped_column(Text)
    component: Mapped[str | None] = mapped_column(Text)


class AdvisoryVulnerabilityRow(Base):
    """One vulnerability of an advisory: CVE, CWEs, scores and product status lists."""

    __tablename__ = "advisory_vulnerabilities"
    __table_args__ = (Index(None, "cve"),)

    advisory_id: Mapped[str] = mapped_column(_advisory_fk(), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    cve: Mapped[str | None] = mapped_column(String(CVE_LENGTH))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    cwes: Mapped[list[str]] = mapped_column(JSON)
    cvss_score: Mapped[float | None] = mapped_column(Float)
    """The best base score over the whole vulnerability (v3 preferred), for queries."""
    cvss_vector: Mapped[str | None] = mapped_column(Text)
    scores: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    """Every score with the products it applies to (CSAF 2.0 §3.2.3.13)."""
    product_status: Mapped[list[list[object]]] = mapped_column(JSON)
    """``[[status, [product ids]], …]`` in the order of the document (CSAF 2.0 §3.2.3.9)."""
    ids: Mapped[list[str]] = mapped_column(JSON)


class AdvisoryRemediationRow(Base):
    """A remediation of a vulnerability (CSAF 2.0 §3.2.3.12)."""

    __tablename__ = "advisory_remediations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["advisory_id", "vulnerability"],
            [AdvisoryVulnerabilityRow.advisory_id, AdvisoryVulnerabilityRow.position],
            ondelete="CASCADE",
        ),
    )

    advisory_id: Mapped[str] = mapped_column(String(ADVISORY_ID_LENGTH), primary_key=True)
    vulnerability: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    details: Mapped[str] = mapped_column(Text)
    product_ids: Mapped[list[str]] = mapped_column(JSON)
    url: Mapped[str | None] = mapped_column(Text)
    date: Mapped[str | None] = mapped_column(String(DATE_TEXT_LENGTH))


class KevEntryRow(Base):
    """An entry of CISA's Known Exploited Vulnerabilities catalog."""

    __tablename__ = "kev_entries"

    cve: Mapped[str] = mapped_column(String(CVE_LENGTH), primary_key=True)
    vendor_project: Mapped[str] = mapped_column(Text)
    product: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    date_added: Mapped[str] = mapped_column(String(DATE_TEXT_LENGTH))
    due_date: Mapped[str] = mapped_column(String(DATE_TEXT_LENGTH))
    ransomware: Mapped[bool | None] = mapped_column(Boolean)
    required_action: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)
    cwes: Mapped[list[str]] = mapped_column(JSON)
    catalog_version: Mapped[str] = mapped_column(String(DATE_TEXT_LENGTH))


class EpssScoreRow(Base):
    """A FIRST EPSS score of one CVE."""

    __tablename__ = "epss_scores"

    cve: Mapped[str] = mapped_column(String(CVE_LENGTH), primary_key=True)
    epss: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(DATE_TEXT_LENGTH))
    score_date: Mapped[str] = mapped_column(String(DATE_TEXT_LENGTH))


class SbomRow(Base):
    """A CycloneDX SBOM, the device (model) it describes, and an optional device binding."""

    __tablename__ = "sboms"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    """Stable id of the BOM's serial number (or of its file when it has none)."""
    serial: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    spec_version: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    version: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[str] = mapped_column(String(DATE_TEXT_LENGTH))
    device: Mapped[dict[str, object] | None] = mapped_column(JSON)
    """The ``metadata.component`` the BOM describes (CycloneDX 1.6)."""
    device_vendor: Mapped[str] = mapped_column(Text)
    device_model: Mapped[str] = mapped_column(Text)
    device_serial: Mapped[str | None] = mapped_column(Text)
    """A device serial number the BOM is bound to by hand (kept across re-imports)."""
    vulnerabilities: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(ID_LENGTH))


class SbomComponentRow(Base):
    """A component of an SBOM (CycloneDX ``components[]``, nested ones flattened)."""

    __tablename__ = "sbom_components"

    sbom_id: Mapped[str] = mapped_column(
        ForeignKey("sboms.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    bom_ref: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(ID_LENGTH))
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    group: Mapped[str] = mapped_column(Text)
    supplier: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str] = mapped_column(Text)
    purl: Mapped[str | None] = mapped_column(Text)
    cpe: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)


class Mds2FormRow(Base):
    """An MDS2 form (ANSI/NEMA HN 1-2019), keyed by manufacturer, model and document id."""

    __tablename__ = "mds2_forms"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    manufacturer: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    document_id: Mapped[str] = mapped_column(Text)
    release_date: Mapped[str] = mapped_column(String(DATE_TEXT_LENGTH))
    source: Mapped[str] = mapped_column(Text)
    answers: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    capabilities: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(ID_LENGTH))


class VulnerabilityAnalysisRow(Base):
    """The VEX analysis a person set for one vulnerability on one device.

    ``advisory_id`` is empty when the statement holds for the CVE in every advisory, and
    ``cve`` is empty when it holds for every vulnerability of the advisory.
    """

    __tablename__ = "vulnerability_analyses"

    device_id: Mapped[str] = mapped_column(_device_fk(), primary_key=True)
    advisory_id: Mapped[str] = mapped_column(String(ADVISORY_ID_LENGTH), primary_key=True)
    cve: Mapped[str] = mapped_column(String(CVE_LENGTH), primary_key=True)
    state: Mapped[str] = mapped_column(String(VOCABULARY_LENGTH))
    justification: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    detail: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(ADVISORY_ID_LENGTH))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DeviceActivityRow(Base):
    """A device's traffic in one hour of the week (UTC, Monday 00:00 = 0), summed over time."""

    __tablename__ = "device_activity"
    __table_args__ = (
        CheckConstraint(
            f"hour_of_week >= 0 AND hour_of_week < {HOURS_PER_WEEK}", name="hour_of_week"
        ),
    )

    device_id: Mapped[str] = mapped_column(_device_fk(), primary_key=True)
    hour_of_week: Mapped[int] = mapped_column(Integer, primary_key=True)
    packets: Mapped[float] = mapped_column(Float)
    """Packets, a flow's packets spread over the hours it spans (hence fractional)."""
    flows: Mapped[int] = mapped_column(BigInteger)
    """Flows active during this hour."""
    observed_seconds: Mapped[float] = mapped_column(Float)
    """Seconds of captures covering this hour of the week: what "idle" is measured against."""
