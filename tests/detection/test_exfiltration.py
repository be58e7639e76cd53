"""Data exfiltration: bulk uploads from an inside host to one internet address, on hand-made
flows at the edges of each threshold, on the simulator's planted upload and benign hospital,
and on a real phone-app upload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medshield.core.enums import AlertKind, Severity
from medshield.core.flow import DirectionStats, Endpoint, FlowRecord
from medshield.detection.exfiltration import (
    MIN_BYTES_OUT,
    MIN_OUT_IN_RATIO,
    WINDOW_S,
    ExfiltrationDetector,
    byte_size,
)
from medshield.detection.hosts import ClinicalHosts, is_inside, is_outside
from medshield.simulate import SimulationConfig, simulate_to_files
from medshield.testing.detection import epoch, run_detectors
from medshield.testing.environment import require_shared

T0 = 1_700_000_000.0
INSIDE = Endpoint("10.20.60.13", 50000, "b8:ca:3a:00:00:01")
OUTSIDE = Endpoint("45.61.136.83", 443, "00:00:5e:00:01:01")
"""An upload host on the internet, reached through the router's MAC."""
PACS = Endpoint("10.20.1.30", 104, "00:50:56:00:00:30")


def flow(
    client: Endpoint,
    server: Endpoint,
    sent: int,
    received: int,
    at: float = T0,
    duration: float = 5.0,
    flow_id: int = 1,
) -> FlowRecord:
    """A TCP flow: ``sent`` payload bytes client→server, ``received`` back."""
    return FlowRecord(
        flow_id, 6, client, server, at, at + duration,
        DirectionStats(max(1, sent // 1400), sent + 54, sent, 0x1B),
        DirectionStats(max(1, received // 1400), received + 54, received, 0x1B),
    )  # fmt: skip


def by_mac(endpoint: Endpoint) -> str:
    """A namer that names hosts by MAC like the inventory does, else by IP."""
    return f"mac-{endpoint.mac.replace(':', '')}" if endpoint.mac else endpoint.ip


def detect(*flows: tuple[FlowRecord, str]) -> list[Any]:
    detector = ExfiltrationDetector()
    for record, app in flows:
        detector.flow(record, app)
    return detector.alerts(by_mac)


# --- thresholds ------------------------------------------------------------------------------


def test_an_upload_at_both_thresholds_alerts_with_the_pair_and_the_bytes() -> None:
    received = int(MIN_BYTES_OUT / MIN_OUT_IN_RATIO)
    (alert,) = detect((flow(INSIDE, OUTSIDE, MIN_BYTES_OUT, received), "tls"))
    assert alert.kind is AlertKind.DATA_EXFILTRATION
    assert alert.severity is Severity.HIGH
    assert alert.device == "mac-b8ca3a000001"
    assert alert.peer == "45.61.136.83"  # the router's MAC does not name an internet host
    assert (alert.start, alert.end) == (T0, T0 + 5.0)
    assert "sent 10.0 MB to 45.61.136.83" in alert.evidence
    assert "received 2.0 MB (5:1 out/in) in 1 tls flow" in alert.evidence


def test_a_byte_less_than_the_volume_threshold_is_no_exfiltration() -> None:
    assert detect((flow(INSIDE, OUTSIDE, MIN_BYTES_OUT - 1, 0), "tls")) == []


def test_an_upload_answered_by_more_than_a_fifth_of_its_size_is_a_two_way_exchange() -> None:
    sent = 3 * MIN_BYTES_OUT
    received = int(sent / MIN_OUT_IN_RATIO) + 1
    assert detect((flow(INSIDE, OUTSIDE, sent, received), "tls")) == []


def test_downloads_are_not_exfiltration() -> None:
    assert detect((flow(INSIDE, OUTSIDE, 4_000, 500_000_000), "tls")) == []


def test_bulk_transfers_between_inside_hosts_are_never_exfiltration() -> None:
    # A modality's C-STORE of a whole study to the PACS: hundreds of MB, one way.
    assert detect((flow(INSIDE, PACS, 400_000_000, 2_000), "dicom")) == []


def test_an_inside_server_answering_an_outside_client_leaks_all_the_same() -> None:
    server = Endpoint("10.20.1.30", 443, "00:50:56:00:00:30")
    client = Endpoint("93.184.216.34", 51000, "00:00:5e:00:01:01")
    (alert,) = detect((flow(client, server, 3_000, 50_000_000), "tls"))
    assert alert.device == "mac-005056000030"
    assert alert.peer == "93.184.216.34"
    assert "sent 50.0 MB to 93.184.216.34 and received 3.0 kB" in alert.evidence


def test_multicast_and_broadcast_destinations_are_not_the_internet() -> None:
    ssdp = Endpoint("239.255.255.250", 1900)
    broadcast = Endpoint("255.255.255.255", 67)
    assert (
        detect(
            (flow(INSIDE, ssdp, 50_000_000, 0), ""), (flow(INSIDE, broadcast, 50_000_000, 0), "")
        )
        == []
    )


def test_an_upload_chunked_over_many_flows_in_the_window_is_one_episode() -> None:
    chunk = MIN_BYTES_OUT // 8
    flows = [
        (flow(Endpoint(INSIDE.ip, 50000 + i, INSIDE.mac), OUTSIDE, chunk, 400, T0 + 45 * i), "tls")
        for i in range(10)
    ]
    (alert,) = detect(*flows)
    assert alert.start == T0
    assert alert.end == T0 + 45 * 9 + 5.0
    assert "sent 12.5 MB" in alert.evidence
    assert "in 10 tls flows" in alert.evidence


def test_the_same_volume_spread_wider_than_the_window_is_not_counted_together() -> None:
    half = MIN_BYTES_OUT // 2 + 1
    later = T0 + WINDOW_S + 120
    assert (
        detect(
            (flow(INSIDE, OUTSIDE, half, 0, T0), ""), (flow(INSIDE, OUTSIDE, half, 0, later), "")
        )
        == []
    )


def test_uploads_an_hour_apart_are_two_episodes() -> None:
    first = flow(INSIDE, OUTSIDE, 2 * MIN_BYTES_OUT, 1_000, T0)
    second = flow(INSIDE, OUTSIDE, 2 * MIN_BYTES_OUT, 1_000, T0 + 3600, flow_id=2)
    alerts = detect((first, "tls"), (second, "tls"))
    assert [a.start for a in alerts] == [T0, T0 + 3600]


def test_a_large_download_earlier_in_the_window_does_not_hide_the_upload() -> None:
    download = flow(INSIDE, OUTSIDE, 2_000, 200_000_000, T0)
    upload = flow(INSIDE, OUTSIDE, 2 * MIN_BYTES_OUT, 1_000, T0 + 300, flow_id=2)
    (alert,) = detect((download, "tls"), (upload, "tls"))
    assert alert.start == T0 + 300
    assert "sent 20.0 MB" in alert.evidence


def test_a_clinical_host_leaking_data_is_critical_and_says_why() -> None:
    store = flow(INSIDE, PACS, 50_000_000, 3_000, T0 - 100)
    upload = flow(INSIDE, OUTSIDE, 20_000_000, 3_000, T0, flow_id=2)
    (alert,) = detect((store, "dicom"), (upload, "tls"))
    assert alert.severity is Severity.CRITICAL
    assert alert.evidence.endswith("the sender speaks dicom")


def test_a_refused_probe_labelled_by_its_port_makes_no_host_clinical() -> None:
    probe = FlowRecord(
        1, 6, INSIDE, PACS, T0 - 10, T0 - 10,
        DirectionStats(1, 58, 0, 0x02), DirectionStats(1, 54, 0, 0x14),
    )  # fmt: skip
    hosts = ClinicalHosts()
    hosts.note(probe, "dicom")
    assert hosts.of(INSIDE.ip) == []
    upload = flow(INSIDE, OUTSIDE, 20_000_000, 3_000, T0, flow_id=2)
    (alert,) = detect((probe, "dicom"), (upload, "tls"))
    assert alert.severity is Severity.HIGH


def test_address_classes() -> None:
    assert is_inside("10.1.2.3") and is_inside("fe80::1") and is_inside("192.168.0.1")
    assert is_outside("45.61.136.83") and is_outside("2001:4860:4860::8888")
    assert not is_outside("224.0.0.251") and not is_inside("224.0.0.251")
    assert not is_outside("0.0.0.0") and not is_outside("172.16.5.4")


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 B"), (999, "999 B"), (1_000, "1.0 kB"), (62_541, "62.5 kB"), (30_300_849, "30.3 MB")],
)
def test_byte_sizes_are_decimal(count: int, text: str) -> None:
    assert byte_size(count) == text


# --- simulated hospital ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("exfil")
    config = SimulationConfig(devices=30, duration=120.0, seed=3, attacks=("exfil",))
    simulate_to_files(config, folder / "exfil.pcap", folder / "truth.json")
    truth = json.loads((folder / "truth.json").read_text())
    return folder / "exfil.pcap", truth


def test_the_planted_upload_is_one_alert_on_the_attacker_in_its_window(
    planted: tuple[Path, dict[str, Any]],
) -> None:
    capture, truth = planted
    (attack,) = truth["attacks"]
    (alert,) = run_detectors([ExfiltrationDetector()], [capture])
    assert alert.kind.value == attack["kind"]
    assert alert.device == attack["attacker"]
    assert alert.peer in attack["targets"]
    assert alert.start <= epoch(attack["end"]) and alert.end >= epoch(attack["start"])
    assert alert.severity is Severity.HIGH  # a workstation: it spoke no clinical protocol
    assert f"to {alert.peer}" in alert.evidence and " MB " in alert.evidence


def test_a_benign_hospital_gives_no_exfiltration_alert(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    capture = tmp_path_factory.mktemp("benign") / "benign.pcap"
    simulate_to_files(SimulationConfig(devices=60, duration=600.0, seed=11), capture)
    assert run_detectors([ExfiltrationDetector()], [capture]) == []


# --- real capture ----------------------------------------------------------------------------

FITBIT = "pcap/medical/iotsec-lab-medical-devices/fitbitfitness/wifi/2_2.pcap"
"""A phone's Fitbit app syncing: one TLS connection on which it sends 62,541 payload bytes to
34.102.155.183 and gets 1,234 back (tshark: sum of tcp.len per direction)."""


def test_a_real_phone_upload_is_measured_by_direction_and_is_under_the_threshold() -> None:
    capture = require_shared(FITBIT)
    assert run_detectors([ExfiltrationDetector()], [capture]) == []
    (alert,) = run_detectors([ExfiltrationDetector(min_bytes_out=50_000)], [capture])
    assert alert.device == "ip-10.215.173.1"  # a raw-IP capture: devices by address
    assert alert.peer == "34.102.155.183"
    assert "sent 62.5 kB to 34.102.155.183 and received 1.2 kB (51:1 out/in)" in alert.evidence
