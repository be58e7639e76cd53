"""Importing folders of feed files: detection by content, problems naming files, idempotency."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from medshield.testing.environment import require_shared
from medshield.testing.mds2 import build_mds2
from medshield.vulns.importer import import_paths
from medshield.vulns.model import FeedKind, ImportResult

from .feeds.test_nvd import nvd_page


def test_every_shared_advisory_file_imports(advisories_dir: Path, imported: ImportResult) -> None:
    files = sorted(str(p) for p in advisories_dir.rglob("*") if p.is_file())
    kinds = dict(imported.files)
    csaf = [f for f in files if "/cisa-csaf/" in f]
    assert len(csaf) == 344
    assert all(kinds[f] is FeedKind.CSAF for f in csaf)
    assert [f for f in files if "/cvelistV5/" in f] == [
        f for f in kinds if kinds[f] is FeedKind.CVE5
    ]
    kev_files = [f for f in files if "/cisa-kev/" in f and "schema" not in f]
    assert all(kinds[f] is FeedKind.KEV for f in kev_files) and len(kev_files) == 2
    assert imported.problems == ()
    # The KEV folder also holds the catalog's JSON Schema: skipped, not a problem.
    assert [p.source for p in imported.skipped] == [
        f for f in files if f.endswith("known_exploited_vulnerabilities_schema.json")
    ]
    assert len(imported.advisories) == 344 + 3


def test_kev_json_and_csv_hold_the_same_catalog(
    advisories_dir: Path, imported: ImportResult
) -> None:
    catalog = json.loads(
        (advisories_dir / "cisa-kev" / "known_exploited_vulnerabilities.json").read_text()
    )
    assert len(imported.kev) == 2 * catalog["count"]
    from_json = {e.cve for e in imported.kev if e.catalog_version}
    from_csv = {e.cve for e in imported.kev if not e.catalog_version}
    assert from_json == from_csv == {v["cveID"] for v in catalog["vulnerabilities"]}


def test_both_sboms_import() -> None:
    result = import_paths([require_shared("sbom")])
    assert result.problems == ()
    assert len(result.sboms) == 2
    assert {kind for _, kind in result.files} == {FeedKind.CYCLONEDX}


def test_reimport_yields_identical_records(advisories_dir: Path) -> None:
    folder = advisories_dir / "cisa-csaf" / "OT" / "white" / "2023"
    first, second = import_paths([folder]), import_paths([folder])
    assert first.advisories and first == second


def test_format_is_detected_by_content_not_name(tmp_path: Path) -> None:
    shared = require_shared("advisories/cvelistV5/cves/2022/26xxx/CVE-2022-26388.json")
    shutil.copy(shared, tmp_path / "notes.txt")
    (tmp_path / "page.csv").write_text(json.dumps(nvd_page()))
    (tmp_path / "scores.json").write_bytes(
        gzip.compress(
            b"#model_version:v2023.03.01,score_date:2024-01-01T00:00:00+0000\n"
            b"cve,epss,percentile\nCVE-2022-26388,0.00043,0.0871\n"
        )
    )
    result = import_paths([tmp_path])
    kinds = {Path(source).name: kind for source, kind in result.files}
    assert kinds == {
        "notes.txt": FeedKind.CVE5,
        "page.csv": FeedKind.NVD,
        "scores.json": FeedKind.EPSS,
    }
    assert result.problems == ()


def test_malformed_files_become_problems_and_the_rest_imports(tmp_path: Path) -> None:
    good = require_shared("advisories/cisa-csaf/OT/white/2024/icsma-24-023-01.json")
    shutil.copy(good, tmp_path / "good.json")
    text = good.read_text()
    (tmp_path / "truncated.json").write_text(text[: len(text) // 2])
    wrong = json.loads(text)
    wrong["product_tree"]["branches"] = "not a list"
    (tmp_path / "wrong-schema.json").write_text(json.dumps(wrong))
    no_id = json.loads(text)
    del no_id["document"]["tracking"]["id"]
    (tmp_path / "no-id.json").write_text(json.dumps(no_id))
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "other.json").write_text('{"hello": "world"}')
    _not_mds2_workbook(tmp_path / "sheet.xlsx")
    build_mds2(tmp_path / "form.xlsx", manufacturer="Baxter", model="Sigma Spectrum")
    (tmp_path / "broken.xlsx").write_bytes((tmp_path / "form.xlsx").read_bytes()[:900])

    result = import_paths([tmp_path, tmp_path / "missing"])

    assert [a.id for a in result.advisories] == ["ICSMA-24-023-01"]
    assert [f.manufacturer for f in result.mds2_forms] == ["Baxter"]
    problems = {Path(p.source).name: p.message for p in result.problems}
    assert set(problems) == {
        "truncated.json",
        "wrong-schema.json",
        "no-id.json",
        "binary.bin",
        "other.json",
        "sheet.xlsx",
        "broken.xlsx",
        "missing",
    }
    assert "not valid JSON" in problems["truncated.json"]
    assert "product_tree.branches" in problems["wrong-schema.json"]
    assert "document.tracking.id" in problems["no-id.json"]
    assert "binary" in problems["binary.bin"]
    assert "MDS2" in problems["sheet.xlsx"]
    assert all(str(tmp_path) in p.source for p in result.problems)


def _not_mds2_workbook(path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Device", "Room", "Owner"])
    sheet.append(["Pump 12", "ICU-3", "Biomed"])
    workbook.save(path)
