"""Real packets for flow tests (dpkt) and batches built from them without a file."""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence

import dpkt
import numpy as np

from medshield.core.flow import FlowPayload
from medshield.core.packets import LinkType, PacketBatch
from medshield.core.settings import FlowSettings
from medshield.flows.table import FlowTable

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

CLIENT_MAC = "00:00:5e:00:53:0a"
SERVER_MAC = "00:00:5e:00:53:14"


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def ipv4(
    src: str,
    dst: str,
    transport: dpkt.Packet | bytes,
    proto: int,
    *,
    ident: int = 1,
    more_fragments: bool = False,
    offset: int = 0,
) -> dpkt.ip.IP:
    """An IPv4 packet; ``offset`` is the fragment offset in bytes (a multiple of 8)."""
    packet = dpkt.ip.IP(
        src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, id=ident, data=transport
    )
    packet.mf = int(more_fragments)
    packet.offset = offset
    return packet


def tcp(
    sport: int, dport: int, flags: int, seq: int = 0, ack: int = 0, payload: bytes = b""
) -> dpkt.tcp.TCP:
    return dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, data=payload)


def udp(sport: int, dport: int, payload: bytes = b"") -> dpkt.udp.UDP:
    return dpkt.udp.UDP(sport=sport, dport=dport, ulen=8 + len(payload), data=payload)


def ether(
    src_mac: str, dst_mac: str, packet: dpkt.Packet | bytes, ethertype: int = 0x0800
) -> bytes:
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ethertype) + bytes(packet)


def tcp_frame(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    flags: int,
    seq: int = 0,
    ack: int = 0,
    payload: bytes = b"",
    src_mac: str = CLIENT_MAC,
    dst_mac: str = SERVER_MAC,
) -> bytes:
    return ether(src_mac, dst_mac, ipv4(src, dst, tcp(sport, dport, flags, seq, ack, payload), 6))


def udp_frame(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    payload: bytes = b"",
    src_mac: str = CLIENT_MAC,
    dst_mac: str = SERVER_MAC,
) -> bytes:
    return ether(src_mac, dst_mac, ipv4(src, dst, udp(sport, dport, payload), 17))


def batch_of(
    frames: Sequence[bytes],
    ts: Sequence[float] | None = None,
    *,
    linktype: int = LinkType.ETHERNET,
    source: str = "test.pcap",
    wirelen: Sequence[int] | None = None,
    first_index: int = 0,
) -> PacketBatch:
    """A batch over ``frames`` laid end to end, as a reader would hand it out."""
    times = [1_700_000_000.0 + i * 0.001 for i in range(len(frames))] if ts is None else ts
    lengths = [len(frame) for frame in frames]
    starts = (
        np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        if frames
        else np.zeros(0, np.int64)
    )
    buffer = np.frombuffer(b"".join(frames), dtype=np.uint8).copy()
    return PacketBatch(
        source=source,
        linktype=int(linktype),
        buffer=buffer,
        frame_start=starts,
        caplen=np.asarray(lengths, dtype=np.uint32),
        wirelen=np.asarray(wirelen if wirelen is not None else lengths, dtype=np.uint32),
        ts=np.asarray(times, dtype=np.float64),
        first_index=first_index,
    )


class Conversation:
    """A TCP conversation between a client and a server with correct sequence numbers."""

    def __init__(
        self,
        client: tuple[str, int] = ("192.0.2.10", 49152),
        server: tuple[str, int] = ("192.0.2.20", 2575),
        client_isn: int = 1000,
        server_isn: int = 5000,
    ) -> None:
        self.client, self.server = client, server
        self.next_seq = {0: client_isn, 1: server_isn}
        self.isn = {0: client_isn, 1: server_isn}

    def packet(
        self, side: int, flags: int, payload: bytes = b"", *, seq: int | None = None
    ) -> bytes:
        """A segment from the client (side 0) or the server (side 1)."""
        src, dst = (self.client, self.server) if side == 0 else (self.server, self.client)
        src_mac, dst_mac = (CLIENT_MAC, SERVER_MAC) if side == 0 else (SERVER_MAC, CLIENT_MAC)
        number = self.next_seq[side] if seq is None else seq
        ack = self.next_seq[1 - side] if flags & ACK else 0
        frame = tcp_frame(
            src[0], dst[0], src[1], dst[1], flags, number, ack, payload, src_mac, dst_mac
        )
        if seq is None:
            self.next_seq[side] = (
                number + len(payload) + (1 if flags & (SYN | FIN) else 0)
            ) % 2**32
        return frame

    def handshake(self) -> list[bytes]:
        return [self.packet(0, SYN), self.packet(1, SYN | ACK), self.packet(0, ACK)]

    def teardown(self) -> list[bytes]:
        return [self.packet(0, FIN | ACK), self.packet(1, FIN | ACK), self.packet(0, ACK)]


T0 = 1_700_000_000.0


def run(
    frames: list[bytes],
    ts: list[float] | None = None,
    settings: FlowSettings | None = None,
    split: int | None = None,
) -> list[FlowPayload]:
    """Feed ``frames`` (in one batch, or two when ``split`` is given) and flush."""
    times = ts if ts is not None else [T0 + i * 0.01 for i in range(len(frames))]
    table = FlowTable(settings)
    cut = len(frames) if split is None else split
    out = table.feed(batch_of(frames[:cut], times[:cut]))
    if cut < len(frames):
        out += table.feed(batch_of(frames[cut:], times[cut:], first_index=cut))
    return out + table.flush()


def full_conversation() -> tuple[list[bytes], Conversation]:
    talk = Conversation()
    frames = talk.handshake()
    frames.append(talk.packet(0, PSH | ACK, b"MSH|^~\\&|PUMP\r"))
    frames.append(talk.packet(1, ACK))
    frames.append(talk.packet(1, PSH | ACK, b"MSA|AA|1\r"))
    frames += talk.teardown()
    return frames, talk
