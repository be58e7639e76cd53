"""``medshield detect``: the alerts of a capture as ``medshield.detection/1`` JSON, stored
with the assessment; bad input is one line and exit 2."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

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


class _Hook(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


def test_new_alerts_go_to_syslog_and_webhook_once(tmp_path: Path) -> None:
    capture = tmp_path / "c.pcap"
    config = SimulationConfig(devices=20, duration=120.0, seed=3, attacks=("spoofing", "scan"))
    simulate_to_files(config, capture, None)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    _Hook.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(0.5)
        syslog = f"127.0.0.1:{receiver.getsockname()[1]}"
        runs = []
        for _ in range(2):
            out = tmp_path / "d.json"
            args = ("detect", str(capture), "--db", url, "--json", str(out), "-q")
            code, _, err = invoke(*args, "--syslog", syslog, "--webhook", hook)
            assert code == 0, err
            runs.append(json.loads(out.read_text())["alerts"])
        datagrams = []
        with contextlib.suppress(TimeoutError):
            while True:
                datagrams.append(receiver.recv(65535))
    server.shutdown()
    server.server_close()
    kinds = sorted(a["kind"] for a in runs[0])
    assert kinds == ["port-scan", "spoofing"] and runs[1] == runs[0]
    # The second run found the same alerts; none was new, so none was sent again.
    assert len(datagrams) == 2 and all(d.startswith((b"<35>1 ", b"<36>1 ")) for d in datagrams)
    assert sorted(d.split(b" ")[5].decode() for d in datagrams) == kinds
    (posted,) = _Hook.bodies
    assert posted["schema"] == "medshield.detection/1"
    assert sorted(a["id"] for a in posted["alerts"]) == sorted(a["id"] for a in runs[0])


def test_an_unreachable_webhook_is_one_line_exit_2(tmp_path: Path) -> None:
    capture = tmp_path / "c.pcap"
    simulate_to_files(
        SimulationConfig(devices=20, duration=120.0, seed=3, attacks=("spoofing",)), capture
    )
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"sqlite:///{tmp_path / 'm.db'}"
    code, _, err = invoke(
        "detect", str(capture), "--db", url, "--webhook", f"http://127.0.0.1:{port}/"
    )
    assert code == 2 and f"127.0.0.1:{port}" in err and len(err.strip().splitlines()) == 1


def test_detect_on_a_missing_capture_is_one_line_exit_2(tmp_path: Path) -> None:
    code, _, err = invoke("detect", str(tmp_path / "absent.pcap"), "--db", "sqlite://")
    assert code == 2 and "absent.pcap" in err and len(err.strip().splitlines()) == 1
