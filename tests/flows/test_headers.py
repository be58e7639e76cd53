"""Vectorised header decoding on real frames of every supported link type."""

from __future__ import annotations

import socket
import struct

import dpkt
import numpy as np

from medshield.core.packets import LinkType
from medshield.flows.addresses import ip_text, ipv4_text, mac_text
from medshield.flows.headers import decode

from .flow_craft import (
    ACK,
    CLIENT_MAC,
    PSH,
    SERVER_MAC,
    SYN,
    batch_of,
    ether,
    ipv4,
    mac_bytes,
    tcp,
    tcp_frame,
    udp,
    udp_frame,
)


def test_ethernet_ipv4_tcp_fields() -> None:
    frame = tcp_frame("192.0.2.10", "198.51.100.7", 49152, 443, PSH | ACK, 123456, 654321, b"hello")
    h = decode(batch_of([frame]))
    assert mac_text(int(h.src_mac[0])) == CLIENT_MAC
    assert mac_text(int(h.dst_mac[0])) == SERVER_MAC
    assert int(h.ethertype[0]) == 0x0800
    assert int(h.vlan[0]) == -1
    assert int(h.ip_version[0]) == 4
    assert ip_text(int(h.src_hi[0]), int(h.src_lo[0])) == "192.0.2.10"
    assert ip_text(int(h.dst_hi[0]), int(h.dst_lo[0])) == "198.51.100.7"
    assert (int(h.proto[0]), int(h.sport[0]), int(h.dport[0])) == (6, 49152, 443)
    assert (int(h.seq[0]), int(h.ack[0]), int(h.tcp_flags[0])) == (123456, 654321, PSH | ACK)
    assert bool(h.is_tcp[0]) and not bool(h.is_udp[0])
    start, length = int(h.payload_start[0]), int(h.payload_len[0])
    assert frame[start : length + start] == b"hello"
    assert int(h.payload_caplen[0]) == 5


def test_ethernet_padding_is_not_payload() -> None:
    frame = udp_frame("192.0.2.1", "192.0.2.2", 5000, 53, b"ab")
    padded = frame + b"\0" * (60 - len(frame))
    h = decode(batch_of([padded]))
    assert int(h.payload_len[0]) == 2
    assert int(h.payload_caplen[0]) == 2


def test_snaplen_cut_keeps_wire_payload_length() -> None:
    frame = tcp_frame("192.0.2.1", "192.0.2.2", 1234, 80, PSH | ACK, 1, 1, b"x" * 100)
    h = decode(batch_of([frame[:64]], wirelen=[len(frame)]))
    assert int(h.payload_len[0]) == 100
    assert int(h.payload_caplen[0]) == 64 - 54


def tagged(frame: bytes, *tags: tuple[int, int]) -> bytes:
    """Insert 802.1Q/802.1ad tags (TPID, VLAN id), outermost first, after the MACs."""
    inserted = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in tags)
    return frame[:12] + inserted + frame[12:]


def test_vlan_and_qinq_keep_the_outer_id() -> None:
    frame = udp_frame("192.0.2.1", "192.0.2.2", 5000, 53, b"q")
    h = decode(batch_of([tagged(frame, (0x8100, 42)), tagged(frame, (0x88A8, 100), (0x8100, 7))]))
    assert h.vlan.tolist() == [42, 100]
    assert h.ethertype.tolist() == [0x0800, 0x0800]
    assert h.dport.tolist() == [53, 53]
    assert h.payload_len.tolist() == [1, 1]


def test_pppoe_session_carries_ip() -> None:
    ip = bytes(ipv4("192.0.2.1", "192.0.2.2", udp(1, 2, b"zz"), 17))
    pppoe = struct.pack("!BBHHH", 0x11, 0, 0x1234, len(ip) + 2, 0x0021) + ip
    h = decode(batch_of([ether(CLIENT_MAC, SERVER_MAC, pppoe, 0x8864)]))
    assert (int(h.ip_version[0]), int(h.dport[0]), int(h.payload_len[0])) == (4, 2, 2)


def ipv6_frame(next_header: int, body: bytes) -> bytes:
    src = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    dst = socket.inet_pton(socket.AF_INET6, "2001:db8::2")
    header = struct.pack("!IHBB", 0x60000000, len(body), next_header, 64) + src + dst
    return ether(CLIENT_MAC, SERVER_MAC, header + body, 0x86DD)


def test_ipv6_tcp_after_extension_headers() -> None:
    segment = bytes(tcp(40000, 443, SYN, 77))
    destination_options = struct.pack("!BB6x", 6, 0)
    hop_by_hop = struct.pack("!BB6x", 60, 0)
    h = decode(batch_of([ipv6_frame(0, hop_by_hop + destination_options + segment)]))
    assert int(h.ip_version[0]) == 6
    assert ip_text(int(h.src_hi[0]), int(h.src_lo[0])) == "2001:db8::1"
    assert (int(h.proto[0]), int(h.sport[0]), int(h.dport[0]), int(h.seq[0])) == (6, 40000, 443, 77)


