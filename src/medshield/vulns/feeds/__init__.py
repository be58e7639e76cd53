"""Feed readers, one module per format, and the registry the importer consults.

The registry is filled by :func:`default_feeds`, explicitly and in sniffing order, never by
import side effect (a second feed under one name is refused by :class:`Registry`).
"""

from __future__ import annotations

from medshield.core.registry import Registry
from medshield.vulns.feeds.base import Feed, Sample
from medshield.vulns.feeds.csaf import CsafFeed
from medshield.vulns.feeds.cve5 import Cve5Feed
from medshield.vulns.feeds.cyclonedx import CycloneDxFeed
from medshield.vulns.feeds.epss import EpssFeed
from medshield.vulns.feeds.kev import KevCsvFeed, KevJsonFeed
from medshield.vulns.feeds.mds2 import Mds2Feed
from medshield.vulns.feeds.nvd import NvdFeed


def default_feeds() -> Registry[Feed]:
    """Every feed MedShield reads, in the order their ``sniff`` is tried."""
    feeds: Registry[Feed] = Registry("feed")
    feeds.register("mds2", Mds2Feed())
    feeds.register("csaf", CsafFeed())
    feeds.register("cve5", Cve5Feed())
    feeds.register("nvd", NvdFeed())
    feeds.register("kev-json", KevJsonFeed())
    feeds.register("cyclonedx", CycloneDxFeed())
    feeds.register("kev-csv", KevCsvFeed())
    feeds.register("epss", EpssFeed())
    return feeds


__all__ = ["Feed", "Sample", "default_feeds"]
