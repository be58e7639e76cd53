"""The assessment repository: one row per run over a set of capture files."""

from __future__ import annotations

import time
from collections.abc import Iterable
from os import PathLike
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.orm import Session

from medshield import __version__
from medshield.core.errors import StoreError
from medshield.store.models import AssessmentRow
from medshield.store.records import Assessment
from medshield.store.types import to_epoch, to_utc

COLUMNS = tuple(AssessmentRow.__table__.columns)


class AssessmentRepository:
    """Assessments (runs): started, then finished with the capture's summary."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def start(
        self,
        files: Iterable[str | PathLike[str]],
        *,
        started_at: float | None = None,
        tool_version: str = __version__,
    ) -> int:
        """Record the start of an assessment of ``files``; returns its id."""
        new_id: int | None = self.session.scalar(
            insert(AssessmentRow)
            .values(
                started_at=to_utc(time.time() if started_at is None else started_at),
                files=[str(file) for file in files],
                packets=0,
                bytes=0,
                flows=0,
                tool_version=tool_version,
            )
            .returning(AssessmentRow.id)
        )
        if new_id is None:  # pragma: no cover - RETURNING always yields the new id
            raise StoreError("the database returned no id for the new assessment")
        return new_id

    def finish(
        self,
        assessment_id: int,
        *,
        packets: int,
        bytes: int,
        flows: int,
        start: float | None,
        end: float | None,
        finished_at: float | None = None,
    ) -> None:
        """Record the end of assessment ``assessment_id`` with the capture's summary.

        ``start`` and ``end`` are the times of the first and last packet read (None when the
        captures held none); ``finished_at`` defaults to now.
        """
        result = self.session.execute(
            update(AssessmentRow)
            .where(AssessmentRow.id == assessment_id)
            .values(
                finished_at=to_utc(time.time() if finished_at is None else finished_at),
                packets=packets,
                bytes=bytes,
                flows=flows,
                capture_start=_utc_or_none(start),
                capture_end=_utc_or_none(end),
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 1) == 0:
            raise StoreError(f"assessment {assessment_id} does not exist")

    def get(self, assessment_id: int) -> Assessment | None:
        """Assessment ``assessment_id``, or None."""
        row = self.session.execute(
            select(*COLUMNS).where(AssessmentRow.id == assessment_id)
        ).first()
        return _assessment_of(row) if row else None

    def latest(self) -> Assessment | None:
        """The most recently started assessment, or None."""
        row = self.session.execute(
            select(*COLUMNS).order_by(AssessmentRow.id.desc()).limit(1)
        ).first()
        return _assessment_of(row) if row else None

    def all(self) -> list[Assessment]:
        """Every assessment, oldest first."""
        rows = self.session.execute(select(*COLUMNS).order_by(AssessmentRow.id))
        return [_assessment_of(row) for row in rows]


def _utc_or_none(ts: float | None) -> Any:
    return None if ts is None else to_utc(ts)


def _epoch_or_none(moment: Any) -> float | None:
    return None if moment is None else to_epoch(moment)


def _assessment_of(row: Row[Any]) -> Assessment:
    return Assessment(
        id=row.id,
        started_at=to_epoch(row.started_at),
        finished_at=_epoch_or_none(row.finished_at),
        files=tuple(row.files),
        packets=row.packets,
        bytes=row.bytes,
        flows=row.flows,
        capture_start=_epoch_or_none(row.capture_start),
        capture_end=_epoch_or_none(row.capture_end),
        tool_version=row.tool_version,
    )
