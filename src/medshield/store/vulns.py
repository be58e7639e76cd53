"""Repositories of vulnerability intelligence: feed records, VEX analyses, device activity.

Feed records are stored faithfully enough that loading them rebuilds records equal to what
the importer read (``vulns.model``): an advisory's products keep their parsed ``vers``
constraints, its vulnerabilities their product status lists, scores and remediations.

Every write is an upsert by the records' natural keys (``Advisory.id``, ``KevEntry.cve``,
``EpssScore.cve``, the SBOM serial number, ``Mds2Form.key``). A record that is already stored
unchanged is not written again, so re-importing a feed folder is idempotent and cheap; a
changed record replaces the stored one (with its child rows). Writes are bulk statements per
chunk of keys, as in :mod:`medshield.store.devices`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, ColumnElement, Row, Table, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from medshield.core.errors import StoreError
from medshield.core.finding import stable_id
from medshield.risk.activity import HOURS_PER_WEEK, ActivityProfile
from medshield.store.batching import chunks
from medshield.store.bulk import Values, insert_rows, update_rows
from medshield.store.models import (
    ADVISORY_ID_LENGTH,
    CVE_LENGTH,
    DATE_TEXT_LENGTH,
    ID_LENGTH,
    VOCABULARY_LENGTH,
    AdvisoryProductRow,
    AdvisoryRemediationRow,
    AdvisoryRow,
    AdvisoryVulnerabilityRow,
    Base,
    DeviceActivityRow,
    EpssScoreRow,
    KevEntryRow,
    Mds2FormRow,
    SbomComponentRow,
    SbomRow,
    VulnerabilityAnalysisRow,
)
from medshield.store.text import storable
from medshield.store.types import to_epoch, to_utc
from medshield.vulns.model import (
    Advisory,
    Answer,
    DeclaredCapability,
    EpssScore,
    FeedKind,
    FeedResult,
    KevEntry,
    Mds2Answer,
    Mds2Form,
    Product,
    ProductScore,
    ProductStatus,
    Remediation,
    RemediationCategory,
    Sbom,
    SbomComponent,
    SbomVulnerability,
    Score,
    Vulnerability,
)
from medshield.vulns.versions import Constraint, RangeKind, VersionSpec
from medshield.vulns.vex import Analysis, AnalysisState, Justification

RecordT = TypeVar("RecordT")

FLAT_CHUNK = 5000
"""Keys per query for one-column keys (EPSS files hold every CVE: 250,000 rows); well under
SQLite's 32,766 and PostgreSQL's 65,535 bound parameters."""
EVERY_ADVISORY = ""
"""``Analysis.advisory`` of a statement about a CVE in whichever advisory carries it."""
EVERY_CVE = ""
"""``Analysis.cve`` of a statement about every vulnerability of one advisory."""


def _digest(record: object) -> str:
    """A fingerprint of a parsed record (dataclass reprs are deterministic and complete)."""
    return hashlib.sha256(repr(record).encode("utf-8", "surrogatepass")).hexdigest()


def _text(value: str, limit: int | None = None) -> str:
    return storable(value, limit)


def _optional(value: str | None, limit: int | None = None) -> str | None:
    return None if value is None else storable(value, limit)


def _json_columns(model: type[Base]) -> tuple[str, ...]:
    table: Table = model.__table__  # type: ignore[assignment]
    return tuple(column.key for column in table.columns if isinstance(column.type, JSON))


def _insert(session: Session, model: type[Base], rows: list[Values]) -> None:
    """Bulk insert (``store.bulk``). PostgreSQL's COPY takes JSON as text, so JSON columns
    are encoded here; SQLite's executemany encodes them through the column type."""
    if not rows:
        return
    encoded = _json_columns(model)
    if encoded and session.connection().dialect.name == "postgresql":
        rows = [
            {
                key: json.dumps(value) if key in encoded and value is not None else value
                for key, value in row.items()
            }
            for row in rows
        ]
    insert_rows(session, model, rows)


@dataclass(frozen=True, slots=True)
class StoredCounts:
    """How many records of each kind the store holds."""

    advisories: int
    products: int
    vulnerabilities: int
    cves: int
    """Distinct CVE ids over every advisory."""
    remediations: int
    kev: int
    epss: int
    sboms: int
    sbom_components: int
    mds2_forms: int


@dataclass(frozen=True, slots=True)
class WriteCounts:
    """How many records one import wrote (new or changed); unchanged ones are not counted."""

    advisories: int = 0
    kev: int = 0
    epss: int = 0
    sboms: int = 0
    mds2_forms: int = 0


