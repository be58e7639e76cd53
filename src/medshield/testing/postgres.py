"""A throw-away PostgreSQL server for the store tests, started from the Debian binaries.

The server lives in a temporary directory, listens on a free localhost TCP port with trust
authentication, runs with durability switched off (a test server never needs to survive a
crash), and is stopped and removed when the context manager exits. ``initdb`` refuses to run
as root, so under root (CI) the server binaries run as the ``postgres`` system user that the
Debian package creates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from medshield.testing.environment import missing

BINARY_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"
"""The system user the Debian ``postgresql`` package creates; runs the server under root."""
SUPERUSER = "postgres"
"""The database superuser initdb creates (trust authentication, no password)."""
START_TIMEOUT = 20.0
START_ATTEMPTS = 3
INITDB_LOCALE = ("--no-locale", "-E", "UTF8", "--no-instructions")
"""C collation and UTF-8: the same ordering on every machine."""
TEST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "40",
    "log_min_messages": "warning",
}
"""Durability off: the test server is thrown away, so crash safety buys nothing."""


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries or the ``postgres`` system user are not installed."""


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """A running throw-away server and the database created for the caller."""

    host: str
    port: int
    database: str

    def url(self, database: str | None = None) -> str:
        """SQLAlchemy URL of ``database`` (the created database by default)."""
        name = database or self.database
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{name}"

    def conninfo(self, database: str = "postgres") -> str:
        """libpq connection string for ``database``."""
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (optionally a copy of ``template``) and return its URL."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        self._administer(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, closing any session still connected to it."""
        self._administer(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def _administer(self, statement: sql.Composed) -> None:
        # CREATE/DROP DATABASE cannot run inside a transaction block.
        with psycopg.connect(self.conninfo(), autocommit=True) as connection:
            connection.execute(statement)


def find_binaries() -> Path | None:
    """The newest Debian PostgreSQL ``bin`` directory holding initdb and postgres, or None."""
    candidates = [
        path
        for path in Path("/").glob(BINARY_GLOB.lstrip("/"))
        if (path / "initdb").is_file() and (path / "postgres").is_file()
    ]
    return max(candidates, key=_major_version) if candidates else None


def _major_version(bin_dir: Path) -> int:
    version = bin_dir.parent.name
    return int(version) if version.isdigit() else 0


@contextlib.contextmanager
def temporary_postgres(database: str = "medshield") -> Iterator[PostgresServer]:
    """Start a throw-away server, create ``database``, yield it; stop and remove at the end.

    Skips the calling test when PostgreSQL is not installed (fails it when ``CI=true``).
    """
    try:
        launcher = _Launcher.prepare()
    except PostgresUnavailable as exc:
        missing(str(exc))
        raise AssertionError from exc  # unreachable: missing() raises
    with launcher.running() as server:
        server.create_database(database)
        yield dataclasses.replace(server, database=database)


@dataclass(frozen=True, slots=True)
class _Launcher:
    """How to run the server binaries: where they are and as which system user."""

    bin_dir: Path
    account: pwd.struct_passwd | None
    """The system user to run as (None: the current user)."""

    @classmethod
    def prepare(cls) -> _Launcher:
        bin_dir = find_binaries()
        if bin_dir is None:
            raise PostgresUnavailable(
                f"PostgreSQL server binaries not found in {BINARY_GLOB} "
                "(make sysdeps installs them)"
            )
        if os.geteuid() != 0:
            return cls(bin_dir, None)
        try:
            account = pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise PostgresUnavailable(
                f"running as root but the {SERVER_USER!r} system user does not exist"
            ) from exc
        return cls(bin_dir, account)

    @contextlib.contextmanager
    def running(self) -> Iterator[PostgresServer]:
        base = Path(tempfile.mkdtemp(prefix="medshield-pg-", dir=self._temp_parent()))
        try:
            if self.account is not None:
                os.chown(base, self.account.pw_uid, self.account.pw_gid)
            data = base / "data"
            self._run(
                "initdb",
                [*("-D", str(data), "-U", SUPERUSER, "-A", "trust", "--no-sync"), *INITDB_LOCALE],
                cwd=base,
            )
            process, port = self._start(base, data)
            try:
                yield PostgresServer("127.0.0.1", port, "postgres")
            finally:
                _stop(process)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def _temp_parent(self) -> str | None:
        """Where the server directory goes.

        The usual temporary directory, unless the server's account cannot reach it (a
        root-only TMPDIR under root): then /tmp.
        """
        default = Path(tempfile.gettempdir())
        if self.account is None or all(
            os.stat(path).st_mode & stat.S_IXOTH for path in (default, *default.parents)
        ):
            return None
        return "/tmp"

    def _start(self, base: Path, data: Path) -> tuple[subprocess.Popen[bytes], int]:
        """Start the server on a free port, retrying when another process takes the port."""
        for _attempt in range(START_ATTEMPTS):
            port = _free_port()
            log = base / f"server-{port}.log"
            process = self._spawn(base, data, port, log)
            if _wait_ready(process, port):
                return process, port
            _stop(process)
        detail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise RuntimeError(f"PostgreSQL did not start in {base}: {' '.join(detail)}")

    def _spawn(self, base: Path, data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
        options = {
            **TEST_SETTINGS,
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            # TCP only: a Unix socket path in a long TMPDIR could exceed the 107-byte limit.
            "unix_socket_directories": "",
        }
        arguments = [str(self.bin_dir / "postgres"), "-D", str(data)]
        for name, value in options.items():
            arguments += ["-c", f"{name}={value}"]
        with log.open("wb") as sink:
            return subprocess.Popen(
                arguments, stdout=sink, stderr=subprocess.STDOUT, cwd=base, **self._identity()
            )

    def _run(self, program: str, arguments: list[str], cwd: Path) -> None:
        result = subprocess.run(
            [str(self.bin_dir / program), *arguments],
            cwd=cwd,
            capture_output=True,
            check=False,
            **self._identity(),
        )
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"{program} failed ({result.returncode}): {message}")

    def _identity(self) -> dict[str, Any]:
        """Popen arguments that drop root to the server account (initdb refuses root)."""
        if self.account is None:
            return {}
        return {
            "user": self.account.pw_uid,
            "group": self.account.pw_gid,
            "extra_groups": [],
            "env": {**os.environ, "HOME": self.account.pw_dir, "USER": SERVER_USER},
        }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> bool:
    """True once the server accepts connections; False if it exits or times out."""
    deadline = time.monotonic() + START_TIMEOUT
    conninfo = f"host=127.0.0.1 port={port} user={SUPERUSER} dbname=postgres connect_timeout=2"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with psycopg.connect(conninfo):
                return True
        except psycopg.OperationalError:
            time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Immediate shutdown (SIGQUIT) of the server this module started.

    PostgreSQL 15 documentation §19.5 "Shutting Down the Server": immediate mode skips the
    shutdown checkpoint and leaves recovery to the next start, which never comes for a
    throw-away server whose directory is removed next.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
