"""Device and site scores: the breakdown adds up, each factor follows the weights."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from medshield.core.enums import Criticality, FindingKind
from medshield.risk.scoring import DeviceRisk, score_device, score_site
from medshield.risk.weights import load_weights
from medshield.vulns.vex import AnalysisState

from .conftest import make_device, make_finding, make_match

WEIGHTS = load_weights()


def points(risk: DeviceRisk) -> dict[str, int]:
    return {f.name: f.points for f in risk.factors}


def test_quiet_low_criticality_device_scores_zero() -> None:
    risk = score_device(make_device("d"), [], [])
    assert risk.score == 0 and all(f.points == 0 for f in risk.factors)


def test_exposed_life_sustaining_pump_with_known_exploited_flaw() -> None:
    pump = make_device("pump", Criticality.LIFE_SUSTAINING)
    risk = score_device(
        pump,
        [make_match("pump", cvss=9.8, kev=True)],
        [
            make_finding("pump", FindingKind.INTERNET_EXPOSURE),
            make_finding("pump", FindingKind.DEFAULT_CREDENTIALS),
            make_finding("other", FindingKind.CLEARTEXT_PHI),
        ],
    )
    # weights.yaml: vulnerability 35 × 9.8/10, exploitation 15 (KEV), criticality 15,
    # exposure 10, credentials 9 (default credentials); the other device's PHI is not counted.
    assert points(risk) == {
        "vulnerability": 34,
        "exploitation": 15,
        "criticality": 15,
        "exposure": 10,
        "cleartext-phi": 0,
        "credentials": 9,
        "segmentation": 0,
        "hygiene": 0,
    }
    assert risk.score == 83
    assert "CVSS 9.8" in risk.factors[0].why and "KEV" in risk.factors[1].why
    encoded = risk.to_json()
    assert encoded["score"] == 83 and encoded["factors"][0]["name"] == "vulnerability"


def test_in_triage_match_counts_half_and_epss_scales() -> None:
    monitor = make_device("m", Criticality.HIGH)
    risk = score_device(
        monitor, [make_match("m", cvss=8.0, state=AnalysisState.IN_TRIAGE, epss=0.5)], []
    )
    # 35 × 8.0/10 × 0.5 = 14; EPSS 0.5 reaches the full 15, halved for in_triage → 7.5 → 8;
    # high criticality 15 × 0.67 = 10.
    assert (points(risk)["vulnerability"], points(risk)["exploitation"]) == (14, 8)
    assert points(risk)["criticality"] == 10


def test_resolved_states_do_not_count() -> None:
    fixed = make_match("d", state=AnalysisState.FIXED, kev=True)
    assert score_device(make_device("d"), [fixed], []).score == 0


def test_unscored_advisory_uses_the_assumed_cvss() -> None:
    risk = score_device(make_device("d"), [make_match("d", cvss=None)], [])
    assert points(risk)["vulnerability"] == round(35 * WEIGHTS.unscored_cvss / 10)


@settings(max_examples=60, deadline=None)
@given(
    criticality=st.sampled_from(list(Criticality)),
    kinds=st.sets(st.sampled_from(list(FindingKind))),
    cvss=st.lists(st.floats(0, 10), max_size=4),
    kev=st.booleans(),
    epss=st.none() | st.floats(0, 1),
)
def test_breakdown_always_adds_up(
    criticality: Criticality,
    kinds: set[FindingKind],
    cvss: list[float],
    kev: bool,
    epss: float | None,
) -> None:
    matches = [make_match("d", f"A-{n}", cvss=c, kev=kev, epss=epss) for n, c in enumerate(cvss)]
    risk = score_device(make_device("d", criticality), matches, list(kinds), WEIGHTS)
    assert risk.score == sum(f.points for f in risk.factors)
    assert 0 <= risk.score <= 100
    for factor in risk.factors:
        assert 0 <= factor.points <= WEIGHTS.max_points[factor.name]


def test_site_scores_its_riskiest_devices() -> None:
    risks = [score_device(make_device(f"p{n}"), [], []) for n in range(18)]
    risks += [
        score_device(make_device("pump", Criticality.LIFE_SUSTAINING), [make_match("pump")], []),
        score_device(make_device("ws", Criticality.LOW), [make_match("ws", cvss=5.0)], []),
    ]
    site = score_site(risks)
    # 10 % of 20 devices: the two riskiest; pump 34 + 15 = 49, workstation 18 → mean factors.
    assert site.considered == ("pump", "ws")
    assert site.devices == 20
    assert site.score == sum(f.points for f in site.factors)
    by_name = {f.name: f.points for f in site.factors}
    assert by_name["vulnerability"] == round((34 + 18) / 2)
    assert by_name["criticality"] == round(15 / 2)
    assert score_site([]).score == 0
