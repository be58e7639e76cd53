"""FIRST EPSS CSV files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from medshield.core.errors import BadInputError
from medshield.vulns.feeds.epss import load, parse_epss

DAILY = (
    "#model_version:v2023.03.01,score_date:2024-06-01T00:00:00+0000\n"
    "cve,epss,percentile\n"
    "CVE-2017-9657,0.00213,0.59021\n"
    "CVE-2022-26388,0.00043,0.08711\n"
)


def test_comment_line_and_scores() -> None:
    first, second = parse_epss(DAILY, "epss.csv")
    assert (first.cve, first.epss, first.percentile) == ("CVE-2017-9657", 0.00213, 0.59021)
    assert second.model_version == "v2023.03.01"
    assert second.score_date == "2024-06-01T00:00:00+0000"


def test_without_comment_line() -> None:
    (score,) = parse_epss("cve,epss,percentile\nCVE-2017-9657,0.5,0.9\n", "epss.csv")
    assert score.model_version == "" and score.epss == 0.5


def test_gzipped_file(tmp_path: Path) -> None:
    (tmp_path / "epss_scores-2024-06-01.csv.gz").write_bytes(gzip.compress(DAILY.encode()))
    assert len(load(tmp_path).epss) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("cve,epss,percentile\nCVE-1,high,0.5\n", "line 2: scores are not numbers"),
        ("cve,epss,percentile\nCVE-1,1.5,0.5\n", "line 2: scores outside 0–1"),
        ("cve,epss,percentile\nCVE-1,0.5\n", "line 2: expected 3 cells"),
        ("cve,score\nCVE-1,0.5\n", "expected columns"),
    ],
)
def test_bad_rows_name_the_file_and_line(content: str, message: str) -> None:
    with pytest.raises(BadInputError, match=r"epss\.csv") as raised:
        parse_epss(content, "epss.csv")
    assert message in str(raised.value)
