"""Alembic migrations: upgrade from empty, models match migrations, downgrade."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from medshield.store import Database
from medshield.store.database import HEAD_REVISION, MIGRATIONS_DIR, migrations_config
from medshield.store.models import Base


def _head() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def test_upgrade_from_empty_creates_every_table_at_head(empty_url: str) -> None:
    with Database(empty_url) as database:
        assert database.revision() is None
        database.migrate()
        assert database.revision() == _head()
        tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrate_twice_is_a_no_op(empty_url: str) -> None:
    with Database(empty_url) as database:
        database.migrate()
        database.migrate()
        assert database.revision() == _head()


def test_the_known_head_is_the_newest_migration(empty_url: str) -> None:
    # migrate() skips Alembic for a database at HEAD_REVISION: a new migration must move it.
    assert _head() == HEAD_REVISION
    with Database(empty_url) as database:
        database.migrate()
        with database.engine.begin() as connection:
            command.downgrade(migrations_config(connection), "-1")
        assert database.revision() != HEAD_REVISION
        database.migrate()
        assert database.revision() == HEAD_REVISION


def test_models_match_migrations(empty_url: str) -> None:
    """The ``alembic check`` of CI: autogenerate finds nothing left to migrate."""
    with Database(empty_url) as database:
        database.migrate()
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_downgrade_to_base_removes_every_table(empty_url: str) -> None:
    with Database(empty_url) as database:
        database.migrate()
        with database.engine.begin() as connection:
            command.downgrade(migrations_config(connection), "base")
        tables = set(inspect(database.engine).get_table_names())
    assert tables <= {"alembic_version"}
