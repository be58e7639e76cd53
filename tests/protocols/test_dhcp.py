"""DHCP dissector: RFC 2131/2132 layouts encoded here, and every capture of iot/zeek/dhcp
compared with tshark."""

from __future__ import annotations

import socket
import struct
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medshield.core.enums import Direction
from medshield.core.errors import DissectorError
from medshield.protocols import dhcp
from medshield.testing.environment import require_shared, require_tool
from medshield.testing.flows import udp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import flows_to_port, merge_captures, tshark_fields

MAC = bytes.fromhex("00a0f8112233")
COOKIE = bytes((99, 130, 83, 99))


def bootp_header(
    *,
    op: int = 1,
    xid: int = 0x1234ABCD,
    ciaddr: str = "0.0.0.0",
    yiaddr: str = "0.0.0.0",
    sname: bytes = b"",
    file: bytes = b"",
) -> bytes:
    """The 236-byte fixed part of RFC 2131 §2, figure 1."""
    return struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        op,
        1,
        6,
        0,
        xid,
        0,
        0x8000,
        socket.inet_aton(ciaddr),
        socket.inet_aton(yiaddr),
        socket.inet_aton("0.0.0.0"),
        socket.inet_aton("0.0.0.0"),
        MAC,
        sname,
        file,
    )


def option(code: int, value: bytes) -> bytes:
    """One option in the code/length/value form of RFC 2132 §2."""
    return bytes((code, len(value))) + value


def discover() -> bytes:
    """A DHCPDISCOVER with the options a device identifies itself with."""
    fqdn_wire = b"\x07pump-07\x03icu\x07example\x00"
    return (
        bootp_header()
        + COOKIE
        + option(53, b"\x01")
        + option(61, b"\x01" + MAC)
        + option(50, socket.inet_aton("192.0.2.77"))
        + option(12, b"pump-07\x00")
        + option(60, b"Acme-Infusion 2.1")
        + option(55, bytes((1, 3, 6, 15, 119, 252)))
        + option(81, b"\x05\x00\x00" + fqdn_wire)
        + b"\xff"
        + b"\x00" * 20
    )


def dissect_one(message: bytes) -> dhcp.DhcpMessage:
    (found,) = dhcp.dissect(udp_payload([message], server_port=67, client_port=68))
    assert isinstance(found, dhcp.DhcpMessage)
    return found


def test_discover_options_are_read_per_rfc_2132() -> None:
    message = dissect_one(discover())

    assert message.op == dhcp.BOOTREQUEST
    assert message.message_type_name == "DHCPDISCOVER"
    assert message.xid == 0x1234ABCD
    assert message.client_mac == "00:a0:f8:11:22:33"
    assert message.client_id == "01:00:a0:f8:11:22:33"
    assert message.requested_ip == "192.0.2.77"
    assert message.hostname == "pump-07"
    assert message.vendor_class_id == "Acme-Infusion 2.1"
    assert message.parameter_request_list == (1, 3, 6, 15, 119, 252)
    assert message.fqdn == "pump-07.icu.example"
    assert message.option_codes == (53, 61, 50, 12, 60, 55, 81)
    assert message.ciaddr is None and message.server_id is None
    assert not message.bootp


def test_observation_carries_the_flow() -> None:
    payload = udp_payload([discover()], server_port=67, client_port=68)
    (message,) = dhcp.dissect(payload)
    assert message.flow_id == payload.flow.flow_id
    assert message.client == payload.flow.client
    assert message.server == payload.flow.server
    assert message.ts == payload.datagrams[0].ts
    assert message.kind == "dhcp.message"


def test_ack_reports_server_and_assigned_address() -> None:
    ack = (
        bootp_header(op=2, yiaddr="192.0.2.77")
        + COOKIE
        + option(53, b"\x05")
        + option(54, socket.inet_aton("192.0.2.1"))
        + b"\xff"
    )
    message = dissect_one(ack)
    assert message.message_type_name == "DHCPACK"
    assert message.yiaddr == "192.0.2.77"
    assert message.server_id == "192.0.2.1"


def test_overloaded_file_and_sname_fields_hold_options() -> None:
    """RFC 2132 §9.3: option 52 = 3 moves options into ``file`` then ``sname``."""
    in_file = option(12, b"monitor-3") + b"\xff"
    in_sname = option(60, b"VendorX") + b"\xff"
    message = bootp_header(file=in_file, sname=in_sname) + COOKIE + option(52, b"\x03") + b"\xff"
    found = dissect_one(message)
    assert found.hostname == "monitor-3"
    assert found.vendor_class_id == "VendorX"
    assert found.option_codes == (52, 12, 60)


def test_repeated_option_is_concatenated() -> None:
    """RFC 3396 §5: a long option split over several instances is one value."""
    message = bootp_header() + COOKIE + option(12, b"long-") + option(12, b"name") + b"\xff"
    assert dissect_one(message).hostname == "long-name"


def test_bootp_without_magic_cookie() -> None:
    message = dissect_one(bootp_header(op=2, yiaddr="198.51.100.9") + b"\x00" * 64)
    assert message.bootp
    assert message.message_type is None and message.message_type_name is None
    assert message.yiaddr == "198.51.100.9"
    assert message.option_codes == ()


