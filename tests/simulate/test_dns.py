"""DNS lookups (simulate/dns.py), parsed back with dpkt."""

from __future__ import annotations

import random

import dpkt

from medshield.simulate import dns
from medshield.simulate.wire import Nic, ip_bytes, mac_bytes

CLIENT = Nic(mac_bytes("00:21:b7:00:00:01"), ip_bytes("10.20.100.11"), 128)
SERVER = Nic(mac_bytes("00:50:56:00:00:01"), ip_bytes("10.20.1.10"), 128)


def test_query_and_answer_parse() -> None:
    query = dpkt.dns.DNS(dns.query(0x1234, "pacs-01.hospital.example", dns.TYPE_A))
    assert query.id == 0x1234 and query.qr == dpkt.dns.DNS_Q and query.rd
    assert query.qd[0].name == "pacs-01.hospital.example"
    answer = dpkt.dns.DNS(
        dns.answer(0x1234, "pacs-01.hospital.example", dns.TYPE_A, [ip_bytes("10.20.1.30")], 300)
    )
    assert answer.qr == dpkt.dns.DNS_R and answer.rcode == dpkt.dns.DNS_RCODE_NOERR
    assert [(rr.name, rr.ip, rr.ttl) for rr in answer.an] == [
        ("pacs-01.hospital.example", ip_bytes("10.20.1.30"), 300)
    ]


def test_lookup_asks_a_and_aaaa_when_told() -> None:
    steps = dns.lookup(
        random.Random(1), 0, CLIENT, SERVER, "a.example", ip_bytes("1.2.3.4"), aaaa=True
    )
    messages = [dpkt.dns.DNS(dpkt.ethernet.Ethernet(item[1]).data.data.data) for item in steps]
    assert [(m.qr, m.qd[0].type) for m in messages] == [
        (dpkt.dns.DNS_Q, dpkt.dns.DNS_A),
        (dpkt.dns.DNS_R, dpkt.dns.DNS_A),
        (dpkt.dns.DNS_Q, dpkt.dns.DNS_AAAA),
        (dpkt.dns.DNS_R, dpkt.dns.DNS_AAAA),
    ]
    assert [len(m.an) for m in messages[1::2]] == [1, 0]
