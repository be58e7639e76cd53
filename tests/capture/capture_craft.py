"""Byte-level builders for capture files: classic pcap records and pcapng blocks.

pcap follows draft-ietf-opsawg-pcap §4–5; pcapng follows draft-ietf-opsawg-pcapng §3–4 and
Appendix A (obsolete Packet Block). Frames come from dpkt so that they are real packets.
"""

from __future__ import annotations

import socket
import struct

import dpkt

ENHANCED_PACKET = 6
SIMPLE_PACKET = 3
OBSOLETE_PACKET = 2
INTERFACE = 1
SECTION = 0x0A0D0D0A


def udp_frame(index: int, payload_size: int = 20) -> bytes:
    """An Ethernet/IPv4/UDP frame whose payload encodes ``index``."""
    payload = f"packet-{index:06d}".encode().ljust(payload_size, b".")
    udp = dpkt.udp.UDP(sport=40000 + index % 1000, dport=514, data=payload)
    ip = dpkt.ip.IP(
        src=socket.inet_aton("192.0.2.1"), dst=socket.inet_aton("192.0.2.2"), p=17, data=udp
    )
    eth = dpkt.ethernet.Ethernet(
        src=b"\x00\x00\x5e\x00\x53\x01", dst=b"\x00\x00\x5e\x00\x53\x02", data=ip
    )
    return bytes(eth)


def raw_ip_frame(index: int) -> bytes:
    """The IPv4 packet of :func:`udp_frame`, without its Ethernet header."""
    return udp_frame(index)[14:]


def pcap_header(
    order: str = "<", nano: bool = False, linktype: int = 1, snaplen: int = 65535
) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    return struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(
    ts: float, frame: bytes, order: str = "<", nano: bool = False, wirelen: int | None = None
) -> bytes:
    seconds = int(ts)
    fraction = round((ts - seconds) * (1e9 if nano else 1e6))
    length = len(frame) if wirelen is None else wirelen
    return struct.pack(order + "IIII", seconds, fraction, len(frame), length) + frame


def pcap_file(
    packets: list[tuple[float, bytes]], order: str = "<", nano: bool = False, linktype: int = 1
) -> bytes:
    body = b"".join(pcap_record(ts, frame, order, nano) for ts, frame in packets)
    return pcap_header(order, nano, linktype) + body


def block(block_type: int, body: bytes, order: str = "<") -> bytes:
    """§3.1: type, total length, body padded to 32 bits, total length again."""
    padded = body + b"\0" * (-len(body) % 4)
    length = 12 + len(padded)
    return struct.pack(order + "II", block_type, length) + padded + struct.pack(order + "I", length)


def option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def section(order: str = "<") -> bytes:
    """§4.1 Section Header Block, version 1.0, unknown section length."""
    return block(SECTION, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def interface(
    linktype: int = 1,
    order: str = "<",
    snaplen: int = 0,
    tsresol: int | None = None,
    tsoffset: int | None = None,
) -> bytes:
    """§4.2 Interface Description Block with optional if_tsresol (9) and if_tsoffset (14)."""
    options = b""
    if tsresol is not None:
        options += option(9, bytes([tsresol]), order)
    if tsoffset is not None:
        options += option(14, struct.pack(order + "q", tsoffset), order)
    if options:
        options += option(0, b"", order)
    return block(INTERFACE, struct.pack(order + "HHI", linktype, 0, snaplen) + options, order)


def enhanced(
    interface_id: int, ticks: int, frame: bytes, order: str = "<", wirelen: int | None = None
) -> bytes:
    """§4.3 Enhanced Packet Block."""
    length = len(frame) if wirelen is None else wirelen
    head = struct.pack(
        order + "IIIII", interface_id, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), length
    )
    return block(ENHANCED_PACKET, head + frame, order)


def simple(frame: bytes, order: str = "<") -> bytes:
    """§4.4 Simple Packet Block (original length only)."""
    return block(SIMPLE_PACKET, struct.pack(order + "I", len(frame)) + frame, order)


def obsolete(interface_id: int, ticks: int, frame: bytes, order: str = "<") -> bytes:
    """Appendix A Packet Block: 16-bit interface id and drops count."""
    head = struct.pack(
        order + "HHIIII", interface_id, 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame)
    )
    return block(OBSOLETE_PACKET, head + frame, order)
