"""Flow lifecycle: TCP close by FIN/RST, the close linger, port reuse, idle and active timeouts."""

from __future__ import annotations

from medshield.core.flow import FlowEnd
from medshield.core.settings import FlowSettings
from medshield.flows.lifecycle import CLOSE_LINGER
from medshield.flows.table import FlowTable

from .flow_craft import (
    ACK,
    PSH,
    RST,
    SYN,
    T0,
    Conversation,
    batch_of,
    full_conversation,
    run,
    udp_frame,
)


def test_rst_ends_a_flow() -> None:
    talk = Conversation()
    frames = [talk.packet(0, SYN), talk.packet(1, RST | ACK)]
    (payload,) = run(frames)
    assert payload.flow.end_reason == FlowEnd.RST
    assert payload.flow.packets == 2


def test_port_reuse_after_fin_starts_a_new_flow() -> None:
    first, _ = full_conversation()
    again = Conversation(client_isn=90_000, server_isn=70_000)
    second = [*again.handshake(), again.packet(0, PSH | ACK, b"again"), *again.teardown()]
    flows = run(first + second)
    assert [f.flow.packets for f in flows] == [len(first), len(second)]
    assert [f.flow.flow_id for f in flows] == [1, 2]
    assert [f.flow.end_reason for f in flows] == [FlowEnd.FIN, FlowEnd.FIN]
    assert flows[1].client_bytes == b"again"


def test_trailing_ack_after_close_stays_in_the_flow_but_late_packets_do_not() -> None:
    frames, talk = full_conversation()
    late = talk.packet(0, ACK)
    ts = [T0 + i * 0.01 for i in range(len(frames))]
    flows = run([*frames, late], [*ts, ts[-1] + CLOSE_LINGER + 1])
    assert [f.flow.packets for f in flows] == [len(frames), 1]


def test_closed_flow_is_exported_once_the_linger_passes() -> None:
    frames, _ = full_conversation()
    other = udp_frame("192.0.2.99", "192.0.2.98", 5000, 6000, b"x")
    table = FlowTable()
    ts = [T0 + i * 0.01 for i in range(len(frames))]
    assert table.feed(batch_of(frames, ts)) == []
    done = table.feed(batch_of([other], [ts[-1] + CLOSE_LINGER + 0.5]))
    assert [f.flow.end_reason for f in done] == [FlowEnd.FIN]


def test_idle_timeout_splits_a_flow() -> None:
    settings = FlowSettings(idle_timeout=10.0)
    frames = [udp_frame("192.0.2.1", "192.0.2.2", 5000, 53, b"q%d" % i) for i in range(4)]
    ts = [T0, T0 + 5, T0 + 30, T0 + 31]
    for split in (None, 2, 3):
        flows = run(frames, ts, settings, split)
        assert [f.flow.packets for f in flows] == [2, 2], split
        assert flows[0].flow.end_reason == FlowEnd.IDLE


def test_idle_flows_are_swept_when_time_moves_on() -> None:
    settings = FlowSettings(idle_timeout=10.0)
    table = FlowTable(settings)
    assert table.feed(batch_of([udp_frame("192.0.2.1", "192.0.2.2", 1, 2)], [T0])) == []
    later = batch_of([udp_frame("192.0.2.3", "192.0.2.4", 1, 2)], [T0 + 11])
    (done,) = table.feed(later)
    assert done.flow.end_reason == FlowEnd.IDLE
    assert len(table) == 1


def test_active_timeout_cuts_long_flows() -> None:
    settings = FlowSettings(idle_timeout=100.0, active_timeout=60.0)
    frames = [udp_frame("192.0.2.1", "192.0.2.2", 5000, 1883, b"p") for _ in range(7)]
    ts = [T0 + i * 25 for i in range(7)]  # 0 25 50 | 75 100 125 | 150
    flows = run(frames, ts, settings)
    assert [f.flow.packets for f in flows] == [3, 3, 1]
    assert [f.flow.end_reason for f in flows] == [FlowEnd.ACTIVE, FlowEnd.ACTIVE, FlowEnd.EOF]
