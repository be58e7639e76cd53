"""The store: SQLAlchemy 2.0 models, Alembic migrations, and the repositories (every query).

Open a database with :class:`Database`, migrate it, and use the repositories inside one
session::

    database = Database("sqlite:///medshield.db")
    database.migrate()
    with database.repositories() as store:
        assessment = store.assessments.start(["capture.pcap"])
        store.devices.merge(devices, assessment_id=assessment)
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medshield.store.assessments import AssessmentRepository
    from medshield.store.communications import CommunicationRepository
    from medshield.store.database import Database, Repositories, mask_url
    from medshield.store.devices import DeviceRepository
    from medshield.store.findings import AlertRepository, FindingRepository
    from medshield.store.records import Assessment, Communication, FindingStatus, StoredFinding

_HOMES = {
    "AlertRepository": "findings",
    "Assessment": "records",
    "AssessmentRepository": "assessments",
    "Communication": "records",
    "CommunicationRepository": "communications",
    "Database": "database",
    "DeviceRepository": "devices",
    "FindingRepository": "findings",
    "FindingStatus": "records",
    "Repositories": "database",
    "StoredFinding": "records",
    "mask_url": "database",
}
"""Where each name lives: imported on first use (PEP 562), so that the plain records
(``store.records``) load without SQLAlchemy, e.g. for a front end's start-up."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)


__all__ = [
    "AlertRepository",
    "Assessment",
    "AssessmentRepository",
    "Communication",
    "CommunicationRepository",
    "Database",
    "DeviceRepository",
    "FindingRepository",
    "FindingStatus",
    "Repositories",
    "StoredFinding",
    "mask_url",
]
