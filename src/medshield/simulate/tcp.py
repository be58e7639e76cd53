"""TCP connections written as the frames both ends put on the wire (RFC 9293).

A :class:`TcpConnection` holds the sequence state of both ends and turns application writes
into segments: three-way handshake (§3.5), MSS-sized data segments with ACKs from the receiver
(delayed ACK every second full segment, RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2), and the
FIN/ACK close (§3.6). Nothing is ever lost or retransmitted, every ACK acknowledges new data, and
each side keeps one window, so a capture of it carries no TCP analysis flag in Wireshark.

Methods are generators of :data:`~medshield.simulate.wire.Item` that *return* the time of the
last frame, so a conversation reads ``t = yield from conn.send(conn.client, t, request)``.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

from medshield.simulate.wire import (
    MIN_FRAME,
    PROTO_TCP,
    Nic,
    Steps,
    ethernet_header,
    finish_checksum,
    pad,
    word_sum,
)

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10

MSS = 1460
"""Maximum segment size on Ethernet (1500-byte MTU less 40 bytes of IPv4 and TCP headers)."""

SYN_OPTIONS = b"\x02\x04\x05\xb4\x01\x01\x04\x02"
"""MSS 1460, NOP, NOP, SACK permitted (RFC 9293 §3.7.1, RFC 2018)."""

Chunk = tuple[bytes, int]
"""A segment payload and its RFC 1071 word sum (cached for payloads that repeat)."""

"""A run of frames; the generator's return value is the time of its last frame."""

_ETH_IP_TCP = struct.Struct("!14sBBHHHBBH4s4sHHIIHHHH")
_PADDING = {n: bytes(n) for n in range(1, MIN_FRAME)}
"""Zero padding up to the Ethernet minimum, by missing length."""


def chunks(data: bytes, mss: int = MSS) -> list[Chunk]:
    """Cut an application write into segment payloads of at most ``mss`` bytes, with sums."""
    return [(data[i : i + mss], word_sum(data[i : i + mss])) for i in range(0, len(data), mss)]


