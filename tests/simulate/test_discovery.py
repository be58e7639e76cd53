"""mDNS and SSDP announcements (simulate/discovery.py)."""

from __future__ import annotations

import itertools

import dpkt

from medshield.simulate import discovery
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation

from .conftest import decode


def test_mdns_announcement_is_an_authoritative_response(simulation: Simulation) -> None:
    printer = simulation.hospital.one(Role.PRINTER)
    message = dpkt.dns.DNS(discovery.mdns_announcement(printer))
    assert message.qr == dpkt.dns.DNS_R and message.aa
    types = [rr.type for rr in message.an]
    assert types == [dpkt.dns.DNS_PTR, dpkt.dns.DNS_SRV, dpkt.dns.DNS_TXT, dpkt.dns.DNS_A]
    assert message.an[3].ip == printer.ip


def test_mdns_goes_to_the_group_with_ttl_255(simulation: Simulation) -> None:
    printer = simulation.hospital.one(Role.PRINTER)
    frames = [
        decode(i)
        for i in itertools.islice(discovery.mdns_announcer(simulation.context, printer), 2)
    ]
    assert all(f.dst == bytes.fromhex("01005e0000fb") for f in frames)
    assert all(f.data.ttl == 255 and f.data.data.dport == 5353 for f in frames)


def test_ssdp_notify_headers(simulation: Simulation) -> None:
    gateway = simulation.hospital.one(Role.IOT_GATEWAY)
    frames = [
        decode(i)
        for i in itertools.islice(discovery.ssdp_announcer(simulation.context, gateway), 3)
    ]
    texts = [bytes(f.data.data.data).decode() for f in frames]
    assert all(t.startswith("NOTIFY * HTTP/1.1\r\n") and "NTS: ssdp:alive" in t for t in texts)
    assert texts[0].split("NT: ")[1].split("\r\n")[0] == "upnp:rootdevice"
    assert all(f.data.ttl == 2 for f in frames)
