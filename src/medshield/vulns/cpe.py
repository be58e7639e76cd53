"""CPE 2.3 names (NISTIR 7695 §6.2 formatted string binding, §6.1 URI binding) and matching.

NVD configurations name vulnerable products with CPE match criteria
(``cpe:2.3:o:bd:alaris_pc_unit_firmware:*:*:*:*:*:*:*:*`` plus version bounds); SBOM
components and CSAF product helpers carry CPEs too. Matching follows NISTIR 7696's attribute
comparison in its common form: ANY (``*``) matches everything, NA (``-``) only NA, other
values compare case-insensitively, with ``*``/``?`` wildcards inside a value.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, fields

ANY = "*"
NA = "-"
_UNESCAPED_COLON = re.compile(r"(?<!\\):")
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class CpeName:
    """The eleven attributes of a CPE 2.3 well-formed name (NISTIR 7695 §5.2)."""

    part: str
    vendor: str
    product: str
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    def matches(self, candidate: CpeName) -> bool:
        """True when ``candidate`` is one of the names this (source) name describes."""
        return all(
            _attribute_matches(getattr(self, f.name), getattr(candidate, f.name))
            for f in fields(self)
        )

    def __str__(self) -> str:
        values = (getattr(self, f.name) for f in fields(self))
        return "cpe:2.3:" + ":".join(re.sub(r"([:\\])", r"\\\1", v) for v in values)


def parse_cpe(text: str) -> CpeName | None:
    """A CPE from its 2.3 formatted string or 2.2 URI, or None when ``text`` is neither."""
    text = text.strip()
    if text.lower().startswith("cpe:2.3:"):
        values = [_unescape(v) for v in _UNESCAPED_COLON.split(text[len("cpe:2.3:") :])]
        if len(values) != 11 or values[0] not in {"a", "o", "h", ANY}:
            return None
        return CpeName(*values)
    if text.lower().startswith("cpe:/"):
        values = [_unescape(v).replace("%", "") or ANY for v in text[len("cpe:/") :].split(":")]
        if not values or values[0] not in {"a", "o", "h"}:
            return None
        values += [ANY] * (11 - len(values))
        return CpeName(*values[:11])
    return None


def _unescape(value: str) -> str:
    return _ESCAPE.sub(r"\1", value)


def _attribute_matches(source: str, target: str) -> bool:
    if source == ANY:
        return True
    if NA in (source, target):
        return source == target
    if target == ANY:
        return False
    source, target = source.casefold(), target.casefold()
    if "*" in source or "?" in source:
        return fnmatch.fnmatchcase(target, source)
    return source == target


def product_words(cpe: CpeName) -> str:
    """The product attribute as words ("alaris_pc_unit_firmware" → "alaris pc unit firmware")."""
    return cpe.product.replace("_", " ")
