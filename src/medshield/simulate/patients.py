"""Synthetic patients and clinicians: invented names built from syllables, never real people."""

from __future__ import annotations

import random
from dataclasses import dataclass

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kl")
_VOWELS = ("a", "e", "i", "o", "u", "ae", "ia", "ou")
_CODAS = ("", "", "n", "r", "l", "s", "th", "nd", "rk")


def invented_name(rng: random.Random, syllables: int) -> str:
    """A pronounceable made-up name such as ``Dravonel`` (upper-cased by HL7 writers)."""
    parts = [
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
    ]
    return "".join(parts).capitalize()


@dataclass(frozen=True, slots=True)
class Patient:
    """A synthetic patient: medical record number, name, birth date (YYYYMMDD) and sex."""

    mrn: str
    family: str
    given: str
    birth_date: str
    sex: str

    @property
    def hl7_name(self) -> str:
        """XPN for PID-5: family^given^^^^^L (legal name, HL7 v2.5 §2.A.89)."""
        return f"{self.family.upper()}^{self.given.upper()}^^^^^L"

    @property
    def dicom_name(self) -> str:
        """PN value for (0010,0010): family^given (DICOM PS3.5 §6.2.1)."""
        return f"{self.family.upper()}^{self.given.upper()}"


def new_patient(rng: random.Random) -> Patient:
    """A fresh synthetic patient."""
    year = rng.randrange(1935, 2020)
    return Patient(
        mrn=f"MRN{rng.randrange(10**6, 10**7)}",
        family=invented_name(rng, rng.choice((2, 3))),
        given=invented_name(rng, 2),
        birth_date=f"{year}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}",
        sex=rng.choice("FM"),
    )
