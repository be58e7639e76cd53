"""Brute-force detector: which logins count, the detect-bruteforcing.zeek threshold at its
edges, a success after the guessing, and the detector on planted guessing, a benign hospital
and Zeek's FTP brute-force trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medshield.core.device import device_id_for_mac
from medshield.core.enums import AlertKind, Severity
from medshield.core.finding import Alert
from medshield.core.flow import Endpoint
from medshield.core.observation import Observation
from medshield.detection.brute_force import FAILED_LOGINS, WINDOW_S, BruteForceDetector
from medshield.protocols.credentials import LoginOutcome
from medshield.protocols.ftp import FtpLogin
from medshield.protocols.mqtt import MqttConnack
from medshield.protocols.telnet import TelnetLogin
from medshield.simulate.attacks.bruteforce import ATTEMPTS
from medshield.simulate.runner import SimulationConfig
from medshield.testing.detection import epoch, run_detectors, simulate_capture
from medshield.testing.environment import require_shared
from medshield.testing.pcaps import tshark_fields

T0 = 1_700_000_000.0
GUESSER = Endpoint("10.1.2.3", 50000, "00:00:5e:00:53:01")
ANALYSER = Endpoint("10.1.4.4", 21, "00:00:5e:00:53:04")
BROKER = Endpoint("10.1.5.5", 1883, "00:00:5e:00:53:05")
PUMP = Endpoint("10.1.6.6", 23, "00:00:5e:00:53:06")


def ftp(
    at: float,
    outcome: LoginOutcome = LoginOutcome.FAILURE,
    *,
    user: str = "admin",
    client: Endpoint = GUESSER,
    server: Endpoint = ANALYSER,
    flow_id: int = 1,
) -> FtpLogin:
    code = {LoginOutcome.FAILURE: 530, LoginOutcome.SUCCESS: 230}.get(outcome)
    return FtpLogin(
        ts=at,
        flow_id=flow_id,
        client=client,
        server=server,
        username=user,
        reply_code=code,
        outcome=outcome,
    )


def failures(count: int, spacing: float = 1.0, start: float = T0, **login: Any) -> list[FtpLogin]:
    return [ftp(start + i * spacing, flow_id=i // 3, **login) for i in range(count)]


def connack(at: float, code: int, *, level: int = 4) -> MqttConnack:
    return MqttConnack(
        ts=at,
        client=GUESSER,
        server=BROKER,
        protocol_level=level,
        session_present=False,
        return_code=code,
        return_code_name="",
        accepted=code == 0,
        anonymous=False,
    )


def names(endpoint: Endpoint) -> str:
    return f"{endpoint.ip}/{endpoint.mac or '-'}"


def detect(observations: list[Observation], **thresholds: Any) -> list[Alert]:
    detector = BruteForceDetector(**thresholds)
    for observation in observations:
        detector.observation(observation)
    return detector.alerts(names)


# -- threshold ------------------------------------------------------------------------------


def test_threshold() -> None:
    assert detect(failures(FAILED_LOGINS - 1)) == []
    [alert] = detect(failures(FAILED_LOGINS))
    assert alert.kind is AlertKind.BRUTE_FORCE
    assert alert.severity is Severity.HIGH
    assert (alert.device, alert.peer) == (
        "10.1.2.3/00:00:5e:00:53:01",
        "10.1.4.4/00:00:5e:00:53:04",
    )
    assert (alert.start, alert.end) == (T0, T0 + FAILED_LOGINS - 1)
    connections = (FAILED_LOGINS + 2) // 3
    assert alert.evidence == (
        f"{FAILED_LOGINS} failed FTP logins on port 21 in {FAILED_LOGINS - 1:.1f} s "
        f"({connections} connections, 1 user name)"
    )


def test_the_window_slides() -> None:
    just_outside = WINDOW_S / (FAILED_LOGINS - 1) + 0.5
    just_inside = WINDOW_S / (FAILED_LOGINS - 1) - 0.5
    assert detect(failures(FAILED_LOGINS, spacing=just_outside)) == []
    assert len(detect(failures(FAILED_LOGINS, spacing=just_inside))) == 1
    assert detect(failures(FAILED_LOGINS, spacing=10.0), window_s=60.0) == []
    assert len(detect(failures(5), failed_logins=5)) == 1


def test_counted_per_client_and_service() -> None:
    half = FAILED_LOGINS // 2
    other_client = Endpoint("10.1.2.4", 50000, "00:00:5e:00:53:02")
    other_server = Endpoint("10.1.4.5", 21, "00:00:5e:00:53:03")
    assert detect(failures(half) + failures(half, client=other_client)) == []
    assert detect(failures(half) + failures(half, server=other_server)) == []


def test_one_alert_per_episode_in_any_order() -> None:
    later = T0 + 10 * WINDOW_S
    logins = failures(FAILED_LOGINS) + failures(FAILED_LOGINS, start=later)
    alerts = detect(logins)
    assert [alert.start for alert in alerts] == [T0, later]
    assert detect(list(reversed(logins))) == alerts


def test_evidence_names_no_user_and_no_secret() -> None:
    logins = [ftp(T0 + i, user=f"user{i % 4}", flow_id=i) for i in range(FAILED_LOGINS)]
    [alert] = detect(logins)
    assert f"({FAILED_LOGINS} connections, 4 user names)" in alert.evidence
    assert "user0" not in alert.evidence


# -- a success after the guessing -----------------------------------------------------------


def test_success_after_the_failures_is_critical() -> None:
    success_at = T0 + FAILED_LOGINS + 5
    [alert] = detect([*failures(FAILED_LOGINS), ftp(success_at, LoginOutcome.SUCCESS)])
    assert alert.severity is Severity.CRITICAL
    assert alert.end == success_at
    assert alert.evidence.endswith(
        f", then succeeded {success_at - T0:.1f} s after the first failure"
    )


def test_successes_outside_the_episode_do_not_count() -> None:
    before = ftp(T0 - 60, LoginOutcome.SUCCESS)
    long_after = ftp(T0 + FAILED_LOGINS + WINDOW_S + 1, LoginOutcome.SUCCESS)
    [alert] = detect([before, *failures(FAILED_LOGINS), long_after])
    assert alert.severity is Severity.HIGH
    assert "succeeded" not in alert.evidence
    # Successes alone, or undecided attempts, raise nothing.
    undecided = [ftp(T0 + i, LoginOutcome.UNKNOWN) for i in range(FAILED_LOGINS)]
    assert detect([ftp(T0 + i, LoginOutcome.SUCCESS) for i in range(50)] + undecided) == []


# -- other login protocols ------------------------------------------------------------------


def test_telnet_failures() -> None:
    logins: list[Observation] = [
        TelnetLogin(ts=T0 + i, client=GUESSER, server=PUMP, outcome=LoginOutcome.FAILURE)
        for i in range(FAILED_LOGINS)
    ]
    [alert] = detect(logins)
    assert alert.evidence.startswith(f"{FAILED_LOGINS} failed telnet logins on port 23")


@pytest.mark.parametrize(
    ("level", "code", "counted"),
    [(4, 4, True), (4, 5, True), (4, 2, False), (5, 0x86, True), (5, 0x87, True), (5, 4, False)],
)
def test_mqtt_refused_credentials(level: int, code: int, counted: bool) -> None:
    refusals: list[Observation] = [connack(T0 + i, code, level=level) for i in range(FAILED_LOGINS)]
    alerts = detect([*refusals, connack(T0 + FAILED_LOGINS, 0, level=level)])
    assert len(alerts) == int(counted)
    if counted:
        assert alerts[0].severity is Severity.CRITICAL
        assert alerts[0].evidence.startswith(f"{FAILED_LOGINS} failed MQTT logins on port 1883")


def test_observations_without_endpoints_are_ignored() -> None:
    logins: list[Observation] = [
        FtpLogin(ts=T0 + i, outcome=LoginOutcome.FAILURE) for i in range(FAILED_LOGINS)
    ]
    assert detect(logins) == []


# -- simulated hospital ---------------------------------------------------------------------


def simulated(folder: Path, attacks: tuple[str, ...], **config: Any) -> tuple[Path, dict[str, Any]]:
    return simulate_capture(folder, SimulationConfig(attacks=attacks, **config))


def test_planted_guessing_is_one_alert_on_the_attacker(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("bruteforce")
    capture, truth = simulated(folder, ("bruteforce",), devices=30, duration=120.0, seed=3)
    [attack] = truth["attacks"]
    [alert] = run_detectors([BruteForceDetector()], [capture])
    assert (alert.kind.value, alert.device) == (attack["kind"], attack["attacker"])
    [target] = attack["targets"]
    assert alert.peer == next(d["id"] for d in truth["devices"] if d["ip"] == target)
    assert alert.start <= epoch(attack["end"]) and epoch(attack["start"]) <= alert.end
    guesses = int(alert.evidence.split()[0])
    assert ATTEMPTS[0] <= guesses <= ATTEMPTS[1]
    assert f"failed FTP logins on port {attack['ports'][0]}" in alert.evidence
    assert alert.severity is Severity.HIGH


def test_benign_hospital_raises_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("benign")
    capture, _ = simulated(folder, (), devices=60, duration=600.0, seed=11)
    assert run_detectors([BruteForceDetector()], [capture]) == []


# -- Zeek's FTP brute-force trace -----------------------------------------------------------


def test_real_ftp_guessing(tshark: str) -> None:
    capture = require_shared("pcap/iot/zeek/ftp/bruteforce.pcap")
    refusals = tshark_fields(
        tshark,
        capture,
        ["eth.src", "eth.dst", "frame.time_epoch", "tcp.stream"],
        "ftp.response.code == 530",
    )
    accepted = tshark_fields(tshark, capture, ["frame.number"], "ftp.response.code == 230")
    attempts = tshark_fields(tshark, capture, ["frame.time_epoch"], 'ftp.request.command == "USER"')
    [(server_mac, client_mac)] = {(row[0], row[1]) for row in refusals}
    [alert] = run_detectors([BruteForceDetector()], [capture])
    assert (alert.device, alert.peer) == (
        device_id_for_mac(client_mac),
        device_id_for_mac(server_mac),
    )
    assert alert.evidence.startswith(f"{len(refusals)} failed FTP logins on port 21")
    assert f"{len({row[3] for row in refusals})} connections" in alert.evidence
    assert accepted == [] and alert.severity is Severity.HIGH
    first_attempt = min(float(row[0]) for row in attempts)
    last_refusal = max(float(row[2]) for row in refusals)
    assert first_attempt <= alert.start < alert.end <= last_refusal
