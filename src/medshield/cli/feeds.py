"""``medshield feeds import PATH...``: read vulnerability feeds into the database.

Each path is a file or a folder (walked); every file's format is detected from its content
(CSAF 2.0, NVD CVE API 2.0, CVE JSON 5, CISA KEV JSON/CSV, EPSS CSV, CycloneDX JSON, MDS2
workbook). A file that cannot be read is reported on one line and the others still import.
Exit 0 when something was imported, 2 when nothing usable was found.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medshield.cli.common import EXIT_BAD_INPUT, DbOption, database, guarded, stderr, stdout

if TYPE_CHECKING:
    from medshield.store.database import Database
    from medshield.vulns.service import ImportSummary


def feeds_app() -> typer.Typer:
    """The ``feeds`` command group (registered by ``cli.main``)."""
    group = typer.Typer(
        name="feeds",
        help="Vulnerability intelligence feeds: advisories, KEV, EPSS, SBOMs, MDS2 forms.",
        no_args_is_help=True,
    )
    group.command("import")(import_command)
    return group


def import_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Feed files or folders (format detected by content).")
    ],
    db: DbOption = None,
) -> None:
    """Import CSAF, NVD JSON, CVE 5, KEV, EPSS, CycloneDX and MDS2 files into the database."""
    with database(db) as store:
        summary = guarded(lambda: _import(store, paths))
    for line in summary.lines():
        stdout.print(line, markup=False, soft_wrap=True)
    for skipped in summary.skipped:
        stdout.print(f"skipped {skipped}", markup=False, soft_wrap=True)
    for problem in summary.problems:
        stderr.print(f"medshield: {problem}", markup=False, soft_wrap=True)
    if not summary.usable:
        stderr.print("medshield: nothing usable imported", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)


def _import(store: Database, paths: list[Path]) -> ImportSummary:
    # The feed parsers (univers, openpyxl …) load only when feeds are imported.
    from medshield.vulns.service import import_feeds

    with store.session() as session:
        return import_feeds(session, paths)
