"""Firmware versions and affected-version ranges, as advisories write them.

Ranges follow the ``vers`` specification (package-url/purl-spec, VERSION-RANGE-SPEC.rst):
a range is a list of constraints (``>=5.0|<6.1.0``) that univers' ``contains_version``
evaluates. CISA advisories mostly write ranges as free text ("4.1.0 and prior", "prior to
2.3", "versions 2.1 through 2.5", "All versions < V3.1 SP2"); :func:`parse_range` turns those
into the same constraints and keeps the raw text. Text it cannot read becomes an *unparsed*
range, which never says "in range": it answers "unknown", and matching reports the device as
a *possible, low-confidence* match to be triaged by a person.

Version comparison is :class:`FirmwareVersion`, a univers ``Version`` with an ordering for
device firmware (after repology's libversion): numeric components compare as numbers,
``4.2 == 4.2.0``, pre-release words (alpha, beta, rc) sort before the release, post-release
words and letter suffixes (``build 13``, ``SP2``, ``2.6A``) after it. univers' own ``intdot``
class is not used for comparison because it compares digit characters (it orders 4.10 before
4.2). Versions of different *families* — a different leading word, as in ``U61`` and ``L81``
(part numbers of US and global models) — are not comparable, and a range never decides
about a version of another family.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import total_ordering
from urllib.parse import quote, unquote

from univers.version_constraint import VersionConstraint, contains_version
from univers.version_range import RANGE_CLASS_BY_SCHEMES, VersionRange
from univers.versions import Version

from medshield.vulns.names import repair_mojibake

_PRE_RELEASE_ORDER = {
    "dev": 0,
    "snapshot": 0,
    "alpha": 1,
    "a": 1,
    "beta": 2,
    "b": 2,
    "pre": 3,
    "preview": 3,
    "rc": 4,
}
_POST_WORDS = (
    "service pack",
    "hotfix",
    "update",
    "patch",
    "build",
    "post",
    "fix",
    "rev",
    "mr",
    "sp",
    "sr",
    "hf",
    "fp",
    "cu",
    "pl",
    "p",
    "u",
)
_POST_WORD_SET = frozenset(word.replace(" ", "") for word in _POST_WORDS) | {"service", "pack"}
_POST_SUFFIX = "|".join(re.escape(word) for word in _POST_WORDS)

_RANK_PRE, _RANK_ZERO, _RANK_POST, _RANK_NUMBER = 0, 1, 2, 3
_PADDING = (_RANK_ZERO, 0, "")

_PREFIX = re.compile(
    r"^(?:version|ver\.?|v\.?|revision|rev\.?|release|r|firmware|fw|software|sw)\s*(?=\d)"
)
_SHORT_WORD_THEN_NUMBER = re.compile(r"^([a-z]{1,3}) (\d)")
_VERSION_TOKEN = re.compile(
    rf"(?:[a-z]{{1,4}}-v?)?[a-z]{{0,4}}\.?\d[a-z0-9.+\-]*(?:\s+(?:{_POST_SUFFIX})(?:\s+(?:{_POST_SUFFIX}))*"
    rf"\s*[a-z]?\d[a-z0-9.\-]*)*"
)
_COMPONENT = re.compile(r"\d+|[a-z]+")
_WILDCARD_TAIL = re.compile(r"^(.*?\d)(?:\.[x*])+$")
_DOTTED = re.compile(r"\d+(?:\.\d+)+[a-z0-9]*")


def normalise_version_text(text: str) -> str:
    """Lower-case, ``_`` as space, single spaces, no "V"/"Ver."/"Rev."/"Release" prefix."""
    text = repair_mojibake(text).casefold().replace("_", " ")
    text = " ".join(text.split())
    text = _PREFIX.sub("", text)
    return _SHORT_WORD_THEN_NUMBER.sub(r"\1\2", text)


@total_ordering
@dataclass(frozen=True, slots=True, eq=False)
class VersionKey:
    """Comparable components of a version; missing components compare as zero."""

    text: str
    components: tuple[tuple[int, int, str], ...]
    family: str
    """Leading word before the first digit ("bt" in ``BT06``); ``"."`` for ``B.02``-style."""

    @classmethod
    def of(cls, text: str) -> VersionKey:
        """Split normalised version ``text`` into ranked components."""
        components: list[tuple[int, int, str]] = []
        previous_end, previous_digit = -1, False
        for found in _COMPONENT.finditer(text.replace("service pack", "sp")):
            part = found.group()
            attached = found.start() == previous_end
            if part.isdigit():
                value = int(part)
                components.append((_RANK_NUMBER, value, "") if value else _PADDING)
            elif len(part) > 1 and part in _PRE_RELEASE_ORDER:
                components.append((_RANK_PRE, _PRE_RELEASE_ORDER[part], part))
            elif part in _POST_WORD_SET or (attached and previous_digit):
                components.append((_RANK_POST, 0, part))
            else:
                components.append((_RANK_PRE, _PRE_RELEASE_ORDER.get(part, 5), part))
            previous_end, previous_digit = found.end(), part.isdigit()
        while components and components[-1] == _PADDING:
            components.pop()
        return cls(text, tuple(components), _family(text))

    def _compare(self, other: VersionKey) -> int:
        mine, theirs = self.components, other.components
        for index in range(max(len(mine), len(theirs))):
            left = mine[index] if index < len(mine) else _PADDING
            right = theirs[index] if index < len(theirs) else _PADDING
            if left != right:
                return -1 if left < right else 1
        return 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VersionKey):
            return NotImplemented
        return self.components == other.components

    def __lt__(self, other: VersionKey) -> bool:
        return self._compare(other) < 0

    def __hash__(self) -> int:
        return hash(self.components)

    def __str__(self) -> str:
        return self.text


def _family(text: str) -> str:
    match = re.match(r"[a-z]+", text)
    if not match:
        return ""
    word = match.group()
    if len(word) == 1 and text[1:2] == ".":
        return "."
    return word


class FirmwareVersion(Version):
    """A device or software version, ordered as :class:`VersionKey` orders it."""

    @classmethod
    def normalize(cls, string: str) -> str:
        return normalise_version_text(string)

    @classmethod
    def is_valid(cls, string: str) -> bool:
        return bool(string) and _VERSION_TOKEN.fullmatch(string) is not None

    @classmethod
    def build_value(cls, string: str) -> VersionKey:
        return VersionKey.of(string)

    @property
    def family(self) -> str:
        """The version's family; only versions of one family compare."""
        key: VersionKey = self.value
        return key.family


