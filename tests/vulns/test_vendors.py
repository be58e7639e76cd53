"""Vendor aliases: spellings of advisories, OUI registry and DICOM headers on one id."""

from __future__ import annotations

from pathlib import Path

import netaddr
import pytest

from medshield.core.errors import BadInputError
from medshield.vulns.model import ImportResult
from medshield.vulns.vendors import load_vendor_table

TABLE = load_vendor_table()

SAME_VENDOR = [
    (
        "GE Healthcare",
        "GE Medical Systems",
        "General Electric (GE)",
        "GE Medical System(China) Co., Ltd.",
    ),
    ("Philips", "Philips Medical Systems", "Koninklijke Philips N.V.", "Phillips"),
    ("Baxter", "Hillrom", "Hill-Rom", "Welch Allyn, Inc.", "Baxter International Inc"),
    ("BD", "Becton Dickinson", "Becton, Dickinson and Company (BD)", "CareFusion"),
    ("Medtronic", "Medtronic ", "MEDTRONIC INC"),
    ("Siemens Healthineers", "Siemens Healthcare GmbH", "Siemens Healthcare Diagnostics, Inc"),
    ("B. Braun", "B. Braun Medical", "B. Braun Melsungen AG"),
    ("ICU Medical", "Hospira", "Hospira Inc."),
    ("Dräger", "Draeger", "Drägerwerk AG & Co. KGaA", "DrÃ¤ger"),
]


@pytest.mark.parametrize("names", SAME_VENDOR, ids=lambda names: names[0])
def test_aliases_resolve_to_one_id(names: tuple[str, ...]) -> None:
    ids = {TABLE.canonical(name) for name in names}
    assert len(ids) == 1
    (resolved,) = ids
    assert len(resolved) == 1


def test_different_vendors_differ() -> None:
    assert TABLE.canonical("Philips") != TABLE.canonical("GE Healthcare")
    assert TABLE.canonical("Siemens") != TABLE.canonical("Siemens Healthineers")
    assert "siemens" in TABLE.related("siemens-healthineers")


def test_lists_of_companies() -> None:
    assert TABLE.canonical("Silex Technology and GE Healthcare") == {"silex", "ge-healthcare"}
    assert TABLE.canonical("Sensormatic Electronics, LLC, Johnson Controls Inc.") == {
        "sensormatic electronics",
        "johnson controls",
    }


def test_unknown_vendor_keeps_a_cleaned_name() -> None:
    assert TABLE.canonical("Acme Medical Devices, Inc.") == {"acme medical devices"}
    assert TABLE.canonical("ACME MEDICAL DEVICES") == {"acme medical devices"}
    assert TABLE.known("Acme Medical Devices") == frozenset()
    assert TABLE.canonical("") == frozenset()


def test_vendor_words_exclude_company_words() -> None:
    words = TABLE.words("philips")
    assert "philips" in words and "medical" not in words and "patient" not in words


def test_duplicate_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vendors.yaml"
    path.write_text("vendors:\n  - {id: a, aliases: [Acme]}\n  - {id: b, aliases: [ACME]}\n")
    with pytest.raises(BadInputError, match="alias 'ACME'"):
        load_vendor_table(path)


def test_shape_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "vendors.yaml"
    path.write_text("- just a list\n")
    with pytest.raises(BadInputError, match="'vendors' list"):
        load_vendor_table(path)


def test_every_icsma_vendor_is_a_known_vendor(imported: ImportResult) -> None:
    medical = [a for a in imported.advisories if a.id.upper().startswith("ICSMA")]
    assert len(medical) >= 140
    names = {p.vendor for a in medical for p in a.products if p.vendor.strip()}
    unknown = {
        name: sorted(TABLE.canonical(name))
        for name in names
        if not TABLE.canonical(name) or not TABLE.canonical(name) <= TABLE.vendors.keys()
    }
    assert unknown == {}


