"""``medshield assess CAPTURE...``: the main job, with a progress bar and a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medshield.cli.common import (
    EXIT_FINDINGS,
    DbOption,
    database,
    fail,
    guarded,
    stderr,
    stdout,
)
from medshield.core.enums import Severity
from medshield.core.settings import AssessOptions

if TYPE_CHECKING:
    from rich.progress import TaskID

    from medshield.ingest import FlowStream
    from medshield.pipeline import AssessmentResult
    from medshield.store.database import Database


def assess(
    captures: Annotated[list[Path], typer.Argument(help="pcap/pcapng files, plain or gzip.")],
    db: DbOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the assessment JSON here.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report here.")
    ] = None,
    fail_on: Annotated[
        Severity | None,
        typer.Option("--fail-on", help="Exit 1 when a finding is at least this severe."),
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="Extra classification rules (YAML), repeatable."),
    ] = None,
    credentials: Annotated[
        list[Path] | None,
        typer.Option(
            "--credentials", help="Extra default-credential list (CSV: vendor,username,password)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Turn captures into an inventory, findings and a report, stored in the database."""
    options = AssessOptions(
        rule_files=tuple(rules or ()), credential_files=tuple(credentials or ())
    )
    result = assess_captures(captures, db, options)
    from medshield.report.document import assessment_document

    document = assessment_document(result) if json_out or report else {}
    if json_out is not None:
        json_out.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    if report is not None:
        from medshield.report.html import render_report  # Jinja2 only for an HTML report

        report.write_text(render_report(document), encoding="utf-8")
    if not quiet:
        _print_summary(result)
    if fail_on is not None and any(f.severity.rank <= fail_on.rank for f in result.findings):
        raise typer.Exit(EXIT_FINDINGS)


def assess_captures(
    captures: list[Path], db: str | None, options: AssessOptions
) -> AssessmentResult:
    """Assess ``captures`` into the database of ``--db``; their problems become warnings.

    Reading starts before the database layer and the analyses are imported: on a second
    core, the reader process works through the captures while they load.
    """
    for capture in captures:
        if not capture.is_file():
            raise fail(f"{capture}: no such capture file")
    from medshield.ingest import start_reading

    flows = start_reading(captures, options.flows, background=options.background)
    try:
        with database(db) as store:
            result = guarded(lambda: _run(captures, store, options, flows))
    finally:
        flows.close()
    for problem in result.summary.problems + result.summary.unusable:
        stderr.print(f"medshield: warning: {problem}", markup=False, soft_wrap=True)
    return result


def _run(
    captures: list[Path], store: Database, options: AssessOptions, flows: FlowStream
) -> AssessmentResult:
    from medshield.pipeline import assess as run_assessment

    if not stderr.is_terminal:
        return run_assessment(captures, store, options, flows=flows)
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def on_progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(Path(name).name, total=total)
            bar.update(tasks[name], completed=done)

        return run_assessment(captures, store, options, progress=on_progress, flows=flows)


def _print_summary(result: AssessmentResult) -> None:
    from rich.table import Table

    summary = result.summary
    stdout.print(
        f"Read {summary.packets:,} packets, {summary.flows:,} flows from "
        f"{len(summary.files)} file(s); {len(result.devices)} devices, "
        f"{len(result.findings)} findings, {len(result.alerts)} alerts."
    )
    table = Table(title="Devices", show_lines=False)
    for column in ("MAC", "IP", "vendor", "category", "criticality", "hostname", "protocols"):
        table.add_column(column)
    for device in result.devices:
        table.add_row(
            device.mac or "",
            ", ".join(sorted(device.ips)),
            device.best("vendor") or "",
            device.category.value,
            device.criticality.value,
            device.best("hostname") or "",
            ", ".join(sorted(device.protocols)[:6]),
        )
    stdout.print(table)
