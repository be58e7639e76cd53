"""FIRST EPSS scores (the daily CSV: an optional ``#model_version:…,score_date:…`` comment line,
then ``cve,epss,percentile``; FIRST.org EPSS data and statistics page)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import ClassVar

from medshield.core.errors import BadInputError
from medshield.vulns.feeds.base import Sample, load_with
from medshield.vulns.model import EpssScore, FeedKind, FeedResult

HEADER = ("cve", "epss", "percentile")


class EpssFeed:
    """EPSS CSV files (plain or gzipped)."""

    kind: ClassVar[FeedKind] = FeedKind.EPSS
    name: ClassVar[str] = "EPSS CSV"

    def sniff(self, sample: Sample) -> bool:
        lines = sample.head_lines(2)
        if lines and lines[0].startswith("#"):
            lines = lines[1:]
        return bool(lines) and tuple(c.strip() for c in lines[0].split(",")[:3]) == HEADER

    def read(self, sample: Sample) -> FeedResult:
        return FeedResult(epss=parse_epss(sample.text(), sample.source))


def load(path: Path) -> FeedResult:
    """Read EPSS scores from a file or every file of a folder."""
    return load_with(EpssFeed(), path)


def parse_epss(content: str, source: str) -> tuple[EpssScore, ...]:
    """Scores of an EPSS CSV; the comment line gives the model version and score date."""
    lines = content.splitlines()
    model_version = score_date = ""
    if lines and lines[0].startswith("#"):
        for part in lines[0].lstrip("#").split(","):
            key, _, value = part.partition(":")
            if key.strip() == "model_version":
                model_version = value.strip()
            elif key.strip() == "score_date":
                score_date = value.strip()
        lines = lines[1:]
    reader = csv.reader(lines)
    header = tuple(c.strip() for c in next(reader, []))
    if header[:3] != HEADER:
        raise BadInputError(
            source, f"expected columns {','.join(HEADER)}, found {','.join(header)}"
        )
    scores = []
    for number, row in enumerate(reader, start=3 if model_version or score_date else 2):
        if not row:
            continue
        scores.append(_score(row, number, source, model_version, score_date))
    return tuple(scores)


def _score(row: list[str], line: int, source: str, model: str, date: str) -> EpssScore:
    if len(row) < 3:
        raise BadInputError(source, f"line {line}: expected 3 cells, found {len(row)}")
    try:
        epss, percentile = float(row[1]), float(row[2])
    except ValueError:
        raise BadInputError(source, f"line {line}: scores are not numbers") from None
    if not (0.0 <= epss <= 1.0 and 0.0 <= percentile <= 1.0):
        raise BadInputError(source, f"line {line}: scores outside 0–1")
    return EpssScore(row[0].strip(), epss, percentile, model, date)
