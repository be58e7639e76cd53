"""CISA Known Exploited Vulnerabilities catalog, JSON and CSV (KEV catalog schema v1)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, ClassVar

from medshield.core.errors import BadInputError
from medshield.vulns.feeds.base import Sample, load_with
from medshield.vulns.feeds.jsonshape import obj, objects, required_text, text
from medshield.vulns.model import FeedKind, FeedResult, KevEntry

CSV_HEADER = ("cveID", "vendorProject", "product")
"""The first columns of the catalog's CSV form."""


class KevJsonFeed:
    """``known_exploited_vulnerabilities.json``."""

    kind: ClassVar[FeedKind] = FeedKind.KEV
    name: ClassVar[str] = "CISA KEV JSON"

    def sniff(self, sample: Sample) -> bool:
        document = sample.json_object()
        if document is None:
            return False
        items = document.get("vulnerabilities")
        first = items[0] if isinstance(items, list) and items else None
        return "catalogVersion" in document or (isinstance(first, dict) and "cveID" in first)

    def read(self, sample: Sample) -> FeedResult:
        return FeedResult(kev=parse_kev_json(sample.json(), sample.source))


class KevCsvFeed:
    """``known_exploited_vulnerabilities.csv``."""

    kind: ClassVar[FeedKind] = FeedKind.KEV
    name: ClassVar[str] = "CISA KEV CSV"

    def sniff(self, sample: Sample) -> bool:
        lines = sample.head_lines(1)
        return bool(lines) and tuple(lines[0].split(",")[:3]) == CSV_HEADER

    def read(self, sample: Sample) -> FeedResult:
        return FeedResult(kev=parse_kev_csv(sample.text(), sample.source))


def load(path: Path) -> FeedResult:
    """Read the KEV catalog (JSON or CSV) from a file or the files of a folder."""
    return load_with((KevJsonFeed(), KevCsvFeed()), path)


def parse_kev_json(document: Any, source: str) -> tuple[KevEntry, ...]:
    """Entries of the JSON catalog."""
    root = obj(document, "document root", source, required=True)
    version = text(root.get("catalogVersion"), "catalogVersion", source)
    return tuple(
        _entry(item, f"vulnerabilities[{i}]", source, version)
        for i, item in enumerate(objects(root.get("vulnerabilities"), "vulnerabilities", source))
    )


def parse_kev_csv(content: str, source: str) -> tuple[KevEntry, ...]:
    """Entries of the CSV catalog (same column names as the JSON keys)."""
    reader = csv.DictReader(io.StringIO(content))
    missing = [c for c in CSV_HEADER if c not in (reader.fieldnames or ())]
    if missing:
        raise BadInputError(source, f"KEV CSV without column(s) {', '.join(missing)}")
    entries = []
    for line, row in enumerate(reader, start=2):
        if None in row:
            raise BadInputError(source, f"line {line}: more cells than columns")
        entries.append(_entry(row, f"line {line}", source, ""))
    return tuple(entries)


def _entry(item: dict[str, Any], where: str, source: str, version: str) -> KevEntry:
    ransomware = text(item.get("knownRansomwareCampaignUse"), f"{where}", source).lower()
    cwes = item.get("cwes")
    cwe_list = (
        tuple(c.strip() for c in cwes.split(",") if c.strip())
        if isinstance(cwes, str)
        else tuple(text(c, f"{where}.cwes", source) for c in cwes or ())
    )
    return KevEntry(
        cve=required_text(item.get("cveID"), f"{where}.cveID", source),
        vendor_project=text(item.get("vendorProject"), f"{where}.vendorProject", source),
        product=text(item.get("product"), f"{where}.product", source),
        name=text(item.get("vulnerabilityName"), f"{where}.vulnerabilityName", source),
        date_added=text(item.get("dateAdded"), f"{where}.dateAdded", source),
        due_date=text(item.get("dueDate"), f"{where}.dueDate", source),
        ransomware=True if ransomware == "known" else None,
        required_action=text(item.get("requiredAction"), f"{where}.requiredAction", source),
        description=text(item.get("shortDescription"), f"{where}.shortDescription", source),
        notes=text(item.get("notes"), f"{where}.notes", source),
        cwes=cwe_list,
        catalog_version=version,
    )
