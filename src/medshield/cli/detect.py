"""``medshield detect CAPTURE...``: the behaviour alerts of captures (PRODUCT.md §8).

The captures are assessed as ``assess`` does (inventory, findings and alerts stored in the
database); the output is the alerts alone, as ``medshield.detection/1`` JSON and a table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from medshield.cli.assess import assess_captures
from medshield.cli.common import DbOption, guarded, stdout
from medshield.core.settings import AssessOptions

DETECTION_SCHEMA = "medshield.detection/1"


def detect(
    captures: Annotated[list[Path], typer.Argument(help="pcap/pcapng files, plain or gzip.")],
    db: DbOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the medshield.detection/1 JSON here.")
    ] = None,
    syslog: Annotated[
        str | None,
        typer.Option("--syslog", help="Send new alerts as CEF over syslog to HOST:PORT."),
    ] = None,
    syslog_tcp: Annotated[
        bool, typer.Option("--syslog-tcp", help="Syslog over TCP (RFC 6587), not UDP.")
    ] = False,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST new alerts as JSON to this URL.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table.")] = False,
) -> None:
    """Run the behaviour detectors (scan, brute force, exfiltration, beaconing …) on captures.

    Alerts go to the database; ``--syslog`` and ``--webhook`` get only those no earlier run
    stored, so a SIEM never receives an alert twice.
    """
    from medshield.report.document import alert_document
    from medshield.report.siem import parse_endpoint, post_webhook, send_syslog

    receiver = guarded(lambda: parse_endpoint(syslog)) if syslog else None
    result = assess_captures(captures, db, AssessOptions())
    alerts = [alert_document(alert) for alert in result.alerts]
    if json_out is not None:
        document = {"schema": DETECTION_SCHEMA, "alerts": alerts}
        json_out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    new = result.new_alerts
    if receiver is not None and new:
        guarded(lambda: send_syslog(new, *receiver, tcp=syslog_tcp))
    if webhook is not None and new:
        fresh = {"schema": DETECTION_SCHEMA, "alerts": [alert_document(a) for a in new]}
        guarded(lambda: post_webhook(webhook, fresh))
    if not quiet:
        _print_alerts(alerts)


def _print_alerts(alerts: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title=f"{len(alerts)} alert(s)")
    for column in ("start", "kind", "severity", "device", "peer", "evidence"):
        table.add_column(column, overflow="fold")
    for alert in alerts:
        table.add_row(
            str(alert["start"]),
            str(alert["kind"]),
            str(alert["severity"]),
            str(alert["device"]),
            str(alert["peer"] or ""),
            str(alert["evidence"]),
        )
    stdout.print(table)
