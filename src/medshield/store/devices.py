"""The device repository: the inventory with its IPs, attributes, evidence and software.

A merge works in chunks of devices. Each chunk costs a fixed number of queries whatever its
size: one select per table for the stored state of every device of the chunk, then one bulk
statement per kind of change (insert devices, update attributes, insert evidence …). The rules
of the merge itself are the pure functions of :mod:`medshield.store.merging`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from medshield.core.device import Attribute, Device, Evidence, Software
from medshield.core.enums import Criticality, DeviceCategory
from medshield.store.batching import chunks
from medshield.store.bulk import Values, insert_rows, update_rows
from medshield.store.merging import merge_device, prepare
from medshield.store.models import (
    AttributeRow,
    DeviceIpRow,
    DeviceRow,
    DeviceTrafficRow,
    EvidenceRow,
    PeerRow,
    ProtocolRow,
    SoftwareRow,
)
from medshield.store.types import to_epoch, to_utc

Window = tuple[datetime, datetime]


class DeviceRepository:
    """Devices of the inventory (``devices`` and its child tables)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def merge(self, devices: Iterable[Device], assessment_id: int | None = None) -> None:
        """Upsert ``devices`` by id, merging each with the stored one (see ``merge_device``).

        Packet and byte counters are totals over assessments. With ``assessment_id`` the
        counters of that assessment are recorded apart and replaced by a later merge for the
        same assessment, so that re-merging an assessment's inventory changes nothing. Without
        it the counters are simply added.
        """
        incoming = prepare(devices)
        for chunk in chunks(list(incoming)):
            self._merge_chunk([incoming[device_id] for device_id in chunk], assessment_id)

    def all(self) -> list[Device]:
        """Every device, ordered by id, with its attributes and evidence."""
        return [known.device for known in _Loader(self.session, None).load().values()]

    def get(self, device_id: str) -> Device | None:
        """The device ``device_id``, or None."""
        known = _Loader(self.session, [device_id]).load().get(device_id)
        return known.device if known else None

    def get_many(self, device_ids: Iterable[str]) -> list[Device]:
        """The devices of ``device_ids`` that are stored, in the order asked."""
        wanted = list(dict.fromkeys(device_ids))
        found: dict[str, Device] = {}
        for chunk in chunks(wanted):
            found.update(
                (key, known.device) for key, known in _Loader(self.session, chunk).load().items()
            )
        return [found[device_id] for device_id in wanted if device_id in found]

    def count(self) -> int:
        """Number of devices."""
        return self.session.scalar(select(func.count()).select_from(DeviceRow)) or 0

    def _merge_chunk(self, devices: list[Device], assessment_id: int | None) -> None:
        ids = [device.id for device in devices]
        known = _Loader(self.session, ids).load()
        previous = self._traffic(ids, assessment_id)
        plan = _WritePlan(assessment_id)
        for device in devices:
            plan.add(device, known.get(device.id), previous.get(device.id))
        plan.execute(self.session)

    def _traffic(self, ids: Sequence[str], assessment_id: int | None) -> dict[str, tuple[int, int]]:
        """Counters already recorded for ``assessment_id``, by device id."""
        if assessment_id is None:
            return {}
        rows = self.session.execute(
            select(DeviceTrafficRow.device_id, DeviceTrafficRow.packets, DeviceTrafficRow.bytes)
            .where(DeviceTrafficRow.assessment_id == assessment_id)
            .where(DeviceTrafficRow.device_id.in_(ids))
        )
        return {row.device_id: (row.packets, row.bytes) for row in rows}


@dataclass(slots=True)
class _Known:
    """A stored device plus the row keys a merge needs to update it in place."""

    device: Device
    ip_windows: dict[str, Window] = field(default_factory=dict)


