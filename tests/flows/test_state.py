"""Flow state export: sides become client/server, statistics become records."""

from __future__ import annotations

import pytest

from medshield.core.enums import Direction
from medshield.core.flow import FlowEnd
from medshield.flows.keys import pack_key_fields
from medshield.flows.state import FlowState

A = (0, (0xFFFF << 32) | 0xC0000201)  # 192.0.2.1
B = (0, (0xFFFF << 32) | 0xC0000202)  # 192.0.2.2


def udp_state(client: int) -> FlowState:
    key = (*A, *B, pack_key_fields(12, 17, 53, 40000), 0)
    state = FlowState(key, 10.0, "x.pcap", (0, 0))
    state.start_collecting(prefix_bytes=8192, max_datagrams=4)
    state.client = client
    state.macs = [0x00005E005301, 0]
    state.packets = [1, 2]
    state.bytes = [100, 250]
    state.datagrams = [(1, 10.0, b"query"), (0, 10.5, b"answer")]
    return state


def test_export_maps_sides_to_client_and_server() -> None:
    payload = udp_state(client=1).export(FlowEnd.IDLE)
    flow = payload.flow
    assert (flow.client.ip, flow.client.port, flow.client.mac) == ("192.0.2.2", 40000, None)
    assert (flow.server.ip, flow.server.port, flow.server.mac) == (
        "192.0.2.1",
        53,
        "00:00:5e:00:53:01",
    )
    assert (flow.c2s.packets, flow.c2s.bytes, flow.s2c.packets) == (2, 250, 1)
    assert flow.vlan == 12
    assert flow.end_reason == FlowEnd.IDLE
    assert [d.direction for d in payload.datagrams] == [
        Direction.CLIENT_TO_SERVER,
        Direction.SERVER_TO_CLIENT,
    ]


def test_inter_arrival_statistics_without_gaps_are_zero() -> None:
    flow = udp_state(client=0).export(FlowEnd.EOF).flow
    assert (flow.iat_min, flow.iat_mean, flow.iat_max, flow.iat_std) == (0.0, 0.0, 0.0, 0.0)


def test_population_standard_deviation() -> None:
    state = udp_state(client=0)
    for gap in (1.0, 3.0):
        state.iat_count += 1
        state.iat_sum += gap
        state.iat_sumsq += gap * gap
        state.iat_min = min(state.iat_min, gap)
        state.iat_max = max(state.iat_max, gap)
    flow = state.export(FlowEnd.EOF).flow
    assert (flow.iat_min, flow.iat_mean, flow.iat_max) == (1.0, 2.0, 3.0)
    assert flow.iat_std == pytest.approx(1.0)
