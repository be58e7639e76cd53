"""The pure merge rules, without a database."""

from __future__ import annotations

from medshield.core.device import Attribute, Device, Evidence, Software
from medshield.core.enums import Criticality, DeviceCategory
from medshield.store.merging import (
    EVIDENCE_PER_VALUE,
    fold_by_id,
    merge_device,
    merge_evidence,
    storable_device,
)
from medshield.store.text import KEY_TEXT_LIMIT

T0 = 1_700_000_000.0


def _evidence(index: int, *, ts_jitter: float = 0.0) -> Evidence:
    return Evidence("arp", T0 + index + ts_jitter, f"reply {index}", index)


def test_merge_evidence_keeps_stored_first_then_new_distinct_up_to_the_bound() -> None:
    stored = [_evidence(0), _evidence(1)]
    incoming = [_evidence(1), _evidence(2), _evidence(2), *(_evidence(i) for i in range(3, 9))]
    merged = merge_evidence(stored, incoming)
    assert merged == [_evidence(i) for i in range(EVIDENCE_PER_VALUE)]


def test_merge_evidence_compares_times_at_microsecond_precision() -> None:
    # 0.3 µs apart: the same instant once stored, so not a new piece of evidence.
    assert merge_evidence([_evidence(1)], [_evidence(1, ts_jitter=3e-7)]) == [_evidence(1)]
    assert len(merge_evidence([_evidence(1)], [_evidence(1, ts_jitter=2e-6)])) == 2


def test_merge_device_widens_unites_and_adds() -> None:
    stored = Device("mac-1", "00:00:5e:00:53:01", T0, T0 + 10, ips={"192.0.2.1"}, packets=5)
    stored.add_attribute("vendor", "Acme", 0.8, _evidence(0))
    stored.add_software(Software("fw", "1", "snmp"))
    stored.protocols.add("snmp")
    incoming = Device("mac-1", None, T0 - 5, T0 + 5, ips={"192.0.2.2"}, packets=7, bytes=9)
    incoming.add_attribute("vendor", "Acme", 0.6, _evidence(1))
    incoming.add_attribute("vendor", "Other", 0.3, _evidence(2))
    incoming.add_software(Software("fw", "1", "snmp"))
    incoming.peers.add("192.0.2.9")

    merged = merge_device(stored, incoming)

    assert merged.mac == "00:00:5e:00:53:01"  # an unknown MAC does not erase a known one
    assert (merged.first_seen, merged.last_seen) == (T0 - 5, T0 + 10)
    assert merged.ips == {"192.0.2.1", "192.0.2.2"}
    assert merged.attributes["vendor"]["Acme"] == Attribute(
        "Acme", 0.8, [_evidence(0), _evidence(1)]
    )
    assert merged.values("vendor") == ["Acme", "Other"]
    assert merged.software == [Software("fw", "1", "snmp")]
    assert (merged.protocols, merged.peers) == ({"snmp"}, {"192.0.2.9"})
    assert (merged.packets, merged.bytes) == (12, 9)
    assert stored.attributes["vendor"]["Acme"].evidence == [_evidence(0)]  # inputs untouched


def test_merge_device_classification_follows_the_stronger_confidence() -> None:
    def classified(category: DeviceCategory, confidence: float) -> Device:
        device = Device("mac-1", None, T0, T0, category=category, category_confidence=confidence)
        device.criticality = (
            Criticality.HIGH if category is DeviceCategory.PACS else Criticality.LOW
        )
        return device

    pacs, printer = DeviceCategory.PACS, DeviceCategory.PRINTER
    assert merge_device(classified(pacs, 0.8), classified(printer, 0.5)).category is pacs
    stronger = merge_device(classified(pacs, 0.8), classified(printer, 0.9))
    assert (stronger.category, stronger.criticality) == (printer, Criticality.LOW)
    assert merge_device(classified(pacs, 0.8), classified(printer, 0.8)).category is printer


def test_fold_by_id_merges_repeated_ids_in_order() -> None:
    first = Device("mac-1", None, T0, T0, packets=1)
    second = Device("mac-1", None, T0 + 1, T0 + 1, packets=2)
    other = Device("mac-2", None, T0, T0)
    folded = fold_by_id([first, other, second])
    assert list(folded) == ["mac-1", "mac-2"]
    assert (folded["mac-1"].last_seen, folded["mac-1"].packets) == (T0 + 1, 3)


def test_storable_device_clips_keys_removes_nul_and_merges_collisions() -> None:
    device = Device("mac-1", None, T0, T0, peers={"192.0.2.1\x00"})
    long_a = "x" * (KEY_TEXT_LIMIT + 10) + "a"
    long_b = "x" * (KEY_TEXT_LIMIT + 10) + "b"
    device.add_attribute("banner", long_a, 0.2, _evidence(0))
    device.add_attribute("banner", long_b, 0.7, _evidence(1))
    device.add_attribute("banner", "ok", 0.1, Evidence("tcp\x00", T0, "d\x00etail"))
    clean = storable_device(device)
    clipped = "x" * (KEY_TEXT_LIMIT - 1) + "…"
    assert set(clean.attributes["banner"]) == {clipped, "ok"}
    assert clean.attributes["banner"][clipped].confidence == 0.7
    assert clean.attributes["banner"][clipped].evidence == [_evidence(0), _evidence(1)]
    assert clean.attributes["banner"]["ok"].evidence == [Evidence("tcp", T0, "detail")]
    assert clean.peers == {"192.0.2.1"}
    assert long_a in device.attributes["banner"]  # the caller's device is not changed
