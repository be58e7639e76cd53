"""Lateral movement: remote-administration sessions from one inside host to several others, on
hand-made sessions at the edges of each threshold, on the simulator's planted SMB/RDP spread,
its port scan and benign hospital, and on real SSH, RDP and SMB captures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medshield.core.enums import AlertKind, Severity
from medshield.core.flow import DirectionStats, Endpoint, FlowRecord
from medshield.detection.lateral_movement import (
    MIN_HOSTS,
    SHARED_SERVICE_CLIENTS,
    WINDOW_S,
    LateralMovementDetector,
)
from medshield.simulate import SimulationConfig, simulate_to_files
from medshield.testing.detection import epoch, run_detectors, simulate_capture
from medshield.testing.environment import require_shared

T0 = 1_700_000_000.0
ATTACKER = Endpoint("10.20.60.13", 51000, "b8:ca:3a:00:00:13")


def host(n: int) -> Endpoint:
    return Endpoint(f"10.20.100.{n}", 0, f"b8:ca:3a:00:01:{n:02x}")


def session(
    target: Endpoint,
    port: int = 445,
    at: float = T0,
    *,
    source: Endpoint = ATTACKER,
    sent: int = 1_200,
    received: int = 900,
    server_flags: int = 0x1B,
) -> FlowRecord:
    """A TCP connection from ``source`` to ``target``'s ``port`` with the given payloads."""
    return FlowRecord(
        1, 6, source, Endpoint(target.ip, port, target.mac), at, at + 0.5,
        DirectionStats(9, sent + 500, sent, 0x1B),
        DirectionStats(8, received + 450, received, server_flags),
    )  # fmt: skip


def by_mac(endpoint: Endpoint) -> str:
    return f"mac-{endpoint.mac.replace(':', '')}" if endpoint.mac else endpoint.ip


def detect(*flows: FlowRecord, app: str = "", **options: Any) -> list[Any]:
    detector = LateralMovementDetector(**options)
    for record in flows:
        detector.flow(record, app)
    return detector.alerts(by_mac)


# --- thresholds ------------------------------------------------------------------------------


def test_smb_logons_on_three_hosts_are_one_alert_naming_hosts_and_services() -> None:
    flows = [session(host(n), at=T0 + 8 * n) for n in range(1, MIN_HOSTS + 1)]
    flows.append(session(host(1), 3389, T0 + 30))
    (alert,) = detect(*flows)
    assert alert.kind is AlertKind.LATERAL_MOVEMENT
    assert alert.severity is Severity.HIGH
    assert alert.device == "mac-b8ca3a000013"
    assert alert.peer is None
    assert (alert.start, alert.end) == (T0 + 8, T0 + 30.5)
    assert alert.evidence == (
        "4 remote-administration sessions with data to 3 internal hosts in 22 s: "
        "mac-b8ca3a000101 (RDP/3389, SMB/445); mac-b8ca3a000102 (SMB/445); "
        "mac-b8ca3a000103 (SMB/445)"
    )


def test_two_hosts_are_an_administrators_day() -> None:
    assert (
        detect(session(host(1)), session(host(2), 22, T0 + 5), session(host(2), 3389, T0 + 9)) == []
    )


def test_three_hosts_further_apart_than_the_window_are_no_fan_out() -> None:
    gap = WINDOW_S / 2 + 1
    assert detect(*(session(host(n), at=T0 + gap * n) for n in range(3))) == []


@pytest.mark.parametrize("port", [22, 135, 139, 445, 3389, 5900, 5985, 5986])
def test_every_remote_administration_service_counts(port: int) -> None:
    assert len(detect(*(session(host(n), port, T0 + n) for n in range(1, 4)))) == 1


def test_other_services_do_not_count() -> None:
    assert detect(*(session(host(n), 443, T0 + n) for n in range(1, 6))) == []


def test_refused_and_data_less_probes_of_a_scan_are_no_sessions() -> None:
    refused = [
        session(host(n), 445, T0 + n, sent=0, received=0, server_flags=0x14) for n in range(1, 6)
    ]
    half_open = [
        session(host(n), 3389, T0 + n, sent=0, received=0, server_flags=0x12) for n in range(1, 6)
    ]
    assert all(flow.refused for flow in refused)
    assert not any(flow.refused for flow in half_open)  # answered SYN/ACK, then reset
    assert detect(*refused, *half_open) == []


def test_a_session_the_server_never_answered_with_data_is_no_logon() -> None:
    assert detect(*(session(host(n), at=T0 + n, received=0) for n in range(1, 6))) == []


def test_sessions_to_internet_hosts_are_not_lateral() -> None:
    outside = [Endpoint(f"93.184.216.{n}", 0) for n in range(1, 6)]
    assert detect(*(session(target, 22, T0 + i) for i, target in enumerate(outside))) == []


def test_shared_servers_everyone_administers_are_no_targets() -> None:
    server = host(200)
    routine = [
        session(server, 445, T0 + i, source=Endpoint(f"10.20.100.{50 + i}", 50000, None))
        for i in range(SHARED_SERVICE_CLIENTS - 1)
    ]
    # With the attacker as the last client, the server's SMB is shared infrastructure.
    spread = [session(server), session(host(1), at=T0 + 1), session(host(2), at=T0 + 2)]
    assert detect(*routine, *spread) == []
    assert len(detect(*routine[:-1], *spread)) == 1