def parse_version(text: str | None) -> FirmwareVersion | None:
    """The version in ``text`` ("V4.2.1", "4.2.1 build 33", "PCU 9.33.1"), or None."""
    if not text:
        return None
    cleaned = normalise_version_text(text.replace("(", " ").replace(")", " "))
    if FirmwareVersion.is_valid(cleaned):
        return FirmwareVersion(cleaned)
    dotted = _DOTTED.search(cleaned)
    return FirmwareVersion(dotted.group()) if dotted else None


class InRange(StrEnum):
    """Whether a version lies in a range."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class RangeKind(StrEnum):
    """What an affected-version text says."""

    ALL = "all"
    """Every version ("All versions", ``vers:all/*``, ``*``)."""
    NONE = "none"
    """No version (``vers:none/*``)."""
    EXACT = "exact"
    """One or more listed versions ("1.1.7.333 | 2.1.1.3069")."""
    RANGE = "range"
    """Bounds ("<= 4.2.1", "versions 2.1 through 2.5")."""
    UNPARSED = "unparsed"
    """Text MedShield cannot read; matches as "possible, low confidence"."""


@dataclass(frozen=True, slots=True)
class Constraint:
    """One ``vers`` constraint: a comparator (``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``)."""

    comparator: str
    version: str

    def __str__(self) -> str:
        version = quote(self.version, safe=".-+~_")
        return version if self.comparator == "=" else f"{self.comparator}{version}"


@dataclass(frozen=True, slots=True)
class VersionSpec:
    """Affected versions of a product: the raw text, its kind and its ``vers`` constraints.

    ``alternatives`` holds one constraint list per version family; a version is in the spec
    when it is in one of them. ``qualifier`` keeps a condition the text attaches ("with option
    G28", "only if basic authentication is used") that MedShield cannot check.
    """

    raw: str
    kind: RangeKind
    alternatives: tuple[tuple[Constraint, ...], ...] = ()
    qualifier: str = ""
    scheme: str = "generic"
    _prepared: tuple[tuple[str, list[VersionConstraint]], ...] = field(
        default=(), compare=False, repr=False, hash=False
    )

    def __post_init__(self) -> None:
        prepared = tuple(_prepare(group) for group in self.alternatives)
        object.__setattr__(self, "_prepared", prepared)

    @property
    def vers(self) -> tuple[str, ...]:
        """The spec as ``vers`` strings, one per alternative (``vers:all/*`` for all)."""
        if self.kind is RangeKind.ALL:
            return ("vers:all/*",)
        if self.kind is RangeKind.NONE:
            return ("vers:none/*",)
        return tuple(
            f"vers:{self.scheme}/" + "|".join(str(c) for c in group) for group in self.alternatives
        )

    def contains(self, version: FirmwareVersion | str | None) -> InRange:
        """Whether ``version`` is affected: yes, no, or unknown (no version, unreadable text)."""
        if self.kind is RangeKind.ALL:
            return InRange.YES
        if self.kind is RangeKind.NONE:
            return InRange.NO
        if self.kind is RangeKind.UNPARSED:
            return InRange.UNKNOWN
        candidate = parse_version(version) if isinstance(version, str) else version
        if candidate is None:
            return InRange.UNKNOWN
        decided = [
            contains_version(candidate, constraints)  # type: ignore[no-untyped-call]
            for family, constraints in self._prepared
            if _comparable(family, candidate.family)
        ]
        if any(decided):
            return InRange.YES
        return InRange.NO if decided else InRange.UNKNOWN

    def exclusive_upper_bound(self) -> str | None:
        """The version of a final ``<`` constraint (``< 8.2.2`` → ``8.2.2``), a likely fix."""
        if self.kind is not RangeKind.RANGE or len(self.alternatives) != 1:
            return None
        last = self.alternatives[0][-1]
        if last.comparator != "<":
            return None
        # Prefer the spelling of the advisory ("B.06.18"), not the normalised one ("b.06.18").
        written = re.search(re.escape(last.version), self.raw.replace("_", " "), re.IGNORECASE)
        return written.group() if written else last.version


def _comparable(range_family: str, version_family: str) -> bool:
    return range_family == version_family


def _prepare(group: tuple[Constraint, ...]) -> tuple[str, list[VersionConstraint]]:
    versions = [FirmwareVersion(c.version) for c in group]
    constraints = [VersionConstraint(c.comparator, v) for c, v in zip(group, versions, strict=True)]
    return (versions[0].family if versions else ""), constraints


ALL_VERSIONS = VersionSpec("", RangeKind.ALL)
"""A product named without any version: every version of it."""


def unparsed(raw: str, qualifier: str = "") -> VersionSpec:
    """A spec that keeps ``raw`` but decides nothing."""
    return VersionSpec(raw, RangeKind.UNPARSED, qualifier=qualifier)


# --- free text → constraints -------------------------------------------------------------

_MONTHS = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\d+/\d+/\d+"
)
_QUALIFIER_TAIL = re.compile(
    r"\s+(?=(?:with|on|when|if|only|running|where|affected only|installed|except|model|part)\b)"
)
_ALL_WORDS = re.compile(r"^(?:\*|any version|all versions?|every version|any|all)(?:\s+|$)")
_LEADING_WORDS = re.compile(r"^(?:versions?|firmware|software|release|releases)\s+")
_OPERATOR_ITEM = re.compile(r"^(<=|>=|==|!=|=<|=>|<|>|=)?\s*(.+)$")
_LIST_SPLIT = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+")

_PHRASES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"^between (.+?) \(including\) and (.+?) \(excluding\)$"), (">=", "<")),
    (re.compile(r"^between (.+?) \(excluding\) and (.+?) \(including\)$"), (">", "<=")),
    (re.compile(r"^between (.+?) and (.+?)(?: inclusive)?$"), (">=", "<=")),
    (re.compile(r"^from (.+?) (?:through|to|thru|until|up to) (.+)$"), (">=", "<=")),
    (re.compile(r"^(.+?) (?:through|thru|to|until|-|–) (.+)$"), (">=", "<=")),
    (
        re.compile(r"^(.+?),? (?:and|or) (?:prior|earlier|below|lower|older|before|previous)$"),
        ("<=",),
    ),
    (
        re.compile(
            r"^(?:prior to|before|earlier than|lower than|older than|below|less than|"
            r"up to but not including) (.+)$"
        ),
        ("<",),
    ),
    (re.compile(r"^(?:up to(?: and including)?|through|until|thru) (.+)$"), ("<=",)),
    (
        re.compile(r"^(.+?),? (?:and|or) (?:later|above|higher|newer|greater|after|up)$"),
        (">=",),
    ),
    (re.compile(r"^(?:from|since|starting with|starting from|at least) (.+)$"), (">=",)),
    (re.compile(r"^(?:later than|greater than|newer than|above|after) (.+)$"), (">",)),
    (re.compile(r"^(.+?) (<=|<) (.+)$"), (">=", "$2")),
)


class _Unreadable(ValueError):
    """The text is not a range MedShield can read."""


def parse_range(text: str) -> VersionSpec:
    """Read an affected-version text (``vers:`` string or free text) into a :class:`VersionSpec`.

    Never raises: text it cannot read becomes :data:`RangeKind.UNPARSED` with ``raw`` kept.
    """
    raw = text
    cleaned = " ".join(repair_mojibake(text).casefold().replace("_", " ").split())
    if cleaned.startswith("vers:"):
        return _parse_vers(raw, cleaned)
    cleaned, qualifier = _split_qualifier(cleaned)
    qualifier = _as_written(raw, qualifier)
    if not cleaned or _MONTHS.search(cleaned):
        return unparsed(raw, qualifier)
    remainder = _ALL_WORDS.sub("", cleaned, count=1) if _ALL_WORDS.match(cleaned) else None
    if remainder is not None and not remainder.strip():
        return VersionSpec(raw, RangeKind.ALL, qualifier=qualifier)
    body = _LEADING_WORDS.sub("", remainder if remainder is not None else cleaned)
    try:
        constraints = _constraints_of(body)
        return _spec(raw, constraints, qualifier, scheme=None)
    except _Unreadable:
        return unparsed(raw, qualifier)


def _as_written(raw: str, fragment: str) -> str:
    """``fragment`` (found in the case-folded text) in the spelling of ``raw``."""
    if not fragment:
        return fragment
    spaced = " ".join(repair_mojibake(raw).replace("_", " ").split())
    parts = [
        written.group() if (written := re.search(re.escape(part), spaced, re.IGNORECASE)) else part
        for part in fragment.split("; ")
    ]
    return "; ".join(parts)


def _split_qualifier(text: str) -> tuple[str, str]:
    """Separate conditions ("with …", "(with option …)", "only if …") from the range text."""
    qualifiers: list[str] = []
    wrapped = re.fullmatch(r"\((.*)\)", text)
    if wrapped:
        text = wrapped.group(1)

    def keep(found: re.Match[str]) -> str:
        inside = found.group(1).strip()
        if inside in {"including", "excluding"}:
            return found.group(0)
        if re.match(r"(?:with|only|when|if|running|except|for)\b", inside):
            qualifiers.append(inside)
        return " "

    text = re.sub(r"\(([^()]*)\)", keep, text)
    text = " ".join(text.split())
    parts = _QUALIFIER_TAIL.split(text, maxsplit=1)
    if len(parts) == 2:
        text, tail = parts
        qualifiers.append(tail.strip())
    return text.strip(" ,;:"), "; ".join(qualifiers)


def _constraints_of(body: str) -> list[Constraint]:
    for pattern, comparators in _PHRASES:
        found = pattern.match(body)
        if found:
            try:
                return _phrase_constraints(found, comparators)
            except _Unreadable:
                continue
    items = [item.strip() for item in body.split("|")]
    if len(items) == 1:
        listed = _LIST_SPLIT.split(body)
        if len(listed) > 1:
            items = listed
        elif _is_word_list(body):
            items = body.split()
    constraints: list[Constraint] = []
    for item in items:
        if item:
            constraints.extend(_item_constraints(item))
    if not constraints:
        raise _Unreadable(body)
    return constraints


def _is_word_list(body: str) -> bool:
    """Versions separated by spaces only ("1.3.2 1.4.0 1.4.1"), without operators."""
    if " " not in body or re.search(r"[<>=!]", body):
        return False
    return not FirmwareVersion.is_valid(normalise_version_text(body))


def _phrase_constraints(found: re.Match[str], comparators: tuple[str, ...]) -> list[Constraint]:
    if comparators == (">=", "$2"):
        low, operator, high = found.groups()
        return [Constraint(">=", _version(low)), Constraint(operator, _version(high))]
    return [
        Constraint(comparator, _version(value))
        for comparator, value in zip(comparators, found.groups(), strict=True)
    ]


def _item_constraints(item: str) -> list[Constraint]:
    found = _OPERATOR_ITEM.match(item)
    if not found:
        raise _Unreadable(item)
    operator = {"==": "=", "=<": "<=", "=>": ">=", None: "="}.get(found.group(1), found.group(1))
    value = _LEADING_WORDS.sub("", found.group(2).strip())
    wildcard = _WILDCARD_TAIL.match(value)
    if wildcard:
        return _wildcard_constraints(operator, wildcard.group(1))
    return [Constraint(operator, _version(value))]


def _wildcard_constraints(operator: str, stem: str) -> list[Constraint]:
    """``12.2.x`` as bounds: ``=`` → [12.2, 12.3); ``<=`` → <12.3; ``<`` → <12.2; ``>=``
    → >=12.2."""
    low = _version(stem)
    head, _, last = low.rpartition(".")
    if not last.isdigit():
        raise _Unreadable(stem)
    following = (head + "." if head else "") + str(int(last) + 1)
    if operator in {"<", ">="}:
        return [Constraint(operator, low)]
    if operator == "<=":
        return [Constraint("<", following)]
    if operator == ">":
        return [Constraint(">=", following)]
    return [Constraint(">=", low), Constraint("<", following)]


def _version(text: str) -> str:
    value = normalise_version_text(text.strip(" ,;:"))
    if not FirmwareVersion.is_valid(value):
        raise _Unreadable(text)
    return value


def _parse_vers(raw: str, cleaned: str) -> VersionSpec:
    """``vers:<scheme>/<constraints>`` (purl-spec VERSION-RANGE-SPEC)."""
    scheme, _, spec = cleaned[len("vers:") :].partition("/")
    spec = spec.replace(" ", "")
    if spec == "*":
        if scheme == "none":
            return VersionSpec(raw, RangeKind.NONE, scheme=scheme)
        return VersionSpec(raw, RangeKind.ALL, scheme=scheme)
    try:
        constraints = _vers_constraints(scheme, spec)
        return _spec(raw, constraints, "", scheme=None if scheme in {"all", "none"} else scheme)
    except _Unreadable:
        return unparsed(raw)


def _vers_constraints(scheme: str, spec: str) -> list[Constraint]:
    """Constraints of a ``vers`` range; univers parses schemes it knows (validating them)."""
    if scheme in RANGE_CLASS_BY_SCHEMES and scheme not in {"all", "none"}:
        try:
            parsed = VersionRange.from_string(f"vers:{scheme}/{spec}")  # type: ignore[no-untyped-call]
            return [
                Constraint(c.comparator, _version(c.version.string)) for c in parsed.constraints
            ]
        except (ValueError, TypeError):
            # univers refuses versions its scheme class cannot build (e.g. "B.06.18" as
            # intdot); the generic reading below still applies.
            pass
    constraints: list[Constraint] = []
    for item in spec.split("|"):
        found = _OPERATOR_ITEM.match(unquote(item))
        if not item or not found:
            raise _Unreadable(spec)
        operator = found.group(1) or "="
        constraints.append(Constraint(operator, _version(found.group(2))))
    return constraints


def _spec(
    raw: str, constraints: list[Constraint], qualifier: str, scheme: str | None
) -> VersionSpec:
    """Group constraints by version family, sort and validate each group (vers rules)."""
    groups: dict[str, list[Constraint]] = {}
    for constraint in dict.fromkeys(constraints):
        family = FirmwareVersion(constraint.version).family
        groups.setdefault(family, []).append(constraint)
    alternatives: list[tuple[Constraint, ...]] = []
    for group in groups.values():
        checked = [VersionConstraint(c.comparator, FirmwareVersion(c.version)) for c in group]
        try:
            VersionConstraint.validate(checked)  # type: ignore[no-untyped-call]
        except ValueError as error:
            raise _Unreadable(str(error)) from None
        alternatives.append(tuple(Constraint(c.comparator, c.version.string) for c in checked))
    if scheme is None:
        plain = all(re.fullmatch(r"\d+(?:\.\d+)*", c.version) for c in constraints)
        scheme = "intdot" if plain else "generic"
    exact = all(c.comparator == "=" for c in constraints)
    kind = RangeKind.EXACT if exact else RangeKind.RANGE
    return VersionSpec(raw, kind, tuple(alternatives), qualifier, scheme)


def from_constraints(raw: str, constraints: list[Constraint], qualifier: str = "") -> VersionSpec:
    """A spec from structured bounds (NVD ``versionStart/End*``, CVE ``lessThan``).

    Bounds that do not form a valid ``vers`` range make an unparsed spec keeping ``raw``.
    """
    if not constraints:
        return VersionSpec(raw, RangeKind.ALL, qualifier=qualifier)
    try:
        checked = [Constraint(c.comparator, _version(c.version)) for c in constraints]
        return _spec(raw, checked, qualifier, scheme=None)
    except _Unreadable:
        return unparsed(raw, qualifier)
