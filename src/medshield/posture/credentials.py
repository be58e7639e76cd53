"""Known default credentials: a curated table shipped as data, plus the user's own lists.

The shipped table (``data/default_credentials.csv``) lists factory defaults documented by
makers of medical and IoT equipment and the network gear around it. ``load_csv`` imports a
list a user gives, such as the DefaultCreds cheat-sheet format
(``productvendor,username,password``). Secrets are compared by SHA-256 digest: observations
never carry a password, only its digest.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from medshield.core.errors import BadInputError

EMPTY_MARKERS = frozenset({"<blank>", "(blank)", "<none>", "(none)", "<empty>", "blank", ""})
"""How credential lists write an empty password."""


@dataclass(frozen=True, slots=True)
class DefaultCredential:
    """One factory default: who ships it, for which protocol, and the pair itself."""

    vendor: str
    product: str
    protocol: str
    """``telnet``, ``ftp``, ``http``, ``mqtt``, ``snmp`` or ``any``."""
    username: str
    password: str
    source: str


@dataclass(frozen=True, slots=True)
class DefaultCredentials:
    """Default credentials indexed by the SHA-256 of their password."""

    by_digest: dict[str, tuple[DefaultCredential, ...]]

    @classmethod
    def shipped(cls) -> DefaultCredentials:
        """The curated table that ships with MedShield."""
        text = resources.files("medshield.posture.data").joinpath("default_credentials.csv")
        return cls.of(_read_rows(text.read_text(encoding="utf-8"), "default_credentials.csv"))

    @classmethod
    def of(cls, entries: list[DefaultCredential]) -> DefaultCredentials:
        """Index ``entries``."""
        index: dict[str, list[DefaultCredential]] = {}
        for entry in entries:
            digest = hashlib.sha256(entry.password.encode("utf-8")).hexdigest()
            index.setdefault(digest, []).append(entry)
        return cls({digest: tuple(found) for digest, found in index.items()})

    def with_file(self, path: Path) -> DefaultCredentials:
        """This table plus the credentials of a CSV file the user gives."""
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise BadInputError(str(path), error.strerror or str(error)) from None
        extra = _read_rows(text, str(path))
        merged = [entry for entries in self.by_digest.values() for entry in entries] + extra
        return DefaultCredentials.of(merged)

    def match(
        self, protocol: str, username: str | None, password_sha256: str
    ) -> DefaultCredential | None:
        """The default whose password digest (and user name, where it has one) matches."""
        for entry in self.by_digest.get(password_sha256, ()):
            if entry.protocol not in (protocol, "any"):
                continue
            if username is None or not entry.username or entry.username == username:
                return entry
        return None


def _read_rows(text: str, source: str) -> list[DefaultCredential]:
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip().lower() for cell in next(reader, [])]
    if "username" not in header or "password" not in header:
        raise BadInputError(source, "expected a CSV header with username and password columns")
    column = {name: index for index, name in enumerate(header)}
    vendor_column = column.get("vendor", column.get("productvendor"))
    entries = []
    for row in reader:
        if len(row) < len(header) or not any(cell.strip() for cell in row):
            continue
        password = row[column["password"]].strip()
        entries.append(
            DefaultCredential(
                vendor=row[vendor_column].strip() if vendor_column is not None else "",
                product=row[column["product"]].strip() if "product" in column else "",
                protocol=row[column["protocol"]].strip().lower() if "protocol" in column else "any",
                username=_blank(row[column["username"]].strip()),
                password=_blank(password),
                source=row[column["source"]].strip() if "source" in column else source,
            )
        )
    return entries


def _blank(value: str) -> str:
    return "" if value.lower() in EMPTY_MARKERS else value
