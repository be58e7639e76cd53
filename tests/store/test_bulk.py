"""Bulk inserts (COPY on PostgreSQL, executemany on SQLite) and bulk updates."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from medshield.core.errors import StoreError
from medshield.store import Database
from medshield.store.bulk import insert_rows, update_rows
from medshield.store.models import DeviceRow
from medshield.store.types import to_utc


def _device_row(device_id: str) -> dict[str, object]:
    # Keys deliberately not in the table's column order: values must still land in place.
    return {
        "bytes": 2048,
        "packets": 3,
        "criticality": "high",
        "category_confidence": 0.75,
        "category": "PACS",
        "last_seen": to_utc(1_700_000_100.5),
        "first_seen": to_utc(1_700_000_000.25),
        "mac": None,
        "id": device_id,
    }


def test_inserted_rows_read_back_column_for_column(db: Database) -> None:
    rows = [_device_row(f"ip-192.0.2.{n}") for n in range(3)]
    with db.session() as session:
        insert_rows(session, DeviceRow, rows)
    with db.session() as session:
        stored = session.execute(select(*DeviceRow.__table__.columns)).mappings().all()
    assert sorted((dict(row) for row in stored), key=lambda r: str(r["id"])) == rows


def test_update_rows_changes_only_the_rows_named_by_key(db: Database) -> None:
    with db.session() as session:
        insert_rows(session, DeviceRow, [_device_row("a"), _device_row("b")])
        update_rows(session, DeviceRow, [{"id": "b", "packets": 99}])
    with db.session() as session:
        packets = dict(session.execute(select(DeviceRow.id, DeviceRow.packets)).all())
    assert packets == {"a": 3, "b": 99}


def test_nothing_to_insert_is_a_no_op(db: Database) -> None:
    with db.session() as session:
        insert_rows(session, DeviceRow, [])
        update_rows(session, DeviceRow, [])


def test_a_rejected_bulk_insert_is_a_store_error(db: Database) -> None:
    with pytest.raises(StoreError, match="cannot read or write"), db.session() as session:
        insert_rows(session, DeviceRow, [_device_row("same"), _device_row("same")])
