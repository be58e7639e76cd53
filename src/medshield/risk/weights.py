"""Risk weights from ``weights.yaml`` (operator-tunable data, checked when loaded)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from medshield.core.enums import Criticality, FindingKind
from medshield.core.errors import BadInputError

FACTORS = (
    "vulnerability",
    "exploitation",
    "criticality",
    "exposure",
    "cleartext-phi",
    "credentials",
    "segmentation",
    "hygiene",
)
"""Factor names, in the order a breakdown lists them."""
FINDING_FACTORS = ("exposure", "cleartext-phi", "credentials", "segmentation", "hygiene")
TOTAL_POINTS = 100


@dataclass(frozen=True, slots=True)
class RiskWeights:
    """How many points each factor can give, and how inputs map onto its share."""

    max_points: dict[str, int]
    state_weight: dict[str, float]
    unscored_cvss: float
    kev_share: float
    epss_full_at: float
    criticality: dict[Criticality, float]
    findings: dict[str, dict[FindingKind, float]]
    """Factor name → finding kind → share of the factor's points."""
    site_top_share: float
    priority: dict[Criticality, float]
    """Remediation priority factor per clinical criticality."""


def load_weights(path: Path | None = None) -> RiskWeights:
    """The weights of ``path``, by default the ``weights.yaml`` shipped with MedShield."""
    if path is None:
        text = resources.files("medshield.risk").joinpath("weights.yaml").read_text("utf-8")
        source = "weights.yaml"
    else:
        text, source = path.read_text("utf-8"), str(path)
    data = yaml.safe_load(text)
    try:
        return _weights(data, source)
    except (KeyError, TypeError, ValueError) as error:
        raise BadInputError(
            source, f"invalid risk weights ({type(error).__name__}: {error})"
        ) from None


def _weights(data: Any, source: str) -> RiskWeights:
    factors: dict[str, Any] = data["factors"]
    missing = [name for name in FACTORS if name not in factors]
    if missing or set(factors) - set(FACTORS):
        raise BadInputError(source, f"factors must be exactly {', '.join(FACTORS)}")
    max_points = {name: int(factors[name]["max_points"]) for name in FACTORS}
    if sum(max_points.values()) != TOTAL_POINTS or min(max_points.values()) < 0:
        raise BadInputError(source, f"factor max_points must add up to {TOTAL_POINTS}")
    shares = {
        name: {FindingKind(kind): _share(v) for kind, v in factors[name]["findings"].items()}
        for name in FINDING_FACTORS
    }
    return RiskWeights(
        max_points=max_points,
        state_weight={k: _share(v) for k, v in factors["vulnerability"]["state_weight"].items()},
        unscored_cvss=float(factors["vulnerability"]["unscored_cvss"]),
        kev_share=_share(factors["exploitation"]["kev"]),
        epss_full_at=float(factors["exploitation"]["epss_full_at"]),
        criticality={
            Criticality(level): _share(v) for level, v in factors["criticality"]["levels"].items()
        },
        findings=shares,
        site_top_share=_share(data["site"]["top_share"]),
        priority={
            Criticality(level): _positive(v)
            for level, v in data["remediation"]["criticality_priority"].items()
        },
    )


def _positive(value: Any) -> float:
    factor = float(value)
    if factor <= 0:
        raise ValueError(f"priority factor {factor} must be positive")
    return factor


def _share(value: Any) -> float:
    share = float(value)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share {share} outside 0–1")
    return share
