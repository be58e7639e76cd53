"""The store: SQLAlchemy 2.0 models, Alembic migrations, and the repositories (every query).

Open a database with :class:`Database`, migrate it, and use the repositories inside one
session::

    database = Database("sqlite:///medshield.db")
    database.migrate()
    with database.repositories() as store:
        assessment = store.assessments.start(["capture.pcap"])
        store.devices.merge(devices, assessment_id=assessment)
"""

from medshield.store.assessments import AssessmentRepository
from medshield.store.communications import CommunicationRepository
from medshield.store.database import Database, Repositories, mask_url
from medshield.store.devices import DeviceRepository
from medshield.store.findings import AlertRepository, FindingRepository
from medshield.store.records import Assessment, Communication, FindingStatus, StoredFinding

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
