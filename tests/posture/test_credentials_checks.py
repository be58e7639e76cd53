"""Cleartext and default credentials, from telnet, FTP, HTTP, MQTT and SNMP bytes."""

from __future__ import annotations

import struct
from base64 import b64encode
from pathlib import Path

import pytest

from medshield.core.device import device_id_for_mac
from medshield.core.enums import Direction
from medshield.core.errors import BadInputError
from medshield.posture.cleartext_credentials import CHECK as CLEARTEXT
from medshield.posture.credentials import DefaultCredentials
from medshield.posture.default_credentials import CHECK as DEFAULTS
from medshield.posture.insecure_protocol import CHECK as INSECURE
from medshield.protocols import ftp, http, mqtt, snmp, telnet
from medshield.testing.flows import tcp_payload, udp_payload
from medshield.testing.posture import SERVER_MAC, Scenario, evidence_of, kinds_by_device

SERVER_ID = device_id_for_mac(SERVER_MAC)


def telnet_login(user: bytes, password: bytes) -> tuple[bytes, bytes]:
    server = b"\xff\xfb\x01Digi Connect ME\r\nlogin: " + user + b"\r\nPassword: \r\n#> "
    client = b"".join(bytes([c]) for c in user) + b"\r\n" + password + b"\r\n"
    return client, server


def test_telnet_default_password_is_cleartext_default_and_insecure(scenario: Scenario) -> None:
    client, server = telnet_login(b"root", b"dbps")
    scenario.flow(telnet.DISSECTOR, tcp_payload(client, server, server_port=23))
    cleartext = scenario.run(CLEARTEXT)
    defaults = scenario.run(DEFAULTS)
    insecure = scenario.run(INSECURE)
    assert kinds_by_device(cleartext) == {("cleartext-credentials", SERVER_ID)}
    assert kinds_by_device(defaults) == {("default-credentials", SERVER_ID)}
    assert kinds_by_device(insecure) == {("insecure-protocol", SERVER_ID)}
    assert "Digi" in defaults[0].evidence
    for text in (evidence_of(cleartext), evidence_of(defaults)):
        assert "dbps" not in text


def test_unique_password_is_cleartext_but_not_default(scenario: Scenario) -> None:
    client, server = telnet_login(b"biomed", b"Kx9!vQ2#pLm4")
    scenario.flow(telnet.DISSECTOR, tcp_payload(client, server, server_port=23))
    assert scenario.run(DEFAULTS) == []
    findings = scenario.run(CLEARTEXT)
    assert len(findings) == 1
    assert "Kx9!vQ2#pLm4" not in findings[0].evidence
    assert "12 characters" in findings[0].evidence


def test_ftp_login_refused_is_cleartext_but_not_default(scenario: Scenario) -> None:
    server = b"220 FTP server ready\r\n331 Password required\r\n530 Login incorrect\r\n"
    client = b"USER admin\r\nPASS admin\r\n"
    scenario.flow(ftp.DISSECTOR, tcp_payload(client, server, server_port=21))
    assert scenario.run(DEFAULTS) == []
    assert kinds_by_device(scenario.run(CLEARTEXT)) == {("cleartext-credentials", SERVER_ID)}


def test_http_basic_default(scenario: Scenario) -> None:
    token = b64encode(b"admin:admin").decode()
    request = f"GET /config HTTP/1.1\r\nHost: pump\r\nAuthorization: Basic {token}\r\n\r\n"
    response = b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.35\r\nContent-Length: 0\r\n\r\n"
    scenario.flow(http.DISSECTOR, tcp_payload(request.encode(), response))
    assert kinds_by_device(scenario.run(DEFAULTS)) == {("default-credentials", SERVER_ID)}
    assert "admin:admin" not in evidence_of(scenario.run(CLEARTEXT))


def mqtt_connect(client_id: bytes, user: bytes, password: bytes) -> bytes:
    """MQTT 3.1.1 §3.1 CONNECT with user name and password flags."""

    def string(value: bytes) -> bytes:
        return struct.pack(">H", len(value)) + value

    variable = string(b"MQTT") + bytes([4, 0xC2]) + struct.pack(">H", 60)
    body = variable + string(client_id) + string(user) + string(password)
    return bytes([0x10, len(body)]) + body


def test_mqtt_password_exposes_broker(scenario: Scenario) -> None:
    connect = mqtt_connect(b"pump-0042", b"pump", b"S3cret-pump-key")
    connack = bytes([0x20, 2, 0, 0])
    scenario.flow(mqtt.DISSECTOR, tcp_payload(connect, connack, server_port=1883))
    findings = scenario.run(CLEARTEXT)
    assert kinds_by_device(findings) == {("cleartext-credentials", SERVER_ID)}
    assert "S3cret-pump-key" not in findings[0].evidence


def snmp_get_response(community: bytes) -> bytes:
    """SNMPv2c GetResponse (RFC 3416) with sysDescr, BER-encoded per X.690."""

    def tlv(tag: int, value: bytes) -> bytes:
        return bytes([tag, len(value)]) + value

    oid = tlv(0x06, bytes([0x2B, 6, 1, 2, 1, 1, 1, 0]))
    varbind = tlv(0x30, oid + tlv(0x04, b"HP ETHERNET MULTI-ENVIRONMENT"))
    pdu = tlv(
        0xA2, tlv(0x02, b"\x01") + tlv(0x02, b"\x00") + tlv(0x02, b"\x00") + tlv(0x30, varbind)
    )
    return tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, community) + pdu)


@pytest.mark.parametrize(("community", "default"), [(b"public", True), (b"h0sp1t4l-ro", False)])
def test_snmp_agent_answering_community(
    scenario: Scenario, community: bytes, default: bool
) -> None:
    response = snmp_get_response(community)
    payload = udp_payload([(Direction.SERVER_TO_CLIENT, response)], server_port=161)
    scenario.flow(snmp.DISSECTOR, payload)
    assert kinds_by_device(scenario.run(INSECURE)) == {("insecure-protocol", SERVER_ID)}
    found = kinds_by_device(scenario.run(DEFAULTS))
    assert found == ({("default-credentials", SERVER_ID)} if default else set())


def test_user_credential_list_in_defaultcreds_format(tmp_path: Path) -> None:
    extra = tmp_path / "creds.csv"
    extra.write_text("productvendor,username,password\nAcme Infusion,service,acme2019\n")
    table = DefaultCredentials.shipped().with_file(extra)
    import hashlib

    digest = hashlib.sha256(b"acme2019").hexdigest()
    found = table.match("telnet", "service", digest)
    assert found is not None and found.vendor == "Acme Infusion"
    assert table.match("telnet", "other-user", digest) is None


def test_credential_list_without_columns_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(BadInputError, match=r"broken\.csv"):
        DefaultCredentials.shipped().with_file(bad)
