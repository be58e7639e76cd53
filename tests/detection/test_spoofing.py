"""Spoofing detector: a forged ARP binding against the IP traffic of the address's holder, the
benign look-alikes (own address, router, DHCP change, reassignment), and the detector on
planted ARP poisoning, a benign hospital and a real poisoning capture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medshield.core.enums import AlertKind, Severity
from medshield.core.finding import Alert
from medshield.core.flow import Endpoint
from medshield.detection.spoofing import LISTED_ADDRESSES, SpoofingDetector
from medshield.flows.hosts import HostSighting
from medshield.simulate.runner import SimulationConfig
from medshield.testing.detection import epoch, run_detectors, simulate_capture
from medshield.testing.environment import require_shared
from medshield.testing.pcaps import tshark_fields

T0 = 1_700_000_000.0
FORGER = "00:00:5e:00:53:66"
ENGINE = "00:00:5e:00:53:01"
MONITOR = "00:00:5e:00:53:02"
ROUTER = "00:00:5e:00:53:fe"


def ip(mac: str | None, address: str, first: float = T0, last: float = T0 + 600) -> HostSighting:
    return HostSighting(mac, address, first, last, 100, 10_000, "ip")


def arp(
    mac: str | None, address: str, first: float, last: float, packets: int = 10
) -> HostSighting:
    return HostSighting(mac, address, first, last, packets, packets * 60, "arp")


def names(endpoint: Endpoint) -> str:
    return f"{endpoint.ip}/{endpoint.mac or '-'}"


def detect(sightings: list[HostSighting]) -> list[Alert]:
    detector = SpoofingDetector()
    for sighting in sightings:
        detector.sighting(sighting)
    return detector.alerts(names)


HOSPITAL = [
    ip(ENGINE, "10.1.1.40"),
    arp(ENGINE, "10.1.1.40", T0, T0 + 500),
    ip(MONITOR, "10.1.10.11"),
    arp(MONITOR, "10.1.10.11", T0, T0 + 500),
    ip(FORGER, "10.1.60.13"),
    arp(FORGER, "10.1.60.13", T0 + 1, T0 + 2),
]
"""An engine, a monitor and a workstation, each answering ARP for its own address."""


def test_hosts_answering_for_their_own_address_raise_nothing() -> None:
    assert detect(HOSPITAL) == []


def test_a_forged_binding() -> None:
    [alert] = detect([*HOSPITAL, arp(FORGER, "10.1.1.40", T0 + 100, T0 + 160, packets=30)])
    assert alert.kind is AlertKind.SPOOFING and alert.severity is Severity.HIGH
    assert (alert.device, alert.peer) == (f"10.1.60.13/{FORGER}", f"10.1.1.40/{ENGINE}")
    assert (alert.start, alert.end) == (T0 + 100, T0 + 160)
    assert alert.evidence == (
        f"ARP binds 1 address held by other hosts to {FORGER}: 10.1.1.40 (held by {ENGINE}); "
        "30 ARP messages over 60.0 s (ATT&CK T1557.002)"
    )


def test_one_alert_per_forger_over_all_its_claims() -> None:
    forged = [
        arp(FORGER, "10.1.1.40", T0 + 100, T0 + 160),
        arp(FORGER, "10.1.10.11", T0 + 101, T0 + 161),
    ]
    [alert] = detect(HOSPITAL + forged)
    assert alert.peer is None
    assert (alert.start, alert.end) == (T0 + 100, T0 + 161)
    assert f"10.1.1.40 (held by {ENGINE}), 10.1.10.11 (held by {MONITOR})" in alert.evidence


def test_evidence_lists_a_bounded_number_of_addresses() -> None:
    victims = [f"10.1.20.{i}" for i in range(1, LISTED_ADDRESSES + 4)]
    holders = [ip(f"00:00:5e:00:54:{i:02x}", victim) for i, victim in enumerate(victims)]
    claims = [arp(FORGER, victim, T0 + 100, T0 + 110) for victim in victims]
    [alert] = detect(HOSPITAL + holders + claims)
    assert f"ARP binds {len(victims)} addresses" in alert.evidence
    assert "and 3 more;" in alert.evidence


def test_sightings_of_one_pair_are_merged() -> None:
    halves = [
        arp(FORGER, "10.1.1.40", T0 + 100, T0 + 110, packets=5),
        arp(FORGER, "10.1.1.40", T0 + 150, T0 + 170, packets=7),
    ]
    [alert] = detect(HOSPITAL + halves)
    assert (alert.start, alert.end) == (T0 + 100, T0 + 170)
    assert "12 ARP messages over 70.0 s" in alert.evidence


def test_routed_addresses_are_held_by_nobody() -> None:
    """A router sends from the internet addresses it forwards and answers ARP for its own
    address only: nothing there; a claim on the router's own address is forged."""
    router = [ip(ROUTER, "10.1.0.1"), arp(ROUTER, "10.1.0.1", T0, T0 + 600)]
    router += [ip(ROUTER, f"203.0.113.{i}") for i in range(1, 6)]
    assert detect(HOSPITAL + router) == []
    [alert] = detect([*HOSPITAL, *router, arp(FORGER, "10.1.0.1", T0 + 100, T0 + 200)])
    assert alert.peer == f"10.1.0.1/{ROUTER}"


