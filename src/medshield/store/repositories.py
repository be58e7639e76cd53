"""Every repository of the store in one place (each lives in the module of its aggregate)."""

from medshield.store.assessments import AssessmentRepository
from medshield.store.communications import CommunicationRepository
from medshield.store.devices import DeviceRepository
from medshield.store.findings import AlertRepository, FindingRepository
from medshield.store.vulns import ActivityRepository, AnalysisRepository, VulnRepository

__all__ = [
    "ActivityRepository",
    "AlertRepository",
    "AnalysisRepository",
    "AssessmentRepository",
    "CommunicationRepository",
    "DeviceRepository",
    "FindingRepository",
    "VulnRepository",
]
