"""``medshield inventory``: the stored device inventory as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from medshield.cli.common import DbOption, database, stdout

if TYPE_CHECKING:
    from medshield.core.device import Device


class InventoryFormat(StrEnum):
    """Output formats of ``medshield inventory``."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    FHIR = "fhir"


CSV_COLUMNS = (
    "id",
    "mac",
    "ips",
    "vendor",
    "model",
    "firmware",
    "serial",
    "hostname",
    "category",
    "criticality",
    "protocols",
    "first_seen",
    "last_seen",
)


def inventory(
    db: DbOption = None,
    output: Annotated[
        InventoryFormat, typer.Option("--format", help="table, json, csv or fhir (R4 Bundle).")
    ] = InventoryFormat.TABLE,
) -> None:
    """Print the device inventory held in the database."""
    from medshield.report.document import device_document
    from medshield.store.repositories import DeviceRepository

    with database(db) as store, store.session() as session:
        devices = DeviceRepository(session).all()
    if output is InventoryFormat.JSON:
        document = {
            "schema": "medshield.inventory/1",
            "devices": [device_document(d) for d in devices],
        }
        typer.echo(json.dumps(document, indent=2))
    elif output is InventoryFormat.FHIR:
        # fhir.resources builds hundreds of pydantic models on import: only FHIR output pays.
        from medshield.report.fhir import inventory_bundle

        typer.echo(json.dumps(inventory_bundle(devices), indent=2))
    elif output is InventoryFormat.CSV:
        typer.echo(inventory_csv(devices), nl=False)
    else:
        _print_table(devices)


def inventory_csv(devices: list[Device]) -> str:
    """The inventory as CSV (one row per device), e.g. for a CMMS import."""
    from medshield.report.document import device_document

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for device in devices:
        row = device_document(device)
        row["ips"] = " ".join(row["ips"])
        row["protocols"] = " ".join(row["protocols"])
        writer.writerow({name: row[name] for name in CSV_COLUMNS})
    return buffer.getvalue()


def _print_table(devices: list[Device]) -> None:
    from rich.table import Table

    from medshield.report.document import device_document

    table = Table(title=f"{len(devices)} devices")
    for column in ("MAC", "IP", "vendor", "model", "category", "criticality", "last seen"):
        table.add_column(column)
    for device in devices:
        row = device_document(device)
        table.add_row(
            device.mac or "",
            ", ".join(row["ips"]),
            row["vendor"] or "",
            row["model"] or "",
            row["category"],
            row["criticality"],
            row["last_seen"] or "",
        )
    stdout.print(table)
