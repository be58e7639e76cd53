"""Vectorised header decoding of a packet batch: link layer, VLAN, ARP, IPv4/IPv6, TCP/UDP.

Every field is read for all packets of a batch at once with numpy gathers from
``batch.buffer`` at per-packet offsets; subsets (IPv6, ARP, tagged frames) are decoded on
their own index arrays so that rare kinds cost little. A packet whose headers are broken or
cut short is simply not IP/TCP/UDP (and counted in ``malformed``): decoding never raises.

Addresses are kept sortable as two uint64 halves of an IPv6 address; IPv4 addresses are
IPv4-mapped (RFC 4291 §2.5.5.2: ``::ffff:a.b.c.d``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from medshield.core.packets import LinkType, PacketBatch

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_PPPOE_SESSION = 0x8864
PPP_TO_ETHERTYPE = {0x0021: ETHERTYPE_IPV4, 0x0057: ETHERTYPE_IPV6}
"""RFC 1661 §2 PPP protocol numbers of IPv4 and IPv6."""
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
"""IEEE 802.1Q C-tag, 802.1ad S-tag, and the pre-standard QinQ tag."""
MAX_VLAN_TAGS = 3

PROTO_TCP = 6
PROTO_UDP = 17
IPV4_MAPPED = np.uint64(0xFFFF_0000_0000)
"""Low half of ``::ffff:0.0.0.0`` (RFC 4291 §2.5.5.2)."""

IPV6_EXTENSIONS = (0, 43, 44, 51, 60, 135, 139, 140)
"""RFC 8200 §4 extension headers (and AH, RFC 4302; mobility, HIP, shim6) that precede the
upper-layer header and are skipped by their length."""
IPV6_FRAGMENT = 44
IPV6_AUTH = 51
MAX_IPV6_EXTENSIONS = 8

ARPHRD_ETHER = 1
"""Linux ARPHRD_ETHER: an SLL/SLL2 link-layer address that is a MAC."""


@dataclass(frozen=True, slots=True)
class Headers:
    """Decoded header fields of one batch, one array element per packet.

    Fields that a packet does not have are 0 (``vlan`` is -1 without a tag). Offsets are
    absolute indices into ``batch.buffer``.
    """

    batch: PacketBatch
    src_mac: U64
    dst_mac: U64
    vlan: I32
    ethertype: U16
    ip_version: U8
    src_hi: U64
    src_lo: U64
    dst_hi: U64
    dst_lo: U64
    proto: U8
    later_fragment: Bools
    """A non-first IP fragment: it has no transport header (RFC 791 §3.2)."""
    has_ports: Bools
    """A TCP or UDP header was decoded."""
    sport: U16
    dport: U16
    tcp_flags: U8
    seq: U32
    ack: U32
    payload_start: I64
    payload_len: I64
    """Transport payload bytes on the wire (from the IP lengths, so Ethernet padding is out)."""
    payload_caplen: I64
    """Of those, the bytes present in the capture."""
    arp_op: U16
    arp_sha: U64
    arp_spa: U32
    arp_tha: U64
    arp_tpa: U32
    malformed: int
    """Packets announced as IP or ARP whose headers are broken or cut short."""

    def __len__(self) -> int:
        return int(self.ip_version.shape[0])

    @property
    def is_ip(self) -> Bools:
        """IPv4 or IPv6 packets with a valid IP header."""
        result: Bools = self.ip_version != 0
        return result

    @property
    def is_tcp(self) -> Bools:
        """Packets with a decoded TCP header."""
        result: Bools = self.has_ports & (self.proto == PROTO_TCP)
        return result

    @property
    def is_udp(self) -> Bools:
        """Packets with a decoded UDP header."""
        result: Bools = self.has_ports & (self.proto == PROTO_UDP)
        return result


class _Frames:
    """Bounds-safe gathers over the frames of a batch.

    Rows are copied through a sliding-window view of the buffer (one contiguous row per
    packet), which is several times faster than gathering byte by byte.
    """

    def __init__(self, batch: PacketBatch) -> None:
        self.buffer = batch.buffer
        self.last = max(len(batch.buffer) - 1, 0)
        self.start = batch.frame_start.astype(np.int64, copy=False)
        self.end = self.start + batch.caplen.astype(np.int64)

    def take(self, pos: I64, width: int) -> U8:
        """``width`` bytes from each position as an (n, width) array.

        Bytes past the end of the buffer read as garbage; callers check against the frame
        end, which never passes the buffer end.
        """
        room = len(self.buffer) - width
        if room >= 0:
            windows = sliding_window_view(self.buffer, width)
            inside = pos <= room
            if bool(inside.all()):
                return windows[pos]
        rows = np.zeros((len(pos), width), dtype=np.uint8)
        index = pos[:, None] + np.arange(width, dtype=np.int64)
        np.minimum(index, self.last, out=index)
        if len(self.buffer):
            rows[:] = self.buffer[index]
        return rows


HEAD_BYTES = 64
"""Bytes gathered once from every frame start: Ethernet + IPv4 + TCP without options fit."""


def _be16(rows: U8, col: int) -> U16:
    return ((rows[:, col].astype(np.uint16) << 8) | rows[:, col + 1]).astype(np.uint16)


def _be32(rows: U8, col: int) -> U32:
    return np.ascontiguousarray(rows[:, col : col + 4]).view(">u4")[:, 0].astype(np.uint32)


def _be48(rows: U8, col: int) -> U64:
    padded = np.zeros((rows.shape[0], 8), dtype=np.uint8)
    padded[:, 2:] = rows[:, col : col + 6]
    return padded.view(">u8")[:, 0].astype(np.uint64)


def _be64_pairs(rows: U8) -> U64:
    """An (n, 8k) byte array read as (n, k) big-endian uint64 words."""
    return np.ascontiguousarray(rows).view(">u8").astype(np.uint64)


class _Decoder:
    """Fills the header arrays of one batch, layer by layer."""

    def __init__(self, batch: PacketBatch) -> None:
        n = len(batch)
        self.batch = batch
        self.frames = _Frames(batch)
        self.src_mac = np.zeros(n, np.uint64)
        self.dst_mac = np.zeros(n, np.uint64)
        self.vlan = np.full(n, -1, np.int32)
        self.ethertype = np.zeros(n, np.uint16)
        self.l3 = self.frames.start.copy()
        self.wire_end = self.frames.start + batch.wirelen.astype(np.int64)
        self.ip_version = np.zeros(n, np.uint8)
        self.src_hi = np.zeros(n, np.uint64)
        self.src_lo = np.zeros(n, np.uint64)
        self.dst_hi = np.zeros(n, np.uint64)
        self.dst_lo = np.zeros(n, np.uint64)
        self.proto = np.zeros(n, np.uint8)
        self.later_fragment = np.zeros(n, np.bool_)
        self.l3_end = self.frames.end.copy()
        self.l4 = np.zeros(n, np.int64)
        self.has_ports = np.zeros(n, np.bool_)
        self.sport = np.zeros(n, np.uint16)
        self.dport = np.zeros(n, np.uint16)
        self.tcp_flags = np.zeros(n, np.uint8)
        self.seq = np.zeros(n, np.uint32)
        self.ack = np.zeros(n, np.uint32)
        self.payload_start = np.zeros(n, np.int64)
        self.payload_len = np.zeros(n, np.int64)
        self.arp_op = np.zeros(n, np.uint16)
        self.arp_sha = np.zeros(n, np.uint64)
        self.arp_spa = np.zeros(n, np.uint32)
        self.arp_tha = np.zeros(n, np.uint64)
        self.arp_tpa = np.zeros(n, np.uint32)
        self.malformed = 0
        self.head = self.frames.take(self.frames.start, HEAD_BYTES) if n else None

    def _rows(self, idx: I64, pos: I64, width: int) -> U8:
        """``width`` bytes at ``pos`` for the packets ``idx``: sliced from the frame heads when
        the layer sits at one offset in all of them (the usual case), else gathered."""
        head = self.head
        if head is not None and len(idx):
            relative = pos - self.frames.start[idx]
            offset = int(relative[0])
            if 0 <= offset <= HEAD_BYTES - width and bool((relative == offset).all()):
                rows = head if len(idx) == len(head) else head[idx]
                return rows[:, offset : offset + width]
        return self.frames.take(pos, width)

    def run(self) -> Headers:
        if len(self.batch):
            self._link_layer()
            self._vlan_tags()
            self._pppoe_session()
            self._ipv4(np.flatnonzero(self.ethertype == ETHERTYPE_IPV4))
            self._ipv6(np.flatnonzero(self.ethertype == ETHERTYPE_IPV6))
            self._arp(np.flatnonzero(self.ethertype == ETHERTYPE_ARP))
            self._transport()
        captured_end = np.minimum(self.payload_start + self.payload_len, self.frames.end)
        payload_caplen = np.maximum(captured_end - self.payload_start, 0)
        return Headers(
            batch=self.batch,
            src_mac=self.src_mac,
            dst_mac=self.dst_mac,
            vlan=self.vlan,
            ethertype=self.ethertype,
            ip_version=self.ip_version,
            src_hi=self.src_hi,
            src_lo=self.src_lo,
            dst_hi=self.dst_hi,
            dst_lo=self.dst_lo,
            proto=self.proto,
            later_fragment=self.later_fragment,
            has_ports=self.has_ports,
            sport=self.sport,
            dport=self.dport,
            tcp_flags=self.tcp_flags,
            seq=self.seq,
            ack=self.ack,
            payload_start=self.payload_start,
            payload_len=self.payload_len,
            payload_caplen=payload_caplen,
            arp_op=self.arp_op,
            arp_sha=self.arp_sha,
            arp_spa=self.arp_spa,
            arp_tha=self.arp_tha,
            arp_tpa=self.arp_tpa,
            malformed=self.malformed,
        )

    # -- link layer -------------------------------------------------------------------------

    def _link_layer(self) -> None:
        linktype = self.batch.linktype
        if linktype == LinkType.ETHERNET:
            self._ethernet()
        elif linktype == LinkType.LINUX_SLL:
            self._cooked(header=16, protocol_at=14, hatype_at=2, halen_at=4, addr_at=6, wide=True)
        elif linktype == LinkType.LINUX_SLL2:
            self._cooked(header=20, protocol_at=0, hatype_at=8, halen_at=11, addr_at=12, wide=False)
        elif linktype in (LinkType.NULL, LinkType.LOOP):
            self._ip_by_version(header=4)
        elif linktype == LinkType.IPV4:
            self.ethertype[self.frames.end > self.frames.start] = ETHERTYPE_IPV4
        elif linktype == LinkType.IPV6:
            self.ethertype[self.frames.end > self.frames.start] = ETHERTYPE_IPV6
        elif linktype == LinkType.RAW:
            self._ip_by_version(header=0)

    def _ethernet(self) -> None:
        """IEEE 802.3 §3.1: destination, source, EtherType (< 0x0600 is an 802.3 length)."""
        frames = self.frames
        rows = self.head if self.head is not None else frames.take(frames.start, 14)
        whole = frames.end - frames.start >= 14
        self.dst_mac = np.where(whole, _be48(rows, 0), np.uint64(0))
        self.src_mac = np.where(whole, _be48(rows, 6), np.uint64(0))
        self.ethertype = np.where(whole, _be16(rows, 12), np.uint16(0)).astype(np.uint16)
        self.l3 = frames.start + 14

    def _cooked(
        self,
        *,
        header: int,
        protocol_at: int,
        hatype_at: int,
        halen_at: int,
        addr_at: int,
        wide: bool,
    ) -> None:
        """Linux cooked headers (tcpdump.org LINKTYPE_LINUX_SLL / SLL2): the sender's address
        and the protocol type; the destination MAC is not recorded."""
        frames = self.frames
        rows = frames.take(frames.start, header)
        whole = frames.end - frames.start >= header
        halen = _be16(rows, halen_at) if wide else rows[:, halen_at].astype(np.uint16)
        is_mac = whole & (_be16(rows, hatype_at) == ARPHRD_ETHER) & (halen == 6)
        self.src_mac = np.where(is_mac, _be48(rows, addr_at), np.uint64(0))
        self.ethertype = np.where(whole, _be16(rows, protocol_at), np.uint16(0)).astype(np.uint16)
        self.l3 = frames.start + header

    def _ip_by_version(self, header: int) -> None:
        """Raw IP (and BSD loopback after its 4-byte family): the IP version nibble decides."""
        frames = self.frames
        self.l3 = frames.start + header
        present = frames.end > self.l3
        version = frames.buffer[np.minimum(self.l3, frames.last)] >> 4
        self.ethertype[present & (version == 4)] = ETHERTYPE_IPV4
        self.ethertype[present & (version == 6)] = ETHERTYPE_IPV6

    def _vlan_tags(self) -> None:
        """IEEE 802.1Q §9.6 tags, stacked for QinQ (802.1ad); the outermost VLAN id is kept."""
        tagged = np.flatnonzero(np.isin(self.ethertype, VLAN_TPIDS))
        for _ in range(MAX_VLAN_TAGS):
            if not len(tagged):
                return
            pos = self.l3[tagged]
            fits = pos + 4 <= self.frames.end[tagged]
            tagged, pos = tagged[fits], pos[fits]
            rows = self.frames.take(pos, 4)
            outer = self.vlan[tagged] < 0
            self.vlan[tagged[outer]] = (_be16(rows, 0)[outer] & 0x0FFF).astype(np.int32)
            inner = _be16(rows, 2)
            self.ethertype[tagged] = inner
            self.l3[tagged] = pos + 4
            tagged = tagged[np.isin(inner, VLAN_TPIDS)]

    def _pppoe_session(self) -> None:
        """RFC 2516 §4: a 6-byte PPPoE session header, then the 2-byte PPP protocol."""
        idx = np.flatnonzero(self.ethertype == ETHERTYPE_PPPOE_SESSION)
        if not len(idx):
            return
        pos = self.l3[idx]
        idx, pos = idx[pos + 8 <= self.frames.end[idx]], pos[pos + 8 <= self.frames.end[idx]]
        protocol = _be16(self.frames.take(pos, 8), 6)
        for ppp, ethertype in PPP_TO_ETHERTYPE.items():
            chosen = protocol == ppp
            self.ethertype[idx[chosen]] = ethertype
            self.l3[idx[chosen]] = pos[chosen] + 8

    # -- network layer ----------------------------------------------------------------------

    def _ipv4(self, idx: I64) -> None:
        """RFC 791 §3.1 header; total length bounds the datagram (Ethernet pads short frames).

        A total length of 0 (TCP segmentation offload on the capturing host) means "as
        captured".
        """
        if not len(idx):
            return
        pos, end = self.l3[idx], self.frames.end[idx]
        rows = self._rows(idx, pos, 20)
        ihl = (rows[:, 0] & 0x0F).astype(np.int64) * 4
        total = _be16(rows, 2).astype(np.int64)
        total = np.where(total == 0, end - pos, total)
        ok = (pos + 20 <= end) & (rows[:, 0] >> 4 == 4) & (ihl >= 20) & (total >= ihl)
        if not ok.all():
            self.malformed += int(len(idx) - np.count_nonzero(ok))
            idx, pos, rows, ihl, total = idx[ok], pos[ok], rows[ok], ihl[ok], total[ok]
        self.ip_version[idx] = 4
        self.proto[idx] = rows[:, 9]
        self.later_fragment[idx] = (_be16(rows, 6) & 0x1FFF) != 0
        addresses = _be32(rows, 12).astype(np.uint64), _be32(rows, 16).astype(np.uint64)
        self.src_lo[idx] = addresses[0] | IPV4_MAPPED
        self.dst_lo[idx] = addresses[1] | IPV4_MAPPED
        self.l4[idx] = pos + ihl
        # A total length beyond the frame is a lie; trust the frame, as Wireshark does.
        self.l3_end[idx] = np.minimum(pos + total, self.wire_end[idx])

    def _ipv6(self, idx: I64) -> None:
        """RFC 8200 §3 header, then the extension headers of §4 up to the upper layer."""
        if not len(idx):
            return
        pos, end = self.l3[idx], self.frames.end[idx]
        rows = self.frames.take(pos, 40)
        ok = (pos + 40 <= end) & (rows[:, 0] >> 4 == 6)
        self.malformed += int(len(idx) - np.count_nonzero(ok))
        idx, pos, rows, end = idx[ok], pos[ok], rows[ok], end[ok]
        payload = _be16(rows, 4).astype(np.int64)
        words = _be64_pairs(rows[:, 8:40])
        self.ip_version[idx] = 6
        self.src_hi[idx], self.src_lo[idx] = words[:, 0], words[:, 1]
        self.dst_hi[idx], self.dst_lo[idx] = words[:, 2], words[:, 3]
        stated_end = np.minimum(pos + 40 + payload, self.wire_end[idx])
        self.l3_end[idx] = np.where(payload == 0, end, stated_end)
        self.proto[idx] = rows[:, 6]
        self.l4[idx] = pos + 40
        self._ipv6_extensions(idx)

    def _ipv6_extensions(self, idx: I64) -> None:
        """Skip extension headers; a Fragment header with a non-zero offset marks a later
        fragment (RFC 8200 §4.5). A chain cut short leaves the packet without transport."""
        chained = idx[np.isin(self.proto[idx], IPV6_EXTENSIONS)]
        for _ in range(MAX_IPV6_EXTENSIONS):
            if not len(chained):
                return
            pos = self.l4[chained]
            fits = pos + 8 <= self.frames.end[chained]
            self.proto[chained[~fits]] = 255
            chained, pos = chained[fits], pos[fits]
            rows = self.frames.take(pos, 8)
            kind = self.proto[chained]
            length = np.where(
                kind == IPV6_AUTH,
                (rows[:, 1].astype(np.int64) + 2) * 4,
                (rows[:, 1].astype(np.int64) + 1) * 8,
            )
            fragment = kind == IPV6_FRAGMENT
            length[fragment] = 8
            later = fragment & ((_be16(rows, 2) >> 3) != 0)
            self.later_fragment[chained[later]] = True
            self.proto[chained] = rows[:, 0]
            self.l4[chained] = pos + length
            chained = chained[np.isin(rows[:, 0], IPV6_EXTENSIONS)]
        # 255 is reserved (IANA): an over-long chain is left without a transport.
        self.proto[chained] = 255

    def _arp(self, idx: I64) -> None:
        """RFC 826 for Ethernet/IPv4: opcode, sender and target hardware/protocol addresses."""
        if not len(idx):
            return
        pos = self.l3[idx]
        rows = self.frames.take(pos, 28)
        ok = (
            (pos + 28 <= self.frames.end[idx])
            & (_be16(rows, 0) == ARPHRD_ETHER)
            & (_be16(rows, 2) == ETHERTYPE_IPV4)
            & (rows[:, 4] == 6)
            & (rows[:, 5] == 4)
        )
        self.malformed += int(len(idx) - np.count_nonzero(ok))
        idx, rows = idx[ok], rows[ok]
        self.arp_op[idx] = _be16(rows, 6)
        self.arp_sha[idx] = _be48(rows, 8)
        self.arp_spa[idx] = _be32(rows, 14)
        self.arp_tha[idx] = _be48(rows, 18)
        self.arp_tpa[idx] = _be32(rows, 24)

    # -- transport layer --------------------------------------------------------------------

    def _transport(self) -> None:
        ip = self.ip_version != 0
        first = ip & ~self.later_fragment
        self.payload_start = np.where(ip, self.l4, 0)
        self.payload_len = np.where(ip, np.maximum(self.l3_end - self.l4, 0), 0)
        self._tcp(np.flatnonzero(first & (self.proto == PROTO_TCP)))
        self._udp(np.flatnonzero(first & (self.proto == PROTO_UDP)))

    def _tcp(self, idx: I64) -> None:
        """RFC 9293 §3.1: ports, sequence and acknowledgment numbers, data offset, flags."""
        if not len(idx):
            return
        pos, wire_end = self.l4[idx], self.l3_end[idx]
        rows = self._rows(idx, pos, 14)
        offset = (rows[:, 12] >> 4).astype(np.int64) * 4
        ok = (pos + 14 <= self.frames.end[idx]) & (offset >= 20) & (pos + offset <= wire_end)
        if not ok.all():
            self.malformed += int(len(idx) - np.count_nonzero(ok))
            idx, pos, rows, offset, wire_end = idx[ok], pos[ok], rows[ok], offset[ok], wire_end[ok]
        self.has_ports[idx] = True
        self.sport[idx] = _be16(rows, 0)
        self.dport[idx] = _be16(rows, 2)
        self.seq[idx] = _be32(rows, 4)
        self.ack[idx] = _be32(rows, 8)
        self.tcp_flags[idx] = rows[:, 13]
        self.payload_start[idx] = pos + offset
        self.payload_len[idx] = wire_end - (pos + offset)

    def _udp(self, idx: I64) -> None:
        """RFC 768: ports and length; the IP length wins when the UDP length disagrees."""
        if not len(idx):
            return
        pos, wire_end = self.l4[idx], self.l3_end[idx]
        rows = self._rows(idx, pos, 8)
        ok = (pos + 8 <= self.frames.end[idx]) & (pos + 8 <= wire_end)
        if not ok.all():
            self.malformed += int(len(idx) - np.count_nonzero(ok))
            idx, pos, rows, wire_end = idx[ok], pos[ok], rows[ok], wire_end[ok]
        available = wire_end - pos
        stated = _be16(rows, 4).astype(np.int64)
        length = np.where((stated >= 8) & (stated <= available), stated, available)
        self.has_ports[idx] = True
        self.sport[idx] = _be16(rows, 0)
        self.dport[idx] = _be16(rows, 2)
        self.payload_start[idx] = pos + 8
        self.payload_len[idx] = length - 8


def decode(batch: PacketBatch) -> Headers:
    """Decode the headers of every packet of ``batch`` (see module docstring)."""
    return _Decoder(batch).run()