def test_ipv6_later_fragment_has_no_ports() -> None:
    first = struct.pack("!BBHI", 17, 0, 0x0001, 99) + bytes(udp(1000, 2000, b"a" * 8))
    later = struct.pack("!BBHI", 17, 0, (2 << 3), 99) + b"b" * 8
    h = decode(batch_of([ipv6_frame(44, first), ipv6_frame(44, later)]))
    assert h.later_fragment.tolist() == [False, True]
    assert h.has_ports.tolist() == [True, False]
    assert h.dport.tolist() == [2000, 0]


def test_ipv4_fragments_only_first_has_ports() -> None:
    datagram = bytes(udp(5000, 6000, b"x" * 40))
    first = ipv4("192.0.2.1", "192.0.2.2", datagram[:24], 17, ident=7, more_fragments=True)
    later = ipv4("192.0.2.1", "192.0.2.2", datagram[24:], 17, ident=7, offset=24)
    h = decode(
        batch_of([ether(CLIENT_MAC, SERVER_MAC, first), ether(CLIENT_MAC, SERVER_MAC, later)])
    )
    assert h.later_fragment.tolist() == [False, True]
    assert h.has_ports.tolist() == [True, False]
    assert h.sport.tolist() == [5000, 0]


def test_malformed_headers_are_counted_not_raised() -> None:
    good = udp_frame("192.0.2.1", "192.0.2.2", 1, 2, b"ok")
    bad_ihl = bytearray(good)
    bad_ihl[14] = 0x42  # IHL of 2 words
    short_tcp = tcp_frame("192.0.2.1", "192.0.2.2", 1, 2, SYN)[: 14 + 20 + 6]
    runt = good[:10]
    h = decode(batch_of([good, bytes(bad_ihl), short_tcp, runt]))
    assert h.is_ip.tolist() == [True, False, True, False]
    assert h.has_ports.tolist() == [True, False, False, False]
    assert h.malformed == 2


def test_arp_fields() -> None:
    arp = dpkt.arp.ARP(
        op=dpkt.arp.ARP_OP_REPLY,
        sha=mac_bytes(SERVER_MAC),
        spa=socket.inet_aton("192.0.2.1"),
        tha=mac_bytes(CLIENT_MAC),
        tpa=socket.inet_aton("192.0.2.10"),
    )
    h = decode(batch_of([ether(SERVER_MAC, CLIENT_MAC, arp, 0x0806)]))
    assert int(h.arp_op[0]) == 2
    assert mac_text(int(h.arp_sha[0])) == SERVER_MAC
    assert ipv4_text(int(h.arp_spa[0])) == "192.0.2.1"
    assert mac_text(int(h.arp_tha[0])) == CLIENT_MAC
    assert ipv4_text(int(h.arp_tpa[0])) == "192.0.2.10"
    assert not bool(h.is_ip[0])


def test_raw_ip_null_and_cooked_link_types() -> None:
    ip = bytes(ipv4("192.0.2.1", "192.0.2.2", udp(7, 9, b"data"), 17))
    sll = struct.pack("!HHH8sH", 0, 1, 6, mac_bytes(CLIENT_MAC) + b"\0\0", 0x0800) + ip
    sll2 = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, mac_bytes(CLIENT_MAC) + b"\0\0") + ip
    cases = [
        (LinkType.RAW, ip, 0),
        (LinkType.IPV4, ip, 0),
        (LinkType.NULL, struct.pack("<I", 2) + ip, 0),
        (LinkType.LOOP, struct.pack(">I", 2) + ip, 0),
        (LinkType.LINUX_SLL, sll, int(CLIENT_MAC.replace(":", ""), 16)),
        (LinkType.LINUX_SLL2, sll2, int(CLIENT_MAC.replace(":", ""), 16)),
    ]
    for linktype, frame, mac in cases:
        h = decode(batch_of([frame], linktype=linktype))
        assert (int(h.ip_version[0]), int(h.dport[0]), int(h.payload_len[0])) == (4, 9, 4), linktype
        assert int(h.src_mac[0]) == mac, linktype
        assert int(h.dst_mac[0]) == 0, linktype


def test_empty_batch() -> None:
    h = decode(batch_of([]))
    assert len(h) == 0
    assert h.malformed == 0


def test_decoding_many_packets_matches_one_by_one() -> None:
    frames = [
        tcp_frame(
            f"10.0.0.{i % 200 + 1}", "10.1.0.1", 1024 + i, 80, ACK, i * 1000, i, b"p" * (i % 50)
        )
        for i in range(500)
    ]
    together = decode(batch_of(frames))
    for i in (0, 17, 250, 499):
        alone = decode(batch_of([frames[i]]))
        for name in ("src_lo", "sport", "seq", "ack", "payload_len"):
            assert np.array_equal(getattr(together, name)[i : i + 1], getattr(alone, name)), name
