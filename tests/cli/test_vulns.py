"""``medshield vulns``: advisories per stored device with KEV flags, risk, and VEX states."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from medshield.cli.feeds import feeds_app
from medshield.cli.vulns import vulns
from medshield.core.device import Device, Evidence
from medshield.core.enums import Criticality, DeviceCategory
from medshield.store import Database
from medshield.testing.environment import require_shared

runner = CliRunner()
SEEN = Evidence("dicom.dataset", 1.7e9, "set by the test")
CONTRACT_KEYS = {
    "device", "advisory", "cves", "cvss", "kev", "epss", "affected_range", "fixed_in", "why",
    "state",
}  # fmt: skip


def medshield() -> typer.Typer:
    """The commands as ``cli.main`` registers them."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.add_typer(feeds_app(), name="feeds")
    app.command("vulns")(vulns)
    return app


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(medshield(), list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def device(number: int, vendor: str, model: str, firmware: str, **fields: object) -> Device:
    found = Device(f"mac-00005e0053{number:02x}", f"00:00:5e:00:53:{number:02x}", 1.7e9, 1.7e9,
                   ips={f"192.0.2.{number}"}, **fields)  # type: ignore[arg-type]  # fmt: skip
    for name, value in (("vendor", vendor), ("model", model), ("firmware", firmware)):
        found.add_attribute(name, value, 0.9, SEEN)
    return found


EXACTAMIX = device(1, "Baxter", "ExactaMix EM2400", "1.10", criticality=Criticality.HIGH)
VUE_OLD = device(2, "Philips", "Vue PACS", "12.1.0", category=DeviceCategory.PACS)
VUE_NEW = device(3, "Philips", "Vue PACS", "12.3.0", category=DeviceCategory.PACS)
PUMP = device(4, "B. Braun", "Space Infusomat", "687Y", criticality=Criticality.LIFE_SUSTAINING)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Devices merged through the store, then the 2020–2021 advisories and KEV imported."""
    path = tmp_path_factory.mktemp("vulns") / "medshield.db"
    with Database(f"sqlite:///{path}") as database:
        database.migrate()
        with database.repositories() as store:
            store.devices.merge([EXACTAMIX, VUE_OLD, VUE_NEW, PUMP])
    csaf = require_shared("advisories/cisa-csaf/OT/white")
    code, _, err = invoke(
        "feeds", "import", str(csaf / "2020"), str(csaf / "2021"),
        str(require_shared("advisories/cisa-kev")), "--db", f"sqlite:///{path}",
    )  # fmt: skip
    assert code == 0, err
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "medshield.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def kev_cves() -> set[str]:
    catalog = require_shared("advisories/cisa-kev/known_exploited_vulnerabilities.json")
    return {entry["cveID"] for entry in json.loads(catalog.read_text())["vulnerabilities"]}


def test_vulnerable_devices_are_listed_with_kev_flags_and_risk_that_adds_up(
    db: str, tmp_path: Path
) -> None:
    out_file = tmp_path / "v.json"
    code, out, err = invoke("vulns", "--db", db, "--json", str(out_file))
    assert code == 0, err
    document = json.loads(out_file.read_text())
    assert document["schema"] == "medshield.vulns/1"
    matches = document["matches"]
    assert matches and all(set(m) == CONTRACT_KEYS for m in matches)
    advisories = {(m["device"], m["advisory"]) for m in matches}
    assert (EXACTAMIX.id, "ICSMA-20-170-01") in advisories
    assert (VUE_OLD.id, "ICSMA-21-187-01") in advisories
    assert not [m for m in matches if m["device"] == VUE_NEW.id]
    known = kev_cves()
    for match in matches:
        assert match["kev"] == any(cve in known for cve in match["cves"])
        assert match["state"] in {"affected", "in_triage"}
    assert any(m["kev"] for m in matches if m["device"] == EXACTAMIX.id)
    # Each risk line is "<device> <vendor model>: risk N = factor p + factor p …".
    risks = re.findall(r"^(mac-\S+) .*: risk (\d+) = (.+)$", out, re.MULTILINE)
    by_device = {d: (int(score), parts) for d, score, parts in risks}
    for score, parts in by_device.values():
        assert score == sum(int(p) for p in re.findall(r" (\d+)(?: \+|$)", parts))
    assert "exploitation 15" in by_device[EXACTAMIX.id][1]
    assert "ICSMA-20-170-01" in out and "KEV" in out


def test_set_state_per_cve_and_per_advisory_is_kept(db: str, tmp_path: Path) -> None:
    code, out, err = invoke(
        "vulns", "--db", db, "--set-state", VUE_OLD.id, "CVE-2020-1938", "not_affected",
        "--justification", "vulnerable_code_not_in_execute_path",
        "--note", "AJP connector disabled", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert f"{VUE_OLD.id}: CVE-2020-1938 set to not_affected" in out
    code, out, err = invoke(
        "vulns", "--db", db, "--set-state", EXACTAMIX.id, "ICSMA-20-170-01", "fixed",
        "--json", str(tmp_path / "v.json"), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert f"{EXACTAMIX.id}: advisory ICSMA-20-170-01 set to fixed" in out
    matches = json.loads((tmp_path / "v.json").read_text())["matches"]
    vue = [m for m in matches if m["device"] == VUE_OLD.id and m["advisory"] == "ICSMA-21-187-01"]
    states = {m["state"]: m for m in vue}
    assert states["not_affected"]["cves"] == ["CVE-2020-1938"]
    assert "AJP connector disabled" in states["not_affected"]["why"]
    assert "CVE-2020-1938" not in states["affected"]["cves"]
    (exacta,) = [m for m in matches if m["device"] == EXACTAMIX.id]
    assert exacta["state"] == "fixed" and "set fixed" in exacta["why"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--set-state", "mac-ffffffffffff", "CVE-2020-1938", "fixed"), "no such device"),
        (("--set-state", VUE_OLD.id, "CVE-2020-1938", "not_affected"), "justification"),
        (("--set-state", VUE_OLD.id, "CVE-2020-1938", "gone"), "unknown state 'gone'"),
        (("--note", "orphan"), "go with --set-state"),
        (("--json", "/nonexistent-folder/v.json", "--quiet"), "cannot write"),
    ],
)
def test_bad_state_requests_are_one_line_and_exit_2(
    db: str, args: tuple[str, ...], message: str
) -> None:
    code, _, err = invoke("vulns", "--db", db, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err