@dataclass(frozen=True, slots=True)
class StoredSbom:
    """An SBOM and the device serial number it was bound to by hand (if any)."""

    id: str
    sbom: Sbom
    device_serial: str | None = None

    @property
    def vendor(self) -> str:
        """Who makes the described device: supplier, else publisher, else group."""
        return sbom_vendor(self.sbom)

    @property
    def model(self) -> str:
        """The described device's name (``metadata.component.name``)."""
        return self.sbom.device.name if self.sbom.device else ""


def sbom_vendor(sbom: Sbom) -> str:
    """The vendor an SBOM's ``metadata.component`` names (supplier, publisher or group)."""
    device = sbom.device
    if device is None:
        return ""
    return device.supplier or device.publisher or device.group


def sbom_key(sbom: Sbom) -> str:
    """The SBOM's stable id: of its serial number, or of its file when it has none."""
    return stable_id("sbom", sbom.serial or "source:" + sbom.source)


def mds2_key(form: Mds2Form) -> str:
    """The MDS2 form's stable id, from its natural key (manufacturer, model, document id)."""
    return stable_id("mds2", *form.key)


class VulnRepository:
    """Advisories, KEV entries, EPSS scores, SBOMs and MDS2 forms."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- writing -----------------------------------------------------------------------

    def store(self, result: FeedResult) -> WriteCounts:
        """Upsert every record of an import."""
        return WriteCounts(
            advisories=self.upsert_advisories(result.advisories),
            kev=self.upsert_kev(result.kev),
            epss=self.upsert_epss(result.epss),
            sboms=self.upsert_sboms(result.sboms),
            mds2_forms=self.upsert_mds2(result.mds2_forms),
        )

    def upsert_advisories(self, advisories: Iterable[Advisory]) -> int:
        """Store advisories by id (a later one of the same id wins); returns how many changed."""
        incoming = {_text(a.id, ADVISORY_ID_LENGTH): a for a in advisories}
        now = to_utc(time.time())
        written = 0
        for chunk in chunks(list(incoming)):
            query = select(AdvisoryRow.id, AdvisoryRow.digest).where(AdvisoryRow.id.in_(chunk))
            stored = {row.id: row.digest for row in self.session.execute(query)}
            digests = {key: _digest(incoming[key]) for key in chunk}
            changed = [key for key in chunk if stored.get(key) != digests[key]]
            self._delete_advisories([key for key in changed if key in stored])
            plan = _AdvisoryRows()
            for key in changed:
                plan.add(key, incoming[key], digests[key], now)
            plan.insert(self.session)
            written += len(changed)
        return written

    def _delete_advisories(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        for model in (AdvisoryRemediationRow, AdvisoryVulnerabilityRow, AdvisoryProductRow):
            self.session.execute(delete(model).where(model.advisory_id.in_(ids)))
        self.session.execute(delete(AdvisoryRow).where(AdvisoryRow.id.in_(ids)))

    def upsert_kev(self, entries: Iterable[KevEntry]) -> int:
        """Store KEV entries by CVE.

        The catalog is published as JSON and as CSV with the same entries; only the JSON
        names the catalog version, so an entry that has one is not replaced by one without.
        """
        incoming: dict[str, KevEntry] = {}
        for entry in entries:
            key = _text(entry.cve, CVE_LENGTH)
            incoming[key] = _prefer_kev(incoming.get(key), entry)
        return self._upsert_flat(
            KevEntryRow,
            KevEntryRow.cve,
            incoming,
            _kev_values,
            _kev_of,
            _prefer_kev,
        )

    def upsert_epss(self, scores: Iterable[EpssScore]) -> int:
        """Store EPSS scores by CVE (a newer file's score replaces the stored one)."""
        incoming = {_text(score.cve, CVE_LENGTH): score for score in scores}
        return self._upsert_flat(EpssScoreRow, EpssScoreRow.cve, incoming, _epss_values, _epss_of)

    def _upsert_flat(
        self,
        model: type[Base],
        key_column: InstrumentedAttribute[str],
        incoming: Mapping[str, RecordT],
        values_of: Callable[[RecordT], Values],
        record_of: Callable[[Row[Any]], RecordT],
        prefer: Callable[[RecordT | None, RecordT], RecordT] | None = None,
    ) -> int:
        """Insert new records, replace changed ones, leave equal ones alone."""
        table: Table = model.__table__  # type: ignore[assignment]
        written = 0
        for chunk in chunks(list(incoming), FLAT_CHUNK):
            # Core on the session's connection: the ORM's result handling costs seconds here.
            query = select(*table.columns).where(key_column.in_(chunk))
            rows = self.session.connection().execute(query)
            position = [column.key for column in table.columns].index(key_column.key)
            stored = {row[position]: record_of(row) for row in rows}
            wanted = {
                key: prefer(stored.get(key), incoming[key]) if prefer else incoming[key]
                for key in chunk
            }
            changed = [key for key in chunk if stored.get(key) != wanted[key]]
            stale = [key for key in changed if key in stored]
            if stale:
                self.session.execute(delete(model).where(key_column.in_(stale)))
            _insert(self.session, model, [values_of(wanted[key]) for key in changed])
            written += len(changed)
        return written

    def upsert_sboms(self, sboms: Iterable[Sbom]) -> int:
        """Store SBOMs by serial number; a hand-made device binding survives a re-import."""
        incoming = {sbom_key(sbom): sbom for sbom in sboms}
        written = 0
        for chunk in chunks(list(incoming)):
            stored = {
                row.id: (row.digest, row.device_serial)
                for row in self.session.execute(
                    select(SbomRow.id, SbomRow.digest, SbomRow.device_serial).where(
                        SbomRow.id.in_(chunk)
                    )
                )
            }
            digests = {key: _digest(incoming[key]) for key in chunk}
            changed = [key for key in chunk if stored.get(key, ("", None))[0] != digests[key]]
            stale = [key for key in changed if key in stored]
            if stale:
                self.session.execute(
                    delete(SbomComponentRow).where(SbomComponentRow.sbom_id.in_(stale))
                )
                self.session.execute(delete(SbomRow).where(SbomRow.id.in_(stale)))
            sbom_rows, component_rows = [], []
            for key in changed:
                binding = stored.get(key, ("", None))[1]
                sbom_rows.append(_sbom_values(key, incoming[key], digests[key], binding))
                component_rows += [
                    _component_values(key, position, component)
                    for position, component in enumerate(incoming[key].components)
                ]
            _insert(self.session, SbomRow, sbom_rows)
            _insert(self.session, SbomComponentRow, component_rows)
            written += len(changed)
        return written

    def upsert_mds2(self, forms: Iterable[Mds2Form]) -> int:
        """Store MDS2 forms by manufacturer, model and document id."""
        incoming = {mds2_key(form): form for form in forms}
        written = 0
        for chunk in chunks(list(incoming)):
            query = select(Mds2FormRow.id, Mds2FormRow.digest).where(Mds2FormRow.id.in_(chunk))
            stored = {row.id: row.digest for row in self.session.execute(query)}
            digests = {key: _digest(incoming[key]) for key in chunk}
            changed = [key for key in chunk if stored.get(key) != digests[key]]
            stale = [key for key in changed if key in stored]
            if stale:
                self.session.execute(delete(Mds2FormRow).where(Mds2FormRow.id.in_(stale)))
            _insert(
                self.session,
                Mds2FormRow,
                [_mds2_values(key, incoming[key], digests[key]) for key in changed],
            )
            written += len(changed)
        return written

    def bind_sbom(self, serial: str, device_serial: str | None) -> None:
        """Bind the SBOM with serial number ``serial`` to the device with ``device_serial``
        (None removes the binding; the SBOM then applies by its vendor and model)."""
        found = self.session.execute(
            select(SbomRow.id).where(SbomRow.serial == serial)
        ).scalar_one_or_none()
        if found is None:
            raise StoreError(f"no SBOM with serial number {serial!r} is stored")
        update_rows(self.session, SbomRow, [{"id": found, "device_serial": device_serial}])

    # --- reading -----------------------------------------------------------------------

    def has_advisory(self, advisory_id: str) -> bool:
        """Whether an advisory with id ``advisory_id`` is stored."""
        found = self.session.scalar(select(AdvisoryRow.id).where(AdvisoryRow.id == advisory_id))
        return found is not None

    def load_advisories(self, ids: Iterable[str] | None = None) -> list[Advisory]:
        """Stored advisories (all, or those of ``ids``), ordered by id."""
        wanted = None if ids is None else sorted(set(ids))
        if wanted is None:
            return _AdvisoryLoader(self.session, None).load()
        found: list[Advisory] = []
        for chunk in chunks(wanted):
            found += _AdvisoryLoader(self.session, chunk).load()
        return sorted(found, key=lambda a: a.id)

    def load_kev(self, cves: Iterable[str] | None = None) -> list[KevEntry]:
        """KEV entries (all, or those of ``cves``), ordered by CVE."""
        return self._load_flat(KevEntryRow, KevEntryRow.cve, _kev_of, cves)

    def load_epss(self, cves: Iterable[str] | None = None) -> list[EpssScore]:
        """EPSS scores (all, or those of ``cves``: the daily file holds every CVE)."""
        return self._load_flat(EpssScoreRow, EpssScoreRow.cve, _epss_of, cves)

    def _load_flat(
        self,
        model: type[Base],
        key_column: InstrumentedAttribute[str],
        record_of: Callable[[Row[Any]], RecordT],
        keys: Iterable[str] | None,
    ) -> list[RecordT]:
        table: Table = model.__table__  # type: ignore[assignment]
        query = select(*table.columns).order_by(key_column)
        if keys is None:
            return [record_of(row) for row in self.session.execute(query)]
        found: list[RecordT] = []
        for chunk in chunks(sorted(set(keys))):
            found += [
                record_of(row) for row in self.session.execute(query.where(key_column.in_(chunk)))
            ]
        return found

    def load_sboms(self) -> list[StoredSbom]:
        """Every SBOM with its components, ordered by id."""
        components: dict[str, list[SbomComponent]] = {}
        rows = self.session.execute(
            select(*SbomComponentRow.__table__.columns).order_by(
                SbomComponentRow.sbom_id, SbomComponentRow.position
            )
        )
        for row in rows:
            components.setdefault(row.sbom_id, []).append(_component_of(row))
        return [
            StoredSbom(row.id, _sbom_of(row, components.get(row.id, [])), row.device_serial)
            for row in self.session.execute(select(*SbomRow.__table__.columns).order_by(SbomRow.id))
        ]

    def load_mds2(self) -> list[Mds2Form]:
        """Every MDS2 form, ordered by manufacturer, model and document id."""
        rows = self.session.execute(
            select(*Mds2FormRow.__table__.columns).order_by(
                Mds2FormRow.manufacturer, Mds2FormRow.model, Mds2FormRow.document_id
            )
        )
        return [_mds2_of(row) for row in rows]

    def counts(self) -> StoredCounts:
        """How many records of each kind are stored."""

        def count(model: type[Base]) -> int:
            return self.session.scalar(select(func.count()).select_from(model)) or 0

        cves = self.session.scalar(
            select(func.count(func.distinct(AdvisoryVulnerabilityRow.cve))).where(
                AdvisoryVulnerabilityRow.cve.is_not(None)
            )
        )
        return StoredCounts(
            advisories=count(AdvisoryRow),
            products=count(AdvisoryProductRow),
            vulnerabilities=count(AdvisoryVulnerabilityRow),
            cves=cves or 0,
            remediations=count(AdvisoryRemediationRow),
            kev=count(KevEntryRow),
            epss=count(EpssScoreRow),
            sboms=count(SbomRow),
            sbom_components=count(SbomComponentRow),
            mds2_forms=count(Mds2FormRow),
        )


# --- advisories -------------------------------------------------------------------------


@dataclass(slots=True)
class _AdvisoryRows:
    """Rows of the advisories of one chunk, gathered for one bulk insert per table."""

    advisories: list[Values] = field(default_factory=list)
    products: list[Values] = field(default_factory=list)
    vulnerabilities: list[Values] = field(default_factory=list)
    remediations: list[Values] = field(default_factory=list)

    def add(self, key: str, advisory: Advisory, digest: str, now: datetime) -> None:
        self.advisories.append(_advisory_values(key, advisory, digest, now))
        self.products += [
            _product_values(key, position, product)
            for position, product in enumerate(advisory.products)
        ]
        for position, vulnerability in enumerate(advisory.vulnerabilities):
            self.vulnerabilities.append(_vulnerability_values(key, position, vulnerability))
            self.remediations += [
                _remediation_values(key, position, index, remediation)
                for index, remediation in enumerate(vulnerability.remediations)
            ]

    def insert(self, session: Session) -> None:
        """Parents before children."""
        _insert(session, AdvisoryRow, self.advisories)
        _insert(session, AdvisoryProductRow, self.products)
        _insert(session, AdvisoryVulnerabilityRow, self.vulnerabilities)
        _insert(session, AdvisoryRemediationRow, self.remediations)


def _advisory_values(key: str, advisory: Advisory, digest: str, now: datetime) -> Values:
    return {
        "id": key,
        "kind": advisory.kind.value,
        "title": _text(advisory.title),
        "source": _text(advisory.source),
        "publisher": _text(advisory.publisher),
        "initial_release": _optional(advisory.initial_release, DATE_TEXT_LENGTH),
        "current_release": _optional(advisory.current_release, DATE_TEXT_LENGTH),
        "revision": _text(advisory.revision, DATE_TEXT_LENGTH),
        "url": _optional(advisory.url),
        "summary": _text(advisory.summary),
        "digest": digest,
        "imported_at": now,
    }


def _product_values(key: str, position: int, product: Product) -> Values:
    spec = product.version
    return {
        "advisory_id": key,
        "position": position,
        "product_id": _text(product.product_id),
        "vendor": _text(product.vendor),
        "name": _text(product.name),
        "full_name": _text(product.full_name),
        "version_text": _text(product.version_text),
        "range_raw": _text(spec.raw),
        "range_kind": spec.kind.value,
        "range_constraints": [
            [[c.comparator, c.version] for c in group] for group in spec.alternatives
        ],
        "range_qualifier": _text(spec.qualifier),
        "range_scheme": _text(spec.scheme, VOCABULARY_LENGTH),
        "vers": _optional(product.vers),
        "family": _text(product.family),
        "cpe": _optional(product.cpe),
        "purl": _optional(product.purl),
        "model_numbers": list(product.model_numbers),
        "platform": _optional(product.platform),
        "component": _optional(product.component),
    }


def _vulnerability_values(key: str, position: int, vulnerability: Vulnerability) -> Values:
    best = vulnerability.best_score()
    return {
        "advisory_id": key,
        "position": position,
        "cve": _optional(vulnerability.cve, CVE_LENGTH),
        "title": _text(vulnerability.title),
        "summary": _text(vulnerability.summary),
        "cwes": list(vulnerability.cwes),
        "cvss_score": best.base_score if best else None,
        "cvss_vector": best.vector if best else None,
        "scores": [
            {**_score_json(entry.score), "products": list(entry.product_ids)}
            for entry in vulnerability.scores
        ],
        "product_status": [
            [status.value, list(ids)] for status, ids in vulnerability.product_status
        ],
        "ids": list(vulnerability.ids),
    }


def _remediation_values(key: str, vulnerability: int, position: int, item: Remediation) -> Values:
    return {
        "advisory_id": key,
        "vulnerability": vulnerability,
        "position": position,
        "category": item.category.value,
        "details": _text(item.details),
        "product_ids": list(item.product_ids),
        "url": _optional(item.url),
        "date": _optional(item.date, DATE_TEXT_LENGTH),
    }


def _score_json(score: Score) -> dict[str, Any]:
    return {
        "version": score.version,
        "base_score": score.base_score,
        "vector": score.vector,
        "severity": score.severity,
    }


def _score_of(data: Mapping[str, Any]) -> Score:
    return Score(
        version=data["version"],
        base_score=float(data["base_score"]),
        vector=data["vector"],
        severity=data.get("severity", ""),
    )


class _AdvisoryLoader:
    """Rebuilds advisories from their four tables: one select per table."""

    def __init__(self, session: Session, ids: Sequence[str] | None) -> None:
        self.connection = session.connection()
        self.ids = ids
        self._specs: dict[tuple[Any, ...], VersionSpec] = {}

    def spec(self, row: Row[Any]) -> VersionSpec:
        """The product's range; equal ranges share one (frozen) spec, built once: preparing
        the ``vers`` constraints is most of the cost of loading."""
        alternatives = tuple(
            tuple(Constraint(comparator, version) for comparator, version in group)
            for group in row.range_constraints
        )
        key = (row.range_raw, row.range_kind, alternatives, row.range_qualifier, row.range_scheme)
        found = self._specs.get(key)
        if found is None:
            found = self._specs[key] = VersionSpec(
                raw=row.range_raw,
                kind=RangeKind(row.range_kind),
                alternatives=alternatives,
                qualifier=row.range_qualifier,
                scheme=row.range_scheme,
            )
        return found

    def _only(self, column: InstrumentedAttribute[str]) -> list[ColumnElement[bool]]:
        return [] if self.ids is None else [column.in_(self.ids)]

    def _rows(
        self, model: type[Base], key: InstrumentedAttribute[str], *order: Any
    ) -> list[Row[Any]]:
        table: Table = model.__table__  # type: ignore[assignment]
        return list(
            self.connection.execute(
                select(*table.columns).where(*self._only(key)).order_by(key, *order)
            )
        )

    def load(self) -> list[Advisory]:
        products: dict[str, list[Product]] = {}
        for row in self._rows(
            AdvisoryProductRow, AdvisoryProductRow.advisory_id, AdvisoryProductRow.position
        ):
            products.setdefault(row.advisory_id, []).append(_product_of(row, self.spec(row)))
        remediations: dict[tuple[str, int], list[Remediation]] = {}
        for row in self._rows(
            AdvisoryRemediationRow,
            AdvisoryRemediationRow.advisory_id,
            AdvisoryRemediationRow.vulnerability,
            AdvisoryRemediationRow.position,
        ):
            remediations.setdefault((row.advisory_id, row.vulnerability), []).append(
                _remediation_of(row)
            )
        vulnerabilities: dict[str, list[Vulnerability]] = {}
        for row in self._rows(
            AdvisoryVulnerabilityRow,
            AdvisoryVulnerabilityRow.advisory_id,
            AdvisoryVulnerabilityRow.position,
        ):
            found = remediations.get((row.advisory_id, row.position), [])
            vulnerabilities.setdefault(row.advisory_id, []).append(_vulnerability_of(row, found))
        return [
            _advisory_of(row, products.get(row.id, []), vulnerabilities.get(row.id, []))
            for row in self._rows(AdvisoryRow, AdvisoryRow.id)
        ]


def _advisory_of(
    row: Row[Any], products: list[Product], vulnerabilities: list[Vulnerability]
) -> Advisory:
    return Advisory(
        id=row.id,
        kind=FeedKind(row.kind),
        title=row.title,
        source=row.source,
        publisher=row.publisher,
        initial_release=row.initial_release,
        current_release=row.current_release,
        revision=row.revision,
        url=row.url,
        summary=row.summary,
        products=tuple(products),
        vulnerabilities=tuple(vulnerabilities),
    )


def _product_of(row: Row[Any], spec: VersionSpec) -> Product:
    return Product(
        product_id=row.product_id,
        vendor=row.vendor,
        name=row.name,
        full_name=row.full_name,
        version_text=row.version_text,
        version=spec,
        vers=row.vers,
        family=row.family,
        cpe=row.cpe,
        purl=row.purl,
        model_numbers=tuple(row.model_numbers),
        platform=row.platform,
        component=row.component,
    )


def _vulnerability_of(row: Row[Any], remediations: list[Remediation]) -> Vulnerability:
    return Vulnerability(
        cve=row.cve,
        title=row.title,
        summary=row.summary,
        cwes=tuple(row.cwes),
        product_status=tuple(
            (ProductStatus(status), tuple(ids)) for status, ids in row.product_status
        ),
        remediations=tuple(remediations),
        scores=tuple(
            ProductScore(_score_of(entry), tuple(entry.get("products", ()))) for entry in row.scores
        ),
        ids=tuple(row.ids),
    )


def _remediation_of(row: Row[Any]) -> Remediation:
    return Remediation(
        category=RemediationCategory(row.category),
        details=row.details,
        product_ids=tuple(row.product_ids),
        url=row.url,
        date=row.date,
    )


# --- KEV and EPSS -----------------------------------------------------------------------


def _prefer_kev(stored: KevEntry | None, incoming: KevEntry) -> KevEntry:
    """``incoming``, unless it only lacks the catalog version ``stored`` has (CSV vs JSON)."""
    if stored is None or incoming.catalog_version or not stored.catalog_version:
        return incoming
    if replace(stored, catalog_version="") == incoming:
        return stored
    return incoming


def _kev_values(entry: KevEntry) -> Values:
    return {
        "cve": _text(entry.cve, CVE_LENGTH),
        "vendor_project": _text(entry.vendor_project),
        "product": _text(entry.product),
        "name": _text(entry.name),
        "date_added": _text(entry.date_added, DATE_TEXT_LENGTH),
        "due_date": _text(entry.due_date, DATE_TEXT_LENGTH),
        "ransomware": entry.ransomware,
        "required_action": _text(entry.required_action),
        "description": _text(entry.description),
        "notes": _text(entry.notes),
        "cwes": list(entry.cwes),
        "catalog_version": _text(entry.catalog_version, DATE_TEXT_LENGTH),
    }


def _kev_of(row: Row[Any]) -> KevEntry:
    return KevEntry(
        cve=row.cve,
        vendor_project=row.vendor_project,
        product=row.product,
        name=row.name,
        date_added=row.date_added,
        due_date=row.due_date,
        ransomware=row.ransomware,
        required_action=row.required_action,
        description=row.description,
        notes=row.notes,
        cwes=tuple(row.cwes),
        catalog_version=row.catalog_version,
    )


def _epss_values(score: EpssScore) -> Values:
    return {
        "cve": _text(score.cve, CVE_LENGTH),
        "epss": score.epss,
        "percentile": score.percentile,
        "model_version": _text(score.model_version, DATE_TEXT_LENGTH),
        "score_date": _text(score.score_date, DATE_TEXT_LENGTH),
    }


def _epss_of(row: Row[Any]) -> EpssScore:
    # Positional: the table's columns are EpssScore's fields in order, and a daily EPSS file
    # holds 250,000 rows, where attribute access on rows costs seconds.
    cve, epss, percentile, model_version, score_date = tuple(row)
    return EpssScore(cve, epss, percentile, model_version, score_date)


# --- SBOMs ------------------------------------------------------------------------------


def _component_json(component: SbomComponent) -> dict[str, Any]:
    return {
        "bom_ref": component.bom_ref,
        "type": component.type,
        "name": component.name,
        "version": component.version,
        "group": component.group,
        "supplier": component.supplier,
        "publisher": component.publisher,
        "purl": component.purl,
        "cpe": component.cpe,
        "description": component.description,
    }


def _component_from_json(data: Mapping[str, Any]) -> SbomComponent:
    return SbomComponent(
        bom_ref=data["bom_ref"],
        type=data["type"],
        name=data["name"],
        version=data["version"],
        group=data["group"],
        supplier=data["supplier"],
        publisher=data["publisher"],
        purl=data["purl"],
        cpe=data["cpe"],
        description=data["description"],
    )


def _sbom_values(key: str, sbom: Sbom, digest: str, device_serial: str | None) -> Values:
    return {
        "id": key,
        "serial": _text(sbom.serial),
        "source": _text(sbom.source),
        "spec_version": _text(sbom.spec_version, VOCABULARY_LENGTH),
        "version": sbom.version,
        "timestamp": _text(sbom.timestamp, DATE_TEXT_LENGTH),
        "device": _component_json(sbom.device) if sbom.device else None,
        "device_vendor": _text(sbom_vendor(sbom)),
        "device_model": _text(sbom.device.name if sbom.device else ""),
        "device_serial": device_serial,
        "vulnerabilities": [
            {
                "id": v.id,
                "source": v.source,
                "ratings": [_score_json(score) for score in v.ratings],
                "affects": list(v.affects),
                "state": v.state,
                "justification": v.justification,
                "description": v.description,
                "cwes": list(v.cwes),
            }
            for v in sbom.vulnerabilities
        ],
        "digest": digest,
    }


def _component_values(key: str, position: int, component: SbomComponent) -> Values:
    return {
        "sbom_id": key,
        "position": position,
        "bom_ref": _text(component.bom_ref),
        "type": _text(component.type, ID_LENGTH),
        "name": _text(component.name),
        "version": _text(component.version),
        "group": _text(component.group),
        "supplier": _text(component.supplier),
        "publisher": _text(component.publisher),
        "purl": _optional(component.purl),
        "cpe": _optional(component.cpe),
        "description": _text(component.description),
    }


def _component_of(row: Row[Any]) -> SbomComponent:
    return SbomComponent(
        bom_ref=row.bom_ref,
        type=row.type,
        name=row.name,
        version=row.version,
        group=row.group,
        supplier=row.supplier,
        publisher=row.publisher,
        purl=row.purl,
        cpe=row.cpe,
        description=row.description,
    )


def _sbom_of(row: Row[Any], components: list[SbomComponent]) -> Sbom:
    return Sbom(
        source=row.source,
        serial=row.serial,
        spec_version=row.spec_version,
        version=row.version,
        timestamp=row.timestamp,
        device=_component_from_json(row.device) if row.device is not None else None,
        components=tuple(components),
        vulnerabilities=tuple(
            SbomVulnerability(
                id=v["id"],
                source=v["source"],
                ratings=tuple(_score_of(score) for score in v["ratings"]),
                affects=tuple(v["affects"]),
                state=v["state"],
                justification=v["justification"],
                description=v["description"],
                cwes=tuple(v["cwes"]),
            )
            for v in row.vulnerabilities
        ),
    )


# --- MDS2 -------------------------------------------------------------------------------


def _mds2_values(key: str, form: Mds2Form, digest: str) -> Values:
    return {
        "id": key,
        "manufacturer": _text(form.manufacturer),
        "model": _text(form.model),
        "version": _text(form.version),
        "description": _text(form.description),
        "document_id": _text(form.document_id),
        "release_date": _text(form.release_date, DATE_TEXT_LENGTH),
        "source": _text(form.source),
        "answers": [
            {
                "question_id": a.question_id,
                "question": a.question,
                "answer": a.answer.value,
                "text": a.text,
                "note": a.note,
            }
            for a in form.answers
        ],
        "capabilities": [
            {"name": c.name, "value": c.value, "question_id": c.question_id, "note": c.note}
            for c in form.capabilities
        ],
        "digest": digest,
    }


def _mds2_of(row: Row[Any]) -> Mds2Form:
    return Mds2Form(
        source=row.source,
        manufacturer=row.manufacturer,
        model=row.model,
        version=row.version,
        description=row.description,
        document_id=row.document_id,
        release_date=row.release_date,
        answers=tuple(
            Mds2Answer(a["question_id"], a["question"], Answer(a["answer"]), a["text"], a["note"])
            for a in row.answers
        ),
        capabilities=tuple(
            DeclaredCapability(c["name"], c["value"], c["question_id"], c["note"])
            for c in row.capabilities
        ),
    )


# --- VEX analyses -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredAnalysis:
    """An analysis a person set, who set it and when."""

    analysis: Analysis
    author: str
    decided_at: float


class AnalysisRepository:
    """VEX analysis states set by people, per device × advisory × CVE."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def set(self, analysis: Analysis, author: str, decided_at: float | None = None) -> None:
        """Record ``analysis`` (replacing an earlier statement with the same key)."""
        key = {
            "device_id": _text(analysis.device, ID_LENGTH),
            "advisory_id": _text(analysis.advisory, ADVISORY_ID_LENGTH),
            "cve": _text(analysis.cve, CVE_LENGTH),
        }
        self.session.execute(
            delete(VulnerabilityAnalysisRow).where(
                VulnerabilityAnalysisRow.device_id == key["device_id"],
                VulnerabilityAnalysisRow.advisory_id == key["advisory_id"],
                VulnerabilityAnalysisRow.cve == key["cve"],
            )
        )
        row = {
            **key,
            "state": analysis.state.value,
            "justification": analysis.justification.value if analysis.justification else None,
            "detail": _text(analysis.detail),
            "author": _text(author, ADVISORY_ID_LENGTH),
            "decided_at": to_utc(time.time() if decided_at is None else decided_at),
        }
        insert_rows(self.session, VulnerabilityAnalysisRow, [row])

    def all(self, device_ids: Iterable[str] | None = None) -> list[StoredAnalysis]:
        """Stored analyses (of every device, or of ``device_ids``), ordered by key."""
        query = select(*VulnerabilityAnalysisRow.__table__.columns).order_by(
            VulnerabilityAnalysisRow.device_id,
            VulnerabilityAnalysisRow.advisory_id,
            VulnerabilityAnalysisRow.cve,
        )
        if device_ids is None:
            return [_analysis_of(row) for row in self.session.execute(query)]
        found: list[StoredAnalysis] = []
        for chunk in chunks(sorted(set(device_ids))):
            rows = self.session.execute(query.where(VulnerabilityAnalysisRow.device_id.in_(chunk)))
            found += [_analysis_of(row) for row in rows]
        return found


def _analysis_of(row: Row[Any]) -> StoredAnalysis:
    analysis = Analysis(
        device=row.device_id,
        advisory=row.advisory_id,
        cve=row.cve,
        state=AnalysisState(row.state),
        justification=Justification(row.justification) if row.justification else None,
        detail=row.detail,
    )
    return StoredAnalysis(analysis, row.author, to_epoch(row.decided_at))


# --- device activity --------------------------------------------------------------------


class ActivityRepository:
    """Device activity per hour of the week (see :mod:`medshield.risk.activity`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def merge(self, profiles: Iterable[ActivityProfile]) -> None:
        """Add ``profiles`` to the stored ones, bucket by bucket.

        Like communications, an assessment's profiles must be merged once: merging the same
        profiles twice counts their traffic twice.
        """
        incoming: dict[str, ActivityProfile] = {}
        for profile in profiles:
            known = incoming.setdefault(profile.device, ActivityProfile(profile.device))
            known.merge(profile)
        for chunk in chunks(sorted(incoming)):
            stored = self.load(chunk)
            inserts: list[Values] = []
            updates: list[Values] = []
            for device in chunk:
                before = stored.get(device)
                after = ActivityProfile(device)
                if before is not None:
                    after.merge(before)
                after.merge(incoming[device])
                for bucket in range(HOURS_PER_WEEK):
                    values = _activity_values(after, bucket)
                    if values is None:
                        continue
                    had = before is not None and _activity_values(before, bucket) is not None
                    (updates if had else inserts).append(values)
            insert_rows(self.session, DeviceActivityRow, inserts)
            update_rows(self.session, DeviceActivityRow, updates)

    def load(self, device_ids: Iterable[str] | None = None) -> dict[str, ActivityProfile]:
        """Stored profiles (of every device, or of ``device_ids``) by device id."""
        query = select(*DeviceActivityRow.__table__.columns)
        profiles: dict[str, ActivityProfile] = {}
        batches = [None] if device_ids is None else list(chunks(sorted(set(device_ids))))
        for batch in batches:
            scoped = query if batch is None else query.where(DeviceActivityRow.device_id.in_(batch))
            for row in self.session.execute(scoped):
                profile = profiles.get(row.device_id)
                if profile is None:
                    profile = profiles[row.device_id] = ActivityProfile(row.device_id)
                profile.packets[row.hour_of_week] = row.packets
                profile.flows[row.hour_of_week] = row.flows
                profile.observed[row.hour_of_week] = row.observed_seconds
        return profiles


def _activity_values(profile: ActivityProfile, bucket: int) -> Values | None:
    """The row of one bucket, or None for a bucket with nothing recorded (not stored)."""
    packets, flows = profile.packets[bucket], profile.flows[bucket]
    observed = profile.observed[bucket]
    if not packets and not flows and not observed:
        return None
    return {
        "device_id": profile.device,
        "hour_of_week": bucket,
        "packets": packets,
        "flows": flows,
        "observed_seconds": observed,
    }
