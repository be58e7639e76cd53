"""First-bytes reassembly of TCP directions (RFC 9293 sequence space)."""

from __future__ import annotations

from medshield.core.settings import FlowSettings
from medshield.flows.reassembly import TcpPrefix
from medshield.flows.table import FlowTable

from .flow_craft import ACK, PSH, SYN, Conversation, batch_of

SYN_FLAG = 0x02


def prefix_of(
    segments: list[tuple[int, bytes]], limit: int = 16, syn: int | None = None
) -> TcpPrefix:
    prefix = TcpPrefix(limit)
    if syn is not None:
        prefix.add(syn, SYN_FLAG, memoryview(b""), 0.5)
    for i, (seq, data) in enumerate(segments):
        prefix.add(seq, 0x18, memoryview(data), 1.0 + i)
    return prefix


def test_in_order_segments() -> None:
    prefix = prefix_of([(101, b"abc"), (104, b"def")], syn=100)
    assert bytes(prefix.data) == b"abcdef"
    assert prefix.first_ts == 1.0
    assert not prefix.truncated and not prefix.gap


def test_out_of_order_segments_are_put_in_place() -> None:
    prefix = prefix_of([(101, b"abc"), (107, b"ghi"), (104, b"def")], syn=100)
    assert bytes(prefix.data) == b"abcdefghi"
    assert not prefix.gap


def test_retransmission_and_overlap_keep_the_first_bytes() -> None:
    prefix = prefix_of([(101, b"abcd"), (101, b"abcd"), (103, b"XXef"), (107, b"g")], syn=100)
    assert bytes(prefix.data) == b"abcdefg"


def test_without_syn_the_first_data_segment_starts_the_stream() -> None:
    prefix = prefix_of([(5000, b"hello "), (5006, b"world")])
    assert bytes(prefix.data) == b"hello world"


def test_segment_before_the_stream_start_is_trimmed() -> None:
    prefix = prefix_of([(101, b"cd"), (99, b"abcdef")], syn=100)
    assert bytes(prefix.data) == b"cdef"


def test_prefix_stops_at_its_limit_and_says_more_followed() -> None:
    prefix = prefix_of([(1, b"0123456789"), (11, b"abcdefghij"), (21, b"zzz")], limit=16, syn=0)
    assert bytes(prefix.data) == b"0123456789abcdef"
    assert prefix.truncated
    assert not prefix.gap
    assert not prefix.collecting


def test_exactly_full_prefix_waits_to_learn_whether_more_follows() -> None:
    prefix = prefix_of([(1, b"0123456789abcdef")], limit=16, syn=0)
    assert prefix.collecting and not prefix.truncated
    prefix.add(17, 0x18, memoryview(b"more"), 9.0)
    assert prefix.truncated and not prefix.collecting


def test_hole_is_a_gap() -> None:
    prefix = prefix_of([(1, b"abc"), (10, b"later")], limit=64, syn=0)
    assert bytes(prefix.data) == b"abc"
    assert prefix.gap and prefix.truncated


def test_sequence_numbers_wrap() -> None:
    isn = 2**32 - 3
    prefix = prefix_of([(2**32 - 2, b"ab"), (0, b"cd"), (2, b"ef")], syn=isn)
    assert bytes(prefix.data) == b"abcdef"


def test_table_reassembles_out_of_order_and_retransmitted_segments() -> None:
    talk = Conversation()
    frames = talk.handshake()
    start = talk.next_seq[0]
    pieces = [b"MSH|^~\\&|", b"LAB|WARD|", b"HIS|HOSP|", b"ORU^R01\r"]
    offsets = [0]
    for piece in pieces[:-1]:
        offsets.append(offsets[-1] + len(piece))
    send = [2, 0, 1, 0, 3]  # the third piece first, then a retransmission of the first
    for index in send:
        frames.append(talk.packet(0, PSH | ACK, pieces[index], seq=start + offsets[index]))
    table = FlowTable()
    table.feed(batch_of(frames))
    (payload,) = table.flush()
    assert payload.client_bytes == b"".join(pieces)
    assert not payload.client_gap
    assert payload.client_first_ts is not None
    assert payload.flow.c2s.packets == 2 + len(send)


def test_table_caps_the_prefix_and_flags_truncation() -> None:
    settings = FlowSettings(prefix_bytes=100)
    talk = Conversation()
    frames = talk.handshake() + [talk.packet(1, PSH | ACK, bytes([i]) * 60) for i in range(5)]
    table = FlowTable(settings)
    table.feed(batch_of(frames[:5]))
    table.feed(batch_of(frames[5:]))
    (payload,) = table.flush()
    assert payload.server_bytes == bytes([0]) * 60 + bytes([1]) * 40
    assert payload.server_truncated and not payload.server_gap
    assert payload.client_bytes == b""
    assert payload.flow.s2c.payload_bytes == 300


def test_table_reports_a_gap_when_a_segment_is_missing() -> None:
    talk = Conversation()
    frames = talk.handshake()
    frames.append(talk.packet(0, PSH | ACK, b"first "))
    talk.packet(0, PSH | ACK, b"lost ")  # never captured
    frames.append(talk.packet(0, PSH | ACK, b"after the hole"))
    table = FlowTable()
    table.feed(batch_of(frames))
    (payload,) = table.flush()
    assert payload.client_bytes == b"first "
    assert payload.client_gap and payload.client_truncated


def test_syn_isn_anchors_the_stream() -> None:
    talk = Conversation(client_isn=7)
    frames = [talk.packet(0, SYN)]
    data_seq = talk.next_seq[0]
    frames.append(talk.packet(0, PSH | ACK, b"xyz", seq=data_seq + 3))
    frames.append(talk.packet(0, PSH | ACK, b"abc", seq=data_seq))
    table = FlowTable()
    table.feed(batch_of(frames))
    (payload,) = table.flush()
    assert payload.client_bytes == b"abcxyz"
