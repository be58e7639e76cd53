"""Feed records, VEX analyses and device activity in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select

from medshield.core.device import Device
from medshield.risk.activity import HOURS_PER_WEEK, ActivityProfile
from medshield.store import Database
from medshield.store.database import migrations_config
from medshield.store.models import AdvisoryProductRow, DeviceActivityRow
from medshield.store.vulns import (
    EVERY_ADVISORY,
    ActivityRepository,
    AnalysisRepository,
    VulnRepository,
)
from medshield.testing.environment import require_shared
from medshield.testing.mds2 import build_mds2
from medshield.vulns.importer import import_paths
from medshield.vulns.model import Advisory, EpssScore, FeedKind, FeedResult, KevEntry
from medshield.vulns.vex import Analysis, AnalysisState, Justification

VULN_TABLES = {
    "advisories",
    "advisory_products",
    "advisory_vulnerabilities",
    "advisory_remediations",
    "kev_entries",
    "epss_scores",
    "sboms",
    "sbom_components",
    "mds2_forms",
    "vulnerability_analyses",
    "device_activity",
}


@pytest.fixture(scope="module")
def shared_feeds() -> FeedResult:
    """Every shared advisory, KEV catalog, CVE record and SBOM, parsed once."""
    return import_paths([require_shared("advisories"), require_shared("sbom")])


@pytest.fixture(scope="module")
def csaf_truth() -> dict[str, tuple[int, set[str]]]:
    """Advisory id → (product count, CVE ids), read straight from the CSAF JSON files."""
    truth: dict[str, tuple[int, set[str]]] = {}
    for path in sorted(require_shared("advisories/cisa-csaf").rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        tree = document.get("product_tree", {})
        ids: set[str] = set()
        pending = list(tree.get("branches", []))
        while pending:
            branch = pending.pop()
            if "product" in branch:
                ids.add(branch["product"]["product_id"])
            pending += branch.get("branches", [])
        ids |= {p["product_id"] for p in tree.get("full_product_names", [])}
        ids |= {r["full_product_name"]["product_id"] for r in tree.get("relationships", [])}
        cves = {v["cve"] for v in document.get("vulnerabilities", []) if v.get("cve")}
        truth[document["document"]["tracking"]["id"]] = (len(ids), cves)
    return truth


def _device(device_id: str) -> Device:
    return Device(device_id, None, 1.7e9, 1.7e9 + 60)


def test_every_shared_advisory_round_trips_and_counts_match_the_json(
    db: Database, shared_feeds: FeedResult, csaf_truth: dict[str, tuple[int, set[str]]]
) -> None:
    started = time.perf_counter()
    with db.session() as session:
        written = VulnRepository(session).store(shared_feeds)
    elapsed = time.perf_counter() - started
    kev_catalog = json.loads(
        require_shared("advisories/cisa-kev/known_exploited_vulnerabilities.json").read_text()
    )
    with db.session() as session:
        repo = VulnRepository(session)
        loaded = repo.load_advisories()
        counts = repo.counts()
    assert written.advisories == len(csaf_truth) + 3  # 344 CSAF files and 3 CVE records
    assert written.kev == kev_catalog["count"]  # JSON and CSV name the same CVEs once
    # What the store holds, against an independent read of the CSAF files.
    stored = {a.id: (len(a.products), set(a.cves)) for a in loaded if a.id in csaf_truth}
    assert stored == csaf_truth
    assert counts.advisories == 347 and counts.kev == kev_catalog["count"]
    assert counts.sboms == 2
    # Rebuilt records equal what the importer produced, field by field.
    assert {a.id: a for a in loaded} == {a.id: a for a in shared_feeds.advisories}
    assert elapsed < 20, f"storing the shared feeds took {elapsed:.1f} s"


def test_reimport_writes_nothing_and_a_changed_advisory_replaces_its_rows(
    db: Database, shared_feeds: FeedResult
) -> None:
    subset = FeedResult(advisories=shared_feeds.advisories[:20], kev=shared_feeds.kev)
    with db.session() as session:
        VulnRepository(session).store(subset)
    with db.session() as session:
        again = VulnRepository(session).store(subset)
        before = VulnRepository(session).counts()
    assert again.advisories == again.kev == 0
    first = subset.advisories[0]
    revised = replace(first, title=first.title + " (Update A)", products=first.products[:1])
    with db.session() as session:
        assert VulnRepository(session).upsert_advisories([revised]) == 1
    with db.session() as session:
        repo = VulnRepository(session)
        (reloaded,) = repo.load_advisories([first.id])
        after = repo.counts()
        rows = session.scalars(
            select(AdvisoryProductRow.position).where(AdvisoryProductRow.advisory_id == first.id)
        ).all()
    assert reloaded == revised
    assert list(rows) == [0]
    assert after.advisories == before.advisories
    assert after.products == before.products - (len(first.products) - 1)


def test_kev_from_csv_does_not_erase_the_catalog_version_of_the_json(
    db: Database, shared_feeds: FeedResult
) -> None:
    from_json = [e for e in shared_feeds.kev if e.catalog_version][:3]
    from_csv = [replace(e, catalog_version="") for e in from_json]
    with db.session() as session:
        VulnRepository(session).upsert_kev(from_json)
    with db.session() as session:
        assert VulnRepository(session).upsert_kev(from_csv) == 0
        changed = replace(from_csv[0], due_date="2099-01-01")
        assert VulnRepository(session).upsert_kev([changed]) == 1
    with db.session() as session:
        loaded = {e.cve: e for e in VulnRepository(session).load_kev()}
    assert loaded[from_json[1].cve] == from_json[1]
    assert loaded[changed.cve] == changed


def test_epss_upsert_replaces_a_score_and_loads_by_cve(db: Database) -> None:
    old = [EpssScore("CVE-2020-1938", 0.9447, 0.9994, "v2023.03.01", "2024-01-01"),
           EpssScore("CVE-2017-0143", 0.9745, 0.9998, "v2023.03.01", "2024-01-01")]  # fmt: skip
    new = replace(old[0], epss=0.9501, score_date="2024-02-01")
    with db.session() as session:
        assert VulnRepository(session).upsert_epss(old) == 2
    with db.session() as session:
        assert VulnRepository(session).upsert_epss([new, old[1]]) == 1
    with db.session() as session:
        repo = VulnRepository(session)
        assert repo.load_epss(["CVE-2020-1938"]) == [new]
        assert repo.load_epss() == sorted([new, old[1]], key=lambda s: s.cve)


def test_sboms_round_trip_and_a_binding_survives_reimport(
    db: Database, shared_feeds: FeedResult
) -> None:
    with db.session() as session:
        VulnRepository(session).upsert_sboms(shared_feeds.sboms)
    serial = shared_feeds.sboms[0].serial
    with db.session() as session:
        VulnRepository(session).bind_sbom(serial, "SN-4711")
    with db.session() as session:
        assert VulnRepository(session).upsert_sboms(shared_feeds.sboms) == 0
        changed = replace(shared_feeds.sboms[0], version=2)
        assert VulnRepository(session).upsert_sboms([changed]) == 1
    with db.session() as session:
        stored = {s.sbom.serial: s for s in VulnRepository(session).load_sboms()}
        counts = VulnRepository(session).counts()
    assert stored[serial].sbom == changed
    assert stored[serial].device_serial == "SN-4711"
    assert stored[shared_feeds.sboms[1].serial].sbom == shared_feeds.sboms[1]
    assert counts.sbom_components == sum(len(s.components) for s in shared_feeds.sboms)


def test_mds2_forms_round_trip_by_their_natural_key(db: Database, tmp_path: Path) -> None:
    path = build_mds2(
        tmp_path / "pump.xlsx",
        manufacturer="Baxter",
        model="Sigma Spectrum IQ",
        version="9.02.01",
        document_id="MDS2-123",
        answers={"TXCF-2": "Yes", "PAUT-4": "N/A", "SAHD-6": "No"},
        notes={"PAUT-4": "No default accounts"},
    )
    (form,) = import_paths([path]).mds2_forms
    with db.session() as session:
        assert VulnRepository(session).upsert_mds2([form, form]) == 1
    with db.session() as session:
        assert VulnRepository(session).upsert_mds2([form]) == 0
        assert VulnRepository(session).load_mds2() == [form]


def test_analyses_are_set_replaced_and_listed_per_device(db: Database) -> None:
    with db.repositories() as store:
        store.devices.merge([_device("mac-000000000001"), _device("mac-000000000002")])
    first = Analysis("mac-000000000001", EVERY_ADVISORY, "CVE-2020-1938", AnalysisState.AFFECTED)
    with db.session() as session:
        AnalysisRepository(session).set(first, "alice", 1.7e9)
    final = Analysis(
        "mac-000000000001",
        EVERY_ADVISORY,
        "CVE-2020-1938",
        AnalysisState.NOT_AFFECTED,
        Justification.VULNERABLE_CODE_NOT_IN_EXECUTE_PATH,
        "AJP connector disabled",
    )
    other = Analysis("mac-000000000002", "ICSMA-21-187-01", "", AnalysisState.FIXED)
    with db.session() as session:
        AnalysisRepository(session).set(final, "bob", 1.7e9 + 60)
        AnalysisRepository(session).set(other, "bob", 1.7e9 + 90)
    with db.session() as session:
        mine = AnalysisRepository(session).all(["mac-000000000001"])
        everything = AnalysisRepository(session).all()
    assert [(s.analysis, s.author, s.decided_at) for s in mine] == [(final, "bob", 1.7e9 + 60)]
    assert [s.analysis for s in everything] == [final, other]


def _profile(device: str, flows: list[tuple[float, float, int]], start: float, end: float) -> Any:
    profile = ActivityProfile(device)
    for first, last, packets in flows:
        profile.add_flow(first, last, packets)
    profile.observe(start, end)
    return profile


def test_activity_merges_bucket_by_bucket_and_stores_only_used_hours(db: Database) -> None:
    with db.repositories() as store:
        store.devices.merge([_device("mac-000000000001")])
    monday = 1_704_067_200.0  # 2024-01-01 00:00 UTC, a Monday
    first = _profile(
        "mac-000000000001", [(monday + 600, monday + 4200, 100)], monday, monday + 7200
    )
    second = _profile("mac-000000000001", [(monday + 900, monday + 900, 7)], monday, monday + 3600)
    with db.session() as session:
        ActivityRepository(session).merge([first])
    with db.session() as session:
        ActivityRepository(session).merge([second])
    with db.session() as session:
        loaded = ActivityRepository(session).load()["mac-000000000001"]
        rows = session.scalars(select(DeviceActivityRow.hour_of_week)).all()
    expected = ActivityProfile("mac-000000000001")
    expected.merge(first)
    expected.merge(second)
    assert loaded.packets == pytest.approx(expected.packets)
    assert loaded.flows == expected.flows
    assert loaded.observed == pytest.approx(expected.observed)
    assert loaded.packets[0] == pytest.approx(100 * 3000 / 3600 + 7)
    assert sorted(rows) == [0, 1] and len(loaded.packets) == HOURS_PER_WEEK


def test_migration_0002_upgrades_a_0001_database_and_downgrades_to_it(empty_url: str) -> None:
    with Database(empty_url) as database:
        with database.engine.begin() as connection:
            command.upgrade(migrations_config(connection), "0001")
        with database.repositories() as store:
            store.devices.merge([_device("mac-000000000001")])
        database.migrate()
        assert set(inspect(database.engine).get_table_names()) >= VULN_TABLES
        with database.engine.begin() as connection:
            command.downgrade(migrations_config(connection), "0001")
        left = set(inspect(database.engine).get_table_names())
        with database.repositories() as store:
            assert store.devices.count() == 1
    assert not VULN_TABLES & left


def test_an_advisory_without_products_or_vulnerabilities_round_trips(db: Database) -> None:
    advisory = Advisory(id="EXAMPLE-1", kind=FeedKind.NVD, title="Bare", source="x.json")
    with db.session() as session:
        VulnRepository(session).upsert_advisories([advisory])
    with db.session() as session:
        assert VulnRepository(session).load_advisories() == [advisory]


def test_kev_entry_with_unknown_ransomware_use_round_trips(db: Database) -> None:
    entry = KevEntry("CVE-2099-0001", "Example", "Pump", ransomware=None, cwes=("CWE-20",))
    with db.session() as session:
        VulnRepository(session).upsert_kev([entry])
    with db.session() as session:
        assert VulnRepository(session).load_kev(["CVE-2099-0001"]) == [entry]
