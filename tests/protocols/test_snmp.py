"""SNMP dissector: messages BER-encoded here from RFC 1157/3416 (X.690 rules), hostile BER,
and the zeek and ndpi SNMP captures compared with tshark."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medshield.core.enums import Direction
from medshield.core.errors import DissectorError
from medshield.protocols import snmp
from medshield.testing.environment import require_shared, require_tool
from medshield.testing.flows import udp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import merge_captures, read_flow_payloads, tshark_fields


def tlv(tag: int, value: bytes, *, long_form: bool = False) -> bytes:
    """X.690 §8.1: identifier, definite length (short, or long when asked), contents."""
    if len(value) < 0x80 and not long_form:
        return bytes((tag, len(value))) + value
    length = len(value).to_bytes(2, "big")
    return bytes((tag, 0x80 | len(length))) + length + value


def integer(number: int, tag: int = 0x02) -> bytes:
    size = max(1, (number.bit_length() + 8) // 8)
    return tlv(tag, number.to_bytes(size, "big", signed=True))


def oid(dotted: str) -> bytes:
    """X.690 §8.19: first two arcs as 40*X+Y, then base-128 sub-identifiers."""
    arcs = [int(arc) for arc in dotted.split(".")]
    encoded = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.insert(0, 0x80 | (rest & 0x7F))
            rest >>= 7
        encoded += bytes(chunk)
    return tlv(0x06, bytes(encoded))


def octets(text: bytes) -> bytes:
    return tlv(0x04, text)


def varbinds(*pairs: tuple[str, bytes]) -> bytes:
    return tlv(0x30, b"".join(tlv(0x30, oid(name) + value) for name, value in pairs))


def message(version: int, community: bytes, pdu_tag: int, body: bytes, **kwargs: bool) -> bytes:
    return tlv(0x30, integer(version) + octets(community) + tlv(pdu_tag, body, **kwargs))


def pdu_body(request_id: int, *pairs: tuple[str, bytes]) -> bytes:
    return integer(request_id) + integer(0) + integer(0) + varbinds(*pairs)


def identity_response() -> bytes:
    """A v2c GetResponse carrying sysDescr, sysObjectID, sysName and other value types."""
    return message(
        1,
        b"public",
        0xA2,
        pdu_body(
            4242,
            (snmp.SYS_DESCR, octets(b"Acme Infusion Gateway v3.2.1 (build 77)")),
            (snmp.SYS_OBJECT_ID, oid("1.3.6.1.4.1.99999.1.2")),
            (snmp.SYS_NAME, octets(b"gw-icu-3")),
            ("1.3.6.1.2.1.1.3.0", integer(123456, tag=0x43)),
            ("1.3.6.1.2.1.4.20.1.1.192.0.2.9", tlv(0x40, bytes((192, 0, 2, 9)))),
            ("1.3.6.1.2.1.2.2.1.6.1", octets(bytes.fromhex("00a0f8112233"))),
            ("1.3.6.1.2.1.31.1.1.1.6.1", integer(2**40, tag=0x46)),
            ("1.3.6.1.2.1.1.9.0", tlv(0x80, b"")),
        ),
        long_form=True,
    )


def parse_one(data: bytes) -> snmp.SnmpMessage:
    (found,) = snmp.dissect(udp_payload([data], server_port=161))
    assert isinstance(found, snmp.SnmpMessage)
    return found


def test_v2c_response_identity_and_value_types() -> None:
    found = parse_one(identity_response())
    assert (found.version, found.version_label) == (1, "v2c")
    assert found.community == "public"
    assert found.pdu_type == "response"
    assert found.request_id == 4242 and found.error_status == 0
    assert found.sys_descr == "Acme Infusion Gateway v3.2.1 (build 77)"
    assert found.sys_object_id == "1.3.6.1.4.1.99999.1.2"
    assert found.sys_name == "gw-icu-3"
    values = {varbind.oid: (varbind.value_type, varbind.value) for varbind in found.varbinds}
    assert values["1.3.6.1.2.1.1.3.0"] == ("timeticks", 123456)
    assert values["1.3.6.1.2.1.4.20.1.1.192.0.2.9"] == ("ip-address", "192.0.2.9")
    assert values["1.3.6.1.2.1.2.2.1.6.1"] == ("octet-string", "00:a0:f8:11:22:33")
    assert values["1.3.6.1.2.1.31.1.1.1.6.1"] == ("counter64", 2**40)
    assert values["1.3.6.1.2.1.1.9.0"] == ("no-such-object", None)
    assert found.complete


def test_community_is_kept_and_redacted() -> None:
    found = parse_one(message(0, b"private", 0xA0, pdu_body(1, (snmp.SYS_NAME, tlv(0x05, b"")))))
    assert found.version_label == "v1"
    assert found.community == "private"
    assert found.community_secret is not None
    assert found.community_secret.redacted == "pr***"
    assert found.community_secret.sha256 == hashlib.sha256(b"private").hexdigest()
    assert found.pdu_type == "get-request"
    assert found.sys_name is None  # a request names the OID, it does not report a value


def test_v1_trap_pdu() -> None:
    """RFC 1157 §4.1.6: enterprise, agent-addr, generic, specific, time-stamp, bindings."""
    body = (
        oid("1.3.6.1.4.1.99999.2")
        + tlv(0x40, bytes((192, 0, 2, 33)))
        + integer(6)
        + integer(17)
        + integer(1000, tag=0x43)
        + varbinds(("1.3.6.1.4.1.99999.2.1", integer(-5)))
    )
    found = parse_one(message(0, b"public", 0xA4, body))
    assert found.pdu_type == "trap"
    assert found.trap_enterprise == "1.3.6.1.4.1.99999.2"
    assert found.agent_address == "192.0.2.33"
    assert [(v.oid, v.value) for v in found.varbinds] == [("1.3.6.1.4.1.99999.2.1", -5)]
    assert found.request_id is None


def test_v3_reports_only_its_version() -> None:
    v3 = tlv(
        0x30, integer(3) + tlv(0x30, integer(1) + integer(1500) + octets(b"\x04") + integer(3))
    )
    found = parse_one(v3)
    assert found.version_label == "v3"
    assert found.community is None and found.community_secret is None and found.pdu_type is None


def test_cut_datagram_keeps_what_was_read() -> None:
    whole = identity_response()
    found = parse_one(whole[:-40])
    assert not found.complete
    assert found.request_id == 4242
    assert found.sys_descr == "Acme Infusion Gateway v3.2.1 (build 77)"
    assert 3 <= len(found.varbinds) < 8


def test_varbinds_are_capped() -> None:
    many = [(f"1.3.6.1.2.1.2.2.1.1.{index}", integer(index)) for index in range(200)]
    found = parse_one(message(1, b"public", 0xA2, pdu_body(9, *many), long_form=True))
    assert len(found.varbinds) == snmp.MAX_VARBINDS


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x30\x82\xff\xff\x02\x01\x00", "cut short"),  # cut datagram, no community
        (tlv(0x30, integer(1) + b"\x04\x50abc"), "past its enclosing"),
        (b"\x30\x80\x02\x01\x00\x00\x00", "not allowed"),  # indefinite form (RFC 3417 §8)
        (b"\x30\x85\x00\x00\x00\x00\x01\x00", "not allowed"),  # five length octets
        (b"\x04\x03abc", "not a SEQUENCE"),
        (tlv(0x30, integer(2) + octets(b"x")), "version 2 unknown"),
        (tlv(0x30, integer(1) + octets(b"x") + tlv(0xA9, b"")), "PDU tag"),
        (b"\x3f\x81\x01\x00", "high tag"),
    ],
)
def test_hostile_ber_is_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(DissectorError, match=reason):
        snmp.dissect(udp_payload([data], server_port=161))


def test_oid_and_integer_limits() -> None:
    huge_arc = tlv(0x06, b"\x2b" + b"\xff" * 6 + b"\x01")
    with pytest.raises(DissectorError, match="too large"):
        snmp.decode_oid(huge_arc, snmp.read_tlv(huge_arc, 0, len(huge_arc)))
    unterminated = tlv(0x06, b"\x2b\x86")
    with pytest.raises(DissectorError, match="cut short"):
        snmp.decode_oid(unterminated, snmp.read_tlv(unterminated, 0, len(unterminated)))
    wide = tlv(0x02, b"\x01" * 20)
    with pytest.raises(DissectorError):
        snmp.decode_integer(wide, snmp.read_tlv(wide, 0, len(wide)))
    bad_value = message(1, b"public", 0xA2, pdu_body(1, (snmp.SYS_NAME, tlv(0x02, b"\x01" * 20))))
    assert not parse_one(bad_value).complete


def test_probe() -> None:
    assert snmp.looks_like_snmp(identity_response())
    assert not snmp.looks_like_snmp(b"\x30\x03\x02\x01\x02")
    cldap_search = tlv(0x30, integer(1) + tlv(0x63, octets(b"")))  # RFC 1798 / RFC 4511 §4.2
    assert not snmp.looks_like_snmp(cldap_search)
    assert snmp.looks_like_snmp(tlv(0x30, integer(3) + tlv(0x30, integer(7))))
    assert not snmp.looks_like_snmp(b"GET / HTTP/1.1\r\n")


PDU_INDEX = {name: index for index, name in enumerate(snmp.PDU_TYPES.values())}
SNMP_CAPTURES = [
    "iot/zeek/snmp/snmpv1_get.pcap",
    "iot/zeek/snmp/snmpv1_set.pcap",
    "iot/zeek/snmp/snmpv1_trap.pcap",
    "iot/zeek/snmp/snmpv2_get.pcap",
    "iot/zeek/snmp/snmpv2_get_bulk.pcap",
    "iot/zeek/snmp/snmpv2_get_next.pcap",
    "iot/zeek/snmp/snmpv3_get_next.pcap",
    "iot/zeek/snmp/snmpwalk-short.pcap",
    "iot/ndpi/snmp.pcap",
]
FIELDS = [
    "snmp.version",
    "snmp.msgVersion",
    "snmp.community",
    "snmp.data",
    "snmp.request_id",
    "snmp.name",
    "snmp.value.octets",
    "snmp.value.oid",
]


def _ours(path: Path) -> list[snmp.SnmpMessage]:
    found = []
    for payload in read_flow_payloads(path):
        ports = {payload.flow.client.port, payload.flow.server.port}
        if ports & snmp.SIGNATURE.ports:
            found += [item for item in snmp.dissect(payload) if isinstance(item, snmp.SnmpMessage)]
    return found


def _reported(names: list[str], texts: list[str], object_ids: list[str]) -> set[tuple[str, str]]:
    """sysDescr/sysName/sysObjectID values of a response, where tshark's value lists line up
    with its OIDs (every value of the same type)."""
    found: set[tuple[str, str]] = set()
    if len(texts) == len(names):
        found |= {
            (name, bytes.fromhex(text).decode())
            for name, text in zip(names, texts, strict=True)
            if name in (snmp.SYS_DESCR, snmp.SYS_NAME) and text
        }
    if len(object_ids) == len(names):
        found |= {
            (name, value)
            for name, value in zip(names, object_ids, strict=True)
            if name == snmp.SYS_OBJECT_ID and value
        }
    return found


@pytest.fixture(scope="module")
def all_captures(tshark: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every SNMP capture merged into one file, so that tshark starts once."""
    paths = [require_shared(f"pcap/{name}") for name in SNMP_CAPTURES]
    out = tmp_path_factory.mktemp("snmp") / "all.pcapng"
    return merge_captures(require_tool("mergecap"), paths, out)


