"""Merging what one assessment learnt about a device into what the store already knows.

Pure functions on domain devices, so that the rules can be read and tested without a database:
windows widen, sets unite, attribute values keep their strongest confidence and a few
distinct pieces of evidence, and the classification with the stronger (or equal, hence newer)
confidence wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from medshield.core.device import Attribute, Device, Evidence, Software
from medshield.store.models import ID_LENGTH, IP_LENGTH
from medshield.store.text import KEY_TEXT_LIMIT, storable
from medshield.store.types import to_micros

EVIDENCE_PER_VALUE = 5
"""Evidence kept per attribute value: enough examples to explain it, bounded storage."""

EvidenceKey = tuple[str, int, str, int | None]


def evidence_key(evidence: Evidence) -> EvidenceKey:
    """What makes two pieces of evidence the same (time at the store's microsecond precision)."""
    return (evidence.source, to_micros(evidence.ts), evidence.detail, evidence.flow_id)


def merge_evidence(
    stored: Iterable[Evidence], incoming: Iterable[Evidence], keep: int = EVIDENCE_PER_VALUE
) -> list[Evidence]:
    """Stored evidence first, then new distinct evidence while fewer than ``keep`` are held.

    Stored evidence is never evicted, so merging never deletes a row, and what a merge adds
    is exactly the tail after the stored evidence.
    """
    candidates = (*stored, *incoming)
    if len(candidates) <= 1:
        return list(candidates)
    merged: list[Evidence] = []
    seen: set[EvidenceKey] = set()
    for evidence in candidates:
        key = evidence_key(evidence)
        if key not in seen and len(merged) < keep:
            seen.add(key)
            merged.append(evidence)
    return merged


def merge_attributes(
    stored: dict[str, dict[str, Attribute]], incoming: dict[str, dict[str, Attribute]]
) -> dict[str, dict[str, Attribute]]:
    """Union of attribute values; a value in both keeps the higher confidence."""
    merged = {
        name: {value: _copy(attribute) for value, attribute in values.items()}
        for name, values in stored.items()
    }
    for name, values in incoming.items():
        target = merged.setdefault(name, {})
        for value, attribute in values.items():
            known = target.get(value)
            if known is None:
                target[value] = Attribute(
                    value, attribute.confidence, merge_evidence((), attribute.evidence)
                )
            else:
                known.confidence = max(known.confidence, attribute.confidence)
                known.evidence = merge_evidence(known.evidence, attribute.evidence)
    return merged


def merge_device(stored: Device, incoming: Device) -> Device:
    """A new device combining ``stored`` and ``incoming`` (same id); inputs are not changed.

    Counters add up. The category, its confidence and the criticality derived from it come
    from ``incoming`` when its confidence is at least the stored one.
    """
    classified = incoming if incoming.category_confidence >= stored.category_confidence else stored
    software = list(stored.software)
    software += [item for item in incoming.software if item not in software]
    return Device(
        id=stored.id,
        mac=incoming.mac or stored.mac,
        first_seen=min(stored.first_seen, incoming.first_seen),
        last_seen=max(stored.last_seen, incoming.last_seen),
        ips=stored.ips | incoming.ips,
        attributes=merge_attributes(stored.attributes, incoming.attributes),
        software=software,
        protocols=stored.protocols | incoming.protocols,
        peers=stored.peers | incoming.peers,
        category=classified.category,
        category_confidence=classified.category_confidence,
        criticality=classified.criticality,
        packets=stored.packets + incoming.packets,
        bytes=stored.bytes + incoming.bytes,
    )


def fold_by_id(devices: Iterable[Device]) -> dict[str, Device]:
    """One device per id: repeated ids in one batch are merged in order."""
    folded: dict[str, Device] = {}
    for device in devices:
        known = folded.get(device.id)
        folded[device.id] = device if known is None else merge_device(known, device)
    return folded


def prepare(devices: Iterable[Device]) -> dict[str, Device]:
    """Storable devices, one per id: what a merge compares with the stored state."""
    return fold_by_id(storable_device(device) for device in devices)


def storable_device(device: Device) -> Device:
    """A copy of ``device`` whose text fits the store's columns (see :mod:`.text`).

    Evidence is deduplicated and bounded; two attribute values that become equal once
    clipped are merged.
    """
    attributes: dict[str, dict[str, Attribute]] = {}
    for name, values in device.attributes.items():
        target = attributes.setdefault(storable(name, ID_LENGTH), {})
        for value, attribute in values.items():
            evidence = attribute.evidence
            if not all(map(_is_storable, evidence)):
                evidence = [_storable_evidence(item) for item in evidence]
            evidence = merge_evidence((), evidence)
            clean = storable(value, KEY_TEXT_LIMIT)
            known = target.get(clean)
            if known is None:
                target[clean] = Attribute(clean, attribute.confidence, evidence)
            else:
                known.confidence = max(known.confidence, attribute.confidence)
                known.evidence = merge_evidence(known.evidence, evidence)
    software: list[Software] = []
    for item in device.software:
        clean_item = Software(
            storable(item.name, KEY_TEXT_LIMIT),
            storable(item.version, KEY_TEXT_LIMIT),
            storable(item.source, ID_LENGTH),
        )
        if clean_item not in software:
            software.append(clean_item)
    return replace(
        device,
        ips={storable(ip, IP_LENGTH) for ip in device.ips},
        attributes=attributes,
        software=software,
        protocols={storable(protocol, ID_LENGTH) for protocol in device.protocols},
        peers={storable(peer, ID_LENGTH) for peer in device.peers},
    )


def _is_storable(evidence: Evidence) -> bool:
    source, detail = evidence.source, evidence.detail
    return len(source) <= ID_LENGTH and "\x00" not in source and "\x00" not in detail


def _storable_evidence(evidence: Evidence) -> Evidence:
    return Evidence(
        storable(evidence.source, ID_LENGTH),
        evidence.ts,
        storable(evidence.detail),
        evidence.flow_id,
    )


def _copy(attribute: Attribute) -> Attribute:
    return Attribute(attribute.value, attribute.confidence, list(attribute.evidence))
