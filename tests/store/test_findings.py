"""Findings (one row per stable id, with the assessments that reported it) and alerts."""

from __future__ import annotations

from medshield.core.enums import AlertKind, FindingKind, Severity
from medshield.core.finding import Alert, Finding
from medshield.store import Database, FindingStatus

T0 = 1_700_000_000.25


def _cleartext(evidence: str = "HL7 ADT^A01 with PID-5 in clear", **extra: float) -> Finding:
    return Finding(
        kind=FindingKind.CLEARTEXT_PHI,
        severity=Severity.HIGH,
        device="mac-0009fb112233",
        title="PHI sent in clear text",
        evidence=evidence,
        remediation="Enable TLS on the HL7 interface (MLLP over TLS).",
        practice="HICP 405(d) practice 2",
        detail_key="192.0.2.20:2575",
        **extra,
    )


def _telnet() -> Finding:
    return Finding(
        kind=FindingKind.INSECURE_PROTOCOL,
        severity=Severity.MEDIUM,
        device="mac-00005e005314",
        title="Telnet service",
        evidence="telnet on 23/tcp",
        remediation="Disable telnet.",
        practice="HICP 405(d) practice 5",
    )


def _start(db: Database, name: str) -> int:
    with db.repositories() as store:
        return store.assessments.start([name])


def test_a_finding_reported_twice_keeps_one_row_and_its_history(db: Database) -> None:
    first, second = _start(db, "a.pcap"), _start(db, "b.pcap")
    with db.repositories() as store:
        store.findings.merge([_cleartext(first_seen=T0)], first, observed_at=T0 + 10)
    with db.repositories() as store:
        store.findings.merge([_cleartext("PID-5 and PID-7 in clear")], second, T0 + 3600)
        (stored,) = store.findings.all()
    assert stored.id == _cleartext().id
    assert stored.assessment_ids == (first, second)
    assert stored.finding.first_seen == T0
    assert stored.last_seen == T0 + 3600
    assert stored.finding.evidence == "PID-5 and PID-7 in clear"  # the latest report
    assert stored.status is FindingStatus.OPEN


def test_merging_again_in_one_assessment_does_not_repeat_it(db: Database) -> None:
    assessment = _start(db, "a.pcap")
    with db.repositories() as store:
        store.findings.merge([_cleartext(), _cleartext()], assessment, T0)
        store.findings.merge([_cleartext()], assessment, T0)
        (stored,) = store.findings.all()
    assert stored.assessment_ids == (assessment,)


def test_a_resolved_finding_reported_again_is_open_again(db: Database) -> None:
    first, second = _start(db, "a.pcap"), _start(db, "b.pcap")
    with db.repositories() as store:
        store.findings.merge([_cleartext(), _telnet()], first, T0)
        assert store.findings.set_status(_telnet().id, FindingStatus.RESOLVED)
        assert not store.findings.set_status("f-0000000000000000", FindingStatus.RESOLVED)
        assert [s.id for s in store.findings.all(status=FindingStatus.RESOLVED)] == [_telnet().id]
        store.findings.merge([_telnet()], second, T0 + 60)
        assert store.findings.all(status=FindingStatus.RESOLVED) == []


def test_findings_are_listed_worst_first_and_by_assessment(db: Database) -> None:
    first, second = _start(db, "a.pcap"), _start(db, "b.pcap")
    with db.repositories() as store:
        store.findings.merge([_telnet(), _cleartext()], first, T0)
        store.findings.merge([_telnet()], second, T0 + 60)
        assert [s.finding.severity for s in store.findings.all()] == [
            Severity.HIGH,
            Severity.MEDIUM,
        ]
        assert [s.id for s in store.findings.all(assessment_id=second)] == [_telnet().id]


def test_stored_findings_rebuild_the_domain_finding(db: Database) -> None:
    assessment = _start(db, "a.pcap")
    finding = _cleartext(first_seen=T0)
    with db.repositories() as store:
        store.findings.merge([finding], assessment)
        (stored,) = store.findings.all()
    assert stored.finding == finding


def _scan(start: float) -> Alert:
    return Alert(
        kind=AlertKind.PORT_SCAN,
        severity=Severity.HIGH,
        device="mac-0009fb112233",
        peer="198.51.100.7",
        start=start,
        end=start + 12.5,
        evidence="SYN to 1,024 ports in 12 s",
    )


def test_alerts_are_deduplicated_by_id(db: Database) -> None:
    with db.repositories() as store:
        assert store.alerts.add([_scan(T0), _scan(T0), _scan(T0 + 60)]) == 2
    with db.repositories() as store:
        assert store.alerts.add([_scan(T0 + 60), _scan(T0 + 120)], _start(db, "b.pcap")) == 1
        assert store.alerts.all() == [_scan(T0), _scan(T0 + 60), _scan(T0 + 120)]


def test_an_alert_without_peer_round_trips(db: Database) -> None:
    beacon = Alert(AlertKind.BEACONING, Severity.MEDIUM, "ip-10_0_0_9", None, T0, T0 + 3600, "")
    with db.repositories() as store:
        store.alerts.add([beacon])
        assert store.alerts.all() == [beacon]
        assert store.alerts.all()[0].id == beacon.id
