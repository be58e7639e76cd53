"""Ground truth and its risk rules (simulate/truth.py)."""

from __future__ import annotations

from medshield.core.enums import FindingKind
from medshield.simulate.facts import Communication, Identifier, Risk, SoftwareSeen
from medshield.simulate.personas import Role
from medshield.simulate.population import build_hospital
from medshield.simulate.truth import (
    IDENTIFIER_KEYS,
    SCHEMA,
    TruthRecorder,
    build_truth,
    flat_network_risks,
    vendor_of,
)


def test_recorder_keeps_one_risk_per_kind_and_device() -> None:
    recorder = TruthRecorder()
    recorder.record(
        [
            Risk(FindingKind.WEAK_TLS, "mac-1", "first"),
            Risk(FindingKind.WEAK_TLS, "mac-1", "second"),
            Communication("10.0.0.1", "10.0.0.2", 443, "tcp", "tls"),
            Communication("10.0.0.1", "10.0.0.2", 443, "tcp", "tls"),
        ]
    )
    assert [r.detail for r in recorder.risks.values()] == ["first"]
    assert len(recorder.communications) == 1


def test_flat_network_flags_the_ward_monitors_only_when_the_workstation_talked() -> None:
    hospital = build_hospital(200, 1)
    everyone = {d.mac for d in hospital.devices}
    risks = flat_network_risks(hospital, everyone)
    ward_monitors = {
        d.id for d in hospital.devices if d.ip[2] == 60 and d.role is Role.PATIENT_MONITOR
    }
    assert {r.device for r in risks} == ward_monitors and len(ward_monitors) == 2
    assert all(r.kind is FindingKind.FLAT_NETWORK for r in risks)
    workstation = next(
        d for d in hospital.devices if d.ip[2] == 60 and d.role is Role.CLINICAL_WORKSTATION
    )
    assert flat_network_risks(hospital, everyone - {workstation.mac}) == []


def test_truth_document_lists_only_devices_that_sent_frames() -> None:
    hospital = build_hospital(15, 2)
    pacs, monitor = hospital.one(Role.PACS), hospital.one(Role.PATIENT_MONITOR)
    recorder = TruthRecorder()
    recorder.record(
        [
            Identifier(pacs.id, "dicom_ae", "DCM4CHEE"),
            SoftwareSeen(pacs.id, "dcm4chee-arc", "5.31.0", "dicom"),
            Risk(FindingKind.CLEARTEXT_PHI, monitor.id, "HL7"),
        ]
    )
    truth = build_truth(
        hospital=hospital,
        seed=2,
        duration=60.0,
        start_us=0,
        packets=7,
        seen={pacs.mac, monitor.mac},
        recorder=recorder,
    )
    assert truth["schema"] == SCHEMA and truth["device_count"] == 2 and truth["packets"] == 7
    entries = {d["persona"]: d for d in truth["devices"]}
    assert set(entries) == {"pacs", "patient-monitor"}
    assert entries["pacs"]["identifiers"]["dicom_ae"] == ["DCM4CHEE"]
    assert set(entries["pacs"]["identifiers"]) == set(IDENTIFIER_KEYS)
    assert entries["pacs"]["software"] == [
        {"name": "dcm4chee-arc", "version": "5.31.0", "source": "dicom"}
    ]
    assert entries["patient-monitor"]["criticality"] == "high"
    assert entries["pacs"]["vendor"] == vendor_of(pacs.mac_text) == "Dell Inc."
    assert truth["risks"] == [{"kind": "cleartext-phi", "device": monitor.id, "detail": "HL7"}]
    assert truth["attacks"] == []


def test_vendor_of_an_unregistered_prefix_is_empty() -> None:
    assert vendor_of("02:00:00:00:00:01") == ""