def test_one_alert_per_episode() -> None:
    burst = [session(host(n), at=T0 + 2 * n) for n in range(1, 7)]
    later = [session(host(n), at=T0 + 7200 + n) for n in range(10, 14)]
    alerts = detect(*burst, *later)
    assert [a.start for a in alerts] == [T0 + 2, T0 + 7210]
    assert "6 internal hosts" in alerts[0].evidence
    assert "4 internal hosts" in alerts[1].evidence


def test_many_targets_are_counted_beyond_those_named() -> None:
    (alert,) = detect(*(session(host(n), at=T0 + n) for n in range(1, 13)))
    assert alert.evidence.endswith("; and 4 more")


def test_reaching_a_clinical_server_is_critical() -> None:
    hl7_engine = Endpoint("10.20.1.40", 0, "00:50:56:00:00:40")
    feed = FlowRecord(
        7, 6, Endpoint("10.20.10.11", 40000, None), Endpoint(hl7_engine.ip, 2575, hl7_engine.mac),
        T0 - 50, T0 - 49, DirectionStats(3, 700, 500, 0x1B), DirectionStats(3, 300, 120, 0x1B),
    )  # fmt: skip
    detector = LateralMovementDetector()
    detector.flow(feed, "hl7")
    for record in (session(host(1)), session(host(2), at=T0 + 3), session(hl7_engine, at=T0 + 6)):
        detector.flow(record, "")
    (alert,) = detector.alerts(by_mac)
    assert alert.severity is Severity.CRITICAL
    assert alert.evidence.endswith("clinical targets: mac-005056000040")


# --- simulated hospital ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    config = SimulationConfig(devices=30, duration=120.0, seed=3, attacks=("lateral",))
    return simulate_capture(tmp_path_factory.mktemp("lateral"), config)


def test_the_planted_spread_is_one_alert_naming_every_target(
    planted: tuple[Path, dict[str, Any]],
) -> None:
    capture, truth = planted
    (attack,) = truth["attacks"]
    (alert,) = run_detectors([LateralMovementDetector()], [capture])
    assert alert.kind.value == attack["kind"]
    assert alert.device == attack["attacker"]
    assert alert.start <= epoch(attack["end"]) and alert.end >= epoch(attack["start"])
    ids = {d["ip"]: d["id"] for d in truth["devices"]}
    named = alert.evidence.split(": ", 1)[1]
    for target in attack["targets"]:
        assert ids[target] in named
    assert "SMB/445" in named and "RDP/3389" in named
    assert f"to {len(attack['targets'])} internal hosts" in alert.evidence


def test_a_port_scan_touching_smb_and_rdp_is_no_lateral_movement(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    config = SimulationConfig(devices=30, duration=120.0, seed=3, attacks=("scan",))
    capture, truth = simulate_capture(tmp_path_factory.mktemp("scan"), config)
    assert {445, 3389} <= set(truth["attacks"][0]["ports"])
    assert run_detectors([LateralMovementDetector()], [capture]) == []


def test_a_benign_hospital_gives_no_lateral_movement_alert(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    capture = tmp_path_factory.mktemp("benign") / "benign.pcap"
    simulate_to_files(SimulationConfig(devices=60, duration=600.0, seed=11), capture)
    assert run_detectors([LateralMovementDetector()], [capture]) == []


# --- real captures ---------------------------------------------------------------------------

SSH_GUESSING = "pcap/iot/zeek/ssh/sshguess.pcap"
"""Zeek's SSH password-guessing trace: 11 SSH connections with data both ways from
192.168.56.1 to one host, 192.168.56.103:22, over 70 s (tshark conv,tcp)."""
RDP = "pcap/iot/ndpi/rdp.pcap"
"""One RDP connection, 172.16.2.185 to 192.168.2.142:3389, with data both ways."""
SMB = "pcap/iot/ndpi/smbv1.pcap"
"""One SMB1 exchange, 172.16.156.130 to 10.128.0.243:445, with data both ways."""


def test_real_ssh_guessing_on_one_host_is_no_lateral_movement() -> None:
    capture = require_shared(SSH_GUESSING)
    assert run_detectors([LateralMovementDetector()], [capture]) == []
    (alert,) = run_detectors([LateralMovementDetector(min_hosts=1)], [capture])
    assert alert.evidence.startswith("11 remote-administration sessions with data to 1 internal")
    assert alert.evidence.endswith("(SSH/22)")
    assert alert.end - alert.start == pytest.approx(70.1, abs=0.1)


@pytest.mark.parametrize(("relative", "service"), [(RDP, "(RDP/3389)"), (SMB, "(SMB/445)")])
def test_real_rdp_and_smb_sessions_are_recognised(relative: str, service: str) -> None:
    capture = require_shared(relative)
    assert run_detectors([LateralMovementDetector()], [capture]) == []
    (alert,) = run_detectors([LateralMovementDetector(min_hosts=1)], [capture])
    assert alert.evidence.startswith("1 remote-administration session with data to 1 internal")
    assert alert.evidence.endswith(service)
