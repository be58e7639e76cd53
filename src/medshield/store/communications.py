"""The communication repository: traffic aggregated by (src, dst, dport, transport, app)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from medshield.store.batching import chunks
from medshield.store.bulk import insert_rows, update_rows
from medshield.store.models import ID_LENGTH, VOCABULARY_LENGTH, CommunicationRow
from medshield.store.records import Communication
from medshield.store.text import storable
from medshield.store.types import to_epoch, to_utc

Key = tuple[str, str, int, str, str]
COLUMNS = tuple(CommunicationRow.__table__.columns)
"""Selected as plain rows: bulk updates bypass the identity map, so entities could be stale."""


class CommunicationRepository:
    """Aggregated communications; merging the same key adds its counters."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def merge(self, communications: Iterable[Communication]) -> None:
        """Add ``communications`` to the stored aggregates.

        Packets, bytes and flows add up and the seen window widens, so each assessment's
        communications must be merged once: merging the same ones twice counts them twice.
        """
        incoming = fold(communications)
        sources = sorted({key[0] for key in incoming})
        for batch in chunks(sources):
            wanted = set(batch)
            self._merge_batch({key: comm for key, comm in incoming.items() if key[0] in wanted})

    def all(self) -> list[Communication]:
        """Every aggregate, ordered by key."""
        rows = self.session.execute(
            select(*COLUMNS).order_by(
                CommunicationRow.src,
                CommunicationRow.dst,
                CommunicationRow.dport,
                CommunicationRow.transport,
                CommunicationRow.app,
            )
        )
        return [_communication_of(row) for row in rows]

    def _merge_batch(self, incoming: dict[Key, Communication]) -> None:
        stored = self._stored({key[0] for key in incoming})
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for key, comm in incoming.items():
            known = stored.get(key)
            if known is None:
                inserts.append(_values(comm))
            else:
                merged = combine(_communication_of(known), comm)
                updates.append({"id": known.id, **_values(merged)})
        insert_rows(self.session, CommunicationRow, inserts)
        update_rows(self.session, CommunicationRow, updates)

    def _stored(self, sources: set[str]) -> dict[Key, Row[Any]]:
        # Selecting by source and matching the full key here keeps the query portable
        # (row-value IN lists differ between backends).
        rows = self.session.execute(
            select(*COLUMNS).where(CommunicationRow.src.in_(sorted(sources)))
        )
        return {(r.src, r.dst, r.dport, r.transport, r.app): r for r in rows}


def combine(first: Communication, second: Communication) -> Communication:
    """The aggregate of two communications with the same key."""
    return Communication(
        src=first.src,
        dst=first.dst,
        dport=first.dport,
        transport=first.transport,
        app=first.app,
        packets=first.packets + second.packets,
        bytes=first.bytes + second.bytes,
        first_seen=min(first.first_seen, second.first_seen),
        last_seen=max(first.last_seen, second.last_seen),
        flows=first.flows + second.flows,
    )


def fold(communications: Iterable[Communication]) -> dict[Key, Communication]:
    """One storable aggregate per key."""
    folded: dict[Key, Communication] = {}
    for comm in map(_storable, communications):
        known = folded.get(comm.key)
        folded[comm.key] = comm if known is None else combine(known, comm)
    return folded


def _storable(comm: Communication) -> Communication:
    return replace(
        comm,
        src=storable(comm.src, ID_LENGTH),
        dst=storable(comm.dst, ID_LENGTH),
        transport=storable(comm.transport, VOCABULARY_LENGTH),
        app=storable(comm.app, ID_LENGTH),
    )


def _values(comm: Communication) -> dict[str, Any]:
    return {
        "src": comm.src,
        "dst": comm.dst,
        "dport": comm.dport,
        "transport": comm.transport,
        "app": comm.app,
        "packets": comm.packets,
        "bytes": comm.bytes,
        "flows": comm.flows,
        "first_seen": to_utc(comm.first_seen),
        "last_seen": to_utc(comm.last_seen),
    }


def _communication_of(row: Row[Any]) -> Communication:
    return Communication(
        src=row.src,
        dst=row.dst,
        dport=row.dport,
        transport=row.transport,
        app=row.app,
        packets=row.packets,
        bytes=row.bytes,
        first_seen=to_epoch(row.first_seen),
        last_seen=to_epoch(row.last_seen),
        flows=row.flows,
    )
