"""The communication repository: aggregation by (src, dst, dport, transport, app)."""

from __future__ import annotations

from medshield.store import Communication, Database

T0 = 1_700_000_000.5


def _hl7(packets: int, first_seen: float, flows: int = 1) -> Communication:
    return Communication(
        src="192.0.2.10",
        dst="192.0.2.20",
        dport=2575,
        transport="tcp",
        app="hl7",
        packets=packets,
        bytes=packets * 100,
        first_seen=first_seen,
        last_seen=first_seen + 30,
        flows=flows,
    )


def test_same_key_aggregates_within_and_across_merges(db: Database) -> None:
    with db.repositories() as store:
        store.communications.merge([_hl7(10, T0), _hl7(5, T0 + 100)])
    with db.repositories() as store:
        store.communications.merge([_hl7(1, T0 - 50, flows=3)])
        (stored,) = store.communications.all()
    assert stored == Communication(
        src="192.0.2.10",
        dst="192.0.2.20",
        dport=2575,
        transport="tcp",
        app="hl7",
        packets=16,
        bytes=1600,
        first_seen=T0 - 50,
        last_seen=T0 + 130,
        flows=5,
    )


def test_different_keys_stay_apart_in_key_order(db: Database) -> None:
    dicom = Communication("192.0.2.10", "192.0.2.30", 104, "tcp", "dicom", 4, 400, T0, T0 + 1)
    dns = Communication("192.0.2.10", "192.0.2.53", 53, "udp", "dns", 2, 150, T0, T0)
    reply_side = Communication("192.0.2.20", "192.0.2.10", 2575, "tcp", "hl7", 1, 60, T0, T0)
    with db.repositories() as store:
        store.communications.merge([reply_side, dns, _hl7(3, T0), dicom])
        stored = store.communications.all()
    assert stored == [_hl7(3, T0), dicom, dns, reply_side]


def test_many_sources_are_merged_in_batches(db: Database) -> None:
    comms = [
        Communication(f"10.0.{n >> 8}.{n & 0xFF}", "192.0.2.20", 2575, "tcp", "hl7", 1, 80, T0, T0)
        for n in range(600)  # more sources than one batch holds
    ]
    with db.repositories() as store:
        store.communications.merge(comms)
        store.communications.merge(comms)
        stored = store.communications.all()
    assert len(stored) == 600
    assert {(c.packets, c.flows) for c in stored} == {(2, 2)}
