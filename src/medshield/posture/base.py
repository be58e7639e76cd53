"""What a posture check is, and the context every check reads.

A check is a small class whose fixed facts (finding kind, title, severity, remediation, the
practice it serves) are class data, as pySigma's validators carry theirs; ``run`` turns the
context's observations and devices into findings. Evidence is redacted by construction:
observations never hold PHI or a full secret.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, TypeVar

from medshield.core.device import Device
from medshield.core.enums import FindingKind, Practice, Severity
from medshield.core.finding import Finding
from medshield.core.flow import Endpoint
from medshield.core.observation import Observation
from medshield.inventory.builder import DeviceIndex, Link, LinkKey
from medshield.posture.credentials import DefaultCredentials

ObservationT = TypeVar("ObservationT", bound=Observation)


@dataclass(slots=True)
class PostureContext:
    """Devices, observations by kind, traffic links and reference data."""

    devices: DeviceIndex
    observations: Mapping[str, list[Observation]]
    links: Mapping[LinkKey, Link] = field(default_factory=dict)
    credentials: DefaultCredentials = field(default_factory=DefaultCredentials.shipped)

    def of(self, kind: type[ObservationT]) -> Iterator[ObservationT]:
        """Observations of one type."""
        for observation in self.observations.get(kind.kind, ()):
            if isinstance(observation, kind):
                yield observation

    def device(self, endpoint: Endpoint | None) -> Device | None:
        """The inventory device behind an endpoint."""
        return self.devices.by_endpoint(endpoint)

    def name(self, endpoint: Endpoint | None) -> str:
        """Device id of an endpoint, or its IP address when it is no inventory device."""
        if endpoint is None:
            return "unknown"
        return self.devices.name_of(endpoint)


def group_observations(observations: Iterable[Observation]) -> dict[str, list[Observation]]:
    """Observations grouped by kind, as :class:`PostureContext` takes them."""
    grouped: dict[str, list[Observation]] = defaultdict(list)
    for observation in observations:
        grouped[observation.kind].append(observation)
    return dict(grouped)


class Check(Protocol):
    """A posture check."""

    @property
    def name(self) -> str:
        """Registry name of the check."""
        ...

    def run(self, context: PostureContext) -> Iterable[Finding]:
        """Findings of this check."""
        ...


class CheckBase:
    """Fixed facts of a check as class data, and the finding factory that uses them."""

    name: ClassVar[str]
    kind: ClassVar[FindingKind]
    title: ClassVar[str]
    severity: ClassVar[Severity]
    remediation: ClassVar[str]
    practice: ClassVar[Practice]

    def finding(
        self,
        device: str,
        evidence: str,
        detail_key: str,
        ts: float | None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this check's kind about ``device``."""
        return Finding(
            kind=self.kind,
            severity=severity or self.severity,
            device=device,
            title=self.title,
            evidence=evidence,
            remediation=self.remediation,
            practice=self.practice.value,
            detail_key=detail_key,
            first_seen=ts,
        )


def first_per_key(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per id (kind, device, detail key): the earliest seen."""
    kept: dict[str, Finding] = {}
    for finding in findings:
        known = kept.get(finding.id)
        if known is None or (finding.first_seen or 0) < (known.first_seen or 0):
            kept[finding.id] = finding
    return list(kept.values())
