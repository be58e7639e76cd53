"""The device repository on SQLite and PostgreSQL: round trip, merge, idempotence, volume."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import event, func, select

from medshield.core.device import Device, Evidence, Software, device_id_for_ip
from medshield.core.enums import Criticality, DeviceCategory
from medshield.core.errors import StoreError
from medshield.store import Database
from medshield.store.models import (
    AttributeRow,
    DeviceIpRow,
    DeviceRow,
    EvidenceRow,
    PeerRow,
    ProtocolRow,
    SoftwareRow,
)
from medshield.store.text import KEY_TEXT_LIMIT

T0 = 1_700_000_000.123456
"""A capture start with microseconds: timestamps must survive the round trip exactly."""
MERGE_BUDGET = {"sqlite": 2.0, "postgresql": 10.0}
"""Seconds allowed to merge 1,000 devices x 20 attributes into an empty store (see _clock).

SQLite must stay well under 2 s of work. PostgreSQL is timed on the wall clock of a shared
machine, so its budget only guards against regressions of another order (a query per row).
"""


def _pump(*, offset: float = 0.0) -> Device:
    """An infusion pump seen over DHCP, HL7 and HTTP (documentation addresses, RFC 5737)."""
    pump = Device(
        id="mac-0009fb112233",
        mac="00:09:fb:11:22:33",
        first_seen=T0 + offset,
        last_seen=T0 + offset + 300.5,
        ips={"192.0.2.10", "2001:db8::10"},
        category=DeviceCategory.INFUSION_PUMP,
        category_confidence=0.9,
        criticality=Criticality.LIFE_SUSTAINING,
        packets=120,
        bytes=48_000,
    )
    pump.add_attribute(
        "vendor", "Acme Medical", 0.6, Evidence("oui", T0 + offset, "OUI 00:09:fb", None)
    )
    pump.add_attribute(
        "vendor", "Acme Medical", 0.8, Evidence("dhcp.request", T0 + offset + 1, "option 60", 7)
    )
    pump.add_attribute(
        "hostname", "PUMP-ICU-01", 0.9, Evidence("dhcp.request", T0 + offset + 1, "option 12", 7)
    )
    pump.add_attribute(
        "hl7_application", "PUMPGW", 0.7, Evidence("hl7.msh", T0 + offset + 2.25, "MSH-3", 9)
    )
    pump.add_software(Software("Acme Pump OS", "4.2.1", "http.server"))
    pump.protocols |= {"dhcp", "hl7"}
    pump.peers |= {"mac-00005e005314", "198.51.100.7"}
    return pump


def _count(database: Database, table: type[DeviceRow] | type[AttributeRow] | object) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0  # type: ignore[arg-type]


def _row_counts(database: Database) -> dict[str, int]:
    tables = (DeviceRow, DeviceIpRow, AttributeRow, EvidenceRow, SoftwareRow, ProtocolRow, PeerRow)
    return {table.__tablename__: _count(database, table) for table in tables}


def _start(database: Database, name: str = "capture.pcap") -> int:
    with database.repositories() as store:
        return store.assessments.start([name])


def test_rich_device_round_trips_exactly(db: Database) -> None:
    pump = _pump()
    with db.repositories() as store:
        store.devices.merge([pump])
    with db.repositories() as store:
        loaded = store.devices.get(pump.id)
    assert loaded == pump
    assert loaded is not None
    assert loaded.attributes["vendor"]["Acme Medical"].evidence[1].flow_id == 7
    assert loaded.attributes["vendor"]["Acme Medical"].evidence[0].flow_id is None


def test_device_known_only_by_ip_round_trips(db: Database) -> None:
    host = Device(device_id_for_ip("2001:db8::20"), None, T0, T0, ips={"2001:db8::20"})
    with db.repositories() as store:
        store.devices.merge([host])
    with db.repositories() as store:
        assert store.devices.all() == [host]
        assert store.devices.get("mac-unknown") is None


def test_merging_two_overlapping_inventories_unites_without_duplicates(db: Database) -> None:
    monitor = Device("mac-00005e005314", "00:00:5e:00:53:14", T0, T0 + 10, ips={"192.0.2.20"})
    first = [_pump(), monitor]

    later = _pump(offset=3600.0)  # the same pump an hour later, with more to say
    later.ips = {"192.0.2.11"}  # re-addressed by DHCP
    later.add_attribute("hostname", "PUMP-ICU-01", 0.95, Evidence("dns.ptr", T0 + 3700, "PTR", 31))
    later.add_attribute("model", "AP-5000", 0.7, Evidence("http.server", T0 + 3601, "Server", 32))
    later.add_software(Software("Acme Pump OS", "4.2.1", "http.server"))  # already known
    later.add_software(Software("OpenSSL", "1.0.2k", "tls.server"))
    later.protocols.add("http")
    later.category_confidence = 0.5  # weaker than the stored 0.9: classification stays
    later.category = DeviceCategory.WORKSTATION
    lab = Device("ip-10_0_0_9", None, T0 + 3600, T0 + 3700, ips={"10.0.0.9"})
    second = [later, lab]

    with db.repositories() as store:
        store.devices.merge(first, assessment_id=store.assessments.start(["a.pcap"]))
    with db.repositories() as store:
        store.devices.merge(second, assessment_id=store.assessments.start(["b.pcap"]))

    with db.repositories() as store:
        devices = {device.id: device for device in store.devices.all()}
    assert sorted(devices) == ["ip-10_0_0_9", "mac-00005e005314", "mac-0009fb112233"]
    pump = devices["mac-0009fb112233"]
    assert pump.ips == {"192.0.2.10", "2001:db8::10", "192.0.2.11"}
    assert (pump.first_seen, pump.last_seen) == (T0, T0 + 3600 + 300.5)
    assert pump.category is DeviceCategory.INFUSION_PUMP
    assert pump.criticality is Criticality.LIFE_SUSTAINING
    assert pump.category_confidence == 0.9
    assert (pump.packets, pump.bytes) == (240, 96_000)
    assert pump.protocols == {"dhcp", "hl7", "http"}
    assert pump.software == [
        Software("Acme Pump OS", "4.2.1", "http.server"),
        Software("OpenSSL", "1.0.2k", "tls.server"),
    ]
    hostname = pump.attributes["hostname"]["PUMP-ICU-01"]
    assert hostname.confidence == 0.95
    assert [e.source for e in hostname.evidence] == ["dhcp.request", "dhcp.request", "dns.ptr"]
    assert [e.ts for e in hostname.evidence] == [T0 + 1, T0 + 3601, T0 + 3700]
    assert pump.best("model") == "AP-5000"
    assert _row_counts(db) == {
        "devices": 3,
        "device_ips": 5,  # pump 3, monitor 1, lab 1
        "device_attributes": 4,  # vendor, hostname, hl7_application, model
        "attribute_evidence": 10,  # vendor 2+2, hostname 1+2, hl7 1+1, model 1
        "device_software": 2,
        "device_protocols": 3,
        "device_peers": 2,
    }


def test_ip_rows_remember_when_each_address_was_used(db: Database) -> None:
    later = _pump(offset=3600.0)
    later.ips = {"192.0.2.10"}
    with db.repositories() as store:
        store.devices.merge([_pump()])
        store.devices.merge([later])
    with db.session() as session:
        rows = session.execute(
            select(DeviceIpRow.ip, DeviceIpRow.first_seen, DeviceIpRow.last_seen)
        ).all()
    windows = {ip: (first.timestamp(), last.timestamp()) for ip, first, last in rows}
    assert windows == {
        "192.0.2.10": (T0, T0 + 3600 + 300.5),
        "2001:db8::10": (T0, T0 + 300.5),
    }
    assert all(first.tzinfo is not None for _, first, _ in rows)


def test_stronger_or_equal_classification_replaces_the_stored_one(db: Database) -> None:
    reclassified = _pump()
    reclassified.category = DeviceCategory.PATIENT_MONITOR
    reclassified.criticality = Criticality.HIGH
    with db.repositories() as store:
        store.devices.merge([_pump()])
        store.devices.merge([reclassified])  # same confidence 0.9: the newer one wins
        device = store.devices.get(reclassified.id)
    assert device is not None
    assert (device.category, device.criticality) == (
        DeviceCategory.PATIENT_MONITOR,
        Criticality.HIGH,
    )


def test_re_merging_within_one_assessment_is_idempotent(db: Database) -> None:
    assessment = _start(db)
    with db.repositories() as store:
        store.devices.merge([_pump()], assessment_id=assessment)
        once = store.devices.all()
    counts = _row_counts(db)
    with db.repositories() as store:
        store.devices.merge([_pump()], assessment_id=assessment)
        twice = store.devices.all()
    assert twice == once
    assert _row_counts(db) == counts


def test_counters_add_up_across_assessments_but_not_within_one(db: Database) -> None:
    first, second = _start(db, "a.pcap"), _start(db, "b.pcap")
    with db.repositories() as store:
        store.devices.merge([_pump()], assessment_id=first)
        store.devices.merge([_pump()], assessment_id=second)
    grown = _pump()
    grown.packets, grown.bytes = 200, 90_000  # the first assessment re-merged with more traffic
    with db.repositories() as store:
        store.devices.merge([grown], assessment_id=first)
        device = store.devices.get(grown.id)
    assert device is not None
    assert (device.packets, device.bytes) == (200 + 120, 90_000 + 48_000)


def test_merges_without_an_assessment_add_their_counters(db: Database) -> None:
    with db.repositories() as store:
        store.devices.merge([_pump()])
        store.devices.merge([_pump()])
        device = store.devices.get("mac-0009fb112233")
    assert device is not None
    assert (device.packets, device.bytes) == (240, 96_000)


def test_evidence_is_kept_distinct_and_bounded_per_value(db: Database) -> None:
    def seen(count: int, start: int) -> Device:
        device = Device("mac-0009fb112233", None, T0, T0)
        for index in range(start, start + count):
            evidence = Evidence("arp", T0 + index, f"request {index}", index)
            device.add_attribute("ip_seen", "192.0.2.10", 0.5, evidence)
        return device

    with db.repositories() as store:
        store.devices.merge([seen(3, 0)])
        store.devices.merge([seen(4, 2)])  # two repeat, two new, one over the bound
        device = store.devices.get("mac-0009fb112233")
    assert device is not None
    evidence = device.attributes["ip_seen"]["192.0.2.10"].evidence
    assert [e.detail for e in evidence] == [f"request {i}" for i in range(5)]


def test_the_same_device_twice_in_one_batch_is_folded(db: Database) -> None:
    later = _pump(offset=60.0)
    with db.repositories() as store:
        store.devices.merge([_pump(), later])
        assert store.devices.count() == 1
        device = store.devices.get(later.id)
    assert device is not None
    assert (device.first_seen, device.last_seen) == (T0, later.last_seen)
    assert _row_counts(db)["device_ips"] == 2


def test_hostile_text_is_stored_clipped_and_without_nul(db: Database) -> None:
    device = Device("mac-0009fb112233", None, T0, T0)
    huge = "A" * 10_000
    evidence = Evidence("http.user_agent", T0, "agent\x00with NUL", 3)
    device.add_attribute("user_agent", huge, 0.4, evidence)
    device.add_attribute("hostname", "pump\x00", 0.4, evidence)
    device.add_software(Software("x" * 5_000, "1\x00", "http.server"))
    with db.repositories() as store:
        store.devices.merge([device])
        stored = store.devices.get(device.id)
    assert stored is not None
    (value,) = stored.attributes["user_agent"]
    assert len(value) == KEY_TEXT_LIMIT
    assert value.startswith("AAAA")
    assert stored.values("hostname") == ["pump"]
    assert stored.attributes["hostname"]["pump"].evidence[0].detail == "agentwith NUL"
    assert stored.software[0].version == "1"


def _clock(backend: str) -> Callable[[], float]:
    """CPU time of this process on SQLite, wall time on PostgreSQL.

    SQLite runs inside this process, so its CPU time is the whole cost of a merge, and unlike
    wall time it does not grow with whatever else a shared CI machine runs. A PostgreSQL server
    works in other processes, so only wall time accounts for it.
    """
    return time.process_time if backend == "sqlite" else time.perf_counter


def _inventory(offset: float, host: int, count: int = 1000) -> list[Device]:
    """``count`` devices with 20 attributes each, as one capture's inventory."""
    devices = []
    for number in range(count):
        mac = ":".join(f"{byte:02x}" for byte in (0, 0, 0x5E, 0, number >> 8, number & 0xFF))
        device = Device(f"mac-{mac.replace(':', '')}", mac, T0 + offset, T0 + offset + 60)
        device.ips.add(f"10.{number >> 8}.{number & 0xFF}.{host}")
        for index in range(20):
            evidence = Evidence("dhcp.request", T0 + offset + index, f"option {index}", number)
            device.add_attribute(f"attribute_{index}", f"value {index}", 0.5, evidence)
        devices.append(device)
    return devices


