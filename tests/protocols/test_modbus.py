"""Modbus/TCP dissector: ADUs encoded here from the MBAP header and Modbus Application
Protocol v1.1b3 PDUs (§6, §6.21, §7), and the zeek and nDPI captures compared with tshark."""

from __future__ import annotations

import struct
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medshield.core.errors import DissectorError
from medshield.protocols import modbus
from medshield.testing.environment import require_shared
from medshield.testing.flows import tcp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import flows_to_port, tshark_fields


def adu(transaction: int, unit: int, pdu: bytes) -> bytes:
    """MBAP: transaction id, protocol id 0, length (unit id + PDU), unit id; then the PDU."""
    return struct.pack("!HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


def device_id_objects(*objects: tuple[int, bytes]) -> bytes:
    return b"".join(bytes((object_id, len(value))) + value for object_id, value in objects)


def device_id_response(objects: bytes, count: int) -> bytes:
    """§6.21 response: 0x2B, MEI 0x0E, read code 1, conformity 0x81, more 0, next 0, count."""
    return bytes((0x2B, 0x0E, 0x01, 0x81, 0x00, 0x00, count)) + objects


IDENTITY = device_id_objects(
    (0x00, b"Acme Medical"),
    (0x01, b"PX-200"),
    (0x02, b"V2.11"),
    (0x04, b"Pump Controller"),
    (0x05, b"PX-200-ICU"),
    (0x80, b"private"),
)

CLIENT = (
    adu(1, 1, struct.pack("!BHH", 3, 0x0000, 10))  # read holding registers
    + adu(2, 1, struct.pack("!BHH", 6, 0x0010, 0x00FF))  # write single register
    + adu(3, 7, struct.pack("!BHH", 3, 0xFFFF, 10))
    + adu(4, 1, bytes((0x2B, 0x0E, 0x01, 0x00)))  # read device identification, basic
)
SERVER = (
    adu(1, 1, bytes((3, 20)) + bytes(20))
    + adu(2, 1, struct.pack("!BHH", 6, 0x0010, 0x00FF))
    + adu(3, 7, bytes((0x83, 0x02)))  # illegal data address (§7)
    + adu(4, 1, device_id_response(IDENTITY, 6))
)


def run(client: bytes, server: bytes) -> list[object]:
    return list(modbus.dissect(tcp_payload(client, server, server_port=502)))


def test_session_summary() -> None:
    session, identification = run(CLIENT, SERVER)
    assert isinstance(session, modbus.ModbusSession)
    assert session.unit_ids == (1, 7)
    assert session.function_codes == (3, 6, 43)
    assert (session.requests, session.responses) == (4, 4)
    assert session.writes
    assert session.exceptions == (modbus.ModbusException(3, 7, 3, 2),)
    assert isinstance(identification, modbus.ModbusDeviceIdentification)


def test_read_device_identification() -> None:
    identification = run(CLIENT, SERVER)[1]
    assert isinstance(identification, modbus.ModbusDeviceIdentification)
    assert (identification.transaction_id, identification.unit_id) == (4, 1)
    assert identification.conformity_level == 0x81
    assert identification.vendor_name == "Acme Medical"
    assert identification.product_code == "PX-200"
    assert identification.revision == "V2.11"
    assert identification.product_name == "Pump Controller"
    assert identification.model_name == "PX-200-ICU"
    assert identification.vendor_url is None


def test_object_running_past_the_pdu_keeps_earlier_objects() -> None:
    objects = device_id_objects((0x00, b"Acme")) + bytes((0x01, 200)) + b"PX"
    _, identification = run(b"", adu(9, 1, device_id_response(objects, 3)))
    assert isinstance(identification, modbus.ModbusDeviceIdentification)
    assert identification.vendor_name == "Acme" and identification.product_code is None


def test_huge_object_count_is_bounded_by_the_pdu() -> None:
    _, identification = run(b"", adu(9, 1, device_id_response(device_id_objects((0, b"A")), 255)))
    assert isinstance(identification, modbus.ModbusDeviceIdentification)
    assert identification.vendor_name == "A"


def test_reading_stops_at_an_invalid_header() -> None:
    tail = struct.pack("!HHHB", 5, 0x1234, 6, 1) + b"\x03\x00\x00\x00\x01"
    (session,) = run(adu(1, 1, struct.pack("!BHH", 1, 0, 8)) + tail, b"")
    assert isinstance(session, modbus.ModbusSession)
    assert session.requests == 1 and not session.writes


def test_cut_adu_is_left_out() -> None:
    (session,) = run(CLIENT[:-3], b"")
    assert isinstance(session, modbus.ModbusSession) and session.requests == 3


def test_non_modbus_bytes_raise_dissector_error() -> None:
    with pytest.raises(DissectorError, match="MBAP"):
        modbus.dissect(tcp_payload(b"\x16\x03\x01\x00\x85\x01\x00", b"", server_port=502))


def test_probe() -> None:
    assert modbus.looks_like_modbus(CLIENT)
    assert not modbus.looks_like_modbus(adu(1, 1, bytes((0x5A, 0x00))))  # not a public code
    assert not modbus.looks_like_modbus(CLIENT[:9])  # the ADU is not all there
    assert not modbus.looks_like_modbus(b"GET / HTTP/1.1\r\n")


MODBUS_CAPTURES = [
    "iot/zeek/modbus/4SICS-GeekLounge-151022-min.pcap",
    "iot/zeek/modbus/modbus-and-non-modbus-p502.pcap",
    "iot/zeek/modbus/modbusSmall.pcap",
    "iot/ndpi/modbus.pcap",
]


@pytest.mark.tshark
@pytest.mark.parametrize("capture", MODBUS_CAPTURES)
def test_captures_match_tshark(capture: str, tshark: str) -> None:
    """Request and response counts, request function codes, unit ids and exceptions."""
    path = require_shared(f"pcap/{capture}")
    fields = [
        "tcp.dstport",
        "mbtcp.trans_id",
        "mbtcp.unit_id",
        "modbus.func_code",
        "modbus.exception_code",
    ]
    requests = responses = 0
    codes: set[int] = set()
    units: set[int] = set()
    exceptions: set[tuple[int, int, int, int]] = set()
    for port, transaction, unit, code, exception in tshark_fields(tshark, path, fields, "mbtcp"):
        units.add(int(unit))
        if port == "502":
            requests += 1
            codes.add(int(code))
        else:
            responses += 1
        if exception:
            exceptions.add((int(transaction), int(unit), int(code), int(exception)))

    sessions = [
        item
        for payload in flows_to_port(path, 502)
        for item in dissect_or_reject(modbus.dissect, payload)
        if isinstance(item, modbus.ModbusSession)
    ]
    assert requests
    assert sum(s.requests for s in sessions) == requests
    assert sum(s.responses for s in sessions) == responses
    assert {code for s in sessions for code in s.function_codes} == codes
    assert {unit for s in sessions for unit in s.unit_ids} == units
    assert {
        (e.transaction_id, e.unit_id, e.function_code, e.exception_code)
        for s in sessions
        for e in s.exceptions
    } == exceptions


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(st.binary(max_size=600), st.binary(max_size=600))
def test_random_bytes_never_raise_anything_else(client: bytes, server: bytes) -> None:
    dissect_or_reject(modbus.dissect, tcp_payload(client, server, server_port=502))


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(mutated(CLIENT), mutated(SERVER))
def test_mutated_sessions_never_raise_anything_else(client: bytes, server: bytes) -> None:
    dissect_or_reject(modbus.dissect, tcp_payload(client, server, server_port=502))
