"""Vendor names to stable vendor ids, from the reviewable alias table ``vendors.yaml``.

Advisories say "Becton, Dickinson and Company (BD)", the OUI registry "Becton, Dickinson  and
Company", an NVD CPE "bd" and a DICOM header "BD CareFusion": all must land on one id. A name
resolves in this order: an exact alias (after case folding, accent removal and dropping legal
suffixes); an alias in parentheses ("… (BD)"); for a list of companies ("Silex Technology and
GE Healthcare") each company on its own; the longest alias that starts the name ("GE Medical
Systems Information Technologies" → ``ge-healthcare``, DICOM's "TOSHIBA_MEC_US" →
``canon-medical``); and otherwise the cleaned name itself, so that unknown vendors still
compare with each other. Names the table lists as ``unrelated`` ("Digi-Data Corporation" is
not Digi International) skip the prefix rule. The IEEE registry cuts names at 60 characters,
so an unclosed parenthesis ("… Monitoring Systems (CM") is dropped, and a list part made only
of company words ("Monitoring Systems") is not a company of its own.

*Brands* are product lines that advisories put in the vendor field ("Hillrom and ELI, Baxter
International Inc."): they resolve to their vendor but, unlike aliases, stay in model names
("ELI 380").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from medshield.core.errors import BadInputError
from medshield.vulns.names import tokens

_PARENS = re.compile(r"\(([^()]*)\)")
_UNCLOSED_PARENS = re.compile(r"\([^()]*$")
_LIST_SEPARATORS = re.compile(r",|;|/|&|\band\b|\bund\b", re.IGNORECASE)
_CONNECTORS = frozenset({"and", "und", "the"})
_COMPANY_WORDS = frozenset(
    {
        "and",
        "company",
        "diagnostics",
        "electronics",
        "group",
        "health",
        "healthcare",
        "information",
        "instrument",
        "international",
        "medical",
        "monitoring",
        "patient",
        "solutions",
        "system",
        "systems",
        "technologies",
        "technology",
    }
)
"""Words of company names that also name products ("Patient Monitoring"); never vendor words."""


@dataclass(frozen=True, slots=True)
class Vendor:
    """One vendor of the alias table."""

    id: str
    name: str
    aliases: tuple[str, ...]
    related: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    """Product lines written where a vendor name belongs; they name the vendor but are not
    removed from model names as the vendor's own words are."""


