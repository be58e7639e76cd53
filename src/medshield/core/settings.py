"""Settings with their defaults; front ends override them from flags and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def default_data_dir() -> Path:
    """The user's data directory for MedShield (XDG base directory specification)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "medshield"


def default_db_url() -> str:
    """``MEDSHIELD_DB`` if set, else SQLite in the user's data directory."""
    url = os.environ.get("MEDSHIELD_DB")
    if url:
        return url
    return f"sqlite:///{default_data_dir() / 'medshield.db'}"


@dataclass(frozen=True, slots=True)
class FlowSettings:
    """Flow-table tuning. Timeouts follow NFStream's defaults so figures compare."""

    idle_timeout: float = 120.0
    active_timeout: float = 1800.0
    prefix_bytes: int = 8192
    """Bytes of each TCP direction reassembled for dissectors."""
    max_datagrams: int = 32
    """Datagrams of each UDP flow kept for dissectors."""
    batch_packets: int = 65536
    """Packets per batch read from a capture."""


def background_by_default() -> bool:
    """Read captures in a reader process when the machine has a second core for it."""
    return (os.cpu_count() or 1) >= 2


@dataclass(frozen=True, slots=True)
class AssessOptions:
    """How to assess: flow tuning, where to read, a hospital's rules and credential lists."""

    flows: FlowSettings = field(default_factory=FlowSettings)
    rule_files: tuple[Path, ...] = ()
    """Extra classification rules (YAML)."""
    credential_files: tuple[Path, ...] = ()
    """Extra default-credential lists (CSV)."""
    background: bool = field(default_factory=background_by_default)
    """Read the captures in a reader process beside this one (see ``medshield.ingest``)."""
