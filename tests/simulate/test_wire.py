"""Ethernet, ARP, IPv4 and UDP framing (simulate/wire.py)."""

from __future__ import annotations

import dpkt
from hypothesis import given
from hypothesis import strategies as st

from medshield.simulate.wire import (
    ETH_BROADCAST,
    MIN_FRAME,
    Nic,
    UdpSender,
    arp_frame,
    finish_checksum,
    ip_bytes,
    mac_bytes,
    multicast_mac,
    word_sum,
)

from .checks import checksums_ok, ones_complement_sum

CLIENT = Nic(mac_bytes("00:09:fb:12:34:56"), ip_bytes("10.20.10.11"), 64)
SERVER = Nic(mac_bytes("00:50:56:aa:bb:cc"), ip_bytes("10.20.1.10"), 128)


@given(st.binary(min_size=1, max_size=3000))
def test_word_sum_gives_the_rfc1071_checksum(data: bytes) -> None:
    reference = ~ones_complement_sum(data) & 0xFFFF
    ours = finish_checksum(word_sum(data))
    # One's complement has two zeros; both encode a correct checksum.
    assert ours == reference or {ours, reference} == {0, 0xFFFF}


@given(st.binary(max_size=1400))
def test_udp_frames_carry_correct_checksums_and_lengths(payload: bytes) -> None:
    frame = UdpSender(CLIENT, SERVER, 50000, 53, 7).frame(payload)
    ip = dpkt.ethernet.Ethernet(frame).data
    assert checksums_ok(frame)
    assert ip.len == 28 + len(payload)
    assert bytes(ip.data.data) == payload
    assert len(frame) >= MIN_FRAME


def test_udp_sender_increments_the_ip_identification() -> None:
    sender = UdpSender(CLIENT, SERVER, 50000, 53, 0xFFFF)
    first, second = (dpkt.ethernet.Ethernet(sender.frame(b"x")).data for _ in range(2))
    assert (first.id, second.id) == (0xFFFF, 0)


def test_udp_frame_uses_the_sender_ttl_and_addresses() -> None:
    eth = dpkt.ethernet.Ethernet(UdpSender(CLIENT, SERVER, 68, 67, 1).frame(b"abc"))
    assert (eth.src, eth.dst) == (CLIENT.mac, SERVER.mac)
    assert (eth.data.src, eth.data.dst, eth.data.ttl) == (CLIENT.ip, SERVER.ip, 64)


def test_arp_request_is_a_padded_broadcast_who_has() -> None:
    frame = arp_frame(ETH_BROADCAST, 1, CLIENT.mac, CLIENT.ip, bytes(6), SERVER.ip)
    eth = dpkt.ethernet.Ethernet(frame)
    assert len(frame) == MIN_FRAME
    assert eth.dst == ETH_BROADCAST
    assert isinstance(eth.data, dpkt.arp.ARP)
    assert (eth.data.op, eth.data.spa, eth.data.tpa) == (1, CLIENT.ip, SERVER.ip)


def test_multicast_mac_maps_the_low_23_bits() -> None:
    assert multicast_mac(ip_bytes("224.0.0.251")) == mac_bytes("01:00:5e:00:00:fb")
    assert multicast_mac(ip_bytes("239.255.255.250")) == mac_bytes("01:00:5e:7f:ff:fa")


def test_nic_text_forms() -> None:
    assert (CLIENT.ip_text, CLIENT.mac_text) == ("10.20.10.11", "00:09:fb:12:34:56")
