"""Independent checks of simulated frames: dpkt recomputes what the simulator wrote."""

from __future__ import annotations

import dpkt


def recomputed(frame: bytes) -> dpkt.ip.IP:
    """The frame's IPv4 packet with both checksums zeroed, so dpkt recomputes them."""
    ip = dpkt.ethernet.Ethernet(frame).data
    copy = dpkt.ip.IP(bytes(ip))
    copy.sum = 0
    copy.data.sum = 0
    return dpkt.ip.IP(bytes(copy))


def checksums_ok(frame: bytes) -> bool:
    """True when the IPv4 and TCP/UDP checksums equal those dpkt computes (RFC 1071)."""
    ip = dpkt.ethernet.Ethernet(frame).data
    fresh = recomputed(frame)
    transport_ok = ip.data.sum == fresh.data.sum
    if isinstance(ip.data, dpkt.udp.UDP) and fresh.data.sum == 0:
        transport_ok = ip.data.sum == 0xFFFF  # RFC 768: a zero checksum goes out as all ones
    return ip.sum == fresh.sum and transport_ok


def ones_complement_sum(data: bytes) -> int:
    """Reference RFC 1071 sum with end-around carry (slow, obviously correct)."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += data[i] << 8 | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return total
