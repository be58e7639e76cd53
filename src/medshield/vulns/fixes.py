"""Fixed versions that remediation text states (CSAF 2.0 §3.2.3.12 ``details``).

Advisories give a product's fix in prose: "Update to V5.0 or later version", "Smiths Medical
has released update Version 1.6.1", "Welch Allyn Service Tool: v1.10", "upgrade to the
ExactaMix Version 1.4 (EM1200) and ExactaMix Version 1.13 (EM2400)". One remediation often
covers several products, so a version it names is a product's fix only when:

- the sentence says it is the version to move to: it follows an update verb ("update to",
  "upgrade", "released", "fixed in", "remediated in" …), it is the value of a
  "Product: version" line, or the sentence starts with it and goes on to say it fixes
  ("Version 8.2 of … includes fixes");
- what is updated is the product itself: the words between the verb and the version name the
  product, its vendor or nothing at all ("Update ECP to Version 2.30" is the ECP's version,
  not that of the handheld the remediation lists; "update to WibuKey 6.50" is WibuKey's);
- nothing ties the version to another product of the advisory: a leading label ("For X:",
  "X:"), a parenthesis right after the version ("(EM1200)") or a "for X" after it. A label
  that names a version branch ("ThinManager v13.1.X:") must be the product's branch.

Anything else gives no version: an unknown fixed version is better than a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from medshield.vulns.model import Advisory, Product, RemediationCategory
from medshield.vulns.names import GENERIC_TOKENS, informative, tokens
from medshield.vulns.versions import InRange, VersionSpec

_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+|\n+")
_UPDATE_VERB = re.compile(
    r"\b(?:updat(?:e|es|ed|ing)|upgrad(?:e|es|ed|ing)|install(?:s|ed|ing)?|"
    r"migrat(?:e|es|ed|ing)|releas(?:e|es|ed|ing)|provides?|provided|produced|deployed|"
    r"(?:fixed|remediated|mitigated|addressed|resolved|patched|corrected)\s+(?:in|by))\b",
    re.IGNORECASE,
)
_FIX_VERB = re.compile(r"\b(?:fix\w*|remediat\w*|mitigat\w*|address\w*|resolv\w*)", re.IGNORECASE)
_QUALIFIER = r"(?:\s*\+?\s*(?:SP|Service\s+Pack|Update|Upd|HF|Hotfix|Patch|SR|GMA|Build)\s?\d+)*"
_VERSION = re.compile(
    r"(?:\b(?:versions?|ver|rev)\b\.?\s*:?\s*|\bv\.?(?=\d))"
    rf"(?P<prefixed>[A-Za-z]{{0,2}}\.?\d[A-Za-z0-9]*(?:[.\-][A-Za-z0-9]+)*{_QUALIFIER})"
    rf"|\b(?P<bare>[A-Za-z]{{0,2}}\.?\d+(?:\.[A-Za-z0-9]+)+{_QUALIFIER})\b",
    re.IGNORECASE,
)
_PARENTHESIS_AFTER = re.compile(r"\s*\(([^()]*)\)")
_FOR_AFTER = re.compile(
    r"\bfor\s+(?:the\s+)?([^,;.()]+?)(?=\s+(?:that|which|to|is|was|will|in|and)\b|[,;.()]|$)",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^\s*(?:for\s+)?(?P<label>[^:]{1,80}?)\s*:\s+(?P<rest>\S.*)$", re.IGNORECASE)
_LABEL_WORDS = 12
_WILDCARD = re.compile(r"(?:\.[x*])+$", re.IGNORECASE)
_SLASHED = re.compile(r"([A-Za-z0-9]+)/([A-Za-z0-9]+)")
_NUMERIC = re.compile(r"v?\d[\d.]*(?:\.x)*")

_FILLER = (GENERIC_TOKENS - {"not", "all", "including", "only", "from"}) | {
    "above",
    "app",
    "apply",
    "available",
    "build",
    "current",
    "following",
    "higher",
    "image",
    "install",
    "installing",
    "its",
    "later",
    "latest",
    "module",
    "monitor",
    "monitors",
    "most",
    "new",
    "newer",
    "newest",
    "package",
    "pump",
    "pumps",
    "recent",
    "recently",
    "release",
    "released",
    "server",
    "their",
    "this",
    "update",
    "updated",
    "upgrade",
}
"""Words that may stand between an update verb and the version without naming another
component ("update to the latest version of DOPSoft Version 4.00.04")."""


@dataclass(frozen=True, slots=True)
class FixStatement:
    """A version that a remediation sentence states as a fix, and what ties it to a product."""

    version: str
    subject: frozenset[str]
    """Words naming what is updated (fillers removed); must all be the product's words."""
    label: frozenset[str] | None = None
    """Words of the sentence's leading "X:" label, when it has one."""
    label_versions: tuple[str, ...] = ()
    """Versions the label names ("ThinManager v13.1.X:", "MDT AutoSave 6.x version:"): the
    version branch the line is about."""
    attribution: frozenset[str] = frozenset()
    """Words of a "(X)" or "for X" after the version."""