def test_a_relaying_forger_is_still_caught() -> None:
    """arpspoof with forwarding on relays the victims' packets: its MAC sends from their
    addresses too, which makes it a forwarder, not their holder."""
    relayed = [ip(FORGER, "10.1.1.40", T0 + 100, T0 + 160), ip(FORGER, "10.1.10.11", T0 + 100)]
    forged = [
        arp(FORGER, "10.1.1.40", T0 + 100, T0 + 160),
        arp(FORGER, "10.1.10.11", T0 + 100, T0 + 160),
    ]
    [alert] = detect(HOSPITAL + relayed + forged)
    assert alert.device == f"10.1.60.13/{FORGER}"
    assert "ARP binds 2 addresses" in alert.evidence


def test_ipv6_addresses_do_not_make_a_dual_stack_host_a_forwarder() -> None:
    dual_stack = [ip(ENGINE, "10.1.1.40"), ip(ENGINE, "fe80::1"), ip(ENGINE, "2001:db8::40")]
    [alert] = detect([*dual_stack, arp(FORGER, "10.1.1.40", T0 + 100, T0 + 110)])
    assert alert.peer == f"10.1.1.40/{ENGINE}"


def test_dhcp_changes_of_one_mac_raise_nothing() -> None:
    moved = [
        ip(MONITOR, "0.0.0.0", T0, T0 + 1),
        ip(MONITOR, "10.1.10.50", T0 + 1, T0 + 300),
        arp(MONITOR, "10.1.10.50", T0 + 1, T0 + 300),
        ip(MONITOR, "10.1.10.51", T0 + 300, T0 + 600),
        arp(MONITOR, "10.1.10.51", T0 + 300, T0 + 600),
    ]
    assert detect(moved) == []


def test_an_address_reassigned_after_its_holder_left_raises_nothing() -> None:
    reassigned = [
        ip(MONITOR, "10.1.10.50", T0, T0 + 100),
        arp(MONITOR, "10.1.10.50", T0, T0 + 100),
        ip(FORGER, "10.1.10.50", T0 + 200, T0 + 600),
        arp(FORGER, "10.1.10.50", T0 + 200, T0 + 600),
    ]
    assert detect(reassigned) == []


def test_a_conflicting_later_holder_is_the_one_alerted() -> None:
    conflict = [
        ip(MONITOR, "10.1.10.50", T0, T0 + 600),
        arp(MONITOR, "10.1.10.50", T0, T0 + 600),
        ip(FORGER, "10.1.10.50", T0 + 200, T0 + 600),
        arp(FORGER, "10.1.10.50", T0 + 200, T0 + 300),
    ]
    [alert] = detect(conflict)
    assert alert.device == f"0.0.0.0/{FORGER}"
    assert alert.peer == f"10.1.10.50/{MONITOR}"


def test_claims_without_a_holder_and_raw_ip_raise_nothing() -> None:
    quiet = [arp(FORGER, "10.1.10.99", T0, T0 + 10), arp(MONITOR, "10.1.10.99", T0 + 20, T0 + 30)]
    raw = [ip(None, "10.1.10.98"), arp(None, "10.1.10.98", T0, T0 + 10)]
    group = [ip(ENGINE, "10.1.1.40"), arp("01:00:5e:00:00:01", "10.1.1.40", T0, T0 + 10)]
    assert detect(quiet + raw + group) == []


# -- simulated hospital ---------------------------------------------------------------------


def simulated(folder: Path, attacks: tuple[str, ...], **config: Any) -> tuple[Path, dict[str, Any]]:
    return simulate_capture(folder, SimulationConfig(attacks=attacks, **config))


def test_planted_poisoning_is_one_alert_on_the_attacker(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("spoofing")
    capture, truth = simulated(folder, ("spoofing",), devices=30, duration=120.0, seed=3)
    [attack] = truth["attacks"]
    [alert] = run_detectors([SpoofingDetector()], [capture])
    assert (alert.kind.value, alert.device) == (attack["kind"], attack["attacker"])
    assert alert.start <= epoch(attack["end"]) and epoch(attack["start"]) <= alert.end
    genuine = {d["ip"]: d["mac"] for d in truth["devices"]}
    for target in attack["targets"]:
        assert f"{target} (held by {genuine[target]})" in alert.evidence
    assert f"ARP binds {len(attack['targets'])} addresses" in alert.evidence
    assert alert.peer is None


def test_benign_hospital_raises_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("benign")
    capture, _ = simulated(folder, (), devices=60, duration=600.0, seed=11)
    assert run_detectors([SpoofingDetector()], [capture]) == []


# -- a real poisoning capture ---------------------------------------------------------------


def test_real_poisoning_of_a_silent_gateway_is_beyond_sightings(tshark: str) -> None:
    """Chris Sanders' arppoison: a station tells the victim the gateway's address is at its
    MAC. The genuine gateway never sends a packet from its own address (it only forwards), so
    no traffic contradicts the forged binding and the detector stays silent — a documented
    limit (module docstring), asserted here so that it is known, not assumed."""
    capture = require_shared("pcap/iot/chrissanders/arppoison.pcapng")
    replies = tshark_fields(tshark, capture, ["arp.src.proto_ipv4"], "arp.opcode == 2")
    claimed = {row[0] for row in replies}
    for address in claimed:
        senders = tshark_fields(tshark, capture, ["eth.src"], f"ip.src == {address}")
        claimers = tshark_fields(tshark, capture, ["eth.src"], f"arp.src.proto_ipv4 == {address}")
        # No claimed address is sent from by a MAC other than its ARP claimers.
        assert {row[0] for row in senders} <= {row[0] for row in claimers}
    assert run_detectors([SpoofingDetector()], [capture]) == []
