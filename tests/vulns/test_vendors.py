"""Vendor aliases: spellings of advisories, OUI registry and DICOM headers on one id."""

from __future__ import annotations

from pathlib import Path

import pytest

from medshield.core.errors import BadInputError
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
