"""Patient data sent in cleartext: HL7 v2 with PHI segments over plain MLLP, DICOM C-STORE
with the patient module outside TLS, and HTTP requests carrying clinical payload types.

The finding is on the *sending* device: it is the one to configure for TLS (or to place
behind an encrypting tunnel); receivers and acknowledgements carry no patient data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from medshield.core.enums import Direction, FindingKind, Practice, Severity
from medshield.core.finding import Finding
from medshield.posture.base import CheckBase, PostureContext, first_per_key
from medshield.protocols.dicom import DicomDataset
from medshield.protocols.hl7 import Hl7Message
from medshield.protocols.http import HttpRequest

CLINICAL_CONTENT_TYPES = (
    "application/hl7-v2",
    "x-application/hl7-v2",
    "application/dicom",
    "application/fhir+json",
    "application/fhir+xml",
    "application/json+fhir",
)
"""Media types of HL7 v2 (RFC 6838 registrations), DICOM (PS3.18) and FHIR payloads."""


class CleartextPhi(CheckBase):
    """PHI visible to anyone on the path."""

    name = "cleartext-phi"
    kind = FindingKind.CLEARTEXT_PHI
    title = "Patient data sent without encryption"
    severity = Severity.HIGH
    remediation = (
        "Enable TLS on the interface (HL7 over MLLP/TLS, DICOM TLS on port 2762, HTTPS), "
        "or carry it through an encrypted tunnel; restrict the segment to the peers that "
        "need it until then."
    )
    practice = Practice.ENCRYPT_IN_TRANSIT

    def run(self, context: PostureContext) -> Iterable[Finding]:
        """HL7, DICOM and HTTP evidence, one finding per sender and peer."""
        return first_per_key([*self._hl7(context), *self._dicom(context), *self._http(context)])

    def _hl7(self, context: PostureContext) -> Iterator[Finding]:
        for msg in context.of(Hl7Message):
            if not msg.carries_phi:
                continue
            from_client = msg.direction == Direction.CLIENT_TO_SERVER
            sender, receiver = (msg.client, msg.server) if from_client else (msg.server, msg.client)
            peer = f"{receiver.ip}:{receiver.port}" if receiver else "unknown peer"
            segments = ", ".join(msg.phi_segments) or "patient segments"
            yield self.finding(
                context.name(sender),
                f"HL7 {msg.message_type} with {segments} sent to {peer} over plain "
                f"{'MLLP' if msg.framing == 'mllp' else 'TCP'} (no TLS)",
                f"hl7:{peer}",
                msg.ts,
            )

    def _dicom(self, context: PostureContext) -> Iterator[Finding]:
        for ds in context.of(DicomDataset):
            if not ds.carries_phi:
                continue
            sender, receiver = (
                (ds.client, ds.server)
                if ds.direction == Direction.CLIENT_TO_SERVER
                else (ds.server, ds.client)
            )
            peer = f"{receiver.ip}:{receiver.port}" if receiver else "unknown peer"
            yield self.finding(
                context.name(sender),
                f"DICOM C-STORE of a {ds.modality or 'DICOM'} object with patient attributes "
                f"({', '.join(ds.patient_attributes) or 'patient module'}) to {peer} "
                "without TLS",
                f"dicom:{peer}",
                ds.ts,
            )

    def _http(self, context: PostureContext) -> Iterator[Finding]:
        for rq in context.of(HttpRequest):
            content = (rq.content_type or "").lower()
            if not content.startswith(CLINICAL_CONTENT_TYPES):
                continue
            peer = f"{rq.server.ip}:{rq.server.port}" if rq.server else "unknown peer"
            yield self.finding(
                context.name(rq.client),
                f"HTTP {rq.method} of {content} to {peer} without TLS",
                f"http:{peer}",
                rq.ts,
            )


CHECK = CleartextPhi()
