"""DNS/mDNS dissector: RFC 1035 §4 and RFC 6762/6763 messages encoded here, hostile names,
and the mdns.pcap and ndpi dns.pcap captures compared with tshark."""

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
from medshield.protocols import dns
from medshield.testing.environment import require_shared
from medshield.testing.flows import udp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import read_flow_payloads, tshark_fields

QUERY = 0x0100
RESPONSE = 0x8400
"""QR and AA set, RCODE 0 (RFC 1035 §4.1.1)."""


def header(flags: int, qd: int = 0, an: int = 0, ns: int = 0, ar: int = 0, ident: int = 7) -> bytes:
    return struct.pack("!HHHHHH", ident, flags, qd, an, ns, ar)


def name(*labels: str) -> bytes:
    """An uncompressed name (RFC 1035 §3.1)."""
    encoded = b"".join(bytes((len(label.encode()),)) + label.encode() for label in labels)
    return encoded + b"\x00"


def pointer(offset: int) -> bytes:
    """A compression pointer (RFC 1035 §4.1.4)."""
    return struct.pack("!H", 0xC000 | offset)


def record(owner: bytes, rtype: int, rdata: bytes, rclass: int = 1, ttl: int = 120) -> bytes:
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def question(owner: bytes, qtype: int, qclass: int = 1) -> bytes:
    return owner + struct.pack("!HH", qtype, qclass)


def standard_response() -> bytes:
    """device.example.org A? → CNAME to host.example.org (compressed), A 192.0.2.5, TXT."""
    qname = name("device", "example", "org")
    target = b"\x04host" + pointer(12 + 7)  # "host" + "example.org" of the question
    return (
        header(RESPONSE | 0x0100, qd=1, an=3)
        + question(qname, dns.TYPE_A)
        + record(pointer(12), dns.TYPE_CNAME, target)
        + record(pointer(12), dns.TYPE_A, socket.inet_aton("192.0.2.5"))
        + record(pointer(12), dns.TYPE_TXT, b"\x05hello\x03a=b")
    )


def parse(message: bytes, server_port: int = 53) -> list[object]:
    return list(dns.dissect(udp_payload([message], server_port=server_port)))


def only_message(message: bytes, server_port: int = 53) -> dns.DnsMessage:
    found = [item for item in parse(message, server_port) if isinstance(item, dns.DnsMessage)]
    assert len(found) == 1
    return found[0]


def test_response_with_compressed_names() -> None:
    message = only_message(standard_response())
    assert message.protocol == "dns"
    assert message.is_response and message.authoritative and message.rcode == 0
    assert [(q.name, q.type_name) for q in message.questions] == [("device.example.org", "A")]
    assert [(r.name, r.type_name) for r in message.answers] == [
        ("device.example.org", "CNAME"),
        ("device.example.org", "A"),
        ("device.example.org", "TXT"),
    ]
    cname, address, txt = message.answers
    assert cname.target == "host.example.org"
    assert address.address == "192.0.2.5"
    assert txt.text == ("hello", "a=b")
    assert message.complete


def test_name_error_response_code() -> None:
    message = only_message(header(0x8183, qd=1) + question(name("nowhere", "example"), 28))
    assert message.rcode == 3
    assert message.questions[0].type_name == "AAAA"


def test_aaaa_and_srv_records() -> None:
    srv = struct.pack("!HHH", 0, 5, 5060) + name("sip", "example")
    message = only_message(
        header(RESPONSE, an=2)
        + record(
            name("v6", "example"), dns.TYPE_AAAA, socket.inet_pton(socket.AF_INET6, "2001:db8::1")
        )
        + record(name("_sip", "_udp", "example"), dns.TYPE_SRV, srv)
    )
    aaaa, service = message.records
    assert aaaa.address == "2001:db8::1"
    assert (service.target, service.port) == ("sip.example", 5060)


def test_pointer_to_itself_is_refused_without_looping() -> None:
    """A pointer at offset 12 pointing to 12: followed blindly it never ends."""
    message = only_message(header(QUERY, qd=1) + pointer(12) + b"\x00\x01\x00\x01")
    assert message.questions == ()
    assert not message.complete


