"""The flow table: keys, lifecycle, timeouts, client choice, statistics, payload collection."""

from __future__ import annotations

import pytest

from medshield.core.enums import Direction
from medshield.core.flow import FlowEnd
from medshield.core.settings import FlowSettings
from medshield.flows.table import FlowTable

from .flow_craft import (
    ACK,
    CLIENT_MAC,
    FIN,
    PSH,
    SERVER_MAC,
    SYN,
    T0,
    Conversation,
    batch_of,
    ether,
    full_conversation,
    ipv4,
    run,
    tcp_frame,
    udp,
    udp_frame,
)


def test_tcp_connection_from_syn_to_fin() -> None:
    frames, _ = full_conversation()
    (payload,) = run(frames)
    flow = payload.flow
    assert flow.flow_id == 1
    assert flow.transport == 6
    assert (flow.client.ip, flow.client.port, flow.client.mac) == ("192.0.2.10", 49152, CLIENT_MAC)
    assert (flow.server.ip, flow.server.port, flow.server.mac) == ("192.0.2.20", 2575, SERVER_MAC)
    assert (flow.c2s.packets, flow.s2c.packets) == (5, 4)
    assert flow.c2s.bytes == sum(len(f) for i, f in enumerate(frames) if i in (0, 2, 3, 6, 8))
    assert (flow.c2s.payload_bytes, flow.s2c.payload_bytes) == (14, 9)
    assert flow.c2s.tcp_flags == SYN | ACK | PSH | FIN
    assert flow.s2c.tcp_flags == SYN | ACK | PSH | FIN
    assert flow.end_reason == FlowEnd.FIN
    assert flow.first_seen == T0 and flow.last_seen == pytest.approx(T0 + 0.08)
    assert flow.source == "test.pcap"
    assert payload.client_bytes == b"MSH|^~\\&|PUMP\r"
    assert payload.server_bytes == b"MSA|AA|1\r"
    assert payload.client_first_ts == pytest.approx(T0 + 0.03)
    assert payload.server_first_ts == pytest.approx(T0 + 0.05)
    assert not payload.client_truncated and not payload.client_gap


def test_the_same_flow_across_batches() -> None:
    frames, _ = full_conversation()
    whole = run(frames)
    for split in range(1, len(frames)):
        assert run(frames, split=split) == whole, split


def test_inter_arrival_statistics() -> None:
    frames, _ = full_conversation()
    gaps = [0.5, 1.0, 0.25, 0.25, 2.0, 0.5, 0.5, 1.0]
    ts = [T0]
    for gap in gaps:
        ts.append(ts[-1] + gap)
    (payload,) = run(frames, ts, split=4)
    flow = payload.flow
    mean = sum(gaps) / len(gaps)
    assert flow.iat_min == pytest.approx(0.25)
    assert flow.iat_max == pytest.approx(2.0)
    assert flow.iat_mean == pytest.approx(mean)
    assert flow.iat_std == pytest.approx((sum((g - mean) ** 2 for g in gaps) / len(gaps)) ** 0.5)


def test_client_is_the_syn_sender_even_from_the_lower_port() -> None:
    talk = Conversation(client=("192.0.2.50", 80), server=("192.0.2.20", 40000))
    (payload,) = run(talk.handshake())
    assert (payload.flow.client.ip, payload.flow.client.port) == ("192.0.2.50", 80)


def test_client_without_syn_is_the_higher_port() -> None:
    talk = Conversation()
    frames = [talk.packet(1, PSH | ACK, b"late reply"), talk.packet(0, ACK)]
    (payload,) = run(frames)
    assert payload.flow.client.port == 49152
    assert payload.server_bytes == b"late reply"
    assert payload.flow.s2c.packets == 1


def test_client_with_equal_ports_is_the_first_sender() -> None:
    frames = [
        udp_frame("192.0.2.9", "192.0.2.1", 123, 123, b"ntp?"),
        udp_frame("192.0.2.1", "192.0.2.9", 123, 123, b"ntp!", SERVER_MAC, CLIENT_MAC),
    ]
    (payload,) = run(frames)
    assert payload.flow.client.ip == "192.0.2.9"
    assert [(d.direction, d.payload) for d in payload.datagrams] == [
        (Direction.CLIENT_TO_SERVER, b"ntp?"),
        (Direction.SERVER_TO_CLIENT, b"ntp!"),
    ]


