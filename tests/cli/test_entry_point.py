"""The console script as a user runs it: a separate process, its exit code, its output whole.

``main`` leaves without the interpreter's teardown, so these tests check that nothing is lost
on the way out (buffered output, exit codes), and that starting the CLI loads no database
layer (``assess`` forks its capture reader before SQLAlchemy is imported)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from medshield.simulate import SimulationConfig, simulate_to_files

ENTRY = "from medshield.cli.main import main; main()"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_assess_then_inventory_output_arrives_whole(tmp_path: Path) -> None:
    capture = tmp_path / "site.pcap"
    simulate_to_files(SimulationConfig(devices=20, duration=60.0, seed=2), capture, None)
    db = f"sqlite:///{tmp_path / 'm.db'}"
    assessed = run("assess", str(capture), "--db", db, "--json", str(tmp_path / "a.json"), "-q")
    assert assessed.returncode == 0, assessed.stderr
    document = json.loads((tmp_path / "a.json").read_text())
    listed = run("inventory", "--db", db, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    devices = json.loads(listed.stdout)["devices"]
    assert len(devices) == len(document["devices"]) >= 20
    as_csv = run("inventory", "--db", db, "--format", "csv")
    assert as_csv.stdout.endswith("\n") and len(as_csv.stdout.splitlines()) == len(devices) + 1


def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pcap"
    result = run("assess", str(missing), "--db", f"sqlite:///{tmp_path / 'm.db'}")
    assert result.returncode == 2
    assert result.stderr.strip() == f"medshield: {missing}: no such capture file"
    assert "Traceback" not in result.stderr


def test_the_cli_starts_without_the_database_layer() -> None:
    probe = (
        "import sys; import medshield.cli.main; "
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'pydicom', 'medshield.pipeline') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
