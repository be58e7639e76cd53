"""``medshield patch-plan``: windows from stored activity, order, isolation, exit codes."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from medshield.cli.feeds import feeds_app
from medshield.cli.patch_plan import patch_plan
from medshield.core.device import Device, Evidence
from medshield.core.enums import Criticality, DeviceCategory
from medshield.risk.activity import ActivityProfile
from medshield.store import Database
from medshield.store.vulns import ActivityRepository
from medshield.testing.environment import require_shared

runner = CliRunner()
SEEN = Evidence("dicom.dataset", 1.7e9, "set by the test")
MONDAY = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
HOUR, DAY = 3600.0, 86_400.0


def medshield() -> typer.Typer:
    """The commands as ``cli.main`` registers them."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.add_typer(feeds_app(), name="feeds")
    app.command("patch-plan")(patch_plan)
    return app


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(medshield(), list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def device(number: int, vendor: str, model: str, firmware: str | None, **fields: object) -> Device:
    found = Device(f"mac-00005e0053{number:02x}", f"00:00:5e:00:53:{number:02x}", MONDAY, MONDAY,
                   ips={f"192.0.2.{number}"}, **fields)  # type: ignore[arg-type]  # fmt: skip
    for name, value in (("vendor", vendor), ("model", model), ("firmware", firmware)):
        if value:
            found.add_attribute(name, value, 0.9, SEEN)
    return found


EXACTAMIX = device(1, "Baxter", "ExactaMix EM2400", "1.10", criticality=Criticality.HIGH,
                   category=DeviceCategory.LAB_ANALYSER)  # fmt: skip
VUE = device(2, "Philips", "Vue PACS", "12.1.0", category=DeviceCategory.PACS,
             criticality=Criticality.MEDIUM)  # fmt: skip
CARELINK = device(3, "Medtronic", "CareLink 9790 Programmer", None,
                  criticality=Criticality.LIFE_SUSTAINING, peers={"mac-00005e005302"},
                  category=DeviceCategory.MEDICAL_IOT_GATEWAY)  # fmt: skip


def night_shift(device_id: str, days: int, quiet: range) -> ActivityProfile:
    """Heavy daytime traffic, almost none in the ``quiet`` UTC hours, over ``days`` days."""
    profile = ActivityProfile(device_id)
    for hour in range(days * 24):
        at = MONDAY + hour * HOUR
        profile.add_flow(at + 60, at + 1800, 3 if hour % 24 in quiet else 4000)
    profile.observe(MONDAY, MONDAY + days * DAY)
    return profile


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Devices and their activity stored; the 2018, 2020, 2021 advisories and KEV imported."""
    path = tmp_path_factory.mktemp("plan") / "medshield.db"
    with Database(f"sqlite:///{path}") as database:
        database.migrate()
        with database.repositories() as store:
            store.devices.merge([EXACTAMIX, VUE, CARELINK])
        with database.session() as session:
            ActivityRepository(session).merge(
                [
                    night_shift(EXACTAMIX.id, 14, range(1, 5)),
                    night_shift(VUE.id, 14, range(6)),
                    night_shift(CARELINK.id, 3, range(2, 4)),
                ]
            )
    csaf = require_shared("advisories/cisa-csaf/OT/white")
    code, _, err = invoke(
        "feeds", "import", *(str(csaf / year) for year in ("2018", "2020", "2021")),
        str(require_shared("advisories/cisa-kev")), "--db", f"sqlite:///{path}",
    )  # fmt: skip
    assert code == 0, err
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "medshield.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def test_windows_follow_idle_hours_in_patch_order(db: str, tmp_path: Path) -> None:
    out_file = tmp_path / "plan.json"
    code, out, err = invoke(
        "patch-plan", "--db", db, "--json", str(out_file), "--at", "2024-01-15T12:00:00Z",
        "--utc-offset", "1",
    )  # fmt: skip
    assert code == 0, err
    document = json.loads(out_file.read_text())
    assert document["schema"] == "medshield.patch-plan/1"
    plans = {p["device"]: p for p in document["devices"]}
    assert document["devices"][0]["device"] == EXACTAMIX.id  # KEV first
    exacta, vue, carelink = plans[EXACTAMIX.id], plans[VUE.id], plans[CARELINK.id]
    assert exacta["kev"] and exacta["evidence_days"] == 14.0
    # A lab analyser needs two idle hours: 01:00–03:00 UTC on Tuesday, 02:00 local.
    assert exacta["windows"][0]["start"] == "2024-01-16T01:00:00Z"
    assert exacta["windows"][0]["local"] == "Tue 02:00–04:00"
    assert vue["windows"][0]["hours"] == 4 and vue["windows"][0]["start"] == "2024-01-16T00:00:00Z"
    # Three days of evidence are not enough for the life-sustaining programmer.
    assert carelink["windows"] == [] and carelink["evidence_days"] == 3.0
    assert any("spare" in note for note in carelink["notes"])
    assert carelink["isolation"] is not None  # placed into end-of-life status
    assert "end-of-life" in carelink["isolation"]["reason"]
    assert (
        "allow 192.0.2.3 <-> 192.0.2.2  # observed peer mac-00005e005302"
        in (carelink["isolation"]["rules"])
    )
    assert "Patch plan" in out and EXACTAMIX.id in out


def test_days_sets_how_much_evidence_is_needed(db: str, tmp_path: Path) -> None:
    out_file = tmp_path / "plan.json"
    code, _, err = invoke(
        "patch-plan", "--db", db, "--json", str(out_file), "--days", "2", "--quiet",
        "--at", "2024-01-15T12:00:00Z",
    )  # fmt: skip
    assert code == 0, err
    plans = {p["device"]: p for p in json.loads(out_file.read_text())["devices"]}
    # Mon–Wed were observed: the next quiet hours are Tuesday 02:00 and 03:00 UTC (a gateway
    # needs one hour).
    assert [w["start"] for w in plans[CARELINK.id]["windows"]] == [
        "2024-01-16T02:00:00Z",
        "2024-01-16T03:00:00Z",
    ]
    code, _, _ = invoke(
        "patch-plan", "--db", db, "--json", str(out_file), "--days", "30", "--quiet"
    )
    assert code == 0
    assert all(p["windows"] == [] for p in json.loads(out_file.read_text())["devices"])


def test_a_time_without_zone_is_refused(db: str) -> None:
    code, _, err = invoke("patch-plan", "--db", db, "--at", "2024-01-15T12:00:00")
    assert code == 2 and "needs a time zone" in err
