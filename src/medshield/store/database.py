"""The database facade: engine, programmatic Alembic migrations, sessions and repositories.

Every failure to open, migrate or write the database becomes a one-line
:class:`~medshield.core.errors.StoreError` naming the URL with its password masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from medshield.core.errors import StoreError
from medshield.store.assessments import AssessmentRepository
from medshield.store.communications import CommunicationRepository
from medshield.store.devices import DeviceRepository
from medshield.store.findings import AlertRepository, FindingRepository
from medshield.store.vulns import ActivityRepository, AnalysisRepository, VulnRepository

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
POSTGRES_DRIVER = "postgresql+psycopg"
_POSTGRES_ALIASES = frozenset({"postgres", "postgresql"})
_IN_MEMORY = frozenset({"", ":memory:"})
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, also for URLs SQLAlchemy cannot parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _PASSWORD_IN_URL.sub(r"\1***@", url)


def normalise_url(url: str) -> URL:
    """Parse ``url``; plain ``postgresql://`` and ``postgres://`` URLs use psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    return parsed


HEAD_REVISION = "0002"
"""The newest migration's revision (``migrations/versions``); a test keeps them equal."""
VERSION_QUERY = "SELECT version_num FROM alembic_version"
"""Where Alembic keeps the revision a database is at."""


def migrations_config(connection: Connection) -> Config:
    """An Alembic configuration built in code: the package's migrations, on ``connection``.

    Developers create a revision with
    ``command.revision(migrations_config(connection), message, autogenerate=True)``.
    """
    # Alembic is imported when migrating, not by every command that opens the store.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


class Repositories:
    """The repositories of one session (one unit of work)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.devices = DeviceRepository(session)
        self.communications = CommunicationRepository(session)
        self.findings = FindingRepository(session)
        self.alerts = AlertRepository(session)
        self.assessments = AssessmentRepository(session)
        self.vulns = VulnRepository(session)
        self.analyses = AnalysisRepository(session)
        self.activity = ActivityRepository(session)


class Database:
    """A MedShield database: SQLite (default, embedded) or PostgreSQL (at scale)."""

    def __init__(self, url: str) -> None:
        self.display_url = mask_url(url)
        """The URL with its password masked, for messages."""
        try:
            parsed = normalise_url(url)
        except (ArgumentError, ValueError) as exc:
            raise StoreError(f"{self.display_url}: not a database URL") from exc
        if parsed.get_backend_name() == "sqlite":
            self._create_sqlite_parent(parsed)
        try:
            self.engine: Engine = create_engine(parsed)
        except (NoSuchModuleError, ArgumentError, ImportError) as exc:
            raise StoreError(f"{self.display_url}: unsupported database ({exc})") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (Alembic ``upgrade head``).

        A database already at :data:`HEAD_REVISION` is left as it is without loading
        Alembic and its migration scripts (most commands open an up-to-date store).
        """
        if self._stored_revision() == HEAD_REVISION:
            return
        from alembic import command
        from alembic.util import CommandError

        try:
            with self.engine.begin() as connection:
                command.upgrade(migrations_config(connection), "head")
        except (SQLAlchemyError, CommandError, OSError) as exc:
            raise self._error("cannot migrate", exc) from exc

    def _stored_revision(self) -> str | None:
        """The ``alembic_version`` row, read with plain SQL; None when there is none yet."""
        try:
            with self.engine.connect() as connection:
                return connection.execute(text(VERSION_QUERY)).scalar()
        except SQLAlchemyError:
            return None

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        from alembic.runtime.migration import MigrationContext

        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except SQLAlchemyError as exc:
            raise self._error("cannot read the schema revision", exc) from exc

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            _roll_back(session)
            raise self._error("cannot read or write", exc) from exc
        except BaseException:
            _roll_back(session)
            raise
        finally:
            session.close()

    @contextmanager
    def repositories(self) -> Iterator[Repositories]:
        """The repositories over one session (see :meth:`session`)."""
        with self.session() as session:
            yield Repositories(session)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"

    def _create_sqlite_parent(self, url: URL) -> None:
        database = url.database or ""
        if database in _IN_MEMORY or database.startswith("file:"):
            return
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{self.display_url}: cannot create the database directory ({exc.strerror or exc})"
            ) from exc

    def _error(self, action: str, exc: BaseException) -> StoreError:
        return StoreError(f"{self.display_url}: {action}: {_one_line(exc)}")


def _roll_back(session: Session) -> None:
    """Roll back, keeping the error that caused it (a lost connection fails the rollback too)."""
    with suppress(SQLAlchemyError):
        session.rollback()


def _one_line(exc: BaseException) -> str:
    """The driver's own message when there is one (SQLAlchemy's adds SQL and a link)."""
    cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    """Per-connection SQLite settings: enforce foreign keys, WAL journal (readers never block)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL with synchronous=NORMAL stays consistent after a crash and skips most fsyncs.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
