"""Matching devices to the real CISA advisories of the shared data.

The expectations below were written from reading each advisory (its product tree and affected
versions as CISA publishes them), not from running the matcher: for every advisory, a device
inside the affected range must come out ``affected``, a device at the fixed version or above
the range must not match that advisory, and another vendor's device with the same model name
must not match at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from medshield.core.device import Device, Evidence, Software
from medshield.vulns.matching import (
    AdvisoryIndex,
    DeviceMatcher,
    Match,
    annotate,
    default_analyses,
    fixed_version,
    match_devices,
)
from medshield.vulns.model import (
    Advisory,
    EpssScore,
    FeedKind,
    KevEntry,
    Product,
    ProductStatus,
    Vulnerability,
)
from medshield.vulns.versions import parse_range
from medshield.vulns.vex import AnalysisState

EVIDENCE = Evidence("test", 0.0, "written by the test")


def device(
    device_id: str,
    vendor: str | None,
    model: str | None,
    firmware: str | None = None,
    software: tuple[tuple[str, str], ...] = (),
    manufacturer: str | None = None,
) -> Device:
    """A device as the inventory fills it: vendor (IEEE OUI), model and firmware attributes,
    and the manufacturer the device states (DICOM Manufacturer, HL7 SFT-1, Modbus vendor)."""
    built = Device(device_id, None, 0.0, 0.0)
    attributes = (
        ("vendor", vendor),
        ("model", model),
        ("firmware", firmware),
        ("manufacturer", manufacturer),
    )
    for name, value in attributes:
        if value is not None:
            built.add_attribute(name, value, 0.9, EVIDENCE)
    for name, version in software:
        built.add_software(Software(name, version, "test"))
    return built


@dataclass(frozen=True)
class Case:
    """A device built from an advisory, and what that advisory must say about it."""

    advisory: str
    vendor: str
    model: str
    firmware: str | None
    affected: bool


# Each line: advisory, then the device's vendor/model/firmware as an inventory would read them,
# then whether the advisory's affected versions include that firmware.
CASES = [
    # ICSMA-17-009-01A St. Jude Merlin@home: RF models EX1150, versions prior to 8.2.2.
    Case("ICSMA-17-009-01A", "St. Jude Medical", "EX1150", "8.2.1", True),
    Case("ICSMA-17-009-01A", "Abbott", "EX1150", "8.2.2", False),
    # ICSMA-17-017-02 BD Alaris 8015 PC unit: 9.7, <= 9.33, <= 9.5.
    Case("ICSMA-17-017-02", "BD", "Alaris 8015 PC Unit", "9.19", True),
    Case("ICSMA-17-017-02", "BD", "Alaris 8015 PC Unit", "9.7", True),
    Case("ICSMA-17-017-02", "BD", "Alaris 8015 PC Unit", "9.34", False),
    Case("ICSMA-17-017-02", "BD", "Alaris 8015 PC Unit", "12.1.0", False),
    # ICSMA-17-255-01 Philips IntelliVue MX40 (WLAN only): prior to B.06.18.
    Case("ICSMA-17-255-01", "Philips Medical Systems", "IntelliVue MX40", "B.06.17", True),
    Case("ICSMA-17-255-01", "Philips", "IntelliVue MX40", "B.06.18", False),
    Case("ICSMA-17-255-01", "Philips", "IntelliVue MX40", "B.07.00", False),
    # ICSMA-18-037-02 GE: Optima MR360 all versions; Discovery NM750b prior to 2.003.
    Case("ICSMA-18-037-02", "GE Medical Systems", "Optima MR360", "27.0", True),
    Case("ICSMA-18-037-02", "GE Healthcare", "Discovery NM750b", "2.002", True),
    Case("ICSMA-18-037-02", "GE Healthcare", "Discovery NM750b", "2.003", False),
    # ICSMA-18-123-01 Philips Brilliance CT: Brilliance 64 <= 2.6.2, iCT <= 4.1.6 and <= 3.2.4.
    Case("ICSMA-18-123-01", "Philips", "Brilliance 64", "2.6.2", True),
    Case("ICSMA-18-123-01", "Philips", "Brilliance 64", "2.6.3", False),
    Case("ICSMA-18-123-01", "Philips", "Brilliance iCT", "4.1.6", True),
    Case("ICSMA-18-123-01", "Philips", "Brilliance iCT", "4.1.7", False),
    # ICSMA-18-240-01 Qualcomm Life Capsule: Allegro RomPager >= 4.01 and <= 4.34.
    Case("ICSMA-18-240-01", "Qualcomm Life", "Allegro RomPager", "4.07", True),
    Case("ICSMA-18-240-01", "Qualcomm Life", "Allegro RomPager", "4.35", False),
    Case("ICSMA-18-240-01", "Qualcomm Life", "Allegro RomPager", "4.00", False),
    # ICSMA-19-022-01 Dräger Infinity Delta: all versions (device vendor spelt "Draeger").
    Case("ICSMA-19-022-01", "Draegerwerk AG & Co. KGaA", "Infinity Delta", "VF9", True),
    # ICSMA-19-120-01 Philips Tasy EMR <= 3.01.1744 (Tasy WebPortal is another product).
    Case("ICSMA-19-120-01", "Philips", "Tasy EMR", "3.01.1744", True),
    Case("ICSMA-19-120-01", "Philips", "Tasy EMR", "3.02.1757", False),
    # ICSMA-19-178-01 Medtronic MiniMed: Paradigm 523/723 <= 2.4A; MiniMed 508 all versions.
    Case("ICSMA-19-178-01", "Medtronic", "MiniMed Paradigm 723", "2.4A", True),
    Case("ICSMA-19-178-01", "Medtronic", "MiniMed Paradigm 723", "2.5A", False),
    Case("ICSMA-19-178-01", "Medtronic MiniMed", "MiniMed 508 pump", None, True),
    # ICSMA-19-248-01 BD Pyxis ES: >= 1.3.4 and < 1.5.3.
    Case("ICSMA-19-248-01", "Becton Dickinson", "Pyxis ES", "1.4", True),
    Case("ICSMA-19-248-01", "Becton Dickinson", "Pyxis ES", "1.5.3", False),
    Case("ICSMA-19-248-01", "Becton Dickinson", "Pyxis ES", "1.3.3", False),
    # ICSMA-20-296-02 B. Braun SpaceCom: <= U61 (U.S.) or <= L81 (global).
    Case("ICSMA-20-296-02", "B. Braun Melsungen AG", "SpaceCom", "U61", True),
    Case("ICSMA-20-296-02", "B. Braun Melsungen AG", "SpaceCom", "L80", True),
    Case("ICSMA-20-296-02", "B. Braun Melsungen AG", "SpaceCom", "U62", False),
    # ICSMA-20-317-01 BD Alaris Systems Manager <= 4.33.
    Case("ICSMA-20-317-01", "CareFusion", "Alaris Systems Manager", "4.33", True),
    Case("ICSMA-20-317-01", "CareFusion", "Alaris Systems Manager", "4.34", False),
    # ICSMA-21-007-01 Innokas Yhtymä Oy VC150: prior to 1.7.15.
    Case("ICSMA-21-007-01", "Innokas Yhtymä Oy", "VC150", "1.7.14", True),
    Case("ICSMA-21-007-01", "Innokas Yhtymä Oy", "VC150", "1.7.15", False),
    # ICSMA-21-152-01 Hillrom Welch Allyn Connex Spot Monitor: prior to 1.52.
    Case("ICSMA-21-152-01", "Welch Allyn, Inc.", "Connex Spot Monitor", "1.51", True),
    Case("ICSMA-21-152-01", "Welch Allyn, Inc.", "Connex Spot Monitor", "1.52", False),
    # ICSMA-21-187-01 Philips Vue PACS <= 12.2.x.x.
    Case("ICSMA-21-187-01", "Philips", "Vue PACS", "12.2.1.5", True),
    Case("ICSMA-21-187-01", "Philips", "Vue PACS", "12.3.0", False),
    # ICSMA-21-294-01 B. Braun SpaceStation with SpaceCom 2: <= L81 and <= 012U000061.
    Case("ICSMA-21-294-01", "B. Braun", "SpaceStation with SpaceCom 2", "L81", True),
    Case("ICSMA-21-294-01", "B. Braun", "SpaceStation with SpaceCom 2", "012U000061", True),
    Case("ICSMA-21-294-01", "B. Braun", "SpaceStation with SpaceCom 2", "L82", False),
    Case("ICSMA-21-294-01", "B. Braun", "SpaceStation with SpaceCom 2", "012U000062", False),
    # ICSMA-21-322-01 Philips IntelliBridge EC 40 Hub <= C.00.04.
    Case("ICSMA-21-322-01", "Philips", "IntelliBridge EC 40", "C.00.04", True),
    Case("ICSMA-21-322-01", "Philips", "IntelliBridge EC 40", "C.00.05", False),
    # ICSMA-21-343-01 Hillrom Welch Allyn Q-Stress: >= 6.0.0 and <= 6.3.1.
    Case("ICSMA-21-343-01", "Hill-Rom", "Q-Stress", "6.2", True),
    Case("ICSMA-21-343-01", "Hill-Rom", "Q-Stress", "6.3.2", False),
    Case("ICSMA-21-343-01", "Hill-Rom", "Q-Stress", "5.9", False),
    # ICSMA-22-167-01 Welch Allyn ELI 380 Resting Electrocardiograph <= 2.6.0.
    Case("ICSMA-22-167-01", "Welch Allyn", "ELI 380", "2.6.0", True),
    Case("ICSMA-22-167-01", "Welch Allyn", "ELI 380", "2.6.1", False),
    # ICSMA-22-174-01 OFFIS DCMTK prior to 3.6.7.
    Case("ICSMA-22-174-01", "OFFIS e.V.", "DCMTK", "3.6.6", True),
    Case("ICSMA-22-174-01", "OFFIS e.V.", "DCMTK", "3.6.7", False),
    # ICSMA-22-277-01 BD Totalys MultiProcessor <= 1.70.
    Case(
        "ICSMA-22-277-01", "Becton, Dickinson and Company", "Totalys MultiProcessor", "1.69", True
    ),
    Case(
        "ICSMA-22-277-01", "Becton, Dickinson and Company", "Totalys MultiProcessor", "1.71", False
    ),
    # ICSMA-23-047-01 BD Alaris Infusion Central >= 1.1 and <= 1.3.2.
    Case("ICSMA-23-047-01", "BD", "Alaris Infusion Central", "1.2", True),
    Case("ICSMA-23-047-01", "BD", "Alaris Infusion Central", "1.3.3", False),
    Case("ICSMA-23-047-01", "BD", "Alaris Infusion Central", "1.0", False),
    # ICSMA-23-194-01 BD Alaris Point-of-Care Unit (PCU) Model 8015 <= 12.1.3.
    Case("ICSMA-23-194-01", "BD", "Alaris PCU 8015", "12.1.3", True),
    Case("ICSMA-23-194-01", "BD", "Alaris PCU 8015", "12.1.4", False),
    # ICSMA-24-023-01 Orthanc Osimis WebViewer 1.4.2.0-9d9eff4 (that version only).
    Case("ICSMA-24-023-01", "Orthanc", "Osimis WebViewer", "1.4.2.0-9d9eff4", True),
    Case("ICSMA-24-023-01", "Orthanc", "Osimis WebViewer", "1.4.3", False),
    # ICSMA-24-060-01 MicroDicom DICOM Viewer <= 2023.3 Build 9342.
    Case("ICSMA-24-060-01", "MicroDicom", "MicroDicom DICOM Viewer", "2023.3 Build 9342", True),
    Case("ICSMA-24-060-01", "MicroDicom", "MicroDicom DICOM Viewer", "2024.1", False),
    # ICSMA-24-151-02 Baxter Welch Allyn Connex Spot Monitor <= 1.52.
    Case("ICSMA-24-151-02", "Welch Allyn", "Connex Spot Monitor", "1.52", True),
    Case("ICSMA-24-151-02", "Welch Allyn", "Connex Spot Monitor", "1.53", False),
    # ICSMA-24-200-01 Philips Vue PACS prior to 12.2.8.410.
    Case("ICSMA-24-200-01", "Philips", "Vue PACS", "12.2.8.400", True),
    Case("ICSMA-24-200-01", "Philips", "Vue PACS", "12.2.8.410", False),
    # ICSA-24-235-03 Mobotix P3 D24M: firmware MX-V4.1.4.11 known affected, MX-V4.7.2.18 fixed,
    # MX-V4.0.1.15 known not affected (CSAF relationships "firmware installed on model").
    Case("ICSA-24-235-03", "Mobotix", "D24M", "MX-V4.1.4.11", True),
    Case("ICSA-24-235-03", "Mobotix", "D24M", "MX-V4.7.2.18", False),
    Case("ICSA-24-235-03", "Mobotix", "D24M", "MX-V4.0.1.15", False),
]

OTHER_VENDOR = "Mindray"
"""A vendor none of the advisories above names."""


def test_cases_cover_at_least_twenty_medical_advisories() -> None:
    medical = {case.advisory for case in CASES if case.advisory.startswith("ICSMA")}
    assert len(medical) >= 20


@pytest.fixture(scope="module")
def case_matches(index: AdvisoryIndex) -> dict[str, list[Match]]:
    devices = [
        device(f"case-{n}", case.vendor, case.model, case.firmware) for n, case in enumerate(CASES)
    ]
    devices += [
        device(f"other-{n}", OTHER_VENDOR, case.model, case.firmware)
        for n, case in enumerate(CASES)
    ]
    found: dict[str, list[Match]] = {d.id: [] for d in devices}
    for match in match_devices(devices, index):
        found[match.device].append(match)
    return found


@pytest.mark.parametrize("number", range(len(CASES)), ids=lambda n: f"{CASES[n].advisory}-{n}")
def test_device_matches_its_advisory_only_when_in_range(
    number: int, case_matches: dict[str, list[Match]], by_id: dict[str, Advisory]
) -> None:
    case = CASES[number]
    assert case.advisory in by_id
    states = {m.state for m in case_matches[f"case-{number}"] if m.advisory == case.advisory}
    if case.affected:
        assert states == {AnalysisState.AFFECTED}
    else:
        assert states == set()


@pytest.mark.parametrize("number", range(len(CASES)), ids=lambda n: f"{CASES[n].advisory}-{n}")
def test_other_vendors_device_does_not_match(
    number: int, case_matches: dict[str, list[Match]]
) -> None:
    assert case_matches[f"other-{number}"] == []


def test_affected_match_explains_itself(case_matches: dict[str, list[Match]]) -> None:
    (match,) = [m for m in case_matches["case-6"] if m.advisory == "ICSMA-17-255-01"]
    assert match.product_id
    assert set(match.cves) == {"CVE-2017-9658", "CVE-2017-9657"}
    assert match.affected_range == "< B.06.18"
    assert match.fixed_in == "B.06.18"
    assert "Philips Medical Systems" in match.why and "B.06.17" in match.why
    assert 0.5 < match.confidence <= 1.0
    assert match.cvss is not None and 0 < match.cvss <= 10


def test_unknown_firmware_is_a_possible_match_in_triage(index: AdvisoryIndex) -> None:
    matches = match_devices([device("d", "Philips", "IntelliVue MX40")], index)
    (match,) = [m for m in matches if m.advisory == "ICSMA-17-255-01"]
    assert match.state is AnalysisState.IN_TRIAGE
    assert match.confidence < 0.6
    assert "unknown" in match.why


def test_unparsed_range_never_says_affected(index: AdvisoryIndex) -> None:
    # ICSMA-17-241-01 Abbott pacemakers: "< august 28" is a date, not a version.
    matches = match_devices([device("d", "Abbott Laboratories", "Assurity MRI", "1.0")], index)
    (match,) = [m for m in matches if m.advisory == "ICSMA-17-241-01"]
    assert match.state is AnalysisState.IN_TRIAGE
    assert match.confidence <= 0.4
    assert "low-confidence" in match.why


def test_device_without_vendor_or_model_matches_nothing(index: AdvisoryIndex) -> None:
    devices = [device("a", None, "IntelliVue MX40", "B.06.17"), device("b", "Philips", None)]
    assert match_devices(devices, index) == []


def test_software_of_a_device_matches_by_product_name(index: AdvisoryIndex) -> None:
    workstation = device("ws", "Dell", "OptiPlex 7080", "1.0", software=(("DCMTK", "3.6.5"),))
    matches = match_devices([workstation], index)
    (match,) = [m for m in matches if m.advisory == "ICSMA-22-174-01"]
    assert match.state is AnalysisState.AFFECTED
    assert match.fixed_in == "3.6.7"
    fixed = device("ws2", "Dell", "OptiPlex 7080", "1.0", software=(("DCMTK", "3.6.8"),))
    assert not [m for m in match_devices([fixed], index) if m.advisory == "ICSMA-22-174-01"]


def test_cached_and_uncached_matching_agree(index: AdvisoryIndex) -> None:
    devices = [device(f"d{n}", c.vendor, c.model, c.firmware) for n, c in enumerate(CASES)]
    devices += [device(f"e{n}", c.vendor, c.model, c.firmware) for n, c in enumerate(CASES)]
    cached = DeviceMatcher(index)
    uncached = DeviceMatcher(index, cache=False)
    for built in devices:
        assert cached.match(built) == uncached.match(built)


def _advisory(vendor: str, products: list[tuple[str, str, str, ProductStatus]]) -> Advisory:
    built = [
        Product(pid, vendor, name, f"{name} {text}", text, parse_range(text))
        for pid, name, text, _ in products
    ]
    statuses: dict[ProductStatus, list[str]] = {}
    for pid, _, _, status in products:
        statuses.setdefault(status, []).append(pid)
    vulnerability = Vulnerability(
        "CVE-2099-0001", product_status=tuple((s, tuple(ids)) for s, ids in statuses.items())
    )
    return Advisory(
        "TEST-1",
        FeedKind.CSAF,
        "test",
        "test",
        products=tuple(built),
        vulnerabilities=(vulnerability,),
    )


def test_fixed_product_status_gives_fixed_in_and_no_match() -> None:
    advisory = _advisory(
        "Baxter",
        [
            ("p1", "Sigma Spectrum", "<= 8.00.01", ProductStatus.KNOWN_AFFECTED),
            ("p2", "Sigma Spectrum", "8.01.00", ProductStatus.FIXED),
        ],
    )
    index = AdvisoryIndex([advisory])
    old, new = (
        device("old", "Baxter", "Sigma Spectrum", "8.00"),
        device("new", "Baxter", "Sigma Spectrum", "8.01.00"),
    )
    matches = match_devices([old, new], index)
    assert [m.device for m in matches] == ["old"]
    assert matches[0].fixed_in == "8.01.00"


def test_related_vendor_matches_with_lower_confidence() -> None:
    advisory = _advisory("Siemens", [("p", "Symbia Evo", "<= 10", ProductStatus.KNOWN_AFFECTED)])
    index = AdvisoryIndex([advisory])
    same = match_devices([device("a", "Siemens AG", "Symbia Evo", "9")], index)
    related = match_devices([device("b", "Siemens Healthineers", "Symbia Evo", "9")], index)
    assert same[0].state is related[0].state is AnalysisState.AFFECTED
    assert related[0].confidence < same[0].confidence


def test_annotate_sets_kev_and_epss_and_json_shape() -> None:
    advisory = _advisory("Baxter", [("p", "Sigma Spectrum", "<= 8", ProductStatus.KNOWN_AFFECTED)])
    matches = match_devices(
        [device("a", "Baxter", "Sigma Spectrum", "7")], AdvisoryIndex([advisory])
    )
    kev = [KevEntry("CVE-2099-0001", "Baxter", "Sigma Spectrum")]
    epss = [EpssScore("CVE-2099-0001", 0.42, 0.97), EpssScore("CVE-2000-0001", 0.9, 0.99)]
    (annotated,) = annotate(matches, kev, epss)
    assert annotated.kev is True and annotated.epss == 0.42
    encoded = json.loads(json.dumps(annotated.to_json()))
    assert {
        "device",
        "advisory",
        "cves",
        "cvss",
        "kev",
        "epss",
        "affected_range",
        "fixed_in",
        "why",
        "state",
    } <= set(encoded)
    assert encoded["state"] == "affected"
    (analysis,) = default_analyses([annotated])
    assert (analysis.device, analysis.cve, analysis.state) == (
        "a",
        "CVE-2099-0001",
        AnalysisState.AFFECTED,
    )


def test_nvd_cpe_products_match_by_vendor_product_and_bounds() -> None:
    from medshield.vulns.feeds.nvd import parse_nvd

    from .feeds.test_nvd import nvd_page

    index = AdvisoryIndex(parse_nvd(nvd_page(), "page.json"))
    inside = device("in", "Becton Dickinson", "Alaris PC Unit", "9.19")
    above = device("above", "Becton Dickinson", "Alaris PC Unit", "9.33.1")
    other = device("other", "Philips", "Alaris PC Unit", "9.19")
    matches = match_devices([inside, above, other], index)
    assert [(m.device, m.advisory, m.state) for m in matches] == [
        ("in", "CVE-2099-1000", AnalysisState.AFFECTED)
    ]
    assert matches[0].fixed_in == "9.33.1"
    assert matches[0].cvss == 9.8


# What each advisory tells the owner of each product to install, read from its remediations.
FIXED_IN = [
    # ICSMA-20-170-01: "upgrade to the ExactaMix Version 1.4 (EM1200) and ExactaMix Version
    # 1.13 (EM2400)", yet both targets are among the affected versions the advisory lists
    # (EM2400 1.10, 1.11, 1.13, 1.14; EM1200 1.1, 1.2, 1.4, 1.5): no version fixes them all.
    ("ICSMA-20-170-01", "ExactaMix EM2400", None),
    ("ICSMA-20-170-01", "ExactaMix EM1200", None),
    # ICSMA-19-120-01: "Update Tasy EMR, to version 3.03.1745 or higher and update Tasy
    # WebPortal, to version 3.03.1758 or higher."
    ("ICSMA-19-120-01", "Tasy EMR", "3.03.1745"),
    ("ICSMA-19-120-01", "Tasy WebPortal", "3.03.1758"),
    # ICSMA-17-250-02A: "Smiths Medical has released update Version 1.6.1".
    ("ICSMA-17-250-02A", "Medfusion 4000 Wireless Syringe Infusion Pump", "1.6.1"),
    # ICSMA-18-128-01: "The firmware update (Version 2.0.3) for SD-320AN" is not the GEH-500's.
    ("ICSMA-18-128-01", "GEH-500", None),
    # ICSA-18-256-01: the handhelds' fix is a CommonES/ECP update, not an Android version.
    ("ICSA-18-256-01", "CT60 running Android OS", None),
    # ICSA-18-165-01: "For SIMATIC RF182C and RFID 181EIP: … V1.3" is not RUGGEDCOM Win's;
    # its own remediation says "Update to V5.2".
    ("ICSA-18-165-01", "RUGGEDCOM Win", "5.2"),
]


@pytest.mark.parametrize(("advisory_id", "name", "expected"), FIXED_IN)
def test_fixed_in_is_the_version_the_advisory_names_for_that_product(
    advisory_id: str, name: str, expected: str | None, by_id: dict[str, Advisory]
) -> None:
    advisory = by_id[advisory_id]
    products = [p for p in advisory.products if p.name == name]
    assert products
    assert {fixed_version(advisory, p) for p in products} == {expected}


def test_exactamix_em2400_match_names_no_fix(index: AdvisoryIndex) -> None:
    matches = match_devices([device("em", "Baxter", "ExactaMix EM2400", "1.13")], index)
    (match,) = [m for m in matches if m.advisory == "ICSMA-20-170-01"]
    assert match.state is AnalysisState.AFFECTED
    assert match.fixed_in is None


# Manufacturer strings as devices state them; the IEEE vendor is that of a network module.
STATED_MAKERS = [
    # ICSMA-18-037-02 GE: Optima MR360, all versions.
    ("GE MEDICAL SYSTEMS", "Optima MR360", "27.0", "ICSMA-18-037-02"),
    # ICSMA-17-255-01 Philips IntelliVue MX40 (WLAN only) prior to B.06.18.
    ("Philips Medical Systems", "IntelliVue MX40", "B.06.17", "ICSMA-17-255-01"),
    # ICSMA-17-215-01 Siemens SPECT Workplaces/Symbia.net (Windows XP based), all versions.
    ("SIEMENS", "Symbia.net", None, "ICSMA-17-215-01"),
    # ICSMA-17-017-02 BD Alaris 8015 PC unit <= 9.33.
    ("BD", "Alaris 8015 PC Unit", "9.19", "ICSMA-17-017-02"),
]


@pytest.mark.parametrize(("manufacturer", "model", "firmware", "advisory_id"), STATED_MAKERS)
def test_stated_manufacturer_as_devices_write_it(
    manufacturer: str,
    model: str,
    firmware: str | None,
    advisory_id: str,
    index: AdvisoryIndex,
) -> None:
    built = device("d", "DigiBoard", model, firmware, manufacturer=manufacturer)
    matches = [m for m in match_devices([built], index) if m.advisory == advisory_id]
    assert [m.state for m in matches] == [AnalysisState.AFFECTED]


def test_network_module_vendor_alone_names_no_device_maker(index: AdvisoryIndex) -> None:
    # Without a stated manufacturer the device is only known as a Digi module: no BD advisory.
    built = device("d", "DigiBoard", "Alaris 8015 PC Unit", "9.19")
    assert match_devices([built], index) == []


def test_dicom_toshiba_spelling_matches_canon_medical() -> None:
    advisory = _advisory(
        "Canon Medical Systems",
        [("p", "Aquilion ONE", "< V10.0", ProductStatus.KNOWN_AFFECTED)],
    )
    index = AdvisoryIndex([advisory])
    for number, stated in enumerate(("TOSHIBA_MEC", "TOSHIBA_MEC_US", "CANON_MEC")):
        built = device(
            f"ct{number}", "Intel Corporate", "Aquilion ONE", "V8.4", manufacturer=stated
        )
        (match,) = match_devices([built], index)
        assert match.state is AnalysisState.AFFECTED
        assert match.confidence == 1.0
