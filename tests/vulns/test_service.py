"""The vulnerability service over a real store: import the shared feeds, assess devices."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from medshield.core.device import Device, Evidence
from medshield.core.enums import Criticality, DeviceCategory, FindingKind, Severity
from medshield.core.errors import BadInputError
from medshield.core.finding import Finding
from medshield.risk.activity import ActivityProfile
from medshield.store import Database
from medshield.store.vulns import VulnRepository, WriteCounts
from medshield.testing.environment import require_shared
from medshield.testing.mds2 import build_mds2
from medshield.vulns.matching import Match
from medshield.vulns.model import (
    Advisory,
    FeedKind,
    Product,
    Remediation,
    RemediationCategory,
    Vulnerability,
)
from medshield.vulns.service import (
    VULNS_SCHEMA,
    AdvisoryCatalog,
    ImportSummary,
    VulnAssessment,
    assess_vulnerabilities,
    cvss_severity,
    end_of_life_statement,
    import_feeds,
    load_catalog,
    set_analysis,
)
from medshield.vulns.versions import ALL_VERSIONS
from medshield.vulns.vex import AnalysisError, AnalysisState, Justification

SEEN = Evidence("test", 1.7e9, "set by the test")
T0 = 1_704_067_200.0  # Monday 2024-01-01 00:00 UTC


def device(
    number: int,
    vendor: str,
    model: str,
    firmware: str | None = None,
    *,
    category: DeviceCategory = DeviceCategory.INFUSION_PUMP,
    criticality: Criticality = Criticality.HIGH,
    serial: str | None = None,
) -> Device:
    """A device as the inventory would hold it after DPI read its identity."""
    found = Device(
        f"mac-00005e0053{number:02x}",
        f"00:00:5e:00:53:{number:02x}",
        T0,
        T0 + 3600,
        ips={f"192.0.2.{number}"},
        category=category,
        criticality=criticality,
    )
    found.add_attribute("vendor", vendor, 0.9, SEEN)
    found.add_attribute("model", model, 0.9, SEEN)
    if firmware:
        found.add_attribute("firmware", firmware, 0.9, SEEN)
    if serial:
        found.add_attribute("serial", serial, 0.9, SEEN)
    return found


EXACTAMIX = device(1, "Baxter", "ExactaMix EM2400", "1.10", category=DeviceCategory.LAB_ANALYSER)
VUE_OLD = device(2, "Philips", "Vue PACS", "12.1.0", category=DeviceCategory.PACS)
VUE_NEW = device(3, "Philips", "Vue PACS", "12.3.0", category=DeviceCategory.PACS)
CARELINK = device(4, "Medtronic", "CareLink 9790 Programmer", criticality=Criticality.MEDIUM)
CARELINK_2090 = device(5, "Medtronic", "CareLink 2090 Programmer", criticality=Criticality.MEDIUM)
PLC = device(6, "Siemens", "SIMATIC S7-400 CPU 412-1 DP V7", category=DeviceCategory.UNKNOWN)
OFFICE = device(
    7,
    "Dell",
    "OptiPlex 7080",
    "1.2",
    category=DeviceCategory.WORKSTATION,
    criticality=Criticality.LOW,
)
CT = device(8, "Siemens", "SOMATOM go.Up", "VA30A", category=DeviceCategory.IMAGING_MODALITY)
FLEET = [EXACTAMIX, VUE_OLD, VUE_NEW, CARELINK, CARELINK_2090, PLC, OFFICE, CT]


@dataclass(frozen=True)
class Template:
    """A SQLite store holding the advisories of the fleet, the KEV catalog, the SBOMs and the fleet;
    what importing them reported; the advisories indexed once (no test adds advisories)."""

    path: Path
    summary: ImportSummary
    catalog: AdvisoryCatalog


@dataclass(frozen=True)
class Store:
    """A private copy of the template store."""

    database: Database
    catalog: AdvisoryCatalog

    def session(self) -> AbstractContextManager[Session]:
        return self.database.session()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    path = tmp_path_factory.mktemp("feeds") / "medshield.db"
    with Database(f"sqlite:///{path}") as database:
        database.migrate()
        with database.session() as session:
            summary = import_feeds(session, feed_paths())
        with database.repositories() as store:
            store.devices.merge(FLEET)
        with database.session() as session:
            catalog = load_catalog(session)
    return Template(path, summary, catalog)


@pytest.fixture
def db(template: Template, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "store" / "medshield.db"
    path.parent.mkdir()
    shutil.copyfile(template.path, path)
    with Database(f"sqlite:///{path}") as database:
        yield Store(database, template.catalog)


def assess(
    db: Store,
    findings: list[Finding] | None = None,
    profiles: dict[str, ActivityProfile] | None = None,
    now: float | None = None,
) -> VulnAssessment:
    with db.session() as session:
        return assess_vulnerabilities(
            session, FLEET, findings or [], profiles, catalog=db.catalog, now=now
        )


YEARS = ("2018", "2020", "2021", "2022")
"""The CSAF years holding the advisories of the fleet (all years: tests/cli/test_feeds.py)."""


def feed_paths() -> list[Path]:
    """The CSAF advisories of :data:`YEARS`, the CVE records, the KEV catalog, the SBOMs."""
    csaf = require_shared("advisories/cisa-csaf/OT/white")
    return [
        *(csaf / year for year in YEARS),
        require_shared("advisories/cvelistV5"),
        require_shared("advisories/cisa-kev"),
        require_shared("sbom"),
    ]


def kev_cves() -> set[str]:
    catalog = require_shared("advisories/cisa-kev/known_exploited_vulnerabilities.json")
    return {entry["cveID"] for entry in json.loads(catalog.read_text())["vulnerabilities"]}


def test_import_summary_counts_against_the_files(template: Template) -> None:
    summary = template.summary
    csaf = require_shared("advisories/cisa-csaf/OT/white")
    csaf_files = [path for year in YEARS for path in (csaf / year).rglob("*.json")]
    cve_files = list(require_shared("advisories/cvelistV5").rglob("*.json"))
    cves = {
        v["cve"]
        for path in csaf_files
        for v in json.loads(path.read_text(encoding="utf-8")).get("vulnerabilities", [])
        if v.get("cve")
    } | {json.loads(path.read_text())["cveMetadata"]["cveId"] for path in cve_files}
    assert summary.files == {
        FeedKind.CSAF: len(csaf_files),
        FeedKind.KEV: 2,
        FeedKind.CVE5: len(cve_files),
        FeedKind.CYCLONEDX: 2,
    }
    assert summary.cves == len(cves)
    assert summary.kev == len(kev_cves())
    assert summary.problems == () and summary.usable
    assert [Path(p.source).name for p in summary.skipped] == [
        "known_exploited_vulnerabilities_schema.json"
    ]


def test_reimport_is_idempotent(db: Store) -> None:
    with db.session() as session:
        before = VulnRepository(session).counts()
        folder = require_shared("advisories/cisa-csaf/OT/white/2021")
        again = import_feeds(session, [folder, require_shared("advisories/cisa-kev")])
        after = VulnRepository(session).counts()
    assert again.advisories == len(list(folder.glob("*.json"))) and again.kev > 0
    assert again.written == WriteCounts()
    assert before == after


def test_bad_files_are_problems_naming_them_and_the_rest_imports(tmp_path: Path) -> None:
    good = next(iter(sorted(require_shared("advisories/cisa-csaf/OT/white/2023").glob("*.json"))))
    shutil.copy(good, tmp_path / "good.json")
    text = good.read_text(encoding="utf-8")
    (tmp_path / "truncated.json").write_text(text[: len(text) // 2], encoding="utf-8")
    (tmp_path / "notes.txt").write_text("nothing to see\n")
    (tmp_path / "odd.json").write_text('{"document": {"csaf_version": "2.0"}}')
    with Database(f"sqlite:///{tmp_path.parent / 'bad-files.db'}") as database:
        database.migrate()
        with database.session() as session:
            summary = import_feeds(session, [tmp_path])
            nothing = import_feeds(session, [tmp_path / "notes.txt"])
    assert summary.advisories == 1 and summary.usable
    assert sorted(Path(p.source).name for p in summary.problems) == [
        "notes.txt",
        "odd.json",
        "truncated.json",
    ]
    assert all(p.message for p in summary.problems)
    assert not nothing.usable and len(nothing.problems) == 1


def test_vulnerable_firmware_is_listed_with_kev_flags_findings_and_risk(db: Store) -> None:
    result = assess(db)
    by_device: dict[str, set[str]] = {}
    for match in result.matches:
        by_device.setdefault(match.device, set()).add(match.advisory)
    assert "ICSMA-20-170-01" in by_device[EXACTAMIX.id]
    assert "ICSMA-21-187-01" in by_device[VUE_OLD.id]
    assert VUE_NEW.id not in by_device  # 12.3.0 is past the fixed version
    assert OFFICE.id not in by_device
    known = kev_cves()
    for match in result.matches:
        assert match.kev == any(cve in known for cve in match.cves)
    exacta = next(m for m in result.matches if m.advisory == "ICSMA-20-170-01")
    assert exacta.kev and "CVE-2017-0143" in exacta.cves and exacta.version == "1.10"
    findings = {(f.device, f.detail_key): f for f in result.findings}
    finding = findings[(EXACTAMIX.id, "ICSMA-20-170-01")]
    assert finding.kind is FindingKind.KNOWN_VULNERABILITY
    assert finding.severity is Severity.CRITICAL  # in KEV
    for fact in ("ICSMA-20-170-01", "CVE-2017-0143", "'1.10'", "'1.10 | 1.11 | 1.13 | 1.14'"):
        assert fact in finding.evidence
    assert "why: vendor 'Baxter'" in finding.evidence
    for risk in result.risks.values():
        assert sum(f.points for f in risk.factors) == risk.score
    exacta_risk = result.risks[EXACTAMIX.id].to_json()
    points = {f["name"]: f["points"] for f in exacta_risk["factors"]}
    assert points["exploitation"] == 15 and points["vulnerability"] > 0
    assert result.risks[OFFICE.id].score == 0
    assert result.site.score == sum(f.points for f in result.site.factors) > 0
    assert result.remediation and result.remediation[0].device in {EXACTAMIX.id, VUE_OLD.id}


def test_vulns_document_has_exactly_the_contract_keys(db: Store) -> None:
    document = json.loads(json.dumps(assess(db).to_json()))
    assert document["schema"] == VULNS_SCHEMA
    keys = {"device", "advisory", "cves", "cvss", "kev", "epss", "affected_range", "fixed_in",
            "why", "state"}  # fmt: skip
    assert document["matches"] and all(set(m) == keys for m in document["matches"])


def test_people_set_states_per_cve_and_per_advisory(db: Store) -> None:
    with db.session() as session:
        set_analysis(
            session,
            VUE_OLD.id,
            "cve-2020-1938",
            AnalysisState.NOT_AFFECTED,
            justification=Justification.VULNERABLE_CODE_NOT_IN_EXECUTE_PATH,
            note="AJP connector disabled",
            author="biomed-anna",
        )
        set_analysis(session, EXACTAMIX.id, "ICSMA-20-170-01", AnalysisState.FIXED, author="bo")
    result = assess(db)
    vue = [m for m in result.matches if m.advisory == "ICSMA-21-187-01"]
    (decided,) = [m for m in vue if m.state is AnalysisState.NOT_AFFECTED]
    (rest,) = [m for m in vue if m.state is AnalysisState.AFFECTED]
    assert decided.cves == ("CVE-2020-1938",) and "CVE-2020-1938" not in rest.cves
    assert "by biomed-anna" in decided.why and "vulnerable_code_not_in_execute_path" in decided.why
    vue_finding = next(f for f in result.findings if f.detail_key == "ICSMA-21-187-01")
    assert "CVE-2020-1938" not in vue_finding.evidence
    (exacta,) = [m for m in result.matches if m.advisory == "ICSMA-20-170-01"]
    assert exacta.state is AnalysisState.FIXED
    assert not [f for f in result.findings if f.device == EXACTAMIX.id]
    assert result.risks[EXACTAMIX.id].factors[0].points == 0


def test_setting_a_state_checks_device_and_justification(db: Store) -> None:
    with db.session() as session, pytest.raises(BadInputError, match="no such device"):
        set_analysis(session, "mac-ffffffffffff", "CVE-2020-1938", AnalysisState.FIXED)
    with db.session() as session, pytest.raises(AnalysisError, match="justification"):
        set_analysis(session, VUE_OLD.id, "CVE-2020-1938", AnalysisState.NOT_AFFECTED)


def test_end_of_life_findings_and_isolation_where_no_fix_exists(db: Store) -> None:
    result = assess(db, profiles={}, now=T0)
    eol = {f.device: f for f in result.findings if f.kind is FindingKind.END_OF_LIFE_SOFTWARE}
    assert set(eol) == {CARELINK.id, PLC.id}  # not the 2090, which the EOL text does not name
    assert "end-of-life status" in eol[CARELINK.id].evidence
    assert "(no_fix_planned)" in eol[PLC.id].evidence
    assert result.patch_plan is not None
    plans = {p.device: p for p in result.patch_plan.devices}
    assert plans[PLC.id].isolation is not None and plans[CARELINK.id].isolation is not None
    assert plans[VUE_OLD.id].isolation is None  # a fixed version exists
    assert plans[EXACTAMIX.id].priority < plans[CARELINK.id].priority  # KEV first


def test_an_sbom_naming_the_device_lends_it_its_components(db: Store, tmp_path: Path) -> None:
    sbom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:6f0e3a8e-2f4c-4f57-9a55-5f2b2f1f0001",
        "version": 1,
        "metadata": {
            "component": {
                "type": "device",
                "name": "SOMATOM go.Up",
                "supplier": {"name": "Siemens"},
            }
        },
        "components": [{"type": "library", "name": "DCMTK", "version": "3.6.5"}],
    }
    (tmp_path / "ct.cdx.json").write_text(json.dumps(sbom))
    with db.session() as session:
        assert import_feeds(session, [tmp_path]).sboms == 1
    matched = [m for m in assess(db).matches if m.advisory == "ICSMA-22-174-01"]
    assert [m.device for m in matched] == [CT.id]
    assert "software 'DCMTK'" in matched[0].why and matched[0].version == "3.6.5"
    with db.session() as session:
        VulnRepository(session).bind_sbom(str(sbom["serialNumber"]), "SN-NOT-THIS-ONE")
    assert not [m for m in assess(db).matches if m.advisory == "ICSMA-22-174-01"]


def test_epss_scores_annotate_matches(db: Store, tmp_path: Path) -> None:
    (tmp_path / "epss.csv").write_text(
        "#model_version:v2023.03.01,score_date:2024-01-01T00:00:00+0000\n"
        "cve,epss,percentile\nCVE-2017-0143,0.97450,0.99980\nCVE-2020-12016,0.00100,0.40000\n"
    )
    with db.session() as session:
        import_feeds(session, [tmp_path])
    exacta = next(m for m in assess(db).matches if m.advisory == "ICSMA-20-170-01")
    assert exacta.epss == pytest.approx(0.9745)


def test_mds2_contradictions_and_stored_findings_are_not_doubled(db: Store, tmp_path: Path) -> None:
    build_mds2(tmp_path / "ct.xlsx", manufacturer="Siemens Healthineers", model="SOMATOM go.Up",
               answers={"TXCF-2": "Yes"})  # fmt: skip
    with db.session() as session:
        assert import_feeds(session, [tmp_path]).mds2_forms == 1
    phi = Finding(
        kind=FindingKind.CLEARTEXT_PHI,
        severity=Severity.HIGH,
        device=CT.id,
        title="Patient data sent without encryption",
        evidence="DICOM C-STORE of a CT object with patient attributes to 192.0.2.50:104",
        remediation="Enable DICOM TLS.",
        practice="p",
        detail_key="dicom:192.0.2.50:104",
    )
    first = assess(db, [phi])
    (declared,) = [f for f in first.findings if f.detail_key.startswith("mds2:")]
    assert declared.device == CT.id and "but traffic shows cleartext-phi" in declared.evidence
    again = assess(db, [phi, *first.findings])  # as if read back from the store
    assert again.findings == first.findings
    assert again.risks == first.risks


def test_cvss_severity_scale() -> None:
    assert [cvss_severity(s) for s in (9.0, 8.9, 7.0, 4.0, 3.9, 0.0, None)] == [
        Severity.CRITICAL,
        Severity.HIGH,
        Severity.HIGH,
        Severity.MEDIUM,
        Severity.LOW,
        Severity.INFO,
        Severity.MEDIUM,
    ]


def test_patch_plan_uses_the_profiles_given(db: Store) -> None:
    quiet = ActivityProfile(VUE_OLD.id)
    for hour in range(7 * 24):
        at = T0 + hour * 3600
        quiet.add_flow(at, at + 600, 5 if hour % 24 < 4 else 5000)
    quiet.observe(T0, T0 + 7 * 86_400)
    result = assess(db, profiles={VUE_OLD.id: quiet}, now=T0 + 7 * 86_400 + 12 * 3600)
    assert result.patch_plan is not None
    vue = next(p for p in result.patch_plan.devices if p.device == VUE_OLD.id)
    assert [w.hours for w in vue.windows] == [4, 4]  # a PACS needs four quiet hours
    assert [w.start for w in vue.windows] == [T0 + 8 * 86_400, T0 + 9 * 86_400]  # Tue, Wed


def test_end_of_life_text_must_name_the_matched_product_when_it_names_any() -> None:
    remediation = Remediation(
        RemediationCategory.VENDOR_FIX,
        "SpaceCom is end of life; users should apply the AP update 3.1.",
        ("P1", "P2", "P3"),
    )
    advisory = Advisory(
        id="ICSMA-99-001-01",
        kind=FeedKind.CSAF,
        title="t",
        source="s",
        products=tuple(
            Product(pid, "B. Braun", name, name, "", ALL_VERSIONS)
            for pid, name in (("P1", "SpaceCom"), ("P2", "AP"), ("P3", "Perfusor"))
        ),
        vulnerabilities=(Vulnerability("CVE-2099-0001", remediations=(remediation,)),),
    )

    def on(product_id: str) -> Match:
        return Match("d", advisory.id, ("CVE-2099-0001",), product_id, "p", "all versions",
                     None, "why", 1.0, None, AnalysisState.AFFECTED)  # fmt: skip

    assert end_of_life_statement(on("P1"), advisory) == remediation
    # The end-of-life sentence names SpaceCom: not AP (named in another sentence, and "AP" is
    # not the "ap" of "apply"), not Perfusor.
    assert end_of_life_statement(on("P2"), advisory) is None
    assert end_of_life_statement(on("P3"), advisory) is None


def test_end_of_life_of_another_model_is_not_this_products(template: Template) -> None:
    def first_product(advisory_id: str, name: str) -> bool:
        advisory = template.catalog.advisories[advisory_id]
        product = next(p for p in advisory.products if p.name == name)
        match = Match("d", advisory_id, advisory.cves, product.product_id, name, "", None, "",
                      1.0, None, AnalysisState.AFFECTED)  # fmt: skip
        return end_of_life_statement(match, advisory) is not None

    # "As the MX8000 Dual EXP has been out of support since 2017" in an advisory whose
    # products are Brilliance CTs; "The CareLink 9790 Programmer has been placed into
    # end-of-life status" listed for every programmer of its advisory.
    assert not first_product("ICSMA-18-123-01", "Brilliance CT Big Bore")
    assert first_product("ICSMA-18-347-01", "CareLink 9790 Programmer")
    assert not first_product("ICSMA-18-347-01", "CareLink 2090 Programmer")