def test_pointers_forming_a_cycle_are_refused() -> None:
    # label "a" then a pointer back to the label: a → a → a … without the backwards rule
    body = header(QUERY, qd=1) + b"\x01a" + pointer(12) + b"\x00\x01\x00\x01"
    assert not only_message(body).complete
    with pytest.raises(DissectorError, match="backwards"):
        dns.read_name(body, 12)


def test_forward_pointer_is_refused() -> None:
    with pytest.raises(DissectorError):
        dns.read_name(b"\xc0\x02\x00", 0)


def test_name_longer_than_255_octets_is_refused() -> None:
    long_name = name(*(["a" * 63] * 5))
    with pytest.raises(DissectorError, match="too long"):
        dns.read_name(long_name, 0)


def test_huge_counts_stop_at_the_end_of_the_message() -> None:
    body = header(QUERY, qd=65535, an=65535) + question(name("one", "example"), 1)
    message = only_message(body)
    assert [q.name for q in message.questions] == ["one.example"]
    assert not message.complete


def test_rdlength_past_the_end_keeps_earlier_records() -> None:
    body = (
        header(RESPONSE, an=2)
        + record(name("a", "example"), dns.TYPE_A, socket.inet_aton("192.0.2.1"))
        + name("b", "example")
        + struct.pack("!HHIH", 1, 1, 60, 400)
        + b"\x01\x02"
    )
    message = only_message(body)
    assert [r.address for r in message.records] == ["192.0.2.1"]
    assert not message.complete


def test_short_datagram_is_rejected() -> None:
    with pytest.raises(DissectorError, match="shorter than the header"):
        dns.dissect(udp_payload([b"\x00\x01\x02"]))


def mdns_announcement() -> bytes:
    """An RFC 6763 announcement: PTR → instance, SRV, TXT, A (RFC 6762 §8.3)."""
    service = name("_ipp", "_tcp", "local")
    instance = name("Pump v2.1 (ICU)", "_ipp", "_tcp", "local")
    txt = b"".join(
        bytes((len(item),)) + item
        for item in (b"md=Alaris 8015", b"Model=8015-A", b"model=ignored", b"=x", b"qtotal")
    )
    srv = struct.pack("!HHH", 0, 0, 631) + name("pump12", "local")
    return (
        header(0x8400, an=4, ar=1)
        + record(service, dns.TYPE_PTR, instance)
        + record(instance, dns.TYPE_SRV, srv, rclass=0x8001)
        + record(instance, dns.TYPE_TXT, txt, rclass=0x8001)
        + record(name("pump12", "local"), dns.TYPE_A, socket.inet_aton("192.0.2.12"), 0x8001)
        + record(
            name("pump12", "local"), dns.TYPE_AAAA, socket.inet_pton(socket.AF_INET6, "fe80::12")
        )
    )


def test_mdns_announcement_yields_service_and_host() -> None:
    found = parse(mdns_announcement(), server_port=dns.MDNS_PORT)
    message = found[0]
    assert isinstance(message, dns.DnsMessage) and message.protocol == "mdns"
    assert all(record.cache_flush for record in message.records[1:4])
    services = [item for item in found if isinstance(item, dns.MdnsService)]
    hosts = [item for item in found if isinstance(item, dns.MdnsHost)]
    assert len(services) == 1 and len(hosts) == 1
    (service,) = services
    assert service.instance == "Pump v2.1 (ICU)"
    assert service.service == "_ipp._tcp.local"
    assert (service.host, service.port) == ("pump12.local", 631)
    assert service.properties == (
        ("md", "Alaris 8015"),
        ("model", "8015-A"),
        ("qtotal", ""),
    )
    assert service.txt("MD") == "Alaris 8015"
    assert service.addresses == ("192.0.2.12", "fe80::12")
    assert hosts[0].hostname == "pump12.local"
    assert hosts[0].addresses == ("192.0.2.12", "fe80::12")


def test_repeated_announcements_are_reported_once() -> None:
    payload = udp_payload([mdns_announcement()] * 3, server_port=dns.MDNS_PORT)
    found = dns.dissect(payload)
    assert sum(isinstance(item, dns.DnsMessage) for item in found) == 3
    assert sum(isinstance(item, dns.MdnsService) for item in found) == 1


