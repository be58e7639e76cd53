"""Findings on real credential, SNMP and TLS captures, checked against what tshark decodes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from medshield.testing.cli import assess_json
from medshield.testing.environment import require_shared
from medshield.testing.pcaps import tshark_fields


@pytest.mark.parametrize(
    ("relative", "kinds"),
    [
        ("pcap/iot/ndpi/telnet.pcap", {"cleartext-credentials", "insecure-protocol"}),
        ("pcap/iot/ndpi/ftp.pcap", {"cleartext-credentials", "insecure-protocol"}),
        ("pcap/iot/ndpi/http-basic-auth.pcap", {"cleartext-credentials"}),
        ("pcap/iot/ndpi/mqtt.pcap", {"cleartext-credentials"}),
        ("pcap/iot/ndpi/snmp.pcap", {"default-credentials", "insecure-protocol"}),
        ("pcap/iot/zeek/tls/tls1_1.pcap", {"weak-tls"}),
        ("pcap/iot/ndpi/selfsigned.pcap", {"weak-tls"}),
    ],
)
def test_expected_finding_kinds(relative: str, kinds: set[str], tmp_path: Path) -> None:
    document = assess_json(require_shared(relative), tmp_path)
    assert {f["kind"] for f in document["findings"]} == kinds


def _evidence(document: dict[str, object]) -> str:
    return " | ".join(f["evidence"] for f in document["findings"])  # type: ignore[attr-defined,index]


def test_ftp_and_http_users_are_those_tshark_shows(tshark: str, tmp_path: Path) -> None:
    ftp = require_shared("pcap/iot/ndpi/ftp.pcap")
    users = {
        arg
        for command, arg in tshark_fields(tshark, ftp, ["ftp.request.command", "ftp.request.arg"])
        if command == "USER"
    }
    assert users
    text = _evidence(assess_json(ftp, tmp_path / "ftp"))
    assert all(f"user {user!r}" in text for user in users)
    basic = require_shared("pcap/iot/ndpi/http-basic-auth.pcap")
    decoded = {row[0] for row in tshark_fields(tshark, basic, ["http.authbasic"]) if row[0]}
    assert decoded
    text = _evidence(assess_json(basic, tmp_path / "http"))
    for credential in decoded:
        user, _, password = credential.partition(":")
        assert f"user {user!r}" in text
        assert password not in text.replace(f"{user!r}", "")


def test_mqtt_users_match_tshark(tshark: str, tmp_path: Path) -> None:
    capture = require_shared("pcap/iot/ndpi/mqtt.pcap")
    users = {row[0] for row in tshark_fields(tshark, capture, ["mqtt.username"]) if row[0]}
    assert users
    text = _evidence(assess_json(capture, tmp_path))
    assert all(f"user {user!r}" in text for user in users)


def test_snmp_community_redacted_as_tshark_decodes_it(tshark: str, tmp_path: Path) -> None:
    capture = require_shared("pcap/iot/ndpi/snmp.pcap")
    communities = {row[0] for row in tshark_fields(tshark, capture, ["snmp.community"]) if row[0]}
    assert "public" in communities
    text = _evidence(assess_json(capture, tmp_path))
    assert "community pu*** (6 characters)" in text
    assert "public" not in text


def test_tls_versions_and_names_match_tshark(tshark: str, tmp_path: Path) -> None:
    capture = require_shared("pcap/iot/zeek/tls/tls-expired-cert.pcap")
    rows = tshark_fields(tshark, capture, ["tls.handshake.version"], "tls.handshake.type == 2")
    versions = {row[0] for row in rows}
    assert versions == {"0x0301"}
    text = _evidence(assess_json(capture, tmp_path))
    assert "server negotiated TLS 1.0" in text
    names = {
        value
        for row in tshark_fields(tshark, capture, ["x509sat.uTF8String", "x509sat.printableString"])
        for cell in row
        for value in cell.split(",")
    }
    expired = re.findall(r"certificate '([^']+)' expired", text)
    assert expired
    assert set(expired) <= names
