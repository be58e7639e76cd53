"""Bulk writes: thousands of rows per statement, without the ORM's per-row bookkeeping.

A merge of a large inventory writes tens of thousands of attribute and evidence rows. Row by
row through the ORM that costs seconds; here PostgreSQL loads them with COPY and SQLite with
one executemany whose parameters pass only through their columns' bind processors.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from sqlalchemy import Table, insert, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from medshield.store.models import Base

Values = dict[str, Any]
"""One row as column name → value; every row of one call has the same keys in the same order."""


def insert_rows(session: Session, model: type[Base], rows: list[Values]) -> None:
    """Insert ``rows`` into ``model``'s table in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    table: Table = model.__table__  # type: ignore[assignment]
    keys = list(rows[0])
    if connection.dialect.name == "postgresql":
        _copy(connection, table, keys, rows)
    else:
        _executemany(connection, table, keys, rows)


def update_rows(session: Session, model: type[Base], rows: list[Values]) -> None:
    """Update rows by primary key (ORM bulk UPDATE: each row carries its key columns)."""
    if rows:
        session.execute(update(model), rows)


def _copy(connection: Connection, table: Table, keys: list[str], rows: list[Values]) -> None:
    """COPY … FROM STDIN (PostgreSQL 15 documentation, SQL command COPY).

    psycopg adapts the Python values (aware datetimes to timestamptz) itself.
    """
    # Imported here: SQLite users never pay for loading the PostgreSQL driver.
    import psycopg
    from psycopg import sql

    columns = sql.SQL(", ").join(sql.Identifier(key) for key in keys)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table.name), columns)
    driver_connection = connection.connection.driver_connection
    if driver_connection is None:  # pragma: no cover - a checked-out connection has one
        raise RuntimeError("no driver connection to COPY through")
    try:
        with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(tuple(row.values()))
    except psycopg.Error as exc:
        # Raised as SQLAlchemy raises driver errors, so that callers handle one family.
        raise DBAPIError.instance(
            statement.as_string(driver_connection), None, exc, psycopg.Error
        ) from exc


def _executemany(connection: Connection, table: Table, keys: list[str], rows: list[Values]) -> None:
    """One INSERT compiled once, executed by the driver for every row."""
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    # Column by column: one bind processor applied over a whole column is cheaper than
    # rebuilding every row.
    columns: dict[str, list[Any]] = {}
    for key in keys:
        values = list(map(itemgetter(key), rows))
        convert = table.c[key].type.bind_processor(dialect)
        columns[key] = values if convert is None else list(map(convert, values))
    if compiled.positional:
        # Positional paramstyles (SQLite's qmark) follow the compiled order of the binds.
        ordered = [columns[name] for name in compiled.positiontup or ()]
        connection.exec_driver_sql(compiled.string, list(zip(*ordered, strict=True)))
    else:
        named = [
            dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)
        ]
        connection.exec_driver_sql(compiled.string, named)