def fix_statements(details: str) -> tuple[FixStatement, ...]:
    """Every version ``details`` states as a fix, in the order written."""
    found: list[FixStatement] = []
    for sentence in _SENTENCE_END.split(details):
        label_words: frozenset[str] | None = None
        label_versions: tuple[str, ...] = ()
        body = sentence
        labelled = _LABEL.match(sentence)
        if labelled and _is_label(labelled.group("label")) and _words(labelled.group("label")):
            label = labelled.group("label")
            label_words = _words(label)
            label_versions = tuple(v for v, _, _ in _versions(label))
            body = labelled.group("rest")
        labelled_line = label_words is not None
        for version, subject, attribution in _sentence_fixes(body, labelled_line=labelled_line):
            found.append(FixStatement(version, subject, label_words, label_versions, attribution))
    return tuple(found)


def _is_label(text: str) -> bool:
    """A short product name before a colon, not a clause that itself updates something."""
    return len(text.split()) <= _LABEL_WORDS and not _UPDATE_VERB.search(text)


def _versions(text: str) -> Iterator[tuple[str, int, int]]:
    """Version tokens of ``text``: the version as written (without a "V" prefix) and its span."""
    for found in _VERSION.finditer(text):
        group = "prefixed" if found.group("prefixed") else "bare"
        version = re.sub(r"^[vV]\.?(?=\d)", "", found.group(group))
        yield " ".join(version.split()), found.start(), found.end()


def _sentence_fixes(
    body: str, *, labelled_line: bool
) -> Iterator[tuple[str, frozenset[str], frozenset[str]]]:
    """(version, subject words, attribution words) of each fix version of one sentence."""
    verbs = [m.end() for m in _UPDATE_VERB.finditer(body)]
    versions = list(_versions(body))
    for position, (version, start, end) in enumerate(versions):
        if _WILDCARD.search(version):
            continue
        next_start = versions[position + 1][1] if position + 1 < len(versions) else len(body)
        attribution = _attribution(body[end:next_start])
        before = [v for v in verbs if v <= start]
        if before:
            subject = _subject(body, before[-1], start, versions[:position])
        elif (labelled_line and not body[:start].strip(" \t:")) or (
            _FIX_VERB.search(body[end:]) is not None
        ):
            # "Label: v1.10", or "Version 8.2 of X includes fixes": nothing may precede the
            # version but the product's own words.
            subject = _subject(body, 0, start, versions[:position])
        else:
            continue
        yield version, subject, attribution


def _subject(
    body: str, begin: int, end: int, earlier: Sequence[tuple[str, int, int]]
) -> frozenset[str]:
    """Words between ``begin`` and ``end`` that are neither fillers nor earlier versions (and
    the parenthesis that attributes one): what the sentence says is being updated."""
    text = body[begin:end]
    for _, start, stop in reversed(earlier):
        if begin <= start and stop <= end:
            after = _PARENTHESIS_AFTER.match(body, stop)
            cut = after.end() if after and after.end() <= end else stop
            text = text[: start - begin] + " " + text[cut - begin :]
    # "NeuroWorks/SleepWorks" names either product: the pair stays one "a/b" word.
    pairs = frozenset("/".join(tokens(a) + tokens(b)) for a, b in _SLASHED.findall(text))
    words = frozenset(tokens(_SLASHED.sub(" ", text)))
    return frozenset(w for w in words | pairs if not _filler(w))


def _filler(word: str) -> bool:
    """Fillers, and release names or versions ("2017", "6.x"), name no other component."""
    return all(part in _FILLER or _NUMERIC.fullmatch(part) for part in word.split("/"))


