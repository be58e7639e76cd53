"""Device and site risk scores, 0–100, with the factor breakdown behind each.

A device's score is the sum of its factor points: vulnerability severity (worst matched
advisory's CVSS), exploitation (CISA KEV, FIRST EPSS), clinical criticality, exposure,
cleartext PHI, credentials, segmentation and protocol hygiene. Each factor earns a share of
its maximum (``weights.yaml``); points are whole numbers and the maxima add up to 100, so the
breakdown always adds up to the score that is shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from medshield.core.device import Device
from medshield.core.enums import FindingKind
from medshield.core.finding import Finding
from medshield.risk.weights import FACTORS, FINDING_FACTORS, RiskWeights, load_weights
from medshield.vulns.matching import Match


@dataclass(frozen=True, slots=True)
class RiskFactor:
    """Points one factor adds to a score, and why."""

    name: str
    points: int
    why: str


@dataclass(frozen=True, slots=True)
class DeviceRisk:
    """A device's score and its breakdown (``assess --json`` ``devices[].risk``)."""

    device: str
    score: int
    factors: tuple[RiskFactor, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"score", "factors": [{"name", "points", "why"}]}`` as PRODUCT.md specifies."""
        return {
            "score": self.score,
            "factors": [{"name": f.name, "points": f.points, "why": f.why} for f in self.factors],
        }


@dataclass(frozen=True, slots=True)
class SiteRisk:
    """A site's score: the mean breakdown of its riskiest devices."""

    score: int
    devices: int
    considered: tuple[str, ...]
    """Ids of the devices the score averages (the riskiest share of the site)."""
    factors: tuple[RiskFactor, ...]


def finding_kinds(
    device_id: str, findings: Iterable[Finding | FindingKind]
) -> frozenset[FindingKind]:
    """Kinds of the findings about ``device_id`` (bare kinds are taken as about it)."""
    return frozenset(
        f if isinstance(f, FindingKind) else f.kind
        for f in findings
        if isinstance(f, FindingKind) or f.device == device_id
    )


def score_device(
    device: Device,
    matches: Iterable[Match],
    findings: Iterable[Finding | FindingKind],
    weights: RiskWeights | None = None,
) -> DeviceRisk:
    """The risk of ``device`` from its advisory matches and posture findings."""
    weights = weights or load_weights()
    own = [m for m in matches if m.device == device.id]
    kinds = finding_kinds(device.id, findings)
    factors = [
        _vulnerability(own, weights),
        _exploitation(own, weights),
        _criticality(device, weights),
        *(_finding_factor(name, kinds, weights) for name in FINDING_FACTORS),
    ]
    factors.sort(key=lambda f: FACTORS.index(f.name))
    return DeviceRisk(device.id, sum(f.points for f in factors), tuple(factors))


def score_site(risks: Sequence[DeviceRisk], weights: RiskWeights | None = None) -> SiteRisk:
    """The site's score: factor points averaged over its riskiest devices, then added up."""
    weights = weights or load_weights()
    if not risks:
        empty = tuple(RiskFactor(name, 0, "no devices") for name in FACTORS)
        return SiteRisk(0, 0, (), empty)
    count = max(1, math.ceil(weights.site_top_share * len(risks)))
    top = sorted(risks, key=lambda r: (-r.score, r.device))[:count]
    factors = []
    for position, name in enumerate(FACTORS):
        points = [risk.factors[position].points for risk in top]
        mean = round(sum(points) / len(points))
        factors.append(RiskFactor(name, mean, f"mean over the {len(top)} riskiest device(s)"))
    return SiteRisk(
        sum(f.points for f in factors), len(risks), tuple(r.device for r in top), tuple(factors)
    )


def _points(share: float, name: str, weights: RiskWeights) -> int:
    return round(max(0.0, min(1.0, share)) * weights.max_points[name])


def _state_weight(match: Match, weights: RiskWeights) -> float:
    return weights.state_weight.get(match.state.value, 0.0)


def _vulnerability(matches: list[Match], weights: RiskWeights) -> RiskFactor:
    scored = [
        ((m.cvss if m.cvss is not None else weights.unscored_cvss) * _state_weight(m, weights), m)
        for m in matches
        if _state_weight(m, weights) > 0
    ]
    if not scored:
        return RiskFactor("vulnerability", 0, "no advisory applies to the device")
    severity, worst = max(scored, key=lambda pair: (pair[0], pair[1].advisory))
    cvss = "no CVSS" if worst.cvss is None else f"CVSS {worst.cvss:.1f}"
    why = f"{worst.advisory} ({cvss}, {worst.state.value})"
    if len(scored) > 1:
        why += f" and {len(scored) - 1} other advisory match(es)"
    return RiskFactor("vulnerability", _points(severity / 10, "vulnerability", weights), why)


def _exploitation(matches: list[Match], weights: RiskWeights) -> RiskFactor:
    best, why = 0.0, "no matched CVE is known exploited or likely to be"
    for match in matches:
        state = _state_weight(match, weights)
        if match.kev and weights.kev_share * state > best:
            best, why = weights.kev_share * state, f"{match.advisory}: a CVE in CISA KEV"
        elif match.epss is not None:
            share = min(1.0, match.epss / weights.epss_full_at) * state
            if share > best:
                best, why = share, f"{match.advisory}: EPSS {match.epss:.3f}"
    return RiskFactor("exploitation", _points(best, "exploitation", weights), why)


def _criticality(device: Device, weights: RiskWeights) -> RiskFactor:
    share = weights.criticality.get(device.criticality, 0.0)
    why = f"clinical criticality {device.criticality.value}"
    return RiskFactor("criticality", _points(share, "criticality", weights), why)


def _finding_factor(name: str, kinds: frozenset[FindingKind], weights: RiskWeights) -> RiskFactor:
    present = {kind: share for kind, share in weights.findings[name].items() if kind in kinds}
    if not present:
        return RiskFactor(name, 0, "no finding")
    kind = max(present, key=lambda k: (present[k], k.value))
    return RiskFactor(name, _points(present[kind], name, weights), f"finding {kind.value}")
