"""``medshield assess`` end to end: simulated hospital in, inventory out, compared to truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medshield.cli.main import app
from medshield.testing.environment import require_shared, shared_data_dir

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return exit code, stdout, stderr."""
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A 200-device, 600-second simulated hospital capture and its ground truth."""
    folder = tmp_path_factory.mktemp("sim")
    capture, truth = folder / "s.pcap", folder / "t.json"
    code, _, err = invoke(
        "simulate", "--devices", "200", "--duration", "600", "--seed", "1",
        "--out", str(capture), "--truth", str(truth),
    )  # fmt: skip
    assert code == 0, err
    return capture, json.loads(truth.read_text())


@pytest.fixture(scope="module")
def assessment(
    simulated: tuple[Path, dict[str, object]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """The assessment JSON of the simulated capture."""
    folder = tmp_path_factory.mktemp("assess")
    out = folder / "a.json"
    code, _, err = invoke(
        "assess", str(simulated[0]), "--db", f"sqlite:///{folder / 'm.db'}", "--json", str(out),
        "--quiet",
    )  # fmt: skip
    assert code == 0, err
    document: dict[str, object] = json.loads(out.read_text())
    return document


def test_every_true_device_is_found_with_mac_ip_and_vendor(
    simulated: tuple[Path, dict[str, object]], assessment: dict[str, object]
) -> None:
    truth_devices = simulated[1]["devices"]
    assert isinstance(truth_devices, list)
    found = {d["mac"]: d for d in assessment["devices"]}  # type: ignore[union-attr]
    missing = [t["mac"] for t in truth_devices if t["mac"] not in found]
    assert not missing
    for true in truth_devices:
        device = found[true["mac"]]
        assert device["id"] == true["id"]
        assert true["ip"] in device["ips"], (true["mac"], device["ips"])
        assert device["vendor"] == true["vendor"], true["mac"]


def test_no_extra_devices(
    simulated: tuple[Path, dict[str, object]], assessment: dict[str, object]
) -> None:
    truth_macs = {t["mac"] for t in simulated[1]["devices"]}  # type: ignore[attr-defined]
    extra = [d["mac"] for d in assessment["devices"] if d["mac"] not in truth_macs]  # type: ignore[union-attr]
    assert not extra


def test_document_follows_the_schema(assessment: dict[str, object]) -> None:
    assert assessment["schema"] == "medshield.assessment/1"
    capture = assessment["capture"]
    assert isinstance(capture, dict)
    assert capture["packets"] > 0 and capture["flows"] > 0
    assert capture["start"].endswith("Z")
    device = assessment["devices"][0]  # type: ignore[index]
    for key in ("id", "mac", "ips", "vendor", "model", "category", "criticality", "software",
                "identifiers", "protocols", "first_seen", "last_seen", "risk"):  # fmt: skip
        assert key in device
    comm = assessment["communications"][0]  # type: ignore[index]
    assert set(comm) == {"src", "dst", "dport", "transport", "app", "packets", "bytes"}


def test_second_assessment_merges_without_duplicates(
    simulated: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    for _ in range(2):
        code, _, err = invoke("assess", str(simulated[0]), "--db", url, "--quiet")
        assert code == 0, err
    code, out, _ = invoke("inventory", "--db", url, "--format", "json")
    assert code == 0
    macs = [d["mac"] for d in json.loads(out)["devices"]]
    assert len(macs) == len(set(macs)) == len(simulated[1]["devices"])  # type: ignore[arg-type]


def test_missing_file_is_one_line_exit_2(tmp_path: Path) -> None:
    code, _, err = invoke("assess", str(tmp_path / "absent.pcap"), "--db", "sqlite://")
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "absent.pcap" in err


def test_garbage_file_is_one_line_exit_2(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"this is not a capture at all\n" * 10)
    code, _, err = invoke("assess", str(garbage), "--db", f"sqlite:///{tmp_path / 'm.db'}")
    assert code == 2
    assert "garbage.pcap" in err
    assert "Traceback" not in err


def _shared_captures() -> list[Path]:
    root = shared_data_dir() / "pcap"
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".pcap", ".pcapng"})


@pytest.mark.parametrize(
    "capture", _shared_captures(), ids=lambda p: str(p.relative_to(shared_data_dir()))
)
def test_every_shared_capture_exits_0_or_2_without_traceback(capture: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["assess", str(capture), "--db", f"sqlite:///{tmp_path / 'm.db'}", "--quiet"]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if "warning" not in line]
        assert len(errors) == 1, result.stderr


def test_shared_captures_are_present() -> None:
    require_shared("pcap")
    assert len(_shared_captures()) > 100