class _Loader:
    """Rebuilds devices from their tables: one select per table for all requested ids."""

    def __init__(self, session: Session, ids: Sequence[str] | None) -> None:
        # Core execution on the session's connection, rows fetched at once: these selects
        # name columns, not entities, so the ORM's result machinery would only add cost.
        self.connection = session.connection()
        self.ids = ids

    def load(self) -> dict[str, _Known]:
        known = self._devices()
        if not known:
            return known
        self._ips(known)
        self._attributes(known)
        for device_id, software in self._pairs(
            SoftwareRow.device_id, SoftwareRow.name, SoftwareRow.version, SoftwareRow.source
        ):
            known[device_id].device.software.append(Software(*software))
        for device_id, (protocol,) in self._pairs(ProtocolRow.device_id, ProtocolRow.protocol):
            known[device_id].device.protocols.add(protocol)
        for device_id, (peer,) in self._pairs(PeerRow.device_id, PeerRow.peer):
            known[device_id].device.peers.add(peer)
        return known

    def _only(self, column: InstrumentedAttribute[str]) -> list[ColumnElement[bool]]:
        return [] if self.ids is None else [column.in_(self.ids)]

    def _devices(self) -> dict[str, _Known]:
        # Plain columns, not entities: bulk updates bypass the identity map, so entities
        # loaded earlier in the same session could be stale.
        rows = self.connection.execute(
            select(*DeviceRow.__table__.columns)
            .where(*self._only(DeviceRow.id))
            .order_by(DeviceRow.id)
        ).all()
        return {row.id: _Known(_device_of(row)) for row in rows}

    def _ips(self, known: dict[str, _Known]) -> None:
        rows = self.connection.execute(
            select(
                DeviceIpRow.device_id, DeviceIpRow.ip, DeviceIpRow.first_seen, DeviceIpRow.last_seen
            ).where(*self._only(DeviceIpRow.device_id))
        ).all()
        for device_id, ip, first_seen, last_seen in rows:
            entry = known[device_id]
            entry.device.ips.add(ip)
            entry.ip_windows[ip] = (first_seen, last_seen)

    def _attributes(self, known: dict[str, _Known]) -> None:
        rows = self.connection.execute(
            select(
                AttributeRow.device_id,
                AttributeRow.name,
                AttributeRow.value,
                AttributeRow.confidence,
            ).where(*self._only(AttributeRow.device_id))
        ).all()
        # Unpacking rows as tuples: attribute access on rows costs more at this volume.
        for device_id, name, value, confidence in rows:
            known[device_id].device.attributes.setdefault(name, {})[value] = Attribute(
                value, confidence
            )
        evidence_rows = self.connection.execute(
            select(
                EvidenceRow.device_id,
                EvidenceRow.name,
                EvidenceRow.value,
                EvidenceRow.source,
                EvidenceRow.ts,
                EvidenceRow.detail,
                EvidenceRow.flow_id,
            )
            .where(*self._only(EvidenceRow.device_id))
            .order_by(EvidenceRow.id)
        ).all()
        for device_id, name, value, source, ts, detail, flow_id in evidence_rows:
            known[device_id].device.attributes[name][value].evidence.append(
                Evidence(source, to_epoch(ts), detail, flow_id)
            )

    def _pairs(
        self, device_column: InstrumentedAttribute[str], *columns: InstrumentedAttribute[str]
    ) -> Iterable[tuple[str, tuple[str, ...]]]:
        rows = self.connection.execute(
            select(device_column, *columns)
            .where(*self._only(device_column))
            .order_by(device_column, *columns)
        ).all()
        for device_id, *values in rows:
            yield device_id, tuple(values)


def _device_of(row: Row[Any]) -> Device:
    return Device(
        id=row.id,
        mac=row.mac,
        first_seen=to_epoch(row.first_seen),
        last_seen=to_epoch(row.last_seen),
        category=DeviceCategory(row.category),
        category_confidence=row.category_confidence,
        criticality=Criticality(row.criticality),
        packets=row.packets,
        bytes=row.bytes,
    )


def _device_values(device: Device, packets: int, byte_count: int) -> Values:
    return {
        "id": device.id,
        "mac": device.mac,
        "first_seen": to_utc(device.first_seen),
        "last_seen": to_utc(device.last_seen),
        "category": device.category.value,
        "category_confidence": device.category_confidence,
        "criticality": device.criticality.value,
        "packets": packets,
        "bytes": byte_count,
    }


def _blank(device_id: str) -> Device:
    """The state of a device the store has never seen: merging into it only normalises."""
    return Device(device_id, None, float("inf"), float("-inf"))


