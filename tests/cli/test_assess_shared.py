"""``medshield assess`` on real third-party captures, compared with what tshark decodes."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import pytest

from medshield.testing.cli import assess_json
from medshield.testing.environment import require_shared
from medshield.testing.pcaps import tshark_fields

DHCP_CLIENT_MESSAGES = " || ".join(f"dhcp.option.dhcp == {kind}" for kind in (1, 3, 4, 7, 8))
"""DISCOVER, REQUEST, DECLINE, RELEASE, INFORM: the messages a client names itself in."""


def _dhcp_captures() -> list[str]:
    return [
        "dhcp/dhcp.pcap",
        "dhcp/dhcp_inform.pcap",
        "dhcp/dhcp_ack_subscriber_id_and_agent_remote_id.pcap",
        "dhcp/dhcp_time_and_nameserver.pcap",
        "dhcp/dhcp_discover_param_req_and_client_id.pcap",
    ]


@pytest.mark.parametrize("name", _dhcp_captures())
def test_dhcp_hostnames_and_vendor_classes_match_tshark(
    name: str, tshark: str, tmp_path: Path
) -> None:
    capture = require_shared(f"pcap/iot/zeek/{name}")
    rows = tshark_fields(
        tshark,
        capture,
        ["dhcp.hw.mac_addr", "dhcp.option.hostname", "dhcp.option.vendor_class_id"],
        DHCP_CLIENT_MESSAGES,
    )
    expected_hosts = {host for _, host, _ in rows if host}
    expected_classes = {vendor for _, _, vendor in rows if vendor}
    document = assess_json(capture, tmp_path)
    found_hosts = {h for d in document["devices"] for h in d["identifiers"]["hostname"]}
    found_classes = {v for d in document["devices"] for v in d["identifiers"]["dhcp_vendor_class"]}
    assert expected_hosts <= found_hosts
    assert found_classes == expected_classes


def test_hl7_capture_senders_types_and_phi(tshark: str, tmp_path: Path) -> None:
    capture = require_shared("pcap/medical/ndpi/hl7.pcap")
    ports = {row[0] for row in tshark_fields(tshark, capture, ["tcp.dstport"], "tcp.len > 0")}
    decode_as = [arg for port in sorted(ports) for arg in ("-d", f"tcp.port=={port},hl7")]
    command = [tshark, "-r", str(capture), *decode_as, "-Y", "hl7", "-T", "pdml"]
    pdml = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    headers = _msh_fields(pdml)
    tshark_apps = {fields[3].split("^")[0] for fields in headers if fields.get(3)}
    tshark_facilities = {fields[4].split("^")[0] for fields in headers if fields.get(4)}
    tshark_types = {fields[9] for fields in headers if fields.get(9)}
    assert {"ADT^A01", "ORM^O01", "ORU^R01"} <= tshark_types
    document = assess_json(capture, tmp_path)
    identifiers = [d["identifiers"] for d in document["devices"]]
    applications = {a.split("^")[0] for i in identifiers for a in i["hl7_application"]}
    facilities = {f.split("^")[0] for i in identifiers for f in i["hl7_facility"]}
    assert applications >= tshark_apps
    assert facilities >= tshark_facilities
    phi = [f for f in document["findings"] if f["kind"] == "cleartext-phi"]
    assert phi
    sent = {
        value["value"]
        for d in document["devices"]
        for value in d["evidence"].get("hl7_message_type", [])
    }
    assert sent >= tshark_types - {"ACK"}


_PDML_FIELD = re.compile(r'name="hl7\.(segment|field)" showname="([^"]*)"')


def _msh_fields(pdml: str) -> list[dict[int, str]]:
    """MSH fields by number, per message, from tshark's PDML ("field 3: SENDING_APP")."""
    messages: list[dict[int, str]] = []
    in_msh = False
    for kind, shown in _PDML_FIELD.findall(html.unescape(pdml)):
        if kind == "segment":
            in_msh = shown.startswith("MSH")
            if in_msh:
                messages.append({})
        elif in_msh and shown.startswith("field "):
            number, _, value = shown.removeprefix("field ").partition(": ")
            messages[-1][int(number)] = value
    return messages


def test_dicom_capture_ae_titles_match_tshark(tshark: str, tmp_path: Path) -> None:
    capture = require_shared("pcap/medical/ndpi/dicom.pcap")
    rows = tshark_fields(tshark, capture, ["dicom.assoc.ae.calling", "dicom.assoc.ae.called"])
    calling = {c.strip() for row in rows for c in row[0].split(",") if c.strip()}
    called = {c.strip() for row in rows for c in row[1].split(",") if c.strip()}
    assert calling and called
    document = assess_json(capture, tmp_path)
    titles = {t.strip() for d in document["devices"] for t in d["identifiers"]["dicom_ae"]}
    assert calling | called <= titles
