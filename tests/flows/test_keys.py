"""Flow keys and grouping: both directions share a key; hash collisions fall back exactly."""

from __future__ import annotations

import numpy as np
import pytest

from medshield.flows import keys
from medshield.flows.headers import decode
from medshield.flows.keys import group_flows, group_rows, pack_key_fields, unpack_key_fields

from .flow_craft import CLIENT_MAC, SERVER_MAC, batch_of, udp_frame


def test_both_directions_share_a_group_and_keep_capture_order() -> None:
    frames = [
        udp_frame("192.0.2.1", "192.0.2.2", 1000, 53, b"a"),
        udp_frame("192.0.2.5", "192.0.2.6", 1, 2, b"b"),
        udp_frame("192.0.2.2", "192.0.2.1", 53, 1000, b"c", SERVER_MAC, CLIENT_MAC),
        udp_frame("192.0.2.1", "192.0.2.2", 1000, 53, b"d"),
    ]
    headers = decode(batch_of(frames))
    grouping = group_flows(headers, headers.is_ip)
    groups = [
        grouping.order[s:e].tolist()
        for s, e in zip(grouping.group_start, grouping.group_end, strict=True)
    ]
    assert sorted(groups) == [[0, 2, 3], [1]]
    sides = dict(zip(grouping.order.tolist(), grouping.side.tolist(), strict=True))
    assert sides[0] == sides[3] != sides[2]


def test_key_fields_round_trip() -> None:
    assert unpack_key_fields(pack_key_fields(4094, 17, 65535, 1)) == (4094, 17, 65535, 1)
    assert unpack_key_fields(pack_key_fields(-1, 6, 0, 443)) == (-1, 6, 0, 443)


def test_grouping_is_exact_even_when_every_hash_collides(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = np.random.default_rng(3).integers(0, 5, size=(2, 200)).astype(np.uint64)
    expected_order, expected_starts, _ = group_rows([rows[0], rows[1]])
    expected = {tuple(rows[:, expected_order[s]]) for s in expected_starts}
    monkeypatch.setattr(keys, "_MIX", tuple(np.uint64(0) for _ in keys._MIX))
    order, starts, ends = group_rows([rows[0], rows[1]])
    assert {tuple(rows[:, order[s]]) for s in starts} == expected
    for s, e in zip(starts, ends, strict=True):
        members = rows[:, order[s:e]]
        assert (members == members[:, :1]).all()
        assert (np.diff(order[s:e]) > 0).all()  # capture order inside a group
