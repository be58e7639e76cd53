"""SSDP dissector: UPnP Device Architecture 2.0 §1 messages written here, and nDPI's M-SEARCH
capture compared with tshark."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medshield.core.enums import Direction
from medshield.core.errors import DissectorError
from medshield.protocols import ssdp
from medshield.testing.environment import require_shared
from medshield.testing.flows import udp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import flows_to_port, tshark_fields

UUID = "2fac1234-31f8-11b4-a222-08002b34c003"

NOTIFY = (
    b"NOTIFY * HTTP/1.1\r\n"
    b"HOST: 239.255.255.250:1900\r\n"
    b"CACHE-CONTROL: max-age=1800\r\n"
    b"LOCATION: http://192.0.2.40:49152/description.xml\r\n"
    b"NT: urn:schemas-upnp-org:device:MediaServer:1\r\n"
    b"NTS: ssdp:alive\r\n"
    b"SERVER: Linux/4.9 UPnP/2.0 AcmeMonitor/5.1\r\n"
    b"USN: uuid:" + UUID.encode() + b"::urn:schemas-upnp-org:device:MediaServer:1\r\n"
    b"\r\n"
)
SEARCH = (
    b"M-SEARCH * HTTP/1.1\r\n"
    b"HOST: 239.255.255.250:1900\r\n"
    b'MAN: "ssdp:discover"\r\n'
    b"MX: 2\r\n"
    b"ST: ssdp:all\r\n"
    b"USER-AGENT: Windows/10.0 UPnP/2.0 Viewer/1.0\r\n"
    b"\r\n"
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"CACHE-CONTROL: max-age=1800\r\n"
    b"EXT:\r\n"
    b"LOCATION: http://192.0.2.40:49152/description.xml\r\n"
    b"SERVER: Linux/4.9 UPnP/2.0 AcmeMonitor/5.1\r\n"
    b"ST: upnp:rootdevice\r\n"
    b"USN: uuid:" + UUID.encode() + b"::upnp:rootdevice\r\n"
    b"\r\n"
)


def parse_one(data: bytes) -> ssdp.SsdpMessage:
    (found,) = ssdp.dissect(udp_payload([data], server_port=1900))
    assert isinstance(found, ssdp.SsdpMessage)
    return found


def test_notify_announcement() -> None:
    found = parse_one(NOTIFY)
    assert found.message_type == ssdp.NOTIFY
    assert found.server_header == "Linux/4.9 UPnP/2.0 AcmeMonitor/5.1"
    assert found.location == "http://192.0.2.40:49152/description.xml"
    assert found.notification_type == "urn:schemas-upnp-org:device:MediaServer:1"
    assert found.notification_subtype == "ssdp:alive"
    assert found.device_uuid == UUID
    assert found.kind == "ssdp.message"


def test_search_and_response() -> None:
    payload = udp_payload(
        [(Direction.CLIENT_TO_SERVER, SEARCH), (Direction.SERVER_TO_CLIENT, RESPONSE)],
        server_port=1900,
    )
    search, response = ssdp.dissect(payload)
    assert isinstance(search, ssdp.SsdpMessage) and isinstance(response, ssdp.SsdpMessage)
    assert (search.message_type, search.search_target) == (ssdp.SEARCH, "ssdp:all")
    assert search.user_agent == "Windows/10.0 UPnP/2.0 Viewer/1.0"
    assert (response.message_type, response.search_target) == (ssdp.RESPONSE, "upnp:rootdevice")
    assert response.server_header == "Linux/4.9 UPnP/2.0 AcmeMonitor/5.1"
    assert response.device_uuid == UUID
    assert response.ts > search.ts


def test_lower_case_field_names_and_bare_lf() -> None:
    found = parse_one(b"NOTIFY * HTTP/1.1\nlocation: http://x/d.xml\nnts: ssdp:byebye\n\n")
    assert found.location == "http://x/d.xml" and found.notification_subtype == "ssdp:byebye"


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n", b"\x00\x01garbage"])
def test_other_datagrams_are_rejected(data: bytes) -> None:
    with pytest.raises(DissectorError):
        ssdp.dissect(udp_payload([data], server_port=1900))


def test_probe() -> None:
    assert ssdp.looks_like_ssdp(SEARCH) and ssdp.looks_like_ssdp(NOTIFY)
    assert not ssdp.looks_like_ssdp(RESPONSE)  # too generic to claim a flow on its own
    assert not ssdp.looks_like_ssdp(b"GET / HTTP/1.1\r\n")


@pytest.mark.tshark
def test_ndpi_m_search_capture_matches_tshark(tshark: str) -> None:
    path = require_shared("pcap/iot/ndpi/ssdp-m-search-ua.pcap")
    rows = tshark_fields(
        tshark, path, ["http.request.method", "http.user_agent", "http.request.line"], "ssdp"
    )
    expected = []
    for method, agent, lines in rows:
        target = next(line[3:].strip() for line in lines.split("\\r\\n,") if line.startswith("ST:"))
        expected.append((method.lower(), agent, target))
    found = [
        (item.message_type, item.user_agent, item.search_target)
        for payload in flows_to_port(path, 1900)
        for item in ssdp.dissect(payload)
        if isinstance(item, ssdp.SsdpMessage)
    ]
    assert expected
    assert found == expected


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(st.binary(max_size=600))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    dissect_or_reject(ssdp.dissect, udp_payload([data], server_port=1900))


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(mutated(NOTIFY, SEARCH, RESPONSE))
def test_mutated_messages_never_raise_anything_else(data: bytes) -> None:
    dissect_or_reject(ssdp.dissect, udp_payload([data], server_port=1900))
