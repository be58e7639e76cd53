"""Normalisation of vendor and product names so that advisories and inventories compare.

Advisories and inventories spell one product many ways ("IntelliVue MX40", "Intellivue
MX-40 (WLAN only)", "INTELLIVUE_MX40"). Matching works on *tokens*: case-folded runs of
letters and digits, accents removed, with mis-decoded UTF-8 repaired first (CISA's files carry
"GeutebrÃ¼ck" for "Geutebrück").
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*")
"""Runs of letters and digits; dotted runs stay whole so that "V4.7" and "V4.8" differ."""
_MOJIBAKE_MARKERS = ("Ã", "Â", "â€")

GENERIC_TOKENS = frozenset(
    {
        "a",
        "all",
        "an",
        "and",
        "application",
        "based",
        "by",
        "device",
        "devices",
        "edition",
        "family",
        "firmware",
        "for",
        "from",
        "in",
        "including",
        "model",
        "models",
        "not",
        "of",
        "on",
        "only",
        "or",
        "product",
        "products",
        "series",
        "software",
        "system",
        "systems",
        "the",
        "to",
        "unit",
        "units",
        "used",
        "v",
        "ver",
        "version",
        "versions",
        "with",
    }
)
"""Words that say nothing about which product is meant; never enough for a match alone."""


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 bytes decoded as Latin-1 ("DrÃ¤ger" → "Dräger"), when that is what it is."""
    if not any(marker in text for marker in _MOJIBAKE_MARKERS):
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def fold(text: str) -> str:
    """Case-folded ASCII form: accents stripped, German umlauts spelt out as ``ae``/``oe``/``ue``.

    Spelling umlauts out makes "Dräger" and "Draeger" fold to the same string.
    """
    text = repair_mojibake(text).casefold()
    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> tuple[str, ...]:
    """Tokens of ``text`` in order ("Alaris® 8015 PC-Unit V4.8" → alaris, 8015, pc, unit, v4.8)."""
    return tuple(_TOKEN.findall(fold(text)))


def informative(words: tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """The tokens that identify a product: the words minus :data:`GENERIC_TOKENS`."""
    return frozenset(word for word in words if word not in GENERIC_TOKENS)