def test_broadcast_dhcp_is_one_flow_per_device() -> None:
    devices = ["00:00:5e:00:53:a1", "00:00:5e:00:53:a2", "00:00:5e:00:53:a3"]
    frames = []
    for mac in devices:
        for message in (b"DISCOVER", b"REQUEST"):
            frames.append(
                udp_frame("0.0.0.0", "255.255.255.255", 68, 67, message, mac, "ff:ff:ff:ff:ff:ff")
            )
    flows = run(frames)
    assert sorted(f.flow.client.mac or "" for f in flows) == devices
    for payload in flows:
        assert payload.flow.c2s.packets == 2
        assert payload.flow.server.ip == "255.255.255.255"
        assert payload.flow.server.mac == "ff:ff:ff:ff:ff:ff"
        assert [d.payload for d in payload.datagrams] == [b"DISCOVER", b"REQUEST"]


def test_multicast_is_keyed_by_source_mac_too() -> None:
    frames = [
        udp_frame("192.0.2.1", "224.0.0.251", 5353, 5353, b"a", "00:00:5e:00:53:01"),
        udp_frame("192.0.2.1", "224.0.0.251", 5353, 5353, b"b", "00:00:5e:00:53:02"),
        udp_frame("192.0.2.1", "192.0.2.7", 5353, 5353, b"c", "00:00:5e:00:53:01"),
        udp_frame("192.0.2.1", "192.0.2.7", 5353, 5353, b"d", "00:00:5e:00:53:02"),
    ]
    assert [f.flow.packets for f in run(frames)] == [1, 1, 2]


def test_udp_keeps_the_first_datagrams_only() -> None:
    settings = FlowSettings(max_datagrams=3)
    frames = [udp_frame("192.0.2.1", "192.0.2.2", 40000, 53, b"m%d" % i) for i in range(5)]
    (payload,) = run(frames, settings=settings, split=2)
    assert [d.payload for d in payload.datagrams] == [b"m0", b"m1", b"m2"]
    assert payload.flow.c2s.packets == 5
    assert payload.client_bytes == b""


def test_icmp_is_a_flow_with_zero_ports() -> None:
    echo = bytes([8, 0, 0, 0, 0, 1, 0, 1]) + b"ping"
    reply = bytes([0, 0, 0, 0, 0, 1, 0, 1]) + b"ping"
    frames = [
        ether(CLIENT_MAC, SERVER_MAC, ipv4("192.0.2.10", "192.0.2.20", echo, 1)),
        ether(SERVER_MAC, CLIENT_MAC, ipv4("192.0.2.20", "192.0.2.10", reply, 1)),
    ]
    (payload,) = run(frames)
    assert payload.flow.transport == 1
    assert (payload.flow.client.port, payload.flow.server.port) == (0, 0)
    assert payload.flow.client.ip == "192.0.2.10"
    assert (payload.flow.c2s.packets, payload.flow.s2c.packets) == (1, 1)


def test_vlan_is_part_of_the_key() -> None:
    frame = udp_frame("192.0.2.1", "192.0.2.2", 1000, 2000, b"v")
    tagged = frame[:12] + b"\x81\x00\x00\x0a" + frame[12:]
    flows = run([frame, tagged])
    assert sorted(f.flow.vlan or 0 for f in flows) == [0, 10]


def test_later_fragments_are_counted_not_flowed() -> None:
    datagram = bytes(udp(5000, 6000, b"x" * 40))
    first = ether(
        CLIENT_MAC,
        SERVER_MAC,
        ipv4("192.0.2.1", "192.0.2.2", datagram[:24], 17, more_fragments=True),
    )
    later = ether(
        CLIENT_MAC, SERVER_MAC, ipv4("192.0.2.1", "192.0.2.2", datagram[24:], 17, offset=24)
    )
    table = FlowTable()
    table.feed(batch_of([first, later]))
    (payload,) = table.flush()
    assert payload.flow.packets == 1
    assert table.counters.later_fragments == 1
    assert table.counters.packets == 2


def test_flow_ids_follow_first_packets() -> None:
    frames = [udp_frame(f"192.0.2.{9 - i}", "192.0.2.100", 1000 + i, 53, b"x") for i in range(8)]
    flows = run(frames, split=3)
    by_id = sorted(flows, key=lambda f: f.flow.flow_id)
    assert [f.flow.client.port for f in by_id] == [1000 + i for i in range(8)]


def test_non_ip_traffic_makes_no_flows() -> None:
    lldp = ether(CLIENT_MAC, "01:80:c2:00:00:0e", b"\x02\x07\x04" + b"\0" * 40, 0x88CC)
    table = FlowTable()
    assert table.feed(batch_of([lldp])) == []
    assert table.flush() == []
    assert table.counters.not_ip == 1


def test_raw_ip_flows_have_no_macs() -> None:
    frame = tcp_frame("192.0.2.1", "192.0.2.2", 1234, 80, SYN)[14:]
    table = FlowTable()
    table.feed(batch_of([frame], linktype=101))
    (payload,) = table.flush()
    assert payload.flow.client.mac is None and payload.flow.server.mac is None