# OUI → the company a person knows it as (IEEE registry spelling in the comment).
IEEE_REGISTRY = [
    ("00-40-9D", "digi"),  # DigiBoard
    ("00-1A-FA", "baxter"),  # Welch Allyn, Inc.
    ("00-14-B8", "baxter"),  # Hill-Rom
    ("58-42-E4", "baxter"),  # Baxter International Inc
    ("00-0F-82", "baxter"),  # Mortara Instrument, Inc.
    ("9C-C8-AE", "bd"),  # Becton, Dickinson  and Company
    ("F8-C6-78", "bd"),  # Carefusion
    ("00-D0-75", "bd"),  # ALARIS MEDICAL SYSTEMS, INC.
    ("00-03-B1", "icu-medical"),  # ICU Medical, Inc.
    ("00-1A-01", "smiths-medical"),  # Smiths Medical
    ("DC-16-A2", "medtronic"),  # Medtronic Diabetes
    ("00-09-FB", "philips"),  # Philips Patient Monitoring
    ("00-09-5C", "philips"),  # Philips Medical Systems - Cardiac and Monitoring Systems (CM
    ("7C-94-B2", "philips"),  # Philips Healthcare PCCI
    ("44-4B-5D", "ge-healthcare"),  # GE Healthcare
    ("A0-F2-17", "ge-healthcare"),  # GE Medical System(China) Co., Ltd.
    ("00-40-97", "ge-healthcare"),  # DATEX DIVISION OF (Instrumentarium)
    ("88-4B-39", "siemens-healthineers"),  # Siemens AG, Healthcare Sector
    ("20-E7-91", "siemens-healthineers"),  # Siemens Healthcare Diagnostics, Inc
    ("00-12-21", "b-braun"),  # B.Braun Melsungen AG
    ("00-30-E6", "draeger"),  # Draeger Medical Systems, Inc.
    ("F0-E5-C3", "draeger"),  # Drägerwerk AG & Co. KG aA
    ("00-13-38", "fresenius-kabi"),  # FRESENIUS-VIAL
    ("B0-4C-05", "fresenius-medical-care"),  # Fresenius Medical Care Deutschland GmbH
    ("00-1D-4A", "carestream"),  # Carestream Health, Inc.
    ("00-A0-AA", "spacelabs"),  # SPACELABS MEDICAL
    ("00-A0-9A", "nihon-kohden"),  # NIHON KOHDEN AMERICA
    ("00-A0-37", "mindray"),  # Mindray DS USA, Inc.
    ("00-22-52", "zoll"),  # ZOLL Lifecor Corporation
    ("C0-A2-6D", "abbott"),  # Abbott Point of Care
    ("00-0B-C4", "biotronik"),  # BIOTRONIK GmbH & Co
    ("00-40-17", "silex"),  # Silex Technology America
    ("84-2F-75", "innokas"),  # Innokas Group
    ("00-15-28", "beaconmedaes"),  # Beacon Medical Products LLC d.b.a. BeaconMedaes
    ("00-60-F0", "johnson-and-johnson"),  # JOHNSON & JOHNSON MEDICAL, INC
    ("64-00-9C", "insulet"),  # Insulet Corporation
    ("EC-2A-F0", "ypsomed"),  # Ypsomed AG
]


def registered_org(oui: str) -> str:
    return str(netaddr.EUI(f"{oui}-00-00-01").oui.registration().org)


@pytest.mark.parametrize(("oui", "vendor_id"), IEEE_REGISTRY)
def test_ieee_registry_spellings(oui: str, vendor_id: str) -> None:
    assert TABLE.canonical(registered_org(oui)) == {vendor_id}


@pytest.mark.parametrize("oui", ["00-90-9F", "58-76-C5", "60-C7-27"])
def test_namesakes_of_digi_are_other_companies(oui: str) -> None:
    # DIGI-DATA CORPORATION, DIGI I'S LTD, Digiboard Eletronica da Amazonia Ltda.
    assert TABLE.known(registered_org(oui)) == frozenset()


@pytest.mark.parametrize(
    ("stated", "vendor_id"),
    [
        ("SIEMENS", "siemens"),
        ("GE MEDICAL SYSTEMS", "ge-healthcare"),
        ("GEMS Ultrasound", "ge-healthcare"),
        ("Philips Medical Systems", "philips"),
        ("PHILIPS", "philips"),
        ("TOSHIBA_MEC", "canon-medical"),
        ("TOSHIBA_MEC_US", "canon-medical"),
        ("CANON_MEC", "canon-medical"),
        ("FUJI PHOTO FILM Co., ltd.", "fujifilm"),
        ("Digi International Inc.", "digi"),
    ],
)
def test_manufacturer_as_dicom_writes_it(stated: str, vendor_id: str) -> None:
    assert TABLE.canonical(stated) == {vendor_id}


def test_dicom_siemens_is_related_to_siemens_healthineers() -> None:
    assert "siemens-healthineers" in TABLE.related(next(iter(TABLE.canonical("SIEMENS"))))


def test_brand_names_its_vendor_but_stays_in_model_names() -> None:
    assert TABLE.canonical("Hillrom and ELI, Baxter International Inc.") == {"baxter"}
    assert "eli" not in TABLE.words("baxter")
    assert "alaris" not in TABLE.words("bd")
