"""Synthetic patients (simulate/patients.py)."""

from __future__ import annotations

import random

from medshield.simulate.patients import invented_name, new_patient


def test_patients_are_repeatable_and_well_formed() -> None:
    first, again = new_patient(random.Random(5)), new_patient(random.Random(5))
    assert first == again
    assert first.mrn.startswith("MRN") and len(first.birth_date) == 8 and first.sex in "FM"
    assert first.hl7_name.endswith("^^^^^L") and "^" in first.dicom_name


def test_invented_names_are_capitalised_letters() -> None:
    names = {invented_name(random.Random(i), 2) for i in range(50)}
    assert len(names) > 40
    assert all(name.isalpha() and name[0].isupper() for name in names)