def _attribution(text: str) -> frozenset[str]:
    parenthesis = _PARENTHESIS_AFTER.match(text)
    if parenthesis:
        return _words(parenthesis.group(1))
    named = _FOR_AFTER.search(text)
    return _words(named.group(1)) if named else frozenset()


def _words(text: str) -> frozenset[str]:
    return informative(tokens(text))


class AdvisoryFixes:
    """The fix versions an advisory's vendor fixes state, product by product.

    Each remediation text is parsed once; products are told apart by their names, so a
    label or attribution picks the products whose names it shares most words with.
    """

    def __init__(self, advisory: Advisory) -> None:
        self.advisory = advisory
        self._words: dict[str, frozenset[str]] | None = None
        self._parsed: dict[str, tuple[FixStatement, ...]] = {}
        self._named: dict[frozenset[str], frozenset[str]] = {}

    def stated(self, product: Product) -> Iterator[str]:
        """Versions the advisory's vendor fixes state as ``product``'s fix, in order; a
        version inside the product's own affected range is a misreading and skipped."""
        single = len(self.advisory.products) == 1
        for vulnerability in self.advisory.vulnerabilities:
            for remediation in vulnerability.remediations:
                if remediation.category is not RemediationCategory.VENDOR_FIX:
                    continue
                if product.product_id not in remediation.product_ids and not (
                    single and not remediation.product_ids
                ):
                    continue
                for statement in self._statements(remediation.details):
                    if self.applies(statement, product) and _outside(
                        product.version, statement.version
                    ):
                        yield statement.version

    def applies(self, statement: FixStatement, product: Product) -> bool:
        """Whether ``statement`` is about ``product`` (see the module docstring)."""
        own = self._names().get(product.product_id) or _product_words(product)
        allowed = own | frozenset(tokens(product.vendor))
        if not all(_allowed(word, allowed) for word in statement.subject):
            return False
        if statement.label is not None:
            if product.product_id not in self.named(statement.label):
                return False
            if statement.label_versions and not any(
                _in_branch(product.version, v) for v in statement.label_versions
            ):
                return False
        named = self.named(statement.attribution)
        return not named or product.product_id in named

    def named(self, words: frozenset[str]) -> frozenset[str]:
        """Ids of the products whose names share the most words with ``words`` (Jaccard
        similarity); none when no product name shares a word."""
        if not words:
            return frozenset()
        cached = self._named.get(words)
        if cached is None:
            scores = {
                pid: len(words & own) / len(words | own)
                for pid, own in self._names().items()
                if words & own
            }
            best = max(scores.values(), default=0.0)
            cached = frozenset(pid for pid, score in scores.items() if score == best)
            self._named[words] = cached
        return cached

    def _names(self) -> dict[str, frozenset[str]]:
        """Product id → the words of its name (built on first need: most products take their
        fixed version from structured data and never get here)."""
        if self._words is None:
            self._words = {p.product_id: _product_words(p) for p in self.advisory.products}
        return self._words

    def _statements(self, details: str) -> tuple[FixStatement, ...]:
        parsed = self._parsed.get(details)
        if parsed is None:
            parsed = self._parsed[details] = fix_statements(details)
        return parsed


def _product_words(product: Product) -> frozenset[str]:
    """Words naming ``product`` (name, family, model numbers) without its vendor's words."""
    named = informative(
        tuple(
            w
            for text in (product.name, product.family, *product.model_numbers)
            for w in tokens(text)
        )
    )
    return named - frozenset(tokens(product.vendor)) or named


def _allowed(word: str, allowed: frozenset[str]) -> bool:
    if "/" in word:
        return any(part in allowed for part in word.split("/"))
    return word in allowed


def _outside(spec: VersionSpec, version: str) -> bool:
    return spec.contains(version) is InRange.NO


def _in_branch(spec: VersionSpec, branch: str) -> bool:
    """Whether the affected versions ``spec`` meet the label's version (or version branch:
    "6.x" holds "6.01")."""
    stem = _WILDCARD.sub("", branch)
    if spec.contains(stem) is not InRange.NO:
        return True
    if stem == branch:
        return False
    prefix = re.compile(re.escape(stem.casefold()) + r"(?:\.|$)")
    return any(prefix.match(c.version.casefold()) for group in spec.alternatives for c in group)