@pytest.mark.tshark
def test_captures_match_tshark(all_captures: Path, tshark: str) -> None:
    """Version, community, PDU type, request id and OIDs of every message; sysDescr,
    sysObjectID and sysName of responses."""
    path = all_captures
    expected = []
    identity: set[tuple[str, str]] = set()
    for version, v3, community, pdu, request_id, names, text, object_id in tshark_fields(
        tshark, path, FIELDS, "snmp"
    ):
        is_v3 = v3 == "3"
        expected.append(
            (
                3 if is_v3 else int(version),
                None if is_v3 else community,
                None if is_v3 else int(pdu),
                int(request_id) if request_id and not is_v3 else None,
                tuple(names.split(",")) if names and not is_v3 else (),
            )
        )
        if pdu == "2":
            identity |= _reported(names.split(","), text.split(","), object_id.split(","))
    ours = _ours(path)
    assert len(expected) >= 50
    assert {row[0] for row in expected} == {0, 1, 3}
    rows = [
        (
            m.version,
            m.community,
            None if m.pdu_type is None else PDU_INDEX[m.pdu_type],
            m.request_id,
            tuple(v.oid for v in m.varbinds),
        )
        for m in ours
    ]
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    our_identity = {(snmp.SYS_DESCR, m.sys_descr) for m in ours if m.sys_descr}
    our_identity |= {(snmp.SYS_NAME, m.sys_name) for m in ours if m.sys_name}
    our_identity |= {(snmp.SYS_OBJECT_ID, m.sys_object_id) for m in ours if m.sys_object_id}
    assert our_identity == identity


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(st.binary(max_size=600))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    dissect_or_reject(snmp.dissect, udp_payload([data], server_port=161))


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(
    mutated(
        identity_response(),
        message(0, b"public", 0xA4, oid("1.3.6.1.4.1.9") + b"\x40\x04\xc0\x00\x02\x01"),
    )
)
def test_mutated_messages_never_raise_anything_else(data: bytes) -> None:
    payload = udp_payload([(Direction.SERVER_TO_CLIENT, data)], server_port=161)
    dissect_or_reject(snmp.dissect, payload)
