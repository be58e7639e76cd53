"""``medshield assess`` end to end: simulated hospital in, inventory out, compared to truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medshield.cli.main import app
from medshield.testing.cli import invoke, runner
from medshield.testing.environment import require_shared, shared_data_dir


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


def _by_mac(document: dict[str, object]) -> dict[str, dict[str, object]]:
    return {d["mac"]: d for d in document["devices"]}  # type: ignore[attr-defined,index]


def test_category_and_criticality_equal_the_truth(
    simulated: tuple[Path, dict[str, object]], assessment: dict[str, object]
) -> None:
    found = _by_mac(assessment)
    wrong = [
        (t["persona"], t["mac"], t["category"], found[t["mac"]]["category"])
        for t in simulated[1]["devices"]  # type: ignore[attr-defined]
        if (t["category"], t["criticality"])
        != (found[t["mac"]]["category"], found[t["mac"]]["criticality"])
    ]
    assert not wrong


def test_identifiers_of_the_truth_are_found(
    simulated: tuple[Path, dict[str, object]], assessment: dict[str, object]
) -> None:
    found = _by_mac(assessment)
    missing = []
    for true in simulated[1]["devices"]:  # type: ignore[attr-defined]
        identifiers = found[true["mac"]]["identifiers"]
        for key, values in true["identifiers"].items():
            absent = set(values) - set(identifiers[key])  # type: ignore[index]
            if absent:
                missing.append((true["persona"], key, sorted(absent)))
    assert not missing


def test_dicom_software_versions_land_in_the_software_list(
    simulated: tuple[Path, dict[str, object]], assessment: dict[str, object]
) -> None:
    found = _by_mac(assessment)
    checked = 0
    for true in simulated[1]["devices"]:  # type: ignore[attr-defined]
        versions = {s["version"] for s in found[true["mac"]]["software"]}  # type: ignore[attr-defined]
        for software in true["software"]:
            if software["source"] == "dicom":
                checked += 1
                assert software["version"] in versions, (true["persona"], software)
    assert checked >= 4


def test_every_planted_risk_is_found_and_nothing_else(
    simulated: tuple[Path, dict[str, object]], assessment: dict[str, object]
) -> None:
    planted = {(r["kind"], r["device"]) for r in simulated[1]["risks"]}  # type: ignore[attr-defined]
    found = {
        (f["kind"], f["device"])
        for f in assessment["findings"]  # type: ignore[attr-defined]
        if f["kind"] in POSTURE_KINDS
    }
    assert planted, "the simulation planted no risk"
    assert sorted(planted - found) == []
    assert sorted(found - planted) == []


def test_benign_hospital_traffic_raises_no_alert(assessment: dict[str, object]) -> None:
    # The simulated hospital plants no attack: every alert would be a false positive.
    assert assessment["alerts"] == []


def test_findings_carry_no_secret_or_patient_name(assessment: dict[str, object]) -> None:
    text = json.dumps(assessment["findings"])
    for secret in ("dbps", "public'", "DOE^", "Password="):
        assert secret not in text
