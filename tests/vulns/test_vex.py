"""VEX analysis records (CISA VEX minimum requirements and status justifications)."""

from __future__ import annotations

import pytest

from medshield.vulns.vex import Analysis, AnalysisError, AnalysisState, Justification


def test_not_affected_needs_a_justification() -> None:
    with pytest.raises(AnalysisError, match="needs a justification"):
        Analysis("dev", "ICSMA-1", "CVE-1", AnalysisState.NOT_AFFECTED)
    analysis = Analysis(
        "dev", "ICSMA-1", "CVE-1", AnalysisState.NOT_AFFECTED, Justification.COMPONENT_NOT_PRESENT
    )
    assert analysis.key == ("dev", "ICSMA-1", "CVE-1")


def test_justification_only_for_not_affected() -> None:
    with pytest.raises(AnalysisError, match="only for not_affected"):
        Analysis("dev", "A", "CVE-1", AnalysisState.FIXED, Justification.COMPONENT_NOT_PRESENT)


def test_vocabulary() -> None:
    assert [s.value for s in AnalysisState] == ["in_triage", "affected", "not_affected", "fixed"]
    assert len(Justification) == 5