class TcpSide:
    """One end of a connection: its addresses, next sequence number and last ACK sent."""

    __slots__ = (
        "_dst",
        "_eth",
        "_ip_base",
        "_pack",
        "_src",
        "_tcp_base",
        "_ttl",
        "acked",
        "dport",
        "ident",
        "nic",
        "peer",
        "seq",
        "sport",
        "window",
    )

    def __init__(
        self, nic: Nic, peer_nic: Nic, sport: int, dport: int, isn: int, ident: int, window: int
    ) -> None:
        self.nic = nic
        self.sport = sport
        self.dport = dport
        self.seq = isn
        self.ident = ident & 0xFFFF
        self.window = window
        self.acked = 0
        self.peer: TcpSide = self
        self._eth = ethernet_header(peer_nic.mac, nic.mac)
        self._src = nic.ip
        self._dst = peer_nic.ip
        self._ttl = nic.ttl
        self._pack = _ETH_IP_TCP.pack
        address_words = word_sum(nic.ip + peer_nic.ip)
        self._ip_base = 0x4500 + 0x4000 + (nic.ttl << 8 | PROTO_TCP) + address_words
        self._tcp_base = address_words + PROTO_TCP + sport + dport + window + 20

    def frame(self, flags: int, payload: bytes = b"", payload_sum: int = 0) -> bytes:
        """The next data or ACK segment from this side (flags include ACK); advances ``seq``.

        This is the simulator's hot path: both checksums come from precomputed partial sums
        (RFC 1071) and the whole header is one ``struct`` call.
        """
        n = len(payload)
        total = 40 + n
        ident = self.ident
        self.ident = (ident + 1) & 0xFFFF
        seq = self.seq
        ack = self.acked = self.peer.seq
        off_flags = 0x5000 | flags
        frame = (
            self._pack(
                self._eth,
                0x45,
                0,
                total,
                ident,
                0x4000,
                self._ttl,
                PROTO_TCP,
                -(self._ip_base + total + ident) % 0xFFFF,
                self._src,
                self._dst,
                self.sport,
                self.dport,
                seq,
                ack,
                off_flags,
                self.window,
                -(
                    self._tcp_base
                    + n
                    + (seq >> 16)
                    + (seq & 0xFFFF)
                    + (ack >> 16)
                    + (ack & 0xFFFF)
                    + off_flags
                    + payload_sum
                )
                % 0xFFFF,
                0,
            )
            + payload
        )
        self.seq = (seq + n) & 0xFFFFFFFF
        if total < 46:
            return frame + _PADDING[46 - total]
        return frame

    def control(self, flags: int, options: bytes = b"") -> bytes:
        """A SYN or FIN segment (which consume one sequence number), with TCP options."""
        header_len = 20 + len(options)
        total = 20 + header_len
        ident = self.ident
        self.ident = (ident + 1) & 0xFFFF
        seq = self.seq
        ack = self.peer.seq if flags & ACK else 0
        self.acked = ack
        off_flags = header_len << 10 | flags
        tcp_check = finish_checksum(
            self._tcp_base
            - 20
            + header_len
            + (seq >> 16)
            + (seq & 0xFFFF)
            + (ack >> 16)
            + (ack & 0xFFFF)
            + off_flags
            + word_sum(options)
        )
        frame = (
            self._pack(
                self._eth,
                0x45,
                0,
                total,
                ident,
                0x4000,
                self._ttl,
                PROTO_TCP,
                finish_checksum(self._ip_base + total + ident),
                self._src,
                self._dst,
                self.sport,
                self.dport,
                seq,
                ack,
                off_flags,
                self.window,
                tcp_check,
                0,
            )
            + options
        )
        self.seq = (seq + 1) & 0xFFFFFFFF
        return pad(frame)

    @property
    def owes_ack(self) -> bool:
        """True when the peer sent data this side has not acknowledged yet."""
        return self.acked != self.peer.seq


