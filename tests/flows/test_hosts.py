"""Host sightings, ARP bindings and MAC peers."""

from __future__ import annotations

import socket

import dpkt

from medshield.core.packets import LinkType
from medshield.flows.headers import decode
from medshield.flows.hosts import ARP_REPLY, ARP_REQUEST, HostTable

from .flow_craft import CLIENT_MAC, SERVER_MAC, batch_of, ether, mac_bytes, udp_frame

GATEWAY_MAC = "00:00:5e:00:53:fe"


def arp(op: int, sha: str, spa: str, tpa: str, tha: str = "00:00:00:00:00:00") -> bytes:
    message = dpkt.arp.ARP(
        op=op,
        sha=mac_bytes(sha),
        spa=socket.inet_aton(spa),
        tha=mac_bytes(tha),
        tpa=socket.inet_aton(tpa),
    )
    return ether(sha, "ff:ff:ff:ff:ff:ff", message, 0x0806)


def test_ip_sightings_per_mac_and_address() -> None:
    frames = [
        udp_frame("192.0.2.10", "192.0.2.20", 1000, 53, b"abc"),
        udp_frame("192.0.2.10", "192.0.2.20", 1000, 53, b"defgh"),
        udp_frame("192.0.2.20", "192.0.2.10", 53, 1000, b"x", SERVER_MAC, CLIENT_MAC),
        udp_frame("0.0.0.0", "255.255.255.255", 68, 67, b"discover"),
    ]
    ts = [10.0, 12.0, 11.0, 13.0]
    hosts = HostTable()
    hosts.feed(batch_of(frames[:2], ts[:2]))
    hosts.feed(decode(batch_of(frames[2:], ts[2:])))
    found = {(s.mac, s.ip): s for s in hosts.sightings()}
    # The DHCP DISCOVER from 0.0.0.0 is a sighting too: it proves the MAC is present.
    expected = {(CLIENT_MAC, "192.0.2.10"), (SERVER_MAC, "192.0.2.20"), (CLIENT_MAC, "0.0.0.0")}
    assert set(found) == expected
    assert found[(CLIENT_MAC, "0.0.0.0")].packets == 1
    client = found[(CLIENT_MAC, "192.0.2.10")]
    assert (client.first_seen, client.last_seen, client.packets) == (10.0, 12.0, 2)
    assert client.bytes == len(frames[0]) + len(frames[1])
    assert client.via == "ip"


def test_raw_ip_sightings_have_no_mac() -> None:
    frame = udp_frame("192.0.2.10", "192.0.2.20", 1, 2)[14:]
    hosts = HostTable()
    hosts.feed(batch_of([frame], linktype=LinkType.RAW))
    (sighting,) = hosts.sightings()
    assert (sighting.mac, sighting.ip) == (None, "192.0.2.10")


def test_arp_bindings_and_sightings() -> None:
    frames = [
        arp(ARP_REQUEST, CLIENT_MAC, "192.0.2.10", "192.0.2.1"),
        arp(ARP_REPLY, GATEWAY_MAC, "192.0.2.1", "192.0.2.10", CLIENT_MAC),
        arp(ARP_REQUEST, SERVER_MAC, "192.0.2.20", "192.0.2.20"),  # gratuitous
        arp(ARP_REQUEST, "00:00:5e:00:53:77", "0.0.0.0", "192.0.2.77"),  # probe
    ]
    hosts = HostTable()
    hosts.feed(batch_of(frames, [1.0, 2.0, 3.0, 4.0]))
    bindings = [(b.mac, b.ip, b.op, b.gratuitous) for b in hosts.arp_bindings()]
    assert bindings == [
        (CLIENT_MAC, "192.0.2.10", ARP_REQUEST, False),
        (GATEWAY_MAC, "192.0.2.1", ARP_REPLY, False),
        (SERVER_MAC, "192.0.2.20", ARP_REQUEST, True),
    ]
    sightings = {(s.mac, s.ip, s.via) for s in hosts.sightings()}
    assert (GATEWAY_MAC, "192.0.2.1", "arp") in sightings
    assert all(ip != "0.0.0.0" for _, ip, _ in sightings)


def test_peer_macs_reveal_a_gateway() -> None:
    frames = [
        udp_frame("192.0.2.10", f"198.51.100.{i}", 1000 + i, 443, b"x", CLIENT_MAC, GATEWAY_MAC)
        for i in range(5)
    ]
    frames.append(udp_frame("192.0.2.10", "192.0.2.20", 1, 2, b"y", CLIENT_MAC, SERVER_MAC))
    hosts = HostTable()
    hosts.feed(batch_of(frames))
    assert hosts.peer_macs() == {CLIENT_MAC: {GATEWAY_MAC: 5, SERVER_MAC: 1}}
