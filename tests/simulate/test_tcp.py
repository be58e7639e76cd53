"""TCP connections as both ends write them (simulate/tcp.py)."""

from __future__ import annotations

import random
from collections.abc import Generator

import dpkt

from medshield.simulate.tcp import MSS, TcpConnection, chunks
from medshield.simulate.wire import MIN_FRAME, Item, Nic, ip_bytes, mac_bytes

from .checks import checksums_ok

CLIENT = Nic(mac_bytes("00:09:fb:12:34:56"), ip_bytes("10.20.10.11"), 64)
SERVER = Nic(mac_bytes("00:50:56:aa:bb:cc"), ip_bytes("10.20.1.40"), 128)


def drain(steps: Generator[Item, None, int], into: list[Item]) -> int:
    """Collect a run of frames; return the generator's final time."""
    while True:
        try:
            into.append(next(steps))
        except StopIteration as done:
            return int(done.value)


def conversation() -> list[Item]:
    """Handshake, a request/response, a 20 kB upload, a pure ACK, and the close."""
    conn = TcpConnection(CLIENT, SERVER, 50123, 2575, random.Random(5))
    items: list[Item] = []
    t = drain(conn.open(1_000_000), items)
    t = drain(conn.exchange(t + 500, b"request" * 3, b"response"), items)
    t = drain(conn.send(conn.client, t + 500, bytes(range(256)) * 80), items)
    t = drain(conn.ack(conn.server, t + 100), items)
    t = drain(conn.ack(conn.server, t + 100), items)  # nothing left to acknowledge
    drain(conn.close(conn.client, t + 1000), items)
    return items


def segments(items: list[Item]) -> list[tuple[int, dpkt.tcp.TCP]]:
    return [(item[0], dpkt.ethernet.Ethernet(item[1]).data.data) for item in items]


def test_every_frame_has_correct_checksums() -> None:
    assert all(checksums_ok(item[1]) for item in conversation())


def test_handshake_then_close() -> None:
    tcp = [s for _, s in segments(conversation())]
    syn, syn_ack, ack = tcp[:3]
    assert syn.flags == dpkt.tcp.TH_SYN
    assert syn_ack.flags == dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK
    assert syn_ack.ack == syn.seq + 1 and ack.ack == syn_ack.seq + 1
    assert dict(dpkt.tcp.parse_opts(syn.opts))[dpkt.tcp.TCP_OPT_MSS] == MSS.to_bytes(2, "big")
    fin, fin_back, last = tcp[-3:]
    assert fin.flags & dpkt.tcp.TH_FIN and fin.sport == 50123
    assert fin_back.flags & dpkt.tcp.TH_FIN and fin_back.ack == fin.seq + 1
    assert last.flags == dpkt.tcp.TH_ACK and last.ack == fin_back.seq + 1


def test_sequence_numbers_continue_and_segments_fit_the_mss() -> None:
    expected: dict[int, int] = {}
    for _, tcp in segments(conversation()):
        if tcp.sport in expected:
            assert tcp.seq == expected[tcp.sport]
        assert len(tcp.data) <= MSS
        consumed = len(tcp.data) + (1 if tcp.flags & (dpkt.tcp.TH_SYN | dpkt.tcp.TH_FIN) else 0)
        expected[tcp.sport] = (tcp.seq + consumed) & 0xFFFFFFFF


def test_acks_only_cover_data_sent_and_pure_acks_always_advance() -> None:
    sent_up_to: dict[int, int] = {}
    last_pure_ack: dict[int, int] = {}
    for _, tcp in segments(conversation()):
        consumed = len(tcp.data) + (1 if tcp.flags & (dpkt.tcp.TH_SYN | dpkt.tcp.TH_FIN) else 0)
        sent_up_to[tcp.sport] = tcp.seq + consumed
        if tcp.flags & dpkt.tcp.TH_ACK:
            assert tcp.ack <= sent_up_to[tcp.dport]
        if tcp.flags == dpkt.tcp.TH_ACK and not tcp.data:
            assert tcp.ack > last_pure_ack.get(tcp.sport, 0)
            last_pure_ack[tcp.sport] = tcp.ack


def test_bulk_send_is_acked_every_second_segment() -> None:
    items: list[Item] = []
    conn = TcpConnection(CLIENT, SERVER, 50124, 104, random.Random(6))
    drain(conn.open(0), items)
    drain(conn.send(conn.client, 10_000, bytes(6 * MSS)), items)
    data_and_acks = [tcp for _, tcp in segments(items[3:])]
    senders = [("C" if tcp.sport == 50124 else "S") for tcp in data_and_acks]
    assert "".join(senders) == "CCSCCSCC"
    assert data_and_acks[-1].flags & dpkt.tcp.TH_PUSH


def test_timestamps_never_go_backwards() -> None:
    times = [item[0] for item in conversation()]
    assert times == sorted(times)


def test_short_segments_are_padded_to_the_ethernet_minimum() -> None:
    assert min(len(item[1]) for item in conversation()) == MIN_FRAME


def test_chunks_cut_at_the_mss_and_carry_word_sums() -> None:
    pieces = chunks(bytes(range(256)) * 12)
    assert [len(p) for p, _ in pieces] == [MSS, MSS, 3072 - 2 * MSS]
    assert all(isinstance(s, int) for _, s in pieces)


def test_facts_ride_on_the_first_segment_only() -> None:
    conn = TcpConnection(CLIENT, SERVER, 50125, 2575, random.Random(7))
    items: list[Item] = []
    drain(conn.open(0, ("syn-fact",)), items)
    drain(conn.send(conn.client, 5_000, bytes(3 * MSS), facts=("data-fact",)), items)
    facts = [item[2] for item in items if len(item) > 2]
    assert facts == [("syn-fact",), ("data-fact",)]
    assert len(items[3]) == 3


def test_an_empty_write_sends_nothing() -> None:
    conn = TcpConnection(CLIENT, SERVER, 50126, 80, random.Random(8))
    items: list[Item] = []
    assert drain(conn.send(conn.client, 42, b""), items) == 42
    assert items == []
