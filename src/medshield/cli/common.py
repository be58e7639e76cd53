"""What every command shares: database option, one-line errors, exit codes (PRODUCT.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from medshield.core.errors import MedShieldError
from medshield.core.settings import default_db_url

if TYPE_CHECKING:
    from medshield.store.database import Database

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLAlchemy URL (default: MEDSHIELD_DB or SQLite in the data dir)."),
]

stderr = Console(stderr=True, highlight=False)
stdout = Console(highlight=False)


def fail(message: str) -> typer.Exit:
    """Print ``medshield: message`` on stderr and return the bad-input exit to raise."""
    stderr.print(f"medshield: {message}", markup=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def guarded(action: Callable[[], T]) -> T:
    """Run ``action``; a MedShieldError becomes one line on stderr and exit code 2."""
    try:
        return action()
    except MedShieldError as error:
        raise fail(str(error)) from None


@contextmanager
def database(url: str | None) -> Iterator[Database]:
    """The database of ``--db`` (or the default), migrated, closed at the end."""
    from medshield.store.database import Database  # SQLAlchemy only for the commands using it

    db = guarded(lambda: Database(url or default_db_url()))
    try:
        guarded(db.migrate)
        yield db
    finally:
        db.close()
