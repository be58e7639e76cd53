"""Timestamps: epoch seconds in the domain, timezone-aware UTC datetimes in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, MetaData, Table, insert, make_url, select

from medshield.core.errors import StoreError
from medshield.store import Database
from medshield.store.types import UtcDateTime, to_epoch, to_micros, to_utc

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CAPTURE_TIMES = st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False)
"""From the epoch to 2100."""


@given(CAPTURE_TIMES)
def test_to_micros_rounds_exactly_as_the_stored_datetime(ts: float) -> None:
    assert to_micros(ts) == (to_utc(ts) - EPOCH) // timedelta(microseconds=1)


@given(CAPTURE_TIMES)
def test_a_stored_time_reads_back_to_the_same_microsecond(ts: float) -> None:
    assert to_utc(to_epoch(to_utc(ts))) == to_utc(ts)


@pytest.mark.parametrize("ts", [float("nan"), float("inf"), 1e15])
def test_times_no_datetime_can_hold_are_store_errors(ts: float) -> None:
    with pytest.raises(StoreError, match="cannot be stored"):
        to_utc(ts)
    with pytest.raises(StoreError, match="cannot be stored"):
        to_utc(to_micros(ts) / 1e6)


def test_to_utc_is_timezone_aware() -> None:
    assert to_utc(0.5) == datetime(1970, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)


@pytest.mark.parametrize("url", ["sqlite://", "postgresql+psycopg://"])
def test_naive_datetimes_are_refused(url: str) -> None:
    processor = UtcDateTime().bind_processor(make_url(url).get_dialect()())
    assert processor is not None
    with pytest.raises(ValueError, match="naive"):
        processor(datetime(2024, 1, 1))


def test_other_zones_are_stored_as_the_same_instant_in_utc(db: Database) -> None:
    table = Table("utc_probe", MetaData(), Column("at", UtcDateTime))
    paris = timezone(timedelta(hours=1))
    with db.engine.begin() as connection:
        table.create(connection)
        connection.execute(insert(table), [{"at": datetime(2024, 1, 1, 13, 0, tzinfo=paris)}])
        stored = connection.execute(select(table.c.at)).scalar_one()
        table.drop(connection)  # the PostgreSQL database is the worker's: leave its schema as is
    assert stored == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC
