"""Column types and conversions shared by the models and the repositories."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from medshield.core.errors import StoreError


def to_utc(ts: float) -> datetime:
    """The timezone-aware UTC datetime of epoch seconds ``ts`` (rounded to the microsecond).

    A time no datetime can hold (NaN, beyond year 9999 — a corrupt capture's clock) is a
    StoreError rather than an OverflowError escaping to the user.
    """
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, ValueError, OSError) as exc:
        raise StoreError(f"timestamp {ts!r} cannot be stored: {exc}") from exc


def to_micros(ts: float) -> int:
    """Microseconds since the epoch of ``to_utc(ts)``, computed without building a datetime.

    Rounds exactly as ``datetime.fromtimestamp`` does (fraction times 10⁶, half to even), so
    that comparing keys agrees with comparing the stored datetimes.
    """
    if not math.isfinite(ts):
        raise StoreError(f"timestamp {ts!r} cannot be stored")
    fraction, whole = math.modf(ts)
    return int(whole) * 1_000_000 + round(fraction * 1e6)


def to_epoch(moment: datetime) -> float:
    """Epoch seconds of a datetime read from the store."""
    return moment.timestamp()


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamp with time zone``; SQLite has no time zone type, so values are
    written as UTC wall-clock time and read back with the UTC zone attached.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, write ISO 8601 text directly: the generic path costs more per row."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_text

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        """On SQLite, parse the stored ISO 8601 text directly and attach UTC."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _sqlite_datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def _sqlite_text(value: datetime | None) -> str | None:
    # The same text SQLAlchemy's SQLite DATETIME writes: "YYYY-MM-DD HH:MM:SS.ffffff" in UTC.
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to a UTC column")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[: -len("+00:00")]


def _sqlite_datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)
