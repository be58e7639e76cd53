"""CVSS JSON objects (FIRST's cvss-v2.0, v3.x and v4.0 JSON schemas) as :class:`Score`."""

from __future__ import annotations

from typing import Any

from medshield.vulns.feeds.jsonshape import number, obj, text
from medshield.vulns.model import Score


def cvss_score(value: Any, where: str, source: str, default_version: str) -> Score | None:
    """A CVSS JSON object (FIRST cvss-v2/v3/v4 JSON schema) as a :class:`Score`."""
    if value is None:
        return None
    cvss = obj(value, where, source)
    base = number(cvss.get("baseScore"), f"{where}.baseScore", source)
    if base is None:
        return None
    return Score(
        version=text(cvss.get("version"), f"{where}.version", source) or default_version,
        base_score=base,
        vector=text(cvss.get("vectorString"), f"{where}.vectorString", source),
        severity=text(cvss.get("baseSeverity"), f"{where}.baseSeverity", source).lower(),
    )
