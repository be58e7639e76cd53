"""Link, network and datagram framing: Ethernet II, ARP, IPv4 and UDP, written as real bytes.

The encoders are hand-written ``struct`` layouts rather than dpkt objects because the simulator
writes hundreds of thousands of frames per second: header fields that never change within a
flow are folded into precomputed partial checksums, so each frame costs one ``pack`` call.

Checksums follow RFC 1071: the one's-complement sum of 16-bit words equals the sum of the words
modulo 0xFFFF (2**16 ≡ 1), so a payload's contribution is ``int(payload) % 0xFFFF`` and the
checksum of a total ``s`` is ``-s mod 0xFFFF`` (0 encodes as 0x0000, RFC 1624 §3).
"""

from __future__ import annotations

import struct
from collections.abc import Generator
from dataclasses import dataclass
from ipaddress import IPv4Address

ETH_BROADCAST = b"\xff" * 6
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
PROTO_TCP = 6
PROTO_UDP = 17
MIN_FRAME = 60
"""Ethernet minimum frame without FCS (IEEE 802.3 §3.2.8): shorter frames are zero-padded."""

US = 1_000_000
"""Microseconds per second: simulator timestamps are integer microseconds."""

Item = tuple[int, bytes] | tuple[int, bytes, tuple[object, ...]]
"""What a conversation yields: (timestamp µs, frame) and optionally the truth facts it shows."""

Steps = Generator[Item, None, int]
"""A run of frames whose generator returns the time of its last frame."""

_IP_UDP = struct.Struct("!BBHHHBBH4s4sHHHH")
_ARP = struct.Struct("!6s6sHHHBBH6s4s6s4s")


@dataclass(frozen=True, slots=True)
class Nic:
    """An interface as seen on the wire: the MAC frames carry, its IPv4 address, its stack TTL.

    For a host beyond the default gateway, ``mac`` is the router's MAC: that is the L2 address
    every frame to or from that host carries on the hospital segment.
    """

    mac: bytes
    ip: bytes
    ttl: int = 64

    @property
    def ip_text(self) -> str:
        """Dotted-quad form of the address."""
        return str(IPv4Address(self.ip))

    @property
    def mac_text(self) -> str:
        """Colon-separated lower-case MAC."""
        return self.mac.hex(":")


def ip_bytes(text: str) -> bytes:
    """Packed form of a dotted-quad IPv4 address."""
    return IPv4Address(text).packed


def mac_bytes(text: str) -> bytes:
    """Packed form of a colon- or dash-separated MAC address."""
    return bytes.fromhex(text.replace(":", "").replace("-", ""))


def multicast_mac(ip: bytes) -> bytes:
    """Ethernet group address of an IPv4 multicast group (RFC 1112 §6.4)."""
    return b"\x01\x00\x5e" + bytes((ip[1] & 0x7F, ip[2], ip[3]))


def word_sum(data: bytes) -> int:
    """RFC 1071 one's-complement sum of ``data`` as big-endian 16-bit words, modulo 0xFFFF.

    An odd trailing byte is padded with a zero byte, as the RFC requires.
    """
    value = int.from_bytes(data, "big")
    if len(data) & 1:
        value <<= 8
    return value % 0xFFFF


def finish_checksum(total: int) -> int:
    """The checksum field for a word total (RFC 1071 §1: one's complement of the sum)."""
    return -total % 0xFFFF


def pad(frame: bytes) -> bytes:
    """Zero-pad a frame to the Ethernet minimum, as the sending NIC does."""
    short = MIN_FRAME - len(frame)
    return frame + bytes(short) if short > 0 else frame


def ethernet_header(dst: bytes, src: bytes, ethertype: int = ETHERTYPE_IPV4) -> bytes:
    """Ethernet II header (IEEE 802.3 §3.2, DIX type field)."""
    return dst + src + ethertype.to_bytes(2, "big")


def arp_frame(
    eth_dst: bytes,
    op: int,
    sender_mac: bytes,
    sender_ip: bytes,
    target_mac: bytes,
    target_ip: bytes,
) -> bytes:
    """An ARP request (op 1) or reply (op 2) for IPv4 over Ethernet (RFC 826)."""
    return pad(
        _ARP.pack(
            eth_dst,
            sender_mac,
            ETHERTYPE_ARP,
            1,
            ETHERTYPE_IPV4,
            6,
            4,
            op,
            sender_mac,
            sender_ip,
            target_mac,
            target_ip,
        )
    )


class UdpSender:
    """One direction of a UDP exchange: frames from ``src`` to ``dst`` (RFC 768, RFC 791).

    Keeps the sender's IP identification counter, which increments per datagram.
    """

    __slots__ = (
        "_dport",
        "_dst",
        "_eth",
        "_ident",
        "_ip_base",
        "_sport",
        "_src",
        "_ttl",
        "_udp_base",
    )

    def __init__(
        self,
        src: Nic,
        dst: Nic,
        sport: int,
        dport: int,
        ident: int,
        *,
        ttl: int | None = None,
        eth_dst: bytes | None = None,
    ) -> None:
        self._eth = ethernet_header(eth_dst or dst.mac, src.mac)
        self._src = src.ip
        self._dst = dst.ip
        self._ttl = src.ttl if ttl is None else ttl
        self._sport = sport
        self._dport = dport
        self._ident = ident & 0xFFFF
        address_words = word_sum(src.ip + dst.ip)
        self._ip_base = 0x4500 + (self._ttl << 8 | PROTO_UDP) + address_words
        self._udp_base = address_words + PROTO_UDP + sport + dport

    def frame(self, payload: bytes, payload_sum: int | None = None) -> bytes:
        """The Ethernet frame carrying ``payload`` (checksums computed, padded to 60 bytes)."""
        length = 8 + len(payload)
        total = 20 + length
        ident = self._ident
        self._ident = (ident + 1) & 0xFFFF
        psum = word_sum(payload) if payload_sum is None else payload_sum
        ip_check = finish_checksum(self._ip_base + total + ident)
        udp_check = finish_checksum(self._udp_base + 2 * length + psum) or 0xFFFF
        header = _IP_UDP.pack(
            0x45,
            0,
            total,
            ident,
            0,
            self._ttl,
            PROTO_UDP,
            ip_check,
            self._src,
            self._dst,
            self._sport,
            self._dport,
            length,
            udp_check,
        )
        return pad(self._eth + header + payload)
