"""The database facade: URLs, engine settings, sessions, and one-line StoreErrors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from medshield.core.device import Device
from medshield.core.errors import StoreError
from medshield.store import Database, mask_url
from medshield.store.database import normalise_url
from medshield.testing.postgres import PostgresServer


def _one_line_naming(error: pytest.ExceptionInfo[StoreError], what: str) -> str:
    message = str(error.value)
    assert "\n" not in message
    assert what in message
    return message


def test_mask_url_hides_the_password() -> None:
    masked = mask_url("postgresql://medshield:s3cret@db.example:5432/medshield")
    assert "s3cret" not in masked
    assert masked == "postgresql://medshield:***@db.example:5432/medshield"


def test_mask_url_hides_the_password_of_an_unparseable_url() -> None:
    assert "s3cret" not in mask_url("postgresql://medshield:s3cret@host:notaport/db")


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db"):
        assert normalise_url(url).drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///x.db").drivername == "sqlite"


def test_not_a_url_is_a_store_error() -> None:
    with pytest.raises(StoreError) as error:
        Database("not a database url")
    _one_line_naming(error, "not a database url")


def test_url_with_a_bad_port_is_a_store_error_with_the_password_masked() -> None:
    with pytest.raises(StoreError) as error:
        Database("postgresql://medshield:s3cret@host:notaport/db")
    assert "s3cret" not in _one_line_naming(error, "host:notaport/db")


def test_unknown_database_kind_is_a_store_error() -> None:
    with pytest.raises(StoreError) as error:
        Database("nosuchdb://host/db")
    _one_line_naming(error, "nosuchdb://host/db")


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "medshield.db"
    with Database(f"sqlite:///{path}") as database:
        database.migrate()
    assert path.is_file()


def test_sqlite_path_under_a_file_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    url = f"sqlite:///{blocker / 'medshield.db'}"
    with pytest.raises(StoreError) as error:
        Database(url)
    _one_line_naming(error, str(blocker))


def test_sqlite_path_that_is_a_directory_fails_to_migrate(tmp_path: Path) -> None:
    (tmp_path / "medshield.db").mkdir()
    database = Database(f"sqlite:///{tmp_path / 'medshield.db'}")
    with database, pytest.raises(StoreError) as error:
        database.migrate()
    message = _one_line_naming(error, str(tmp_path / "medshield.db"))
    assert "cannot migrate" in message


def test_unreachable_server_is_a_store_error_with_the_password_masked() -> None:
    # Port 1 on localhost: nothing listens there, so the connection is refused at once.
    database = Database("postgresql://medshield:s3cret@127.0.0.1:1/medshield")
    with database, pytest.raises(StoreError) as error:
        database.migrate()
    message = _one_line_naming(error, "127.0.0.1:1/medshield")
    assert "s3cret" not in message
    assert "***" in message


def test_sqlite_connections_enforce_foreign_keys_in_wal_mode(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path / 'm.db'}") as database, database.session() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_plain_postgresql_url_opens_the_real_server(pg_server: PostgresServer) -> None:
    url = pg_server.url().replace("postgresql+psycopg://", "postgresql://")
    with Database(url) as database, database.session() as session:
        assert session.execute(text("SELECT 1")).scalar() == 1
        assert database.engine.dialect.driver == "psycopg"


def test_session_commits_on_success(db: Database) -> None:
    with db.repositories() as store:
        store.devices.merge([Device("mac-0009fb112233", "00:09:fb:11:22:33", 1.0, 2.0)])
    with db.repositories() as store:
        assert store.devices.count() == 1


def test_session_rolls_back_when_the_block_raises(db: Database) -> None:
    with pytest.raises(LookupError), db.repositories() as store:
        store.devices.merge([Device("mac-0009fb112233", "00:09:fb:11:22:33", 1.0, 2.0)])
        raise LookupError("the caller's own error passes through unchanged")
    with db.repositories() as store:
        assert store.devices.count() == 0


def test_database_error_while_writing_is_a_store_error(db: Database) -> None:
    device = Device("mac-0009fb112233", "00:09:fb:11:22:33", 1.0, 2.0)
    with pytest.raises(StoreError) as error, db.repositories() as store:
        store.devices.merge([device], assessment_id=424242)  # no such assessment
    _one_line_naming(error, "cannot read or write")
    with db.repositories() as store:
        assert store.devices.count() == 0


def test_a_database_never_migrated_is_a_store_error(empty_url: str) -> None:
    database = Database(empty_url)
    with database, pytest.raises(StoreError) as error, database.repositories() as store:
        store.devices.count()
    _one_line_naming(error, "cannot read or write")
