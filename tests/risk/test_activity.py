"""Activity profiles: hour-of-week buckets, packets spread over the hours a flow spans."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medshield.core.device import device_id_for_mac
from medshield.core.flow import DirectionStats, Endpoint, FlowRecord
from medshield.risk.activity import (
    HOURS_PER_WEEK,
    ActivityProfile,
    ActivityRecorder,
    bucket_label,
    hour_of_week,
    local_hour,
    merged,
    profiles_from_flows,
)

MONDAY = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
"""2024-01-01 00:00 UTC was a Monday."""
HOUR = 3600.0


def test_hour_of_week_counts_from_monday_midnight_utc() -> None:
    assert hour_of_week(MONDAY) == 0
    assert hour_of_week(MONDAY + 26.5 * HOUR) == 26  # Tuesday 02:30
    assert hour_of_week(MONDAY - 1) == HOURS_PER_WEEK - 1  # Sunday 23:59:59
    assert hour_of_week(0.0) == 72  # the epoch: Thursday 00:00
    stamp = datetime(2025, 6, 13, 17, 45, tzinfo=UTC)  # a Friday
    assert hour_of_week(stamp.timestamp()) == stamp.weekday() * 24 + stamp.hour


def test_local_hours_and_labels() -> None:
    assert bucket_label(26) == "Tue 02:00"
    assert local_hour(0, 1.0) == 1
    assert local_hour(0, -5.0) == HOURS_PER_WEEK - 5
    assert bucket_label(local_hour(167, 2.0)) == "Mon 01:00"


def test_a_flow_spreads_its_packets_over_the_hours_it_spans() -> None:
    profile = ActivityProfile("d")
    # 00:30 → 02:15: half an hour, a whole hour, a quarter hour.
    profile.add_flow(MONDAY + 0.5 * HOUR, MONDAY + 2.25 * HOUR, 700)
    assert profile.packets[:3] == pytest.approx([200.0, 400.0, 100.0])
    assert profile.flows[:4] == [1, 1, 1, 0]
    assert sum(profile.packets) == pytest.approx(700)


def test_an_instant_flow_lands_in_one_hour() -> None:
    profile = ActivityProfile("d")
    profile.add_flow(MONDAY + 5 * HOUR + 10, MONDAY + 5 * HOUR + 10, 3)
    assert profile.packets[5] == 3 and profile.flows[5] == 1 and sum(profile.flows) == 1


def test_observation_and_rates() -> None:
    profile = ActivityProfile("d")
    profile.observe(MONDAY, MONDAY + 1.5 * HOUR)
    profile.add_flow(MONDAY + 3600, MONDAY + 3600, 30)
    assert profile.observed[:3] == [HOUR, HOUR / 2, 0.0]
    assert profile.rate(1) == pytest.approx(60.0)  # 30 packets in half an observed hour
    assert profile.rate(2) is None  # never observed: unknown, not idle
    assert profile.observed_days == pytest.approx(1.5 / 24)


def test_profiles_wrap_around_the_week() -> None:
    profile = ActivityProfile("d")
    profile.add_flow(MONDAY - 0.5 * HOUR, MONDAY + 0.5 * HOUR, 10)
    assert profile.packets[HOURS_PER_WEEK - 1] == pytest.approx(5)
    assert profile.packets[0] == pytest.approx(5)


def test_merge_adds_bucket_by_bucket() -> None:
    first, second = ActivityProfile("d"), ActivityProfile("d")
    first.add_flow(MONDAY, MONDAY, 4)
    second.add_flow(MONDAY + 10, MONDAY + 20, 6)
    second.observe(MONDAY, MONDAY + HOUR)
    total = merged([first, second])["d"]
    assert total.packets[0] == 10 and total.flows[0] == 2 and total.observed[0] == HOUR
    assert first.packets[0] == 4  # inputs unchanged


def test_profiles_from_flows_observes_every_device_over_the_capture() -> None:
    profiles = profiles_from_flows(
        [("a", MONDAY, MONDAY + 60, 5), ("b", MONDAY + HOUR, MONDAY + HOUR, 1)],
        observed=[(MONDAY, MONDAY + 2 * HOUR)],
    )
    assert set(profiles) == {"a", "b"}
    assert profiles["a"].observed[:2] == profiles["b"].observed[:2] == [HOUR, HOUR]
    assert profiles["b"].packets[1] == 1


def _flow(
    client: Endpoint, server: Endpoint, first: float, last: float, packets: int
) -> FlowRecord:
    return FlowRecord(
        flow_id=1,
        transport=6,
        client=client,
        server=server,
        first_seen=first,
        last_seen=last,
        c2s=DirectionStats(packets=packets // 2),
        s2c=DirectionStats(packets=packets - packets // 2),
    )


def test_recorder_names_both_endpoints_with_the_inventory_resolver() -> None:
    pump = Endpoint("192.0.2.10", 50000, "00:00:5e:00:53:0a")
    server = Endpoint("192.0.2.20", 2575, "00:00:5e:00:53:14")
    outside = Endpoint("198.51.100.7", 443, "00:00:5e:00:53:01")
    recorder = ActivityRecorder()
    recorder.add_flow(_flow(pump, server, MONDAY, MONDAY + 60, 10))
    recorder.add_flow(_flow(pump, outside, MONDAY + HOUR, MONDAY + HOUR, 4))
    recorder.observe(MONDAY, MONDAY + 2 * HOUR)
    known = {"192.0.2.10": "pump", "192.0.2.20": "server"}
    profiles = recorder.profiles(lambda endpoint: known.get(endpoint.ip))
    assert set(profiles) == {"pump", "server"}
    assert profiles["pump"].packets[:2] == [10, 4]
    assert profiles["server"].packets[:2] == [10, 0]
    assert profiles["pump"].observed[:3] == [HOUR, HOUR, 0.0]
    by_mac = recorder.profiles()
    assert device_id_for_mac(pump.mac or "") in by_mac


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(min_value=MONDAY - 1e6, max_value=MONDAY + 1e6),
    duration=st.floats(min_value=0, max_value=3 * 86_400),
    packets=st.integers(min_value=0, max_value=10**6),
)
def test_spreading_keeps_every_packet(start: float, duration: float, packets: int) -> None:
    profile = ActivityProfile("d")
    profile.add_flow(start, start + duration, packets)
    assert sum(profile.packets) == pytest.approx(packets, rel=1e-9, abs=1e-6)
    assert all(count >= 0 for count in profile.packets)
