"""The finding and alert repositories."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from medshield.core.enums import AlertKind, FindingKind, Severity
from medshield.core.finding import Alert, Finding
from medshield.store.batching import chunks
from medshield.store.bulk import insert_rows, update_rows
from medshield.store.models import ID_LENGTH, AlertRow, FindingAssessmentRow, FindingRow
from medshield.store.records import FindingStatus, StoredFinding
from medshield.store.text import storable
from medshield.store.types import to_epoch, to_utc

FINDING_COLUMNS = tuple(FindingRow.__table__.columns)
ALERT_COLUMNS = tuple(AlertRow.__table__.columns)


class FindingRepository:
    """Findings, one row per stable id, with the assessments that reported each."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def merge(
        self, findings: Iterable[Finding], assessment_id: int, observed_at: float | None = None
    ) -> None:
        """Record ``findings`` as reported by assessment ``assessment_id``.

        A finding already stored keeps its row: its text is replaced by the latest report,
        its window widens to ``observed_at`` (when the assessment saw it, e.g. the capture's
        end; by default the finding's own ``first_seen``, else now) and a resolved finding
        reported again is open again. Text is stored without NUL characters (see ``text``).
        """
        incoming: dict[str, Finding] = {}
        for finding in findings:
            incoming[finding.id] = finding
        ids = list(incoming)
        for batch in chunks(ids):
            self._merge_batch([incoming[i] for i in batch], assessment_id, observed_at)

    def all(
        self, *, status: FindingStatus | None = None, assessment_id: int | None = None
    ) -> list[StoredFinding]:
        """Findings, worst severity first; optionally only those of a status or assessment."""
        query = select(*FINDING_COLUMNS)
        if status is not None:
            query = query.where(FindingRow.status == status.value)
        if assessment_id is not None:
            query = query.join(
                FindingAssessmentRow, FindingAssessmentRow.finding_id == FindingRow.id
            ).where(FindingAssessmentRow.assessment_id == assessment_id)
        rows = list(self.session.execute(query))
        links = self._assessments([row.id for row in rows])
        stored = [_stored_finding(row, links.get(row.id, ())) for row in rows]
        return sorted(
            stored, key=lambda s: (s.finding.severity.rank, s.finding.device, s.finding.id)
        )

    def set_status(self, finding_id: str, status: FindingStatus) -> bool:
        """Set the status of finding ``finding_id``; False when there is no such finding."""
        result = self.session.execute(
            update(FindingRow)
            .where(FindingRow.id == finding_id)
            .values(status=status.value)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def _merge_batch(
        self, findings: list[Finding], assessment_id: int, observed_at: float | None
    ) -> None:
        ids = [finding.id for finding in findings]
        stored = {
            row.id: row
            for row in self.session.execute(
                select(FindingRow.id, FindingRow.first_seen, FindingRow.last_seen).where(
                    FindingRow.id.in_(ids)
                )
            )
        }
        default_seen = time.time() if observed_at is None else observed_at
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for finding in findings:
            first = default_seen if finding.first_seen is None else finding.first_seen
            seen = to_utc(first if observed_at is None else observed_at)
            first_utc = to_utc(first)
            values = _finding_values(finding)
            known = stored.get(finding.id)
            if known is None:
                inserts.append({**values, "first_seen": min(first_utc, seen), "last_seen": seen})
            else:
                updates.append(
                    {
                        **values,
                        "first_seen": min(known.first_seen, first_utc, seen),
                        "last_seen": max(known.last_seen, seen),
                    }
                )
        insert_rows(self.session, FindingRow, inserts)
        update_rows(self.session, FindingRow, updates)
        self._link(ids, assessment_id)

    def _link(self, ids: Sequence[str], assessment_id: int) -> None:
        linked = set(
            self.session.scalars(
                select(FindingAssessmentRow.finding_id)
                .where(FindingAssessmentRow.assessment_id == assessment_id)
                .where(FindingAssessmentRow.finding_id.in_(ids))
            )
        )
        rows = [
            {"finding_id": finding_id, "assessment_id": assessment_id}
            for finding_id in ids
            if finding_id not in linked
        ]
        insert_rows(self.session, FindingAssessmentRow, rows)

    def _assessments(self, ids: Sequence[str]) -> dict[str, tuple[int, ...]]:
        links: dict[str, list[int]] = {}
        for batch in chunks(ids):
            rows = self.session.execute(
                select(FindingAssessmentRow.finding_id, FindingAssessmentRow.assessment_id)
                .where(FindingAssessmentRow.finding_id.in_(batch))
                .order_by(FindingAssessmentRow.assessment_id)
            )
            for finding_id, assessment_id in rows:
                links.setdefault(finding_id, []).append(assessment_id)
        return {finding_id: tuple(found) for finding_id, found in links.items()}


class AlertRepository:
    """Behaviour alerts, one row per stable alert id."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, alerts: Iterable[Alert], assessment_id: int | None = None) -> int:
        """Store the alerts not stored yet (by ``Alert.id``); returns how many were new."""
        return len(self.add_new(alerts, assessment_id))

    def add_new(self, alerts: Iterable[Alert], assessment_id: int | None = None) -> list[Alert]:
        """Store the alerts not stored yet (by ``Alert.id``) and return them: the ones to
        deliver, so that a SIEM never gets the same alert twice."""
        incoming: dict[str, Alert] = {}
        for alert in alerts:
            incoming.setdefault(alert.id, alert)
        added: list[Alert] = []
        for batch in chunks(list(incoming)):
            held = set(self.session.scalars(select(AlertRow.id).where(AlertRow.id.in_(batch))))
            new = [incoming[alert_id] for alert_id in batch if alert_id not in held]
            insert_rows(self.session, AlertRow, [_alert_values(a, assessment_id) for a in new])
            added += new
        return added

    def all(self) -> list[Alert]:
        """Every alert, oldest first."""
        rows = self.session.execute(select(*ALERT_COLUMNS).order_by(AlertRow.start, AlertRow.id))
        return [_alert_of(row) for row in rows]


def _finding_values(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "kind": finding.kind.value,
        "severity": finding.severity.value,
        "device": storable(finding.device, ID_LENGTH),
        "title": storable(finding.title),
        "evidence": storable(finding.evidence),
        "remediation": storable(finding.remediation),
        "practice": storable(finding.practice),
        "detail_key": storable(finding.detail_key),
        "status": FindingStatus.OPEN.value,
    }


def _stored_finding(row: Row[Any], assessment_ids: tuple[int, ...]) -> StoredFinding:
    finding = Finding(
        kind=FindingKind(row.kind),
        severity=Severity(row.severity),
        device=row.device,
        title=row.title,
        evidence=row.evidence,
        remediation=row.remediation,
        practice=row.practice,
        detail_key=row.detail_key,
        first_seen=to_epoch(row.first_seen),
    )
    return StoredFinding(
        finding=finding,
        last_seen=to_epoch(row.last_seen),
        status=FindingStatus(row.status),
        assessment_ids=assessment_ids,
    )


def _alert_values(alert: Alert, assessment_id: int | None) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "device": storable(alert.device, ID_LENGTH),
        "peer": None if alert.peer is None else storable(alert.peer, ID_LENGTH),
        "start": to_utc(alert.start),
        "end": to_utc(alert.end),
        "evidence": storable(alert.evidence),
        "assessment_id": assessment_id,
    }


def _alert_of(row: Row[Any]) -> Alert:
    return Alert(
        kind=AlertKind(row.kind),
        severity=Severity(row.severity),
        device=row.device,
        peer=row.peer,
        start=to_epoch(row.start),
        end=to_epoch(row.end),
        evidence=row.evidence,
    )
