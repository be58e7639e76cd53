"""VEX-style analysis of one vulnerability on one device.

States follow CISA's "Minimum Requirements for Vulnerability Exploitability eXchange (VEX)"
(April 2023): *under investigation* (here ``in_triage``, as CycloneDX names it), *affected*,
*not affected* and *fixed*. A *not affected* statement needs one of the five justifications of
CISA's "VEX Status Justifications" (June 2022).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from medshield.core.errors import MedShieldError


class AnalysisState(StrEnum):
    """Where the analysis of a vulnerability on a device stands."""

    IN_TRIAGE = "in_triage"
    AFFECTED = "affected"
    NOT_AFFECTED = "not_affected"
    FIXED = "fixed"


class Justification(StrEnum):
    """Why a device is not affected (CISA VEX Status Justifications, 2022)."""

    COMPONENT_NOT_PRESENT = "component_not_present"
    VULNERABLE_CODE_NOT_PRESENT = "vulnerable_code_not_present"
    VULNERABLE_CODE_NOT_IN_EXECUTE_PATH = "vulnerable_code_not_in_execute_path"
    VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY = (
        "vulnerable_code_cannot_be_controlled_by_adversary"
    )
    INLINE_MITIGATIONS_ALREADY_EXIST = "inline_mitigations_already_exist"


class AnalysisError(MedShieldError):
    """An analysis statement that VEX does not allow (e.g. not affected without a reason)."""


@dataclass(frozen=True, slots=True)
class Analysis:
    """The analysis state of one vulnerability (``cve``) on one device, from one advisory."""

    device: str
    advisory: str
    cve: str
    state: AnalysisState
    justification: Justification | None = None
    detail: str = ""
    """Who decided what, and why (free text); the default analysis says it came from matching."""

    def __post_init__(self) -> None:
        if self.state is AnalysisState.NOT_AFFECTED and self.justification is None:
            raise AnalysisError(f"{self.device} {self.cve}: not_affected needs a justification")
        if self.state is not AnalysisState.NOT_AFFECTED and self.justification is not None:
            raise AnalysisError(f"{self.device} {self.cve}: a justification only for not_affected")

    @property
    def key(self) -> tuple[str, str, str]:
        """Natural key: device, advisory and CVE."""
        return (self.device, self.advisory, self.cve)
