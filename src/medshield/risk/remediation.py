"""A prioritised remediation list: what to do first, ranked by the risk each action removes.

Each action (update to the fixed version of a matched advisory, or the remediation of a
posture finding) is scored by re-scoring its device without the problem the action solves;
the difference is the points it removes. Actions rank by those points times a factor of the
device's clinical criticality (``weights.yaml``: a life-sustaining pump before a printer), then
by criticality, device and action, so the list is the same on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from medshield.core.device import Device
from medshield.core.enums import Criticality, FindingKind
from medshield.core.finding import Finding
from medshield.risk.scoring import score_device
from medshield.risk.weights import RiskWeights, load_weights
from medshield.vulns.matching import Match

_CRITICALITY_ORDER = list(Criticality)


@dataclass(frozen=True, slots=True)
class RemediationItem:
    """One action on one device."""

    device: str
    action: str
    reason: str
    source: str
    """The advisory id or finding kind the action addresses."""
    reduces_by: int
    """Points the device's risk score loses once the action is done."""
    criticality: Criticality
    priority: float = 0.0
    """``reduces_by`` times the criticality factor: the order of the plan."""


@dataclass(frozen=True, slots=True)
class GroupedAction:
    """One action across every device that needs it (a fleet of identical pumps)."""

    action: str
    source: str
    devices: tuple[str, ...]
    reduces_by: int
    """Points removed over all those devices."""


def remediation_plan(
    devices: Iterable[Device],
    matches: Sequence[Match],
    findings: Sequence[Finding],
    weights: RiskWeights | None = None,
) -> list[RemediationItem]:
    """Every action on every device, the most risk-reducing first."""
    weights = weights or load_weights()
    items: list[RemediationItem] = []
    for device in devices:
        own_matches = [m for m in matches if m.device == device.id]
        own_findings = [f for f in findings if f.device == device.id]
        base = score_device(device, own_matches, own_findings, weights).score
        for match in own_matches:
            rest = [m for m in own_matches if m is not match]
            after = score_device(device, rest, own_findings, weights).score
            items.append(_advisory_item(device, match, base - after))
        for kind in sorted({f.kind for f in own_findings}, key=lambda k: k.value):
            rest_findings = [f for f in own_findings if f.kind is not kind]
            after = score_device(device, own_matches, rest_findings, weights).score
            first = next(f for f in own_findings if f.kind is kind)
            items.append(_finding_item(device, kind, first, base - after))
    prioritised = [
        replace(i, priority=i.reduces_by * weights.priority.get(i.criticality, 1.0)) for i in items
    ]
    prioritised.sort(
        key=lambda i: (-i.priority, _CRITICALITY_ORDER.index(i.criticality), i.device, i.action)
    )
    return prioritised


def group_actions(items: Iterable[RemediationItem]) -> list[GroupedAction]:
    """The same action on several devices as one line, the most risk-reducing first."""
    grouped: dict[tuple[str, str], list[RemediationItem]] = {}
    for item in items:
        grouped.setdefault((item.source, item.action), []).append(item)
    actions = [
        GroupedAction(
            action, source, tuple(i.device for i in group), sum(i.reduces_by for i in group)
        )
        for (source, action), group in grouped.items()
    ]
    actions.sort(key=lambda a: (-a.reduces_by, a.source, a.action))
    return actions


def _advisory_item(device: Device, match: Match, reduction: int) -> RemediationItem:
    if match.fixed_in:
        action = f"Update {match.product} to {match.fixed_in} or later"
    else:
        action = f"Apply the vendor mitigations of {match.advisory} to {match.product}"
    cves = ", ".join(match.cves) or "no CVE id"
    reason = f"{match.advisory} ({cves}) is {match.state.value} on this device"
    return RemediationItem(device.id, action, reason, match.advisory, reduction, device.criticality)


def _finding_item(
    device: Device, kind: FindingKind, finding: Finding, reduction: int
) -> RemediationItem:
    return RemediationItem(
        device.id, finding.remediation, finding.title, kind.value, reduction, device.criticality
    )
