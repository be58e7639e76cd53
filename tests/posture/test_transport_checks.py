"""Cleartext PHI, weak TLS, internet exposure, flat network and weak authentication."""

from __future__ import annotations

from medshield.core.device import device_id_for_mac
from medshield.core.enums import DeviceCategory
from medshield.core.flow import Endpoint
from medshield.posture.cleartext_phi import CHECK as PHI
from medshield.posture.flat_network import CHECK as FLAT
from medshield.posture.internet_exposure import CHECK as EXPOSURE
from medshield.posture.weak_authentication import CHECK as WEAK_AUTH
from medshield.posture.weak_tls import CHECK as WEAK_TLS
from medshield.protocols import hl7, http, tls
from medshield.protocols.dicom import DicomAssociationAccept
from medshield.testing.environment import require_shared
from medshield.testing.flows import tcp_payload
from medshield.testing.pcaps import read_flow_payloads
from medshield.testing.posture import CLIENT_MAC, SERVER_MAC, Scenario

CLIENT_ID, SERVER_ID = device_id_for_mac(CLIENT_MAC), device_id_for_mac(SERVER_MAC)


def oru_with_pid() -> bytes:
    """An ORU^R01 (HL7 v2.5 §7.3.1) with a synthetic patient, framed in MLLP."""
    segments = [
        "MSH|^~\\&|MX800|ICU-3|ENGINE|HOSP|20240101120000||ORU^R01|MSG0001|P|2.5",
        "PID|1||TEST0001^^^HOSP^MR||DOE^JANE||19700101|F",
        "OBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F",
    ]
    return b"\x0b" + "\r".join(segments).encode() + b"\r\x1c\r"


def test_hl7_with_pid_over_mllp_is_phi_on_the_sender(scenario: Scenario) -> None:
    scenario.flow(hl7.DISSECTOR, tcp_payload(oru_with_pid(), server_port=2575))
    findings = scenario.run(PHI)
    assert [(f.kind.value, f.device) for f in findings] == [("cleartext-phi", CLIENT_ID)]
    assert "PID" in findings[0].evidence
    assert "DOE" not in findings[0].evidence and "JANE" not in findings[0].evidence


def test_hl7_ack_without_pid_is_no_finding(scenario: Scenario) -> None:
    ack = (
        b"\x0bMSH|^~\\&|ENGINE|HOSP|MX800|ICU-3|20240101120001||ACK|A1|P|2.5\r"
        b"MSA|AA|MSG0001\r\x1c\r"
    )
    scenario.flow(hl7.DISSECTOR, tcp_payload(ack, server_port=2575))
    assert scenario.run(PHI) == []


def test_http_fhir_post_is_phi(scenario: Scenario) -> None:
    request = (
        b"POST /fhir/Observation HTTP/1.1\r\nHost: emr\r\n"
        b"Content-Type: application/fhir+json\r\nContent-Length: 2\r\n\r\n{}"
    )
    scenario.flow(http.DISSECTOR, tcp_payload(request))
    assert {f.device for f in scenario.run(PHI)} == {CLIENT_ID}


def test_ndpi_hl7_capture_shows_cleartext_phi(scenario: Scenario) -> None:
    capture = require_shared("pcap/medical/ndpi/hl7.pcap")
    scenario.capture_flows(read_flow_payloads(capture), hl7.DISSECTOR)
    findings = scenario.run(PHI)
    assert findings
    assert all(f.kind.value == "cleartext-phi" for f in findings)
    assert any("ADT^A01" in f.evidence for f in findings)


def test_tls_1_1_server_is_weak(scenario: Scenario) -> None:
    capture = require_shared("pcap/iot/zeek/tls/tls1_1.pcap")
    scenario.capture_flows(read_flow_payloads(capture), tls.DISSECTOR)
    evidence = " | ".join(f.evidence for f in scenario.run(WEAK_TLS))
    assert "TLS 1.1" in evidence


def test_expired_certificate_is_weak(scenario: Scenario) -> None:
    capture = require_shared("pcap/iot/zeek/tls/tls-expired-cert.pcap")
    scenario.capture_flows(read_flow_payloads(capture), tls.DISSECTOR)
    assert any("expired" in f.evidence for f in scenario.run(WEAK_TLS))


def test_tls_1_2_with_current_certificate_is_not_weak(scenario: Scenario) -> None:
    capture = require_shared("pcap/iot/zeek/tls/tls1.2.pcap")
    scenario.capture_flows(read_flow_payloads(capture), tls.DISSECTOR)
    assert not [f for f in scenario.run(WEAK_TLS) if "negotiated" in f.evidence]


def test_medical_device_talking_to_public_address(scenario: Scenario) -> None:
    public = Endpoint("93.184.216.34", 443, SERVER_MAC)
    hello = b"GET / HTTP/1.1\r\nHost: vendor.example\r\n\r\n"
    scenario.flow(http.DISSECTOR, tcp_payload(hello, server=public))
    pump = scenario.run(EXPOSURE, {CLIENT_ID: DeviceCategory.INFUSION_PUMP})
    assert [(f.device, f.detail_key) for f in pump] == [(CLIENT_ID, "peer:93.184.216.34")]
    workstation = scenario.run(EXPOSURE, {CLIENT_ID: DeviceCategory.WORKSTATION})
    assert workstation == []


def test_pump_beside_workstation_is_flat_network(scenario: Scenario) -> None:
    categories = {CLIENT_ID: DeviceCategory.INFUSION_PUMP, SERVER_ID: DeviceCategory.WORKSTATION}
    findings = scenario.run(FLAT, categories)
    assert [(f.device, f.detail_key) for f in findings] == [(CLIENT_ID, "segment:192.0.2.0/24")]
    apart = {CLIENT_ID: DeviceCategory.INFUSION_PUMP, SERVER_ID: DeviceCategory.SERVER}
    assert scenario.run(FLAT, apart) == []


def _accept(called: str, ts: float) -> DicomAssociationAccept:
    return DicomAssociationAccept(
        ts=ts,
        flow_id=int(ts),
        client=Endpoint("192.0.2.10", 50000, CLIENT_MAC),
        server=Endpoint("192.0.2.20", 104, SERVER_MAC),
        calling_ae="CT01",
        called_ae=called,
        protocol_version=1,
    )


def test_dicom_scp_accepting_any_called_ae(scenario: Scenario) -> None:
    scenario.observations += [_accept("PACS", 1.0), _accept("ANYTHING", 2.0)]
    findings = scenario.run(WEAK_AUTH)
    assert [(f.kind.value, f.device) for f in findings] == [("weak-authentication", SERVER_ID)]


def test_dicom_scp_with_one_called_ae_is_fine(scenario: Scenario) -> None:
    scenario.observations += [_accept("PACS", 1.0), _accept("PACS", 2.0)]
    assert scenario.run(WEAK_AUTH) == []
