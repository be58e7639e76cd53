"""Tokens and folding of names."""

from __future__ import annotations

from medshield.vulns.names import fold, informative, repair_mojibake, tokens


def test_tokens_keep_dotted_versions_whole() -> None:
    assert tokens("SINAMICS GH150 V4.8 (Control Unit)") == (
        "sinamics",
        "gh150",
        "v4.8",
        "control",
        "unit",
    )
    assert tokens("Alaris® 8015 PC-Unit") == ("alaris", "8015", "pc", "unit")


def test_fold_spells_umlauts_and_drops_accents() -> None:
    assert fold("Dräger") == fold("Draeger") == "draeger"
    assert fold("Électro") == "electro"


def test_mojibake_is_repaired_only_when_present() -> None:
    assert repair_mojibake("GeutebrÃ¼ck") == "Geutebrück"
    assert repair_mojibake("Geutebrück") == "Geutebrück"
    assert repair_mojibake("Ã not utf-8 \u20ac") == "Ã not utf-8 \u20ac"


def test_informative_drops_generic_words() -> None:
    assert informative(tokens("The Alaris PC unit software version")) == {"alaris", "pc"}
