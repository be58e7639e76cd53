"""Splitting long id lists so that ``IN (…)`` stays under every driver's parameter limit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

CHUNK_SIZE = 500
"""Ids per query: SQLite allows 32,766 bound parameters, PostgreSQL's protocol 65,535."""

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK_SIZE) -> Iterator[Sequence[T]]:
    """Consecutive slices of ``items`` of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