@dataclass(slots=True)
class VendorTable:
    """Resolves vendor names to vendor ids; build it with :func:`load_vendor_table`."""

    vendors: dict[str, Vendor]
    legal_suffixes: frozenset[str]
    unrelated: frozenset[str] = frozenset()
    """Cleaned names of companies that begin like an alias but are another company."""
    _aliases: dict[str, str] = field(default_factory=dict)
    _longest_alias: int = 1
    _cache: dict[str, frozenset[str]] = field(default_factory=dict)
    _brand_words: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.unrelated = frozenset(self.clean(name) for name in self.unrelated)
        brands = (b for v in self.vendors.values() for b in v.brands)
        self._brand_words = frozenset(w for b in brands for w in tokens(b)) - _COMPANY_WORDS
        for vendor in self.vendors.values():
            for alias in (vendor.name, *vendor.aliases, *vendor.brands):
                key = self.clean(alias)
                owner = self._aliases.setdefault(key, vendor.id)
                if owner != vendor.id:
                    raise BadInputError(
                        "vendors.yaml", f"alias {alias!r} of {vendor.id} and {owner}"
                    )
                self._longest_alias = max(self._longest_alias, len(key.split()))

    def clean(self, name: str) -> str:
        """Tokens of ``name`` without trailing legal suffixes, joined by spaces."""
        words = list(tokens(name))
        while len(words) > 1 and (words[-1] in self.legal_suffixes or words[-1] in _CONNECTORS):
            words.pop()
        return " ".join(words)

    def canonical(self, name: str) -> frozenset[str]:
        """Vendor ids named by ``name`` (several for "A and B"); empty for a blank name."""
        cached = self._cache.get(name)
        if cached is None:
            cached = self._cache[name] = self._resolve(name)
        return cached

    def known(self, name: str) -> frozenset[str]:
        """Vendor ids of the alias table named by ``name`` (unknown names give none)."""
        return frozenset(v for v in self.canonical(name) if v in self.vendors)

    def words(self, vendor_id: str) -> frozenset[str]:
        """Tokens that spell the vendor itself (its name and aliases, without company words
        and brands)."""
        vendor = self.vendors.get(vendor_id)
        names = (vendor.name, *vendor.aliases) if vendor else (vendor_id,)
        spelt = frozenset(w for n in names for w in tokens(n))
        return spelt - _COMPANY_WORDS - self.legal_suffixes - self.brand_words

    @property
    def brand_words(self) -> frozenset[str]:
        """Tokens of the brands of every vendor (kept in model names)."""
        return self._brand_words

    def related(self, vendor_id: str) -> tuple[str, ...]:
        """Ids of vendors related to ``vendor_id`` (acquisitions, rebrands)."""
        vendor = self.vendors.get(vendor_id)
        return vendor.related if vendor else ()

    def display(self, vendor_id: str) -> str:
        """A human name for ``vendor_id``."""
        vendor = self.vendors.get(vendor_id)
        return vendor.name if vendor else vendor_id

    def _resolve(self, name: str) -> frozenset[str]:
        main = _UNCLOSED_PARENS.sub(" ", _PARENS.sub(" ", name))
        for candidate in (main, *_PARENS.findall(name)):
            found = self._aliases.get(self.clean(candidate))
            if found:
                return frozenset({found})
        parts = [part for part in _LIST_SEPARATORS.split(main) if self._meaningful(part)]
        if len(parts) > 1:
            return frozenset().union(*(self._single(part) for part in parts))
        return self._single(main)

    def _meaningful(self, part: str) -> bool:
        """A part of a list that can name a company: a word beyond legal forms, connectors and
        company words ("Co. KG aA", "Monitoring Systems" are not companies)."""
        ignored = self.legal_suffixes | _CONNECTORS | _COMPANY_WORDS
        return any(w not in ignored for w in tokens(part))

    def _single(self, name: str) -> frozenset[str]:
        key = self.clean(name)
        if not key:
            return frozenset()
        if key in self.unrelated:
            return frozenset({key})
        words = key.split()
        for size in range(min(len(words), self._longest_alias), 0, -1):
            found = self._aliases.get(" ".join(words[:size]))
            if found:
                return frozenset({found})
        return frozenset({key})


def load_vendor_table(path: Path | None = None) -> VendorTable:
    """The alias table from ``path``, by default the ``vendors.yaml`` shipped with MedShield."""
    if path is None:
        text = resources.files("medshield.vulns").joinpath("vendors.yaml").read_text("utf-8")
        source = "vendors.yaml"
    else:
        text = path.read_text("utf-8")
        source = str(path)
    # libyaml's safe loader when PyYAML was built with it: the table is read per index.
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict) or not isinstance(data.get("vendors"), list):
        raise BadInputError(source, "expected a mapping with a 'vendors' list")
    vendors: dict[str, Vendor] = {}
    for entry in data["vendors"]:
        vendor = Vendor(
            id=str(entry["id"]),
            name=str(entry.get("name", entry["id"])),
            aliases=tuple(str(a) for a in entry.get("aliases", ())),
            related=tuple(str(r) for r in entry.get("related", ())),
            brands=tuple(str(b) for b in entry.get("brands", ())),
        )
        if vendor.id in vendors:
            raise BadInputError(source, f"vendor {vendor.id!r} listed twice")
        vendors[vendor.id] = vendor
    suffixes = frozenset(str(s).casefold() for s in data.get("legal_suffixes", ()))
    unrelated = frozenset(str(u) for u in data.get("unrelated", ()))
    return VendorTable(vendors, suffixes, unrelated)
