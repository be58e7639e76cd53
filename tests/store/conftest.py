"""Store fixtures: every repository test runs on SQLite and on a real PostgreSQL server.

One throw-away PostgreSQL server per pytest worker (``medshield.testing.postgres``). A SQLite
test gets its own copy of a file migrated once. A PostgreSQL test gets the worker's migrated
database emptied by one TRUNCATE before it starts (tests of one worker run one at a time), which
isolates tests as well as a fresh database would at a tenth of the cost of CREATE DATABASE.
Migration tests get a brand-new empty database of their own.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from medshield.store import Database
from medshield.store.models import Base
from medshield.testing.postgres import PostgresServer, temporary_postgres

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this worker (skipped locally, failed in CI, when absent)."""
    with temporary_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def pg_url(pg_server: PostgresServer) -> str:
    """URL of the database created with the server."""
    return pg_server.url()


@pytest.fixture(scope="session")
def pg_database(pg_url: str) -> Iterator[Database]:
    """The worker's PostgreSQL database, migrated to head once."""
    with Database(pg_url) as database:
        database.migrate()
        yield database


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "medshield.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.close()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of the test: ``sqlite`` or ``postgresql``."""
    name: str = request.param
    return name


@pytest.fixture
def empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of an empty, never migrated database of the test's backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = _unique_name()
    yield server.create_database(name)
    server.drop_database(name)


@pytest.fixture
def db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated database of the test's backend, private to the test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "medshield.db"
        shutil.copyfile(template, path)
        with Database(f"sqlite:///{path}") as database:
            yield database
        return
    shared: Database = request.getfixturevalue("pg_database")
    _empty(shared)
    yield shared


def _empty(database: Database) -> None:
    """Remove every row and restart the id sequences, leaving the schema at head."""
    quote = database.engine.dialect.identifier_preparer.quote
    tables = ", ".join(quote(table.name) for table in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _unique_name() -> str:
    return f"test_{uuid.uuid4().hex[:16]}"