def test_option_running_past_the_end_keeps_earlier_options() -> None:
    message = bootp_header() + COOKIE + option(12, b"ok-host") + bytes((60, 200)) + b"short"
    found = dissect_one(message)
    assert found.hostname == "ok-host"
    assert found.vendor_class_id is None


@pytest.mark.parametrize(
    ("message", "reason"),
    [(b"\x01\x01\x06", "shorter"), (bytes((7,)) + discover()[1:], "op 7")],
)
def test_malformed_messages_raise_dissector_error(message: bytes, reason: str) -> None:
    with pytest.raises(DissectorError, match=reason):
        dhcp.dissect(udp_payload([message], server_port=67))


def test_a_bad_datagram_does_not_hide_a_good_one() -> None:
    payload = udp_payload(
        [(Direction.CLIENT_TO_SERVER, b"junk"), (Direction.CLIENT_TO_SERVER, discover())],
        server_port=67,
    )
    assert [message.hostname for message in dhcp.dissect(payload)] == ["pump-07"]  # type: ignore[attr-defined]


def test_probe_recognises_the_magic_cookie() -> None:
    assert dhcp.looks_like_dhcp(discover())
    assert not dhcp.looks_like_dhcp(bootp_header())
    assert not dhcp.looks_like_dhcp(b"\x16\x03\x01" + discover()[3:])


def test_signature_and_dissector() -> None:
    assert dhcp.DISSECTOR.name == "dhcp"
    assert dhcp.SIGNATURE.ports == frozenset({67, 68})


DHCP_CAPTURES = [
    "iot/zeek/dhcp/dhcp.pcap",
    "iot/zeek/dhcp/dhcp_ack_subscriber_id_and_agent_remote_id.pcap",
    "iot/zeek/dhcp/dhcp_discover_param_req_and_client_id.pcap",
    "iot/zeek/dhcp/dhcp_inform.pcap",
    "iot/zeek/dhcp/dhcp_time_and_nameserver.pcap",
    "iot/chrissanders/dhcp_inlease_renewal.pcapng",
    "iot/chrissanders/dhcp_nolease_initialization.pcapng",
]
TSHARK_FIELDS = [
    "dhcp.id",
    "dhcp.option.dhcp",
    "dhcp.hw.mac_addr",
    "dhcp.option.hostname",
    "dhcp.option.vendor_class_id",
    "dhcp.option.request_list_item",
    "dhcp.option.requested_ip_address",
    "dhcp.option.dhcp_server_id",
    "dhcp.option.type",
]

Row = tuple[int, int | None, str, str, str, tuple[int, ...], str, str, tuple[int, ...]]


def _tshark_rows(tshark: str, path: Path) -> list[Row]:
    rows: list[Row] = []
    for xid, kind, mac, host, vendor, prl, requested, server_id, codes in tshark_fields(
        tshark, path, TSHARK_FIELDS, "dhcp"
    ):
        rows.append(
            (
                int(xid, 16),
                int(kind) if kind else None,
                mac.split(",")[0],
                host,
                vendor,
                tuple(int(item) for item in prl.split(",") if item),
                requested,
                server_id,
                tuple(int(code) for code in codes.split(",") if code not in ("", "0", "255")),
            )
        )
    return sorted(rows, key=repr)


def _our_rows(path: Path) -> list[Row]:
    rows: list[Row] = []
    for payload in flows_to_port(path, 67):
        for message in dhcp.dissect(payload):
            assert isinstance(message, dhcp.DhcpMessage)
            rows.append(
                (
                    message.xid,
                    message.message_type,
                    message.client_mac or "",
                    message.hostname or "",
                    message.vendor_class_id or "",
                    message.parameter_request_list,
                    message.requested_ip or "",
                    message.server_id or "",
                    message.option_codes,
                )
            )
    return sorted(rows, key=repr)


def test_every_zeek_dhcp_capture_is_compared() -> None:
    folder = require_shared("pcap/iot/zeek/dhcp")
    listed = {name for name in DHCP_CAPTURES if name.startswith("iot/zeek/dhcp/")}
    assert {f"iot/zeek/dhcp/{path.name}" for path in folder.glob("*.pcap*")} == listed


@pytest.fixture(scope="module")
def all_captures(tshark: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every DHCP capture merged into one file, so that tshark starts once."""
    paths = [require_shared(f"pcap/{name}") for name in DHCP_CAPTURES]
    out = tmp_path_factory.mktemp("dhcp") / "all.pcapng"
    return merge_captures(require_tool("mergecap"), paths, out)


@pytest.mark.tshark
def test_captures_match_tshark(all_captures: Path, tshark: str) -> None:
    """Every message of every capture: xid, type, MAC, host name, vendor class, parameter
    request list, requested address, server identifier and option order, as tshark decodes
    them."""
    expected = _tshark_rows(tshark, all_captures)
    assert len(expected) >= 20, "tshark decoded too few DHCP messages"
    assert any(row[3] for row in expected) and any(row[4] for row in expected)
    assert _our_rows(all_captures) == expected


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(st.binary(max_size=600))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    dissect_or_reject(dhcp.dissect, udp_payload([data], server_port=67))


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(
    mutated(
        discover(), bootp_header(file=option(12, b"x") + b"\xff") + COOKIE + option(52, b"\x01")
    )
)
def test_mutated_messages_never_raise_anything_else(data: bytes) -> None:
    dissect_or_reject(dhcp.dissect, udp_payload([data], server_port=67))
