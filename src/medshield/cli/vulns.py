"""``medshield vulns``: the advisories that apply to each stored device, with KEV/EPSS, VEX
states and the risk score they add up to; ``--set-state`` records a person's VEX analysis.

The JSON (``--json FILE``) is PRODUCT.md's ``medshield.vulns/1``: one entry per device and
advisory (per state, when a person set different states for its CVEs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medshield.cli.common import DbOption, database, fail, guarded, stdout
from medshield.store.records import FindingStatus
from medshield.vulns.vex import AnalysisState, Justification

if TYPE_CHECKING:
    from medshield.core.device import Device
    from medshield.core.finding import Finding
    from medshield.store.database import Database
    from medshield.store.findings import FindingRepository
    from medshield.store.vulns import StoredAnalysis
    from medshield.vulns.service import VulnAssessment

STATES = ", ".join(state.value for state in AnalysisState)


def vulns(
    db: DbOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the medshield.vulns/1 JSON here.")
    ] = None,
    set_state: Annotated[
        tuple[str, str, str] | None,
        typer.Option(
            "--set-state",
            metavar="DEVICE CVE STATE",
            help=f"Set the VEX state of a CVE (or of every CVE of an advisory id) on a device: "
            f"{STATES}.",
        ),
    ] = None,
    justification: Annotated[
        Justification | None,
        typer.Option("--justification", help="Why not_affected (CISA VEX justifications)."),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Free text kept with the state.")] = "",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table.")] = False,
) -> None:
    """List the advisories matching the devices in the database, with KEV flags and risk."""
    with database(db) as store:
        if set_state is not None:
            stored = guarded(lambda: _set(store, set_state, justification, note))
            analysis = stored.analysis
            scope = f"advisory {analysis.advisory}" if analysis.advisory else analysis.cve
            stdout.print(
                f"{analysis.device}: {scope} set to {analysis.state.value} by {stored.author}",
                markup=False,
                soft_wrap=True,
            )
        elif justification is not None or note:
            raise fail("--justification and --note go with --set-state")
        devices, assessment = guarded(lambda: run(store))
    if json_out is not None:
        write_json(json_out, assessment.to_json())
    if not quiet:
        print_assessment(devices, assessment)


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` to ``path``; a path that cannot be written is one line, exit 2."""
    try:
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise fail(f"{path}: cannot write: {error.strerror or error}") from None


def _set(
    store: Database,
    values: tuple[str, str, str],
    justification: Justification | None,
    note: str,
) -> StoredAnalysis:
    device, target, state_text = values
    try:
        state = AnalysisState(state_text)
    except ValueError:
        raise fail(f"--set-state: unknown state {state_text!r} (one of {STATES})") from None
    from medshield.vulns.service import set_analysis

    with store.session() as session:
        return set_analysis(session, device, target, state, justification=justification, note=note)


def run(store: Database) -> tuple[list[Device], VulnAssessment]:
    """The stored devices and their vulnerability assessment."""
    # The advisory feeds and version ranges load only for the commands that match devices.
    from medshield.store.devices import DeviceRepository
    from medshield.store.findings import FindingRepository
    from medshield.vulns.service import assess_vulnerabilities

    with store.session() as session:
        devices = DeviceRepository(session).all()
        findings = open_findings(FindingRepository(session))
        return devices, assess_vulnerabilities(session, devices, findings)


def open_findings(repository: FindingRepository) -> list[Finding]:
    """The open findings of the store (posture findings count in the risk score)."""
    return [stored.finding for stored in repository.all(status=FindingStatus.OPEN)]


def print_assessment(devices: Sequence[Device], assessment: VulnAssessment) -> None:
    """A table of matches per device, then each device's risk as a sum of its factors."""
    from rich import box
    from rich.table import Table

    by_id = {device.id: device for device in devices}
    table = Table(title="Advisories matching the inventory", box=box.SIMPLE_HEAD)
    table.add_column("device / product", overflow="fold")
    table.add_column("advisory", no_wrap=True)
    for column in ("CVSS", "exploited", "state"):
        table.add_column(column, no_wrap=True)
    table.add_column("fixed in", overflow="fold")
    for match in assessment.matches:
        exploited = "KEV" if match.kev else ""
        if match.epss is not None:
            exploited = f"{exploited} EPSS {match.epss:.3f}".strip()
        table.add_row(
            f"{match.device}\n{match.product} {match.version or '(version unknown)'}",
            f"{match.advisory}\n{len(match.cves)} CVE(s)",
            "" if match.cvss is None else f"{match.cvss:.1f}",
            exploited,
            match.state.value,
            match.fixed_in or "",
        )
    stdout.print(table)
    stdout.print(
        f"{len(assessment.matches)} match(es) on {len({m.device for m in assessment.matches})} "
        f"of {len(devices)} device(s); {len(assessment.findings)} finding(s)."
    )
    for device_id, risk in sorted(assessment.risks.items(), key=lambda kv: (-kv[1].score, kv[0])):
        if risk.score == 0:
            continue
        device = by_id.get(device_id)
        name = (
            " ".join(filter(None, (device.best("vendor"), device.best("model")))) if device else ""
        )
        parts = " + ".join(f"{f.name} {f.points}" for f in risk.factors if f.points)
        stdout.print(
            f"{device_id} {name}: risk {risk.score} = {parts}", markup=False, soft_wrap=True
        )
    site = assessment.site
    parts = " + ".join(f"{f.name} {f.points}" for f in site.factors if f.points)
    stdout.print(f"site: risk {site.score} = {parts or '0'}", markup=False, soft_wrap=True)