def test_a_device_with_an_impossible_time_is_a_store_error(db: Database) -> None:
    device = _pump()
    device.add_attribute("hostname", "x", 0.5, Evidence("dns", float("nan"), "corrupt clock"))
    with pytest.raises(StoreError, match="nan"), db.repositories() as store:
        store.devices.merge([device])
    with db.repositories() as store:
        assert store.devices.count() == 0


def test_merging_a_thousand_devices_with_twenty_attributes_each(db: Database, backend: str) -> None:
    first_capture, second_capture = _inventory(0.0, host=1), _inventory(600.0, host=2)
    assessments = _start(db, "a.pcap"), _start(db, "b.pcap")
    clock = _clock(backend)
    started = clock()
    with db.repositories() as store:
        store.devices.merge(first_capture, assessment_id=assessments[0])
    into_empty = clock() - started
    started = clock()
    with db.repositories() as store:
        store.devices.merge(second_capture, assessment_id=assessments[1])
    into_full = clock() - started

    counts = _row_counts(db)
    assert (counts["devices"], counts["device_ips"]) == (1000, 2000)
    assert (counts["device_attributes"], counts["attribute_evidence"]) == (20_000, 40_000)
    figures = f"into an empty store {into_empty:.2f} s, into a full one {into_full:.2f} s"
    assert into_empty < MERGE_BUDGET[backend], figures
    assert into_full < 2 * MERGE_BUDGET[backend], figures


def test_get_many_returns_the_stored_devices_in_the_order_asked(db: Database) -> None:
    devices = [Device(f"ip-10_0_{n >> 8}_{n & 0xFF}", None, T0, T0) for n in range(600)]
    asked = [device.id for device in reversed(devices)] + ["mac-not-stored", devices[0].id]
    with db.repositories() as store:
        store.devices.merge(devices)
        found = store.devices.get_many(asked)
    assert found == list(reversed(devices))


def test_statements_per_merge_do_not_grow_with_the_inventory(db: Database) -> None:
    executed: list[str] = []

    def record(*args: object) -> None:
        executed.append(str(args[2]))

    def statements_to_merge(devices: list[Device]) -> int:
        executed.clear()
        with db.repositories() as store:
            store.devices.merge(devices)
        return len(executed)

    earlier, later = _inventory(0.0, host=1, count=100), _inventory(60.0, host=1, count=100)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        new_few, new_many = statements_to_merge(earlier[:5]), statements_to_merge(earlier[5:])
        known_few, known_many = statements_to_merge(later[:5]), statements_to_merge(later)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert new_few == new_many
    assert known_few == known_many
