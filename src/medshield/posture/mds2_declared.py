"""MDS2 declared versus observed: where a manufacturer's disclosure says one thing about a
model and the traffic of a device of that model shows another.

An MDS2 form (ANSI/NEMA HN 1-2019) declares security capabilities per model. Two
declarations can be checked against what MedShield sees on the wire:

- **Transmission confidentiality** (TXCF-2 "Is personally identifiable information encrypted
  prior to transmission via a network…?" answered Yes): contradicted by a ``cleartext-phi``
  finding (patient data seen in clear) or a ``cleartext-credentials`` finding (a login seen in
  clear). The new finding keeps the kind of what was seen, since that is the exposure; its
  evidence adds that the manufacturer declared otherwise.
- **No usable default accounts** (SAHD-6 "Are any system or user accounts restricted or
  disabled by the manufacturer at system delivery?" or PAUT-1 "…unique IDs and passwords for
  all users and roles (including service accounts)?" answered Yes, or an answer whose text or
  note says the device has no default accounts): contradicted by a ``default-credentials``
  finding. The new finding is ``weak-authentication``: the declared account control is not in
  effect on this device, which is a weakness of its authentication beyond the one password.

A form applies to the devices whose vendor names the same (or a related) company
(``vendors.yaml``) and whose model has the same informative tokens as the form's model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from medshield.core.device import Device
from medshield.core.enums import FindingKind
from medshield.core.finding import Finding
from medshield.vulns.model import Mds2Form
from medshield.vulns.names import informative, tokens
from medshield.vulns.vendors import VendorTable, load_vendor_table

DETAIL_PREFIX = "mds2:"
"""Detail keys of the findings this module makes (never themselves evidence of traffic)."""
_NO_DEFAULT_ACCOUNTS = re.compile(r"\bno (?:default|factory|vendor) (?:user )?accounts?\b", re.I)


@dataclass(frozen=True, slots=True)
class Claim:
    """A declaration of an MDS2 form that traffic can contradict."""

    capabilities: tuple[str, ...]
    """Declared capabilities (``mds2_hn1_2019.yaml`` names) any of which makes the claim."""
    says: str
    contradicted_by: tuple[tuple[FindingKind, FindingKind], ...]
    """(kind of the observed finding, kind of the finding reporting the contradiction)."""
    text_pattern: re.Pattern[str] | None = None
    """Answer text or note that also makes the claim (e.g. "N/A: no default accounts")."""
    remediation: str = ""


CLAIMS: tuple[Claim, ...] = (
    Claim(
        capabilities=("encrypts_transmissions",),
        says="personal data is encrypted before transmission",
        contradicted_by=(
            (FindingKind.CLEARTEXT_PHI, FindingKind.CLEARTEXT_PHI),
            (FindingKind.CLEARTEXT_CREDENTIALS, FindingKind.CLEARTEXT_CREDENTIALS),
        ),
        remediation=(
            "Enable the encryption the manufacturer documents for this model (it may be off by "
            "default; see MDS2 TXCF-2.1), and report the discrepancy to the manufacturer; until "
            "then restrict the device's segment to the peers that need it."
        ),
    ),
    Claim(
        capabilities=("accounts_restricted_at_delivery", "unique_user_accounts"),
        says="no default account is usable (accounts restricted at delivery, unique passwords)",
        contradicted_by=((FindingKind.DEFAULT_CREDENTIALS, FindingKind.WEAK_AUTHENTICATION),),
        text_pattern=_NO_DEFAULT_ACCOUNTS,
        remediation=(
            "Change or disable the default account on this device as the manufacturer's "
            "security guide describes, check the rest of the fleet of this model, and report "
            "the discrepancy to the manufacturer."
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class _Declaration:
    form: Mds2Form
    claim: Claim
    question: str
    """The question id (or ids) that makes the claim."""


def declared_vs_observed(
    forms: Iterable[Mds2Form],
    devices: Iterable[Device],
    findings: Sequence[Finding],
    vendors: VendorTable | None = None,
) -> list[Finding]:
    """Findings where a device's traffic contradicts its model's MDS2 form."""
    vendors = vendors or load_vendor_table()
    declarations = [d for form in forms for d in _declarations(form)]
    if not declarations:
        return []
    by_device: dict[str, list[Finding]] = {}
    for finding in findings:
        if not finding.detail_key.startswith(DETAIL_PREFIX):
            by_device.setdefault(finding.device, []).append(finding)
    found: dict[str, Finding] = {}
    for device in devices:
        observed = by_device.get(device.id)
        if not observed:
            continue
        for declaration in declarations:
            if not _describes(declaration.form, device, vendors):
                continue
            for finding in _contradictions(declaration, device, observed):
                found.setdefault(finding.id, finding)
    return sorted(found.values(), key=lambda f: (f.severity.rank, f.device, f.detail_key))


def _declarations(form: Mds2Form) -> list[_Declaration]:
    made = []
    for claim in CLAIMS:
        questions = [
            c.question_id for c in form.capabilities if c.name in claim.capabilities and c.value
        ]
        if claim.text_pattern is not None:
            questions += [
                a.question_id
                for a in form.answers
                if claim.text_pattern.search(a.text) or claim.text_pattern.search(a.note)
            ]
        if questions:
            made.append(_Declaration(form, claim, ", ".join(dict.fromkeys(questions))))
    return made


def _contradictions(
    declaration: _Declaration, device: Device, observed: list[Finding]
) -> Iterable[Finding]:
    claim, form = declaration.claim, declaration.form
    document = form.document_id or Path(form.source).name
    for seen_kind, reported_kind in claim.contradicted_by:
        for finding in observed:
            if finding.kind is not seen_kind:
                continue
            yield Finding(
                kind=reported_kind,
                severity=finding.severity,
                device=device.id,
                title=f"MDS2 declaration contradicted by traffic ({seen_kind.value})",
                evidence=(
                    f"MDS2 declares {claim.says} ({declaration.question}; {form.manufacturer} "
                    f"{form.model}{' ' + form.version if form.version else ''}, {document}) "
                    f"but traffic shows {seen_kind.value}: {finding.evidence}"
                ),
                remediation=claim.remediation,
                practice=finding.practice,
                detail_key=(
                    f"{DETAIL_PREFIX}{declaration.question}:{seen_kind.value}:{finding.detail_key}"
                ),
                first_seen=finding.first_seen,
            )


def _describes(form: Mds2Form, device: Device, vendors: VendorTable) -> bool:
    """The form's manufacturer and model are the device's vendor and model."""
    vendor, model = device.maker(), device.best("model")
    if not vendor or not model or not form.model:
        return False
    form_vendors = vendors.canonical(form.manufacturer)
    if not same_vendor(form_vendors, vendor, vendors):
        return False
    return same_model(form.model, model, form_vendors, vendors)


def same_vendor(vendor_ids: frozenset[str], name: str, vendors: VendorTable) -> bool:
    """``name`` is one of ``vendor_ids`` or a related company (Siemens and Siemens
    Healthineers: DICOM headers say the one, disclosures the other)."""
    related = {r for v in vendor_ids for r in vendors.related(v)}
    return bool(vendors.canonical(name) & (vendor_ids | related))


def same_model(first: str, second: str, vendor_ids: frozenset[str], vendors: VendorTable) -> bool:
    """Two model names with the same informative tokens, the vendor's own words aside."""
    own = frozenset().union(*(vendors.words(v) for v in vendor_ids))
    left, right = informative(tokens(first)), informative(tokens(second))
    return bool(left) and (left - own or left) == (right - own or right)
