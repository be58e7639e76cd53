"""Records the store returns or accepts beside the domain types of ``medshield.core``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from medshield.core.finding import Finding


@dataclass(frozen=True, slots=True)
class Communication:
    """Traffic aggregated by (src, dst, dport, transport, app), as in the assessment JSON.

    ``src`` and ``dst`` are IP addresses or device ids; ``transport`` is the lower-case label
    (``tcp``, ``udp``); ``app`` the application protocol name (empty when unknown).
    Timestamps are epoch seconds.
    """

    src: str
    dst: str
    dport: int
    transport: str
    app: str
    packets: int
    bytes: int
    first_seen: float
    last_seen: float
    flows: int = 1

    @property
    def key(self) -> tuple[str, str, int, str, str]:
        """What identifies an aggregate: the same key in two merges is one row."""
        return (self.src, self.dst, self.dport, self.transport, self.app)


class FindingStatus(StrEnum):
    """Lifecycle of a stored finding."""

    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class StoredFinding:
    """A finding as the store knows it: the latest report plus its history."""

    finding: Finding
    """The most recent report; ``first_seen`` is the earliest time it was ever seen."""
    last_seen: float
    status: FindingStatus
    assessment_ids: tuple[int, ...]
    """Assessments that reported it, oldest first."""

    @property
    def id(self) -> str:
        """The finding's stable id."""
        return self.finding.id


@dataclass(frozen=True, slots=True)
class Assessment:
    """One assessment run: what was read and when."""

    id: int
    started_at: float
    finished_at: float | None
    files: tuple[str, ...]
    packets: int
    bytes: int
    flows: int
    capture_start: float | None
    capture_end: float | None
    tool_version: str