def test_known_answers_in_a_query_are_not_claims_of_the_sender() -> None:
    """RFC 6762 §7.1: a query lists answers it knows from other hosts."""
    instance = name("Other Printer", "_ipp", "_tcp", "local")
    known = record(name("_ipp", "_tcp", "local"), dns.TYPE_PTR, instance)
    query = header(0, qd=1, an=1) + question(name("_ipp", "_tcp", "local"), 12) + known
    found = parse(query, server_port=dns.MDNS_PORT)
    assert [type(item) for item in found] == [dns.DnsMessage]


def test_probe_authority_records_announce_the_host() -> None:
    """RFC 6762 §8.2: a probe carries the records it wants in its authority section."""
    host = name("monitor-7", "local")
    probe = (
        header(0, qd=1, ns=1)
        + question(host, 255)
        + record(host, dns.TYPE_A, socket.inet_aton("192.0.2.70"))
    )
    found = parse(probe, server_port=dns.MDNS_PORT)
    hosts = [item for item in found if isinstance(item, dns.MdnsHost)]
    assert [(h.hostname, h.addresses) for h in hosts] == [("monitor-7.local", ("192.0.2.70",))]


def test_llmnr_is_labelled() -> None:
    message = only_message(
        header(0, qd=1) + question(name("wks-12"), 1), server_port=dns.LLMNR_PORT
    )
    assert message.protocol == "llmnr"


def _tshark_messages(tshark: str, path: Path) -> list[tuple[tuple[str, ...], ...]]:
    fields = ["dns.qry.name", "dns.resp.name", "dns.a", "dns.aaaa"]
    rows = []
    for row in tshark_fields(tshark, path, fields, "dns || mdns"):
        rows.append(tuple(tuple(cell.split(",")) if cell else () for cell in row))
    return sorted(rows)


def _our_messages(path: Path) -> list[tuple[tuple[str, ...], ...]]:
    rows = []
    for payload in read_flow_payloads(path):
        if not {53, dns.MDNS_PORT} & {payload.flow.client.port, payload.flow.server.port}:
            continue
        for item in dns.dissect(payload):
            if isinstance(item, dns.DnsMessage):
                addresses = [(r.rtype, r.address) for r in item.records if r.address]
                rows.append(
                    (
                        tuple(q.name for q in item.questions),
                        tuple(r.name for r in item.records),
                        tuple(a for t, a in addresses if t == dns.TYPE_A),
                        tuple(a for t, a in addresses if t == dns.TYPE_AAAA),
                    )
                )
    return sorted(rows)


@pytest.mark.tshark
@pytest.mark.parametrize("capture", ["iot/zeek/dns/mdns.pcap", "iot/ndpi/dns.pcap"])
def test_captures_match_tshark(capture: str, tshark: str) -> None:
    """Per message: question names, record owners, A and AAAA addresses."""
    path = require_shared(f"pcap/{capture}")
    expected = _tshark_messages(tshark, path)
    assert expected
    assert _our_messages(path) == expected


@pytest.mark.tshark
def test_mdns_capture_hosts_match_tshark_addresses(tshark: str) -> None:
    path = require_shared("pcap/iot/zeek/dns/mdns.pcap")
    rows = tshark_fields(tshark, path, ["dns.a", "dns.aaaa"], "mdns && dns.flags.response == 1")
    expected = {address for row in rows for cell in row for address in cell.split(",") if address}
    hosts = [
        item
        for payload in read_flow_payloads(path)
        for item in dns.dissect(payload)
        if isinstance(item, dns.MdnsHost)
    ]
    assert {host.hostname for host in hosts} == {"johanna-QEMU-Virtual-Machine.local"}
    assert {address for host in hosts for address in host.addresses} == expected


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(st.binary(max_size=600), st.sampled_from([53, dns.MDNS_PORT]))
def test_random_bytes_never_raise_anything_else(data: bytes, port: int) -> None:
    dissect_or_reject(dns.dissect, udp_payload([data], server_port=port))


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(mutated(standard_response(), mdns_announcement()))
def test_mutated_messages_never_raise_anything_else(data: bytes) -> None:
    payload = udp_payload([(Direction.SERVER_TO_CLIENT, data)], server_port=dns.MDNS_PORT)
    dissect_or_reject(dns.dissect, payload)
