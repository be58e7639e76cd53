"""Port-scan detector: what a failed connection attempt is, the scan.zeek thresholds at their
edges, episodes, and the detector on a planted nmap scan, a benign hospital and real scans."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from medshield.core.device import device_id_for_mac
from medshield.core.enums import AlertKind, Severity
from medshield.core.finding import Alert
from medshield.core.flow import DirectionStats, Endpoint, FlowRecord
from medshield.detection.port_scan import (
    HORIZONTAL_HOSTS,
    VERTICAL_PORTS,
    WINDOW_S,
    Outcome,
    PortScanDetector,
    probe_outcome,
)
from medshield.simulate.runner import SimulationConfig
from medshield.testing.detection import epoch, run_detectors, simulate_capture
from medshield.testing.environment import require_shared
from medshield.testing.pcaps import tshark_fields

SYN, RST, ACK, FIN, PSH, URG = 0x02, 0x04, 0x10, 0x01, 0x08, 0x20
T0 = 1_700_000_000.0
SCANNER = Endpoint("10.1.2.3", 40000, "00:00:5e:00:53:01")
OUTSIDER = Endpoint("45.33.32.156", 40000, "00:00:5e:00:53:fe")


def tcp(
    sent: int,
    answer: int | None,
    *,
    host: str = "10.1.9.9",
    port: int = 80,
    at: float = T0,
    client: Endpoint = SCANNER,
    data: int = 0,
    transport: int = 6,
) -> FlowRecord:
    """A flow whose client sent segments with flags ``sent`` and the server ``answer``
    (None: no answer at all); ``data`` payload bytes from the client."""
    c2s = DirectionStats(packets=1, bytes=60, payload_bytes=data, tcp_flags=sent)
    s2c = DirectionStats() if answer is None else DirectionStats(1, 60, 0, answer)
    server = Endpoint(host, port, "00:00:5e:00:53:99")
    return FlowRecord(1, transport, client, server, at, at + 0.001, c2s, s2c)


def names(endpoint: Endpoint) -> str:
    """A namer that tells by IP and whether the MAC was given."""
    return f"{endpoint.ip}/{endpoint.mac or '-'}"


def scan(flows: list[FlowRecord], **thresholds: Any) -> list[Alert]:
    detector = PortScanDetector(**thresholds)
    for flow in flows:
        detector.flow(flow, "")
    return detector.alerts(names)


# -- what a probe is ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "answer", "expected"),
    [
        (SYN, None, Outcome.UNANSWERED),  # filtered port
        (SYN, RST | ACK, Outcome.REFUSED),  # closed port
        (FIN, RST | ACK, Outcome.REFUSED),  # FIN scan of a closed port
        (0, RST | ACK, Outcome.REFUSED),  # NULL scan
        (FIN | PSH | URG, RST | ACK, Outcome.REFUSED),  # Xmas scan
        (SYN | RST, SYN | ACK, Outcome.OPEN),  # SYN scan, the scanner's kernel resets
        (SYN | ACK | RST, SYN | ACK, Outcome.OPEN),  # connect scan, then reset
        (SYN, SYN | ACK, Outcome.OPEN),  # SYN/ACK never acknowledged
        (SYN | ACK | FIN, SYN | ACK | FIN, None),  # opened and closed politely
        (ACK, None, None),  # a connection seen mid-way, one side only
    ],
)
def test_probe_outcome(sent: int, answer: int | None, expected: Outcome | None) -> None:
    assert probe_outcome(tcp(sent, answer)) is expected


def test_flows_with_data_and_udp_are_no_probes() -> None:
    assert probe_outcome(tcp(SYN | ACK | RST, SYN | ACK, data=10)) is None
    assert probe_outcome(tcp(0, None, transport=17)) is None


# -- thresholds -----------------------------------------------------------------------------


def vertical(count: int, spacing: float = 0.01, start: float = T0) -> list[FlowRecord]:
    return [tcp(SYN, RST | ACK, port=1000 + i, at=start + i * spacing) for i in range(count)]


def horizontal(count: int, spacing: float = 0.01, start: float = T0) -> list[FlowRecord]:
    return [tcp(SYN, None, host=f"10.1.8.{i + 1}", at=start + i * spacing) for i in range(count)]


def test_vertical_threshold() -> None:
    assert scan(vertical(VERTICAL_PORTS - 1)) == []
    [alert] = scan(vertical(VERTICAL_PORTS))
    assert alert.kind is AlertKind.PORT_SCAN
    assert (alert.device, alert.peer) == (
        "10.1.2.3/00:00:5e:00:53:01",
        "10.1.9.9/00:00:5e:00:53:99",
    )
    assert (alert.start, alert.end) == (T0, pytest.approx(T0 + (VERTICAL_PORTS - 1) * 0.01 + 0.001))
    assert f"1 host on {VERTICAL_PORTS} ports" in alert.evidence
    assert f"0 open, {VERTICAL_PORTS} refused, 0 unanswered" in alert.evidence


def test_horizontal_threshold() -> None:
    assert scan(horizontal(HORIZONTAL_HOSTS - 1)) == []
    [alert] = scan(horizontal(HORIZONTAL_HOSTS))
    assert alert.peer is None
    assert f"{HORIZONTAL_HOSTS} hosts on 1 port" in alert.evidence
    assert f"0 refused, {HORIZONTAL_HOSTS} unanswered" in alert.evidence
    assert "most probed ports 80" in alert.evidence


def test_repeated_probes_of_one_port_count_once() -> None:
    flows = vertical(VERTICAL_PORTS - 1) + [
        tcp(SYN, None, port=1000, at=T0 + 1 + i) for i in range(5)
    ]
    assert scan(flows) == []


def test_the_window_slides() -> None:
    # The last of 15 ports falls just outside / just inside one window of the first.
    just_outside = WINDOW_S / (VERTICAL_PORTS - 1) + 0.5
    just_inside = WINDOW_S / (VERTICAL_PORTS - 1) - 0.5
    assert scan(vertical(VERTICAL_PORTS, spacing=just_outside)) == []
    assert len(scan(vertical(VERTICAL_PORTS, spacing=just_inside))) == 1


def test_thresholds_are_tunable() -> None:
    assert len(scan(vertical(5), vertical_ports=5)) == 1
    assert len(scan(horizontal(3), horizontal_hosts=3)) == 1
    assert scan(vertical(VERTICAL_PORTS, spacing=10.0), window_s=60.0) == []


# -- episodes, evidence, severity -----------------------------------------------------------


def test_one_alert_per_episode() -> None:
    later = T0 + 10 * WINDOW_S
    alerts = scan(vertical(VERTICAL_PORTS) + vertical(VERTICAL_PORTS, start=later))
    assert [alert.start for alert in alerts] == [T0, later]
    # A pause shorter than the window keeps one episode, with both halves' probes.
    [alert] = scan(vertical(VERTICAL_PORTS) + horizontal(3, start=T0 + WINDOW_S / 2))
    assert "4 hosts" in alert.evidence and alert.peer is None


def test_flow_order_does_not_matter() -> None:
    flows = vertical(VERTICAL_PORTS) + horizontal(HORIZONTAL_HOSTS, start=T0 + 5)
    assert scan(flows) == scan(list(reversed(flows)))


def test_evidence_counts_each_target_by_its_best_answer() -> None:
    flows = vertical(VERTICAL_PORTS - 3)
    flows += [tcp(SYN, None, port=22, at=T0 + 1), tcp(SYN | RST, SYN | ACK, port=22, at=T0 + 2)]
    flows += [tcp(SYN, None, port=23, at=T0 + 3), tcp(SYN, None, port=24, at=T0 + 4)]
    [alert] = scan(flows)
    assert f"{VERTICAL_PORTS + 1} probes of {VERTICAL_PORTS} host:port pairs" in alert.evidence
    assert f"(1 open, {VERTICAL_PORTS - 3} refused, 2 unanswered)" in alert.evidence
    assert "most probed ports 22," in alert.evidence
    assert alert.evidence.endswith("open ports 22")


def test_severity_and_naming_by_origin() -> None:
    [inside] = scan(vertical(VERTICAL_PORTS))
    outside = [tcp(SYN, RST | ACK, port=p, client=OUTSIDER) for p in range(1, VERTICAL_PORTS + 1)]
    [from_internet] = scan(outside)
    assert inside.severity is Severity.HIGH
    assert from_internet.severity is Severity.MEDIUM
    # A public address is named without the router MAC its frames carry.
    assert from_internet.device == "45.33.32.156/-"


# -- simulated hospital ---------------------------------------------------------------------


def simulated(folder: Path, attacks: tuple[str, ...], **config: Any) -> tuple[Path, dict[str, Any]]:
    return simulate_capture(folder, SimulationConfig(attacks=attacks, **config))


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Alert], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("scan")
    capture, truth = simulated(folder, ("scan",), devices=30, duration=120.0, seed=3)
    return run_detectors([PortScanDetector()], [capture]), truth


def test_planted_scan_is_one_alert_on_the_attacker(
    planted: tuple[list[Alert], dict[str, Any]],
) -> None:
    alerts, truth = planted
    [attack] = truth["attacks"]
    [alert] = alerts
    assert (alert.kind.value, alert.device) == (attack["kind"], attack["attacker"])
    assert alert.start <= epoch(attack["end"]) and epoch(attack["start"]) <= alert.end
    targets, ports = len(attack["targets"]), len(attack["ports"])
    assert f"TCP scan of {targets} hosts on {ports} ports" in alert.evidence
    assert alert.peer is None


def test_benign_hospital_raises_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("benign")
    capture, _ = simulated(folder, (), devices=60, duration=600.0, seed=11)
    assert run_detectors([PortScanDetector()], [capture]) == []


# -- real scans -----------------------------------------------------------------------------


def reference(tshark: str, capture: Path) -> dict[str, Any]:
    """What tshark shows of a capture made of probes only: the scanner, the (host, port)
    pairs it opened, the ports that answered SYN/ACK and those that only reset, and what a
    target may be named by (its address, or the device of the MAC its answers carry)."""
    assert tshark_fields(tshark, capture, ["frame.number"], "tcp.len > 0") == []
    openers = tshark_fields(
        tshark, capture, ["eth.src", "ip.src", "ip.dst", "tcp.dstport"], "tcp && tcp.flags.ack == 0"
    )
    [(scanner_mac, scanner_ip)] = {(row[0], row[1]) for row in openers}
    answers = tshark_fields(
        tshark,
        capture,
        ["ip.src", "tcp.srcport", "tcp.flags.syn", "eth.src"],
        f"tcp && ip.dst == {scanner_ip}",
    )
    ports_of: dict[str, set[int]] = defaultdict(set)
    for _, _, host, port in openers:
        ports_of[host].add(int(port))
    opened = {(host, int(port)) for host, port, syn, _ in answers if syn in ("1", "True")}
    reset = {(host, int(port)) for host, port, syn, _ in answers if syn not in ("1", "True")}
    return {
        "scanner": device_id_for_mac(scanner_mac),
        "names_of": {host: {host, device_id_for_mac(mac)} for host, _, _, mac in answers},
        "ports_of": ports_of,
        "open": opened,
        "refused": reset - opened,
    }


def test_real_syn_scan_of_one_host(tshark: str) -> None:
    capture = require_shared("pcap/iot/chrissanders/synscan.pcapng")
    seen = reference(tshark, capture)
    [(host, ports)] = seen["ports_of"].items()
    [alert] = run_detectors([PortScanDetector()], [capture])
    assert alert.device == seen["scanner"]
    assert alert.peer in seen["names_of"][host]
    pairs, opened, refused = len(ports), len(seen["open"]), len(seen["refused"])
    assert f"1 host on {len(ports)} ports" in alert.evidence
    assert f"({opened} open, {refused} refused, {pairs - opened - refused} unanswered)" in (
        alert.evidence
    )
    assert alert.evidence.endswith(
        "open ports " + ", ".join(str(p) for _, p in sorted(seen["open"]))
    )


def test_real_mixed_probe_types_below_and_at_the_threshold(tshark: str) -> None:
    """nDPI's tcp_scan: connect, SYN, FIN, NULL and Xmas probes of a handful of ports — below
    the vertical threshold, counted in full once the threshold is that low."""
    capture = require_shared("pcap/iot/ndpi/tcp_scan.pcapng")
    seen = reference(tshark, capture)
    [ports] = seen["ports_of"].values()
    assert len(ports) < VERTICAL_PORTS
    assert run_detectors([PortScanDetector()], [capture]) == []
    [alert] = run_detectors([PortScanDetector(vertical_ports=len(ports))], [capture])
    assert alert.device == seen["scanner"]
    opened, refused = len(seen["open"]), len(seen["refused"])
    assert f"({opened} open, {refused} refused, {len(ports) - opened - refused} unanswered)" in (
        alert.evidence
    )


def test_real_host_discovery_is_below_the_sweep_threshold(tshark: str) -> None:
    """Zeek's nmap-vsn trace: nmap's discovery probes to a few hosts of a /24."""
    capture = require_shared("pcap/iot/zeek/nmap-vsn.pcap")
    seen = reference(tshark, capture)
    hosts = len(seen["ports_of"])
    assert hosts < HORIZONTAL_HOSTS
    assert run_detectors([PortScanDetector()], [capture]) == []
    [alert] = run_detectors([PortScanDetector(horizontal_hosts=hosts)], [capture])
    assert alert.device == seen["scanner"] and alert.peer is None
    assert f"TCP scan of {hosts} hosts" in alert.evidence
