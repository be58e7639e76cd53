"""``medshield assess`` on a hospital under attack: the planted attacks (scan, brute force,
exfiltration, beaconing, lateral movement, ARP spoofing) must not distort the inventory or the
posture findings — no phantom service from a port scan, no address taken by a forged ARP
reply — while the attack traffic itself is read."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from medshield.simulate.attacks import SCENARIOS
from medshield.testing.cli import assess_json, invoke

POSTURE_KINDS = {
    "cleartext-phi",
    "cleartext-credentials",
    "default-credentials",
    "weak-authentication",
    "insecure-protocol",
    "weak-tls",
    "internet-exposure",
    "flat-network",
}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """Truth and assessment of a 50-device, 10-minute hospital with every attack planted
    (long enough for a dozen beacons)."""
    folder = tmp_path_factory.mktemp("attacked")
    capture, truth = folder / "s.pcap", folder / "t.json"
    code, _, err = invoke(
        "simulate", "--devices", "50", "--duration", "600", "--seed", "1",
        "--attacks", ",".join(SCENARIOS.names()), "--out", str(capture), "--truth", str(truth),
    )  # fmt: skip
    assert code == 0, err
    return json.loads(truth.read_text()), assess_json(capture, folder)


def test_every_scenario_is_planted(attacked: tuple[dict[str, Any], dict[str, Any]]) -> None:
    truth, _ = attacked
    assert [a["scenario"] for a in truth["attacks"]] != []
    assert {a["scenario"] for a in truth["attacks"]} == set(SCENARIOS.names())


def test_the_inventory_is_the_truth_despite_the_attacks(
    attacked: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    truth, assessment = attacked
    found = {d["id"]: d for d in assessment["devices"]}
    assert set(found) == {d["id"] for d in truth["devices"]}
    for true in truth["devices"]:
        device = found[true["id"]]
        assert device["ips"] == [true["ip"]], true["persona"]
        assert (device["category"], device["criticality"]) == (
            true["category"],
            true["criticality"],
        ), true["persona"]


def test_findings_are_the_planted_risks(attacked: tuple[dict[str, Any], dict[str, Any]]) -> None:
    truth, assessment = attacked
    planted = {(r["kind"], r["device"]) for r in truth["risks"]}
    found = {(f["kind"], f["device"]) for f in assessment["findings"] if f["kind"] in POSTURE_KINDS}
    assert sorted(planted ^ found) == []


def test_scan_probes_are_no_communications_but_the_attack_sessions_are(
    attacked: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    truth, assessment = attacked
    windows = {a["scenario"]: a for a in truth["attacks"]}
    attacker_ip = windows["scan"]["attacker_ip"]
    talked = {(c["src"], c["dst"], c["dport"]) for c in assessment["communications"]}
    benign = {(c["src"], c["dst"], c["dport"]) for c in truth["communications"]}
    assert benign <= talked
    from_attacker = {key for key in talked - benign if key[0] == attacker_ip}
    probed = {(t, p) for t in windows["scan"]["targets"] for p in windows["scan"]["ports"]}
    # Only probes the target accepted (an open port) can be conversations; most were refused.
    assert len(from_attacker & {(attacker_ip, t, p) for t, p in probed}) < len(probed) / 10
    exfil_host = windows["exfil"]["targets"][-1]
    assert (attacker_ip, exfil_host, 443) in from_attacker
    assert any(dport == 445 for _, _, dport in from_attacker)
    assert assessment["capture"]["flows"] > len(assessment["communications"])


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_every_planted_attack_raises_one_alert_of_its_kind_and_nothing_else(
    attacked: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    truth, assessment = attacked
    alerts = assessment["alerts"]
    matched = []
    for attack in truth["attacks"]:
        start, end = _epoch(attack["start"]), _epoch(attack["end"])
        mine = [
            a
            for a in alerts
            if a["kind"] == attack["kind"]
            and a["device"] == attack["attacker"]
            and _epoch(a["start"]) <= end + 1
            and _epoch(a["end"]) >= start - 1
        ]
        assert len(mine) == 1, (attack["scenario"], [a["kind"] for a in alerts])
        matched += mine
    assert sorted(a["id"] for a in alerts) == sorted(a["id"] for a in matched)
    for alert in alerts:
        assert alert["evidence"] and alert["severity"] in {"critical", "high", "medium", "low"}
