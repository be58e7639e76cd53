"""Beaconing: regular, same-size connections from an inside host to an internet service, on
hand-made connection series at the edges of each threshold, on the simulator's planted
implant (long and short captures) and benign hospital, and on a real app's connection burst."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from medshield.core.enums import AlertKind, Severity
from medshield.core.flow import DirectionStats, Endpoint, FlowEnd, FlowRecord
from medshield.detection.beaconing import (
    MAX_TIMING_DISPERSION,
    MIN_CONNECTIONS,
    SIZE_TOLERANCE_BYTES,
    BeaconingDetector,
    madm,
    regularity,
)
from medshield.simulate import SimulationConfig, simulate_to_files
from medshield.testing.detection import epoch, run_detectors, simulate_capture
from medshield.testing.environment import require_shared

T0 = 1_700_000_000.0
GATEWAY_MAC = "7c:94:b2:00:00:01"
C2 = "185.193.127.14"
SYN_ACK_FIN_PSH = 0x1B


def connection(
    at: float,
    sent: int = 776,
    *,
    client_ip: str = "10.20.50.11",
    server_ip: str = C2,
    port: int = 443,
    transport: int = 6,
    flags: int = SYN_ACK_FIN_PSH,
    source_port: int = 0,
) -> FlowRecord:
    """One short connection (TLS check-in shaped) from the gateway."""
    client = Endpoint(client_ip, source_port or 40000 + int(at) % 20000, GATEWAY_MAC)
    return FlowRecord(
        1, transport, client, Endpoint(server_ip, port, "00:00:5e:00:01:01"), at, at + 0.2,
        DirectionStats(8, sent + 400, sent, flags), DirectionStats(8, 2_000, 1_060, flags),
        end_reason=FlowEnd.FIN,
    )  # fmt: skip


def by_mac(endpoint: Endpoint) -> str:
    return f"mac-{endpoint.mac.replace(':', '')}" if endpoint.mac else endpoint.ip


def detect(flows: list[FlowRecord], app: str = "tls", **options: int) -> list[Any]:
    detector = BeaconingDetector(**options)
    for record in flows:
        detector.flow(record, app)
    return detector.alerts(by_mac)


def every(period: float, count: int, jitter: float = 0.0, seed: int = 1) -> list[float]:
    """Start times ``period`` apart, each interval scaled by a uniform ±``jitter``."""
    rng = random.Random(seed)
    starts = [T0]
    for _ in range(count - 1):
        starts.append(starts[-1] + period * rng.uniform(1 - jitter, 1 + jitter))
    return starts


# --- thresholds ------------------------------------------------------------------------------


def test_a_jittered_30_s_check_in_of_constant_size_is_a_beacon() -> None:
    starts = every(30.0, 13, jitter=0.03)
    (alert,) = detect([connection(t) for t in starts])
    assert alert.kind is AlertKind.BEACONING
    assert alert.severity is Severity.HIGH
    assert alert.device == "mac-7c94b2000001"
    assert alert.peer == C2
    assert (alert.start, alert.end) == (starts[0], starts[-1] + 0.2)
    assert alert.evidence.startswith(f"13 tls connections to {C2}:443/tcp every 30.")
    assert "each sending 776 B (MADM 0 B)" in alert.evidence


def test_the_fewest_connections_that_count_and_one_fewer() -> None:
    flows = [connection(t) for t in every(60.0, MIN_CONNECTIONS)]
    assert len(detect(flows)) == 1
    assert detect(flows[:-1]) == []


def test_a_short_capture_with_three_check_ins_is_too_few_to_call_beaconing() -> None:
    assert detect([connection(t) for t in every(30.0, 3)]) == []


def test_timing_dispersion_just_inside_and_just_outside_the_limit() -> None:
    # Intervals alternate 30 ± d: the MADM is d, the median 30 (odd count keeps one at 30).
    def series(deviation: float) -> list[FlowRecord]:
        intervals = [30.0] + [30.0 + (deviation if i % 2 else -deviation) for i in range(10)]
        starts = [T0]
        for gap in intervals:
            starts.append(starts[-1] + gap)
        return [connection(t) for t in starts]

    limit = MAX_TIMING_DISPERSION * 30.0
    assert len(detect(series(0.9 * limit))) == 1
    assert detect(series(1.1 * limit)) == []


def test_human_browsing_at_random_20_to_90_s_gaps_is_no_beacon() -> None:
    rng = random.Random(7)
    starts = [T0]
    for _ in range(30):
        starts.append(starts[-1] + rng.uniform(20.0, 90.0))
    sizes = [rng.randrange(700, 3500) for _ in starts]
    assert detect([connection(t, s) for t, s in zip(starts, sizes, strict=True)]) == []


def test_regular_connections_of_very_different_sizes_are_no_beacon() -> None:
    starts = every(30.0, 12)
    sizes = [300 if i % 2 else 3_000 for i in range(12)]
    assert detect([connection(t, s) for t, s in zip(starts, sizes, strict=True)]) == []


def test_small_check_ins_varying_by_a_few_bytes_are_similar() -> None:
    starts = every(30.0, 12)
    sizes = [80 + (SIZE_TOLERANCE_BYTES if i % 2 else 0) for i in range(12)]
    assert len(detect([connection(t, s) for t, s in zip(starts, sizes, strict=True)])) == 1


def test_a_burst_of_parallel_connections_is_no_sleep() -> None:
    starts = [T0 + 0.004 * i for i in range(24)]
    assert detect([connection(t, source_port=48000 + i) for i, t in enumerate(starts)]) == []


def test_internal_telemetry_on_a_clock_is_normal() -> None:
    flows = [connection(t, server_ip="10.20.1.50") for t in every(5.0, 40)]
    assert detect(flows) == []


def test_records_continuing_one_long_connection_are_not_new_connections() -> None:
    # The flow table cuts a persistent connection at its active timeout: regular records,
    # but only the first carries the client's SYN.
    first = connection(T0, flags=SYN_ACK_FIN_PSH)
    rest = [connection(T0 + 1800.0 * i, flags=0x18) for i in range(1, 12)]
    assert detect([first, *rest]) == []


def test_udp_check_ins_count_but_ntp_polls_are_periodic_by_design() -> None:
    udp = [connection(t, 48, port=4444, transport=17, flags=0) for t in every(64.0, 10)]
    assert len(detect(udp, app="")) == 1
    ntp = [connection(t, 48, port=123, transport=17, flags=0) for t in every(64.0, 10)]
    assert detect(ntp, app="") == []


def test_a_beaconing_clinical_device_is_critical() -> None:
    telemetry = FlowRecord(
        9, 6, Endpoint("10.20.50.11", 41000, GATEWAY_MAC), Endpoint("10.20.1.50", 1883),
        T0 - 60, T0 - 59, DirectionStats(4, 400, 180, 0x1B), DirectionStats(4, 300, 60, 0x1B),
    )  # fmt: skip
    detector = BeaconingDetector()
    detector.flow(telemetry, "mqtt")
    for t in every(30.0, 10):
        detector.flow(connection(t), "tls")
    (alert,) = detector.alerts(by_mac)
    assert alert.severity is Severity.CRITICAL
    assert alert.evidence.endswith("the host speaks mqtt")


def test_madm_and_regularity() -> None:
    assert madm([1.0, 2.0, 3.0, 4.0, 100.0]) == 1.0
    found = regularity([T0 + 60, T0, T0 + 30, T0 + 95], [100, 110, 100, 90])
    assert (found.period, found.period_madm) == (30.0, 0.0)
    assert (found.size, found.size_madm) == (100.0, 5.0)


# --- simulated hospital ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_minutes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    config = SimulationConfig(devices=30, duration=600.0, seed=3, attacks=("beaconing",))
    return simulate_capture(tmp_path_factory.mktemp("beacon600"), config)


def test_the_planted_implant_is_one_alert_on_the_infected_device(
    ten_minutes: tuple[Path, dict[str, Any]],
) -> None:
    capture, truth = ten_minutes
    (attack,) = truth["attacks"]
    (alert,) = run_detectors([BeaconingDetector()], [capture])
    assert alert.kind.value == attack["kind"]
    assert alert.device == attack["attacker"]
    assert alert.peer in attack["targets"]
    assert alert.start <= epoch(attack["end"]) and alert.end >= epoch(attack["start"])
    infected = next(d for d in truth["devices"] if d["id"] == attack["attacker"])
    assert infected["category"] == "medical IoT gateway"
    assert alert.severity is Severity.CRITICAL
    assert "443/tcp every 3" in alert.evidence


def test_two_minutes_of_the_same_implant_are_too_few_beacons(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    config = SimulationConfig(devices=30, duration=120.0, seed=3, attacks=("beaconing",))
    capture, truth = simulate_capture(tmp_path_factory.mktemp("beacon120"), config)
    assert truth["attacks"][0]["scenario"] == "beaconing"
    assert run_detectors([BeaconingDetector()], [capture]) == []


def test_a_benign_hospital_gives_no_beaconing_alert(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    capture = tmp_path_factory.mktemp("benign") / "benign.pcap"
    simulate_to_files(SimulationConfig(devices=60, duration=600.0, seed=11), capture)
    assert run_detectors([BeaconingDetector()], [capture]) == []


# --- real capture ----------------------------------------------------------------------------

KARDIA = "pcap/medical/iotsec-lab-medical-devices/kardiamobile/2_1.pcap"
"""A phone's KardiaMobile app: 24 TLS connections to 3.229.68.101 opened within 1.1 s
(tshark: 24 SYNs, at 2.05 s and then from 3.02 s to 3.14 s into the capture, 3-7 ms apart) —
a burst of parallel API calls, regular at the millisecond scale but no beacon."""


def test_a_real_app_burst_of_parallel_connections_is_no_beacon() -> None:
    capture = require_shared(KARDIA)
    detector = BeaconingDetector()
    assert run_detectors([detector], [capture]) == []
    burst = [s for key, s in detector.series.items() if key[2] == "3.229.68.101"]
    assert [series.connections for series in burst] == [24]
