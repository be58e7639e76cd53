"""``medshield patch-plan``: maintenance windows per vulnerable device, learned from its idle
hours, in patch order, with isolation for devices that have no fix."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medshield.cli.common import DbOption, database, fail, guarded, stdout
from medshield.cli.vulns import open_findings, write_json
from medshield.core.errors import MedShieldError
from medshield.risk.patch_plan import PatchPlan, PlanSettings

if TYPE_CHECKING:
    from medshield.store.database import Database


def patch_plan(
    db: DbOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the medshield.patch-plan/1 JSON here.")
    ] = None,
    days: Annotated[
        float,
        typer.Option(
            "--days", min=0.0, help="Days of observed traffic needed to trust idle hours."
        ),
    ] = PlanSettings().min_days,
    utc_offset: Annotated[
        float, typer.Option("--utc-offset", help="The site's offset from UTC in hours.")
    ] = 0.0,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Plan from this time (ISO 8601, default now)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table.")] = False,
) -> None:
    """Propose maintenance windows that avoid clinical use, and isolation where no fix exists."""
    now = _moment(at)
    settings = PlanSettings(min_days=days, utc_offset_hours=utc_offset)
    with database(db) as store:
        plan = guarded(lambda: build(store, settings, now))
    if json_out is not None:
        write_json(json_out, plan.to_json())
    if not quiet:
        stdout.print(plan.table())
        stdout.print(f"{len(plan.devices)} device(s) to patch.")


def build(store: Database, settings: PlanSettings, now: float) -> PatchPlan:
    """The patch plan of the stored devices, from their stored activity."""
    from medshield.store.devices import DeviceRepository
    from medshield.store.findings import FindingRepository
    from medshield.store.vulns import ActivityRepository
    from medshield.vulns.service import assess_vulnerabilities

    with store.session() as session:
        devices = DeviceRepository(session).all()
        findings = open_findings(FindingRepository(session))
        profiles = ActivityRepository(session).load()
        assessment = assess_vulnerabilities(
            session, devices, findings, profiles, plan=settings, now=now
        )
    if assessment.patch_plan is None:  # pragma: no cover - profiles were given
        raise MedShieldError("the assessment made no patch plan")
    return assessment.patch_plan


def _moment(text: str | None) -> float:
    if text is None:
        return time.time()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--at: {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise fail(f"--at: {text!r} needs a time zone (e.g. Z or +01:00)")
    return moment.timestamp()
