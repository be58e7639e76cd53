"""``medshield detect``: the alerts of a capture as ``medshield.detection/1`` JSON, stored
with the assessment; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from medshield.simulate import SimulationConfig, simulate_to_files
from medshield.store.database import Database
from medshield.store.findings import AlertRepository
from medshield.testing.cli import invoke


def test_detect_writes_the_alerts_and_stores_them(tmp_path: Path) -> None:
    capture, truth_path = tmp_path / "c.pcap", tmp_path / "t.json"
    config = SimulationConfig(devices=20, duration=120.0, seed=3, attacks=("spoofing",))
    simulate_to_files(config, capture, truth_path)
    (attack,) = json.loads(truth_path.read_text())["attacks"]
    url, out = f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "d.json"
    code, stdout, err = invoke("detect", str(capture), "--db", url, "--json", str(out))
    assert code == 0, err
    document = json.loads(out.read_text())
    assert document["schema"] == "medshield.detection/1"
    (alert,) = document["alerts"]
    assert set(alert) == {"id", "kind", "severity", "device", "peer", "start", "end", "evidence"}
    assert (alert["kind"], alert["device"]) == ("spoofing", attack["attacker"])
    assert "spoofing" in stdout
    with Database(url) as database, database.session() as session:
        stored = AlertRepository(session).all()
    assert [a.id for a in stored] == [alert["id"]]


def test_detect_on_a_missing_capture_is_one_line_exit_2(tmp_path: Path) -> None:
    code, _, err = invoke("detect", str(tmp_path / "absent.pcap"), "--db", "sqlite://")
    assert code == 2 and "absent.pcap" in err and len(err.strip().splitlines()) == 1