class TcpConnection:
    """A TCP connection between a client and a server, seen from a SPAN port.

    ``lag_us`` is the one-way latency plus the receiving stack's turnaround: the time between a
    segment and the ACK or reply it provokes.
    """

    __slots__ = ("client", "lag_us", "server")

    def __init__(
        self,
        client: Nic,
        server: Nic,
        client_port: int,
        server_port: int,
        rng: random.Random,
        *,
        client_window: int = 64240,
        server_window: int = 64240,
        lag_us: int = 180,
    ) -> None:
        self.client = TcpSide(
            client,
            server,
            client_port,
            server_port,
            rng.getrandbits(32),
            rng.getrandbits(16),
            client_window,
        )
        self.server = TcpSide(
            server,
            client,
            server_port,
            client_port,
            rng.getrandbits(32),
            rng.getrandbits(16),
            server_window,
        )
        self.client.peer = self.server
        self.server.peer = self.client
        self.lag_us = lag_us

    def open(self, t: int, facts: tuple[object, ...] = ()) -> Steps:
        """SYN, SYN/ACK, ACK (RFC 9293 §3.5); ``facts`` ride on the SYN."""
        syn = self.client.control(SYN, SYN_OPTIONS)
        yield (t, syn, facts) if facts else (t, syn)
        t += self.lag_us
        yield t, self.server.control(SYN | ACK, SYN_OPTIONS)
        t += self.lag_us
        yield t, self.client.frame(ACK)
        return t

    def send(
        self,
        sender: TcpSide,
        t: int,
        data: bytes | Sequence[Chunk],
        *,
        facts: tuple[object, ...] = (),
        gap_us: int = 12,
    ) -> Steps:
        """One application write from ``sender``, cut into segments the receiver ACKs.

        The receiver ACKs every second full segment (delayed ACK) but not the last one: that
        ACK is left to :meth:`ack` or rides on the receiver's reply. ``facts`` ride on the
        first segment.

        Bulk transfers (DICOM pixel data) spend most of the run here, so the segment encoding
        of :meth:`TcpSide.frame` is inlined with the sender's constants in local variables.
        """
        if isinstance(data, bytes) and 0 < len(data) <= MSS:
            # One segment (most messages): no need for the bulk loop's set-up.
            segment = sender.frame(ACK | PSH, data, word_sum(data))
            yield (t, segment, facts) if facts else (t, segment)
            return t
        pieces = chunks(data) if isinstance(data, bytes) else data
        last = len(pieces) - 1
        if last < 0:
            return t
        ack_frame = sender.peer.frame
        ack_lag = self.lag_us // 4 + 20
        pack = sender._pack
        eth, ttl, src, dst = sender._eth, sender._ttl, sender._src, sender._dst
        sport, dport, window = sender.sport, sender.dport, sender.window
        ip_base, tcp_base = sender._ip_base, sender._tcp_base
        ack = sender.acked = sender.peer.seq
        ack_words = (ack >> 16) + (ack & 0xFFFF)
        seq, ident = sender.seq, sender.ident
        sender.ident = (ident + len(pieces)) & 0xFFFF
        for index in range(last + 1):
            payload, payload_sum = pieces[index]
            n = len(payload)
            total = 40 + n
            off_flags = 0x5000 | ACK | PSH if index == last else 0x5000 | ACK
            frame = (
                pack(
                    eth,
                    0x45,
                    0,
                    total,
                    ident,
                    0x4000,
                    ttl,
                    PROTO_TCP,
                    -(ip_base + total + ident) % 0xFFFF,
                    src,
                    dst,
                    sport,
                    dport,
                    seq,
                    ack,
                    off_flags,
                    window,
                    -(
                        tcp_base
                        + n
                        + (seq >> 16)
                        + (seq & 0xFFFF)
                        + ack_words
                        + off_flags
                        + payload_sum
                    )
                    % 0xFFFF,
                    0,
                )
                + payload
            )
            if total < 46:
                frame += _PADDING[46 - total]
            ident = (ident + 1) & 0xFFFF
            seq = (seq + n) & 0xFFFFFFFF
            if index == last:
                sender.seq = seq
                yield (t, frame, facts) if facts and index == 0 else (t, frame)
                return t
            if index == 0 and facts:
                yield t, frame, facts
            else:
                yield t, frame
            if index & 1:
                sender.seq = seq  # the ACK acknowledges everything sent so far
                t += ack_lag
                yield t, ack_frame(ACK)
            t += gap_us
        return t  # pragma: no cover - the loop always returns at the last piece

    def ack(self, side: TcpSide, t: int) -> Steps:
        """A pure ACK from ``side`` when it owes one; nothing otherwise (no duplicate ACKs)."""
        if side.owes_ack:
            yield t, side.frame(ACK)
        return t

    def exchange(
        self,
        t: int,
        request: bytes | Sequence[Chunk],
        response: bytes | Sequence[Chunk] | None,
        *,
        think_us: int = 800,
        ack_us: int = 40_000,
        request_facts: tuple[object, ...] = (),
        response_facts: tuple[object, ...] = (),
    ) -> Steps:
        """Client request, server response after ``think_us``, client's delayed ACK."""
        t = yield from self.send(self.client, t, request, facts=request_facts)
        if response is not None:
            t = yield from self.send(self.server, t + think_us, response, facts=response_facts)
            t = yield from self.ack(self.client, t + ack_us)
        else:
            t = yield from self.ack(self.server, t + ack_us)
        return t

    def close(self, initiator: TcpSide, t: int) -> Steps:
        """FIN/ACK from ``initiator``, FIN/ACK back, final ACK (RFC 9293 §3.6)."""
        yield t, initiator.control(FIN | ACK)
        t += self.lag_us
        yield t, initiator.peer.control(FIN | ACK)
        t += self.lag_us
        yield t, initiator.frame(ACK)
        return t