@dataclass(slots=True)
class _WritePlan:
    """The rows one chunk of a merge inserts and updates, gathered for bulk statements."""

    assessment_id: int | None
    device_inserts: list[Values] = field(default_factory=list)
    device_updates: list[Values] = field(default_factory=list)
    traffic_inserts: list[Values] = field(default_factory=list)
    traffic_updates: list[Values] = field(default_factory=list)
    ip_inserts: list[Values] = field(default_factory=list)
    ip_updates: list[Values] = field(default_factory=list)
    attribute_inserts: list[Values] = field(default_factory=list)
    attribute_updates: list[Values] = field(default_factory=list)
    evidence_inserts: list[Values] = field(default_factory=list)
    software_inserts: list[Values] = field(default_factory=list)
    protocol_inserts: list[Values] = field(default_factory=list)
    peer_inserts: list[Values] = field(default_factory=list)

    def add(self, device: Device, known: _Known | None, previous: tuple[int, int] | None) -> None:
        """Plan the writes that turn the stored state ``known`` into its merge with ``device``."""
        # ``device`` comes from ``prepare``: already storable, so a new device is its own merge.
        stored = known.device if known else _blank(device.id)
        merged = merge_device(stored, device) if known else device
        self._counters(device, known, merged, previous)
        self._ips(device, known)
        self._attributes(merged, stored)
        self._sets(merged, stored)

    def _counters(
        self, device: Device, known: _Known | None, merged: Device, previous: tuple[int, int] | None
    ) -> None:
        # Replacing this assessment's earlier counters, not adding to them, is what makes a
        # repeated merge within one assessment idempotent.
        old_packets, old_bytes = previous or (0, 0)
        packets = merged.packets - old_packets
        byte_count = merged.bytes - old_bytes
        values = _device_values(merged, packets, byte_count)
        if known is None:
            self.device_inserts.append(values)
        elif values != _device_values(known.device, known.device.packets, known.device.bytes):
            self.device_updates.append(values)
        if self.assessment_id is None:
            return
        traffic = {
            "device_id": device.id,
            "assessment_id": self.assessment_id,
            "packets": device.packets,
            "bytes": device.bytes,
        }
        if previous is None:
            self.traffic_inserts.append(traffic)
        elif previous != (device.packets, device.bytes):
            self.traffic_updates.append(traffic)

    def _ips(self, device: Device, known: _Known | None) -> None:
        seen_from, seen_to = to_utc(device.first_seen), to_utc(device.last_seen)
        windows = known.ip_windows if known else {}
        for ip in sorted(device.ips):
            stored = windows.get(ip)
            window = (
                (seen_from, seen_to)
                if stored is None
                else (min(stored[0], seen_from), max(stored[1], seen_to))
            )
            if window == stored:
                continue
            row = {
                "device_id": device.id,
                "ip": ip,
                "first_seen": window[0],
                "last_seen": window[1],
            }
            (self.ip_inserts if stored is None else self.ip_updates).append(row)

    def _attributes(self, merged: Device, stored: Device) -> None:
        for name, values in merged.attributes.items():
            held_values = stored.attributes.get(name, {})
            for value, attribute in values.items():
                key = {"device_id": merged.id, "name": name, "value": value}
                before = held_values.get(value)
                if before is None:
                    self.attribute_inserts.append({**key, "confidence": attribute.confidence})
                elif attribute.confidence != before.confidence:
                    self.attribute_updates.append({**key, "confidence": attribute.confidence})
                # merge_evidence keeps the stored evidence first: the new evidence is the tail.
                held = len(before.evidence) if before else 0
                self.evidence_inserts += [
                    _evidence_values(merged.id, name, value, evidence)
                    for evidence in attribute.evidence[held:]
                ]

    def _sets(self, merged: Device, stored: Device) -> None:
        self.software_inserts += [
            {"device_id": merged.id, "name": s.name, "version": s.version, "source": s.source}
            for s in merged.software
            if s not in stored.software
        ]
        self.protocol_inserts += [
            {"device_id": merged.id, "protocol": protocol}
            for protocol in sorted(merged.protocols - stored.protocols)
        ]
        self.peer_inserts += [
            {"device_id": merged.id, "peer": peer} for peer in sorted(merged.peers - stored.peers)
        ]

    def execute(self, session: Session) -> None:
        """Run the planned writes, parents before children."""
        insert_rows(session, DeviceRow, self.device_inserts)
        update_rows(session, DeviceRow, self.device_updates)
        insert_rows(session, DeviceTrafficRow, self.traffic_inserts)
        update_rows(session, DeviceTrafficRow, self.traffic_updates)
        insert_rows(session, DeviceIpRow, self.ip_inserts)
        update_rows(session, DeviceIpRow, self.ip_updates)
        insert_rows(session, AttributeRow, self.attribute_inserts)
        update_rows(session, AttributeRow, self.attribute_updates)
        insert_rows(session, EvidenceRow, self.evidence_inserts)
        insert_rows(session, SoftwareRow, self.software_inserts)
        insert_rows(session, ProtocolRow, self.protocol_inserts)
        insert_rows(session, PeerRow, self.peer_inserts)


def _evidence_values(device_id: str, name: str, value: str, evidence: Evidence) -> Values:
    return {
        "device_id": device_id,
        "name": name,
        "value": value,
        "source": evidence.source,
        "ts": to_utc(evidence.ts),
        "detail": evidence.detail,
        "flow_id": evidence.flow_id,
    }
