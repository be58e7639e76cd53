"""DICOM upper layer protocol (PS3.8 §9.3) and the DIMSE messages it carries (PS3.7).

The PDUs are read with a bounds-checked parser named after PS3.8 §9.3 (``A_ASSOCIATE_RQ``,
``P_DATA_TF`` …): the flow prefix may end inside any PDU, and hostile bytes must never
raise anything but :class:`DissectorError`. Command sets (group 0000, implicit VR little
endian, PS3.7 §6.3.1 and Annex E) are reassembled across PDV fragments and decoded with
pydicom; for C-STORE requests the first fragments of the data set are decoded with pydicom
in the transfer syntax negotiated for the presentation context, after a scan (PS3.5 §7.1)
has cut them at the last complete element before Pixel Data.

Patient attributes are never kept: a data set records whether group 0010 was present.
"""

from __future__ import annotations

import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from io import BytesIO
from typing import Any, ClassVar

from pydicom.config import disable_value_validation
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.filereader import read_dataset
from pydicom.multival import MultiValue

from medshield.core.enums import Direction, Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.support import FlowContext, client_context, server_context


class PduType(IntEnum):
    """PDU types (PS3.8 §9.3.1, Table 9-11 …)."""

    A_ASSOCIATE_RQ = 0x01
    A_ASSOCIATE_AC = 0x02
    A_ASSOCIATE_RJ = 0x03
    P_DATA_TF = 0x04
    A_RELEASE_RQ = 0x05
    A_RELEASE_RP = 0x06
    A_ABORT = 0x07


class ItemType(IntEnum):
    """Item and sub-item types of the association PDUs (PS3.8 §9.3.2–9.3.3, PS3.7 D.3.3)."""

    APPLICATION_CONTEXT = 0x10
    PRESENTATION_CONTEXT_RQ = 0x20
    PRESENTATION_CONTEXT_AC = 0x21
    ABSTRACT_SYNTAX = 0x30
    TRANSFER_SYNTAX = 0x40
    USER_INFORMATION = 0x50
    MAXIMUM_LENGTH = 0x51
    IMPLEMENTATION_CLASS_UID = 0x52
    ASYNCHRONOUS_OPERATIONS_WINDOW = 0x53
    SCP_SCU_ROLE_SELECTION = 0x54
    IMPLEMENTATION_VERSION_NAME = 0x55
    SOP_CLASS_EXTENDED_NEGOTIATION = 0x56
    SOP_CLASS_COMMON_EXTENDED_NEGOTIATION = 0x57
    USER_IDENTITY_RQ = 0x58
    USER_IDENTITY_AC = 0x59


PDU_TYPES = frozenset(PduType)
FIXED_LENGTH_PDUS = frozenset(
    {PduType.A_ASSOCIATE_RJ, PduType.A_RELEASE_RQ, PduType.A_RELEASE_RP, PduType.A_ABORT}
)
FIXED_PDU_LENGTH = 4
"""PDU-length of A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT (PS3.8 Tables 9-21, 9-24–9-26)."""
PDU_HEADER = struct.Struct(">BBI")
"""PDU-type, reserved, PDU-length (PS3.8 §9.3.1)."""
ITEM_HEADER = struct.Struct(">BBH")
"""Item-type, reserved, item-length (PS3.8 §9.3.2.1)."""
PDV_HEADER = struct.Struct(">IBB")
"""PDV item-length, presentation-context-ID, message control header (PS3.8 §9.3.5.1)."""
ASSOCIATE_FIXED = 68
"""Protocol-version, reserved, called AE, calling AE, 32 reserved bytes (PS3.8 §9.3.2)."""
PROTOCOL_VERSION = 0x0001

PRESENTATION_RESULTS = {
    0: "acceptance",
    1: "user-rejection",
    2: "no-reason",
    3: "abstract-syntax-not-supported",
    4: "transfer-syntaxes-not-supported",
}
"""Result/Reason of a presentation context in an A-ASSOCIATE-AC (PS3.8 Table 9-18)."""
REJECT_RESULTS = {1: "rejected-permanent", 2: "rejected-transient"}
REJECT_SOURCES = {
    1: "service-user",
    2: "service-provider-acse",
    3: "service-provider-presentation",
}
REJECT_REASONS = {
    (1, 1): "no-reason-given",
    (1, 2): "application-context-name-not-supported",
    (1, 3): "calling-AE-title-not-recognized",
    (1, 7): "called-AE-title-not-recognized",
    (2, 1): "no-reason-given",
    (2, 2): "protocol-version-not-supported",
    (3, 1): "temporary-congestion",
    (3, 2): "local-limit-exceeded",
}
"""A-ASSOCIATE-RJ Result, Source and Reason/Diag. (PS3.8 Table 9-21)."""
ABORT_SOURCES = {0: "service-user", 2: "service-provider"}
ABORT_REASONS = {
    0: "reason-not-specified",
    1: "unrecognized-PDU",
    2: "unexpected-PDU",
    4: "unrecognized-PDU-parameter",
    5: "unexpected-PDU-parameter",
    6: "invalid-PDU-parameter-value",
}
"""A-ABORT Source and Reason/Diag. (PS3.8 Table 9-26)."""
USER_IDENTITY_TYPES = {
    1: "username",
    2: "username-passcode",
    3: "kerberos",
    4: "saml",
    5: "jwt",
}
"""User-Identity-Type of the user identity negotiation sub-item (PS3.7 Table D.3-14)."""
COMMAND_NAMES = {
    0x0001: "C-STORE-RQ",
    0x8001: "C-STORE-RSP",
    0x0010: "C-GET-RQ",
    0x8010: "C-GET-RSP",
    0x0020: "C-FIND-RQ",
    0x8020: "C-FIND-RSP",
    0x0021: "C-MOVE-RQ",
    0x8021: "C-MOVE-RSP",
    0x0030: "C-ECHO-RQ",
    0x8030: "C-ECHO-RSP",
    0x0100: "N-EVENT-REPORT-RQ",
    0x8100: "N-EVENT-REPORT-RSP",
    0x0110: "N-GET-RQ",
    0x8110: "N-GET-RSP",
    0x0120: "N-SET-RQ",
    0x8120: "N-SET-RSP",
    0x0130: "N-ACTION-RQ",
    0x8130: "N-ACTION-RSP",
    0x0140: "N-CREATE-RQ",
    0x8140: "N-CREATE-RSP",
    0x0150: "N-DELETE-RQ",
    0x8150: "N-DELETE-RSP",
    0x0FFF: "C-CANCEL-RQ",
}
"""Command Field values (PS3.7 Table E.1-1 and §9.3, §10.3)."""
C_STORE_RQ = 0x0001
NO_DATA_SET = 0x0101
"""Command Data Set Type meaning no data set follows (PS3.7 Table E.1-1)."""

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"

PIXEL_DATA = 0x7FE00010
ITEM = 0xFFFEE000
ITEM_DELIMITATION = 0xFFFEE00D
SEQUENCE_DELIMITATION = 0xFFFEE0DD
UNDEFINED_LENGTH = 0xFFFFFFFF
MAX_NESTING = 16
"""Deepest sequence nesting the scanner follows; hostile data cannot recurse further."""
MAX_COMMANDS = 64
"""Command sets decoded per direction: enough to see an association's services, and a
bound on the work a long prefix of C-FIND responses can cause."""
MAX_DATA_BYTES = 64 * 1024
"""Bytes of a data set (inflated, PS3.5 §A.5) or command set kept at most: enough for the
equipment attributes, which precede Pixel Data."""
LONG_LENGTH_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
"""Explicit VRs with a reserved field and a 32-bit length (PS3.5 §7.1.2, Table 7.1-1)."""
VALID_VRS = LONG_LENGTH_VRS | frozenset(
    {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT"}
    | {b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}
)
"""Every VR of PS3.5 Table 6.2-1."""
DEVICE_TAGS = {
    0x00080005: "SpecificCharacterSet",
    0x00080016: "SOPClassUID",
    0x00080060: "Modality",
    0x00080070: "Manufacturer",
    0x00080080: "InstitutionName",
    0x00081010: "StationName",
    0x00081090: "ManufacturerModelName",
    0x00181000: "DeviceSerialNumber",
    0x00181020: "SoftwareVersions",
}
"""Attributes that name the sending equipment (PS3.3 C.7.5.1 General Equipment, C.12.1)."""
COMMAND_TAGS = {
    0x00000002: "AffectedSOPClassUID",
    0x00000003: "RequestedSOPClassUID",
    0x00000100: "CommandField",
    0x00000110: "MessageID",
    0x00000120: "MessageIDBeingRespondedTo",
    0x00000600: "MoveDestination",
    0x00000800: "CommandDataSetType",
    0x00000900: "Status",
}
"""Command elements read from a command set (PS3.7 Table E.1-1)."""
PATIENT_GROUP = 0x0010
"""Group of the Patient module attributes (PS3.3 C.7.1.1): their presence means PHI."""

PYDICOM_ERRORS = (
    BytesLengthException,
    InvalidDicomError,
    NotImplementedError,
    struct.error,
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    LookupError,
)
"""What pydicom raises on data that does not follow PS3.5; converted to DissectorError."""


@dataclass(frozen=True, slots=True)
class PresentationContext:
    """A presentation context item (PS3.8 §9.3.2.2 in a request, §9.3.3.2 in an accept)."""

    context_id: int
    abstract_syntax: str = ""
    """Proposed abstract syntax (request only)."""
    transfer_syntaxes: tuple[str, ...] = ()
    """Proposed transfer syntaxes, or the one accepted."""
    result: int | None = None
    """Result/Reason (accept only), see :data:`PRESENTATION_RESULTS`."""

    @property
    def result_name(self) -> str | None:
        """The Result/Reason in the words of PS3.8 Table 9-18."""
        if self.result is None:
            return None
        return PRESENTATION_RESULTS.get(self.result, f"unknown-{self.result}")

    @property
    def accepted(self) -> bool:
        """True when the acceptor accepted this context (result 0)."""
        return self.result == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DicomAssociationRequest(Observation):
    """An A-ASSOCIATE-RQ PDU (PS3.8 §9.3.2)."""

    kind: ClassVar[str] = "dicom.associate_rq"

    calling_ae: str
    called_ae: str
    protocol_version: int
    application_context: str = ""
    presentation_contexts: tuple[PresentationContext, ...] = ()
    max_pdu_length: int | None = None
    """Maximum length the requestor receives (PS3.8 D.1); 0 means unlimited."""
    implementation_class_uid: str = ""
    implementation_version_name: str = ""
    user_identity_type: int | None = None
    """User-Identity-Type when user identity negotiation was proposed (PS3.7 D.3.3.7)."""
    tls: bool = False
    """This dissector reads cleartext only; DICOM over TLS is reported by the TLS dissector."""
    truncated: bool = False

    @property
    def user_identity_name(self) -> str | None:
        """The user identity type in words (``username-passcode`` …)."""
        if self.user_identity_type is None:
            return None
        return USER_IDENTITY_TYPES.get(
            self.user_identity_type, f"unknown-{self.user_identity_type}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DicomAssociationAccept(Observation):
    """An A-ASSOCIATE-AC PDU (PS3.8 §9.3.3); AE titles echo the request."""

    kind: ClassVar[str] = "dicom.associate_ac"

    calling_ae: str
    called_ae: str
    protocol_version: int
    application_context: str = ""
    presentation_contexts: tuple[PresentationContext, ...] = ()
    max_pdu_length: int | None = None
    implementation_class_uid: str = ""
    implementation_version_name: str = ""
    user_identity_response: bool = False
    """The acceptor answered a user identity negotiation (PS3.7 D.3.3.7.2)."""
    truncated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DicomAssociationReject(Observation):
    """An A-ASSOCIATE-RJ PDU (PS3.8 §9.3.4)."""

    kind: ClassVar[str] = "dicom.associate_rj"

    result: int
    source: int
    reason: int

    @property
    def result_name(self) -> str:
        """Result in the words of PS3.8 Table 9-21."""
        return REJECT_RESULTS.get(self.result, f"unknown-{self.result}")

    @property
    def source_name(self) -> str:
        """Source in the words of PS3.8 Table 9-21."""
        return REJECT_SOURCES.get(self.source, f"unknown-{self.source}")

    @property
    def reason_name(self) -> str:
        """Reason/Diag. in the words of PS3.8 Table 9-21."""
        return REJECT_REASONS.get((self.source, self.reason), f"unknown-{self.reason}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DicomRelease(Observation):
    """An A-RELEASE-RQ or A-RELEASE-RP PDU (PS3.8 §9.3.6, §9.3.7)."""

    kind: ClassVar[str] = "dicom.release"

    direction: Direction
    response: bool
    """True for A-RELEASE-RP."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DicomAbort(Observation):
    """An A-ABORT PDU (PS3.8 §9.3.8)."""

    kind: ClassVar[str] = "dicom.abort"

    direction: Direction
    source: int
    reason: int

    @property
    def source_name(self) -> str:
        """Source in the words of PS3.8 Table 9-26."""
        return ABORT_SOURCES.get(self.source, f"unknown-{self.source}")

    @property
    def reason_name(self) -> str:
        """Reason/Diag. in the words of PS3.8 Table 9-26 (meaningful for provider aborts)."""
        return ABORT_REASONS.get(self.reason, f"unknown-{self.reason}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DicomCommand(Observation):
    """A DIMSE command set reassembled from P-DATA-TF fragments (PS3.7 §9.3, Annex E).

    SOP Instance UIDs are not kept: they single out one patient's images (PS3.15 E.1).
    """

    kind: ClassVar[str] = "dicom.command"

    direction: Direction
    context_id: int
    command_field: int
    command: str
    """``C-STORE-RQ``, ``C-ECHO-RSP`` … (PS3.7 Table E.1-1)."""
    message_id: int | None = None
    message_id_responded: int | None = None
    affected_sop_class_uid: str = ""
    requested_sop_class_uid: str = ""
    status: int | None = None
    """Status of a response (0x0000 success, PS3.7 Annex C)."""
    has_data_set: bool = False
    move_destination: str = ""
    """Move Destination AE title of a C-MOVE-RQ."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DicomDataset(Observation):
    """Equipment attributes read from the data set of a C-STORE-RQ (PS3.3 C.7.5.1)."""

    kind: ClassVar[str] = "dicom.dataset"

    direction: Direction
    context_id: int
    transfer_syntax: str
    sop_class_uid: str = ""
    modality: str = ""
    manufacturer: str = ""
    model_name: str = ""
    """Manufacturer's Model Name (0008,1090)."""
    software_versions: tuple[str, ...] = ()
    device_serial_number: str = ""
    station_name: str = ""
    institution_name: str = ""
    carries_phi: bool = False
    patient_attributes: tuple[str, ...] = ()
    """Keywords of the Patient attributes present (never their values)."""
    truncated: bool = False
    """Only a prefix of the data set was read."""


def observation_base(payload: FlowPayload, direction: Direction) -> FlowContext:
    """Time and endpoints for observations read from one direction of the flow."""
    if direction == Direction.CLIENT_TO_SERVER:
        return client_context(payload)
    return server_context(payload)


def probe(head: bytes) -> bool:
    """An A-ASSOCIATE-RQ: PDU type 0x01 and protocol version 0x0001 (PS3.8 §9.3.2)."""
    if len(head) < 10 or head[0] != PduType.A_ASSOCIATE_RQ:
        return False
    _, _, length = PDU_HEADER.unpack_from(head)
    return length >= ASSOCIATE_FIXED and head[6:8] == PROTOCOL_VERSION.to_bytes(2, "big")


@dataclass(slots=True)
class Pdu:
    """One PDU of a stream; ``complete`` is False when the prefix ended inside it."""

    pdu_type: int
    body: bytes
    complete: bool


def split_pdus(stream: bytes) -> Iterator[Pdu]:
    """PDUs one after the other (PS3.8 §9.3.1); an unknown type or a fixed-length PDU of
    another length is not DICOM."""
    offset = 0
    while offset + PDU_HEADER.size <= len(stream):
        pdu_type, _, length = PDU_HEADER.unpack_from(stream, offset)
        if pdu_type not in PDU_TYPES:
            raise DissectorError(f"unknown PDU type 0x{pdu_type:02x} at byte {offset}")
        if pdu_type in FIXED_LENGTH_PDUS and length != FIXED_PDU_LENGTH:
            raise DissectorError(f"PDU type 0x{pdu_type:02x} of length {length} at byte {offset}")
        start = offset + PDU_HEADER.size
        body = stream[start : start + length]
        yield Pdu(pdu_type, body, complete=len(body) == length)
        offset = start + length


@dataclass(slots=True)
class Item:
    """One item or sub-item (PS3.8 §9.3.2.1)."""

    item_type: int
    value: bytes


def split_items(data: bytes) -> tuple[list[Item], bool]:
    """Items of a variable field, and whether the last one was complete."""
    items: list[Item] = []
    offset = 0
    while offset + ITEM_HEADER.size <= len(data):
        item_type, _, length = ITEM_HEADER.unpack_from(data, offset)
        start = offset + ITEM_HEADER.size
        if start + length > len(data):
            return items, False
        items.append(Item(item_type, data[start : start + length]))
        offset = start + length
    return items, offset == len(data)


def text(value: bytes) -> str:
    """An AE title or UID: ASCII, padding spaces and NULs removed (PS3.5 §6.2, §9.1)."""
    return value.decode("ascii", errors="replace").strip(" \x00")


@dataclass(slots=True)
class UserInformation:
    """What the user information item holds (PS3.8 §9.3.2.3, PS3.7 Annex D.3.3)."""

    max_pdu_length: int | None = None
    implementation_class_uid: str = ""
    implementation_version_name: str = ""
    user_identity_type: int | None = None
    user_identity_response: bool = False


def read_user_information(value: bytes) -> UserInformation:
    """Sub-items of the user information item; unknown sub-items are skipped."""
    info = UserInformation()
    sub_items, _ = split_items(value)
    for sub in sub_items:
        if sub.item_type == ItemType.MAXIMUM_LENGTH and len(sub.value) >= 4:
            info.max_pdu_length = int.from_bytes(sub.value[:4], "big")
        elif sub.item_type == ItemType.IMPLEMENTATION_CLASS_UID:
            info.implementation_class_uid = text(sub.value)
        elif sub.item_type == ItemType.IMPLEMENTATION_VERSION_NAME:
            info.implementation_version_name = text(sub.value)
        elif sub.item_type == ItemType.USER_IDENTITY_RQ and sub.value:
            info.user_identity_type = sub.value[0]
        elif sub.item_type == ItemType.USER_IDENTITY_AC:
            info.user_identity_response = True
    return info


def read_context_rq(value: bytes) -> PresentationContext | None:
    """A presentation context item of a request (PS3.8 §9.3.2.2)."""
    if len(value) < 4:
        return None
    sub_items, _ = split_items(value[4:])
    abstract = next(
        (text(s.value) for s in sub_items if s.item_type == ItemType.ABSTRACT_SYNTAX), ""
    )
    syntaxes = tuple(text(s.value) for s in sub_items if s.item_type == ItemType.TRANSFER_SYNTAX)
    return PresentationContext(value[0], abstract_syntax=abstract, transfer_syntaxes=syntaxes)


def read_context_ac(value: bytes) -> PresentationContext | None:
    """A presentation context item of an accept (PS3.8 §9.3.3.2)."""
    if len(value) < 4:
        return None
    sub_items, _ = split_items(value[4:])
    syntaxes = tuple(text(s.value) for s in sub_items if s.item_type == ItemType.TRANSFER_SYNTAX)
    return PresentationContext(value[0], transfer_syntaxes=syntaxes[:1], result=value[2])


@dataclass(slots=True)
class AssociationItems:
    """The variable items of an A-ASSOCIATE-RQ or -AC."""

    application_context: str = ""
    contexts: list[PresentationContext] = field(default_factory=list)
    user: UserInformation = field(default_factory=UserInformation)
    complete: bool = True


def read_association_items(body: bytes, context_type: ItemType) -> AssociationItems:
    """Application context, presentation contexts and user information (PS3.8 §9.3.2)."""
    items, complete = split_items(body[ASSOCIATE_FIXED:])
    found = AssociationItems(complete=complete)
    reader = (
        read_context_rq if context_type == ItemType.PRESENTATION_CONTEXT_RQ else read_context_ac
    )
    for item in items:
        if item.item_type == ItemType.APPLICATION_CONTEXT:
            found.application_context = text(item.value)
        elif item.item_type == context_type:
            context = reader(item.value)
            if context is not None:
                found.contexts.append(context)
        elif item.item_type == ItemType.USER_INFORMATION:
            found.user = read_user_information(item.value)
    return found


def association_fields(
    pdu: Pdu, name: str, context_item: ItemType
) -> tuple[dict[str, Any], UserInformation]:
    """Fields A-ASSOCIATE-RQ and -AC share: the fixed part (PS3.8 Tables 9-11 and 9-17:
    protocol version, called and calling AE titles) and the variable items."""
    body = pdu.body
    if len(body) < ASSOCIATE_FIXED:
        raise DissectorError(f"{name} shorter than its fixed fields")
    items = read_association_items(body, context_item)
    fields: dict[str, Any] = {
        "protocol_version": int.from_bytes(body[0:2], "big"),
        "called_ae": text(body[4:20]),
        "calling_ae": text(body[20:36]),
        "application_context": items.application_context,
        "presentation_contexts": tuple(items.contexts),
        "max_pdu_length": items.user.max_pdu_length,
        "implementation_class_uid": items.user.implementation_class_uid,
        "implementation_version_name": items.user.implementation_version_name,
        "truncated": not (pdu.complete and items.complete),
    }
    return fields, items.user


def read_associate_rq(
    pdu: Pdu, payload: FlowPayload, direction: Direction
) -> DicomAssociationRequest:
    """An A-ASSOCIATE-RQ (PS3.8 §9.3.2, Table 9-11)."""
    fields, user = association_fields(pdu, "A-ASSOCIATE-RQ", ItemType.PRESENTATION_CONTEXT_RQ)
    return DicomAssociationRequest(
        **observation_base(payload, direction),
        **fields,
        user_identity_type=user.user_identity_type,
    )


def read_associate_ac(
    pdu: Pdu, payload: FlowPayload, direction: Direction
) -> DicomAssociationAccept:
    """An A-ASSOCIATE-AC (PS3.8 §9.3.3, Table 9-17)."""
    fields, user = association_fields(pdu, "A-ASSOCIATE-AC", ItemType.PRESENTATION_CONTEXT_AC)
    return DicomAssociationAccept(
        **observation_base(payload, direction),
        **fields,
        user_identity_response=user.user_identity_response,
    )


def read_associate_rj(
    pdu: Pdu, payload: FlowPayload, direction: Direction
) -> DicomAssociationReject:
    """An A-ASSOCIATE-RJ (PS3.8 §9.3.4, Table 9-21)."""
    if len(pdu.body) < 4:
        raise DissectorError("A-ASSOCIATE-RJ shorter than 4 bytes")
    return DicomAssociationReject(
        **observation_base(payload, direction),
        result=pdu.body[1],
        source=pdu.body[2],
        reason=pdu.body[3],
    )


def read_abort(pdu: Pdu, payload: FlowPayload, direction: Direction) -> DicomAbort:
    """An A-ABORT (PS3.8 §9.3.8, Table 9-26)."""
    if len(pdu.body) < 4:
        raise DissectorError("A-ABORT shorter than 4 bytes")
    return DicomAbort(
        **observation_base(payload, direction),
        direction=direction,
        source=pdu.body[2],
        reason=pdu.body[3],
    )


@dataclass(slots=True)
class Pdv:
    """One presentation data value (PS3.8 §9.3.5.1, Annex E.2 message control header)."""

    context_id: int
    is_command: bool
    is_last: bool
    fragment: bytes
    complete: bool


def split_pdvs(body: bytes) -> Iterator[Pdv]:
    """PDV items of a P-DATA-TF; the last may be cut by the end of the prefix."""
    offset = 0
    while offset + PDV_HEADER.size <= len(body):
        length, context_id, header = PDV_HEADER.unpack_from(body, offset)
        if length < 2:
            raise DissectorError(f"PDV item length {length} below 2")
        start = offset + PDV_HEADER.size
        end = offset + 4 + length
        yield Pdv(
            context_id, bool(header & 0x01), bool(header & 0x02), body[start:end], end <= len(body)
        )
        offset = end


@dataclass(slots=True)
class Negotiated:
    """Transfer syntaxes per presentation context: accepted ones, else the proposals."""

    accepted: dict[int, str] = field(default_factory=dict)
    proposed: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def transfer_syntax(self, context_id: int, data: bytes) -> str:
        """The transfer syntax of a data set on ``context_id`` (sniffed when unknown)."""
        if context_id in self.accepted:
            return self.accepted[context_id]
        proposals = self.proposed.get(context_id, ())
        if len(proposals) == 1:
            return proposals[0]
        return IMPLICIT_VR_LITTLE_ENDIAN if data[4:6] not in VALID_VRS else "1.2.840.10008.1.2.1"


def check_command_elements(data: bytes) -> None:
    """Every element of a command set lies in group 0000 and within the bytes (PS3.7 §6.3.1)."""
    offset = 0
    while offset < len(data):
        if offset + 8 > len(data):
            raise DissectorError("command set ends inside an element header")
        group, _element, length = struct.unpack_from("<HHI", data, offset)
        if group != 0x0000:
            raise DissectorError(f"command set element in group {group:04x}")
        offset += 8 + length
        if offset > len(data):
            raise DissectorError("command set element longer than the command")


def decoded_value(value: object) -> str:
    """A decoded pydicom value as text (multi-values joined by backslash, PS3.5 §6.4)."""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return "" if value is None else str(value).strip()


def optional_int(value: object) -> int | None:
    """An US/UL value as int, None when absent or not a number."""
    return value if isinstance(value, int) else None


def element_values(dataset: Dataset, wanted: dict[int, str]) -> dict[str, object]:
    """Decoded values of the ``wanted`` tags present (looked up by tag: keywords cost more)."""
    return {keyword: dataset[tag].value for tag, keyword in wanted.items() if tag in dataset}


COMMAND_VRS = {
    0x00000002: "UI",
    0x00000003: "UI",
    0x00000100: "US",
    0x00000110: "US",
    0x00000120: "US",
    0x00000600: "AE",
    0x00000800: "US",
    0x00000900: "US",
}
"""Value representation of each of :data:`COMMAND_TAGS` (PS3.7 Table E.1-1)."""
PLAIN_TEXT = re.compile(rb"[\x20-\x5b\x5d-\x7e]+")
"""A non-empty single value in printable ASCII (no backslash: no value multiplicity)."""


def plain_command_values(data: bytes) -> dict[str, object] | None:
    """The :data:`COMMAND_TAGS` of a checked command set, read directly, as pydicom would
    decode them (US as int; UI and AE as text without padding, PS3.5 §6.2), for the plain
    case: ascending tags, one US per US element, non-empty single-valued ASCII text.
    None when anything is otherwise, for pydicom to decide."""
    values: dict[str, object] = {}
    offset = 0
    previous = -1
    while offset < len(data):
        _group, tag, length = COMMAND_ELEMENT.unpack_from(data, offset)
        if tag <= previous:
            return None
        previous = tag
        start = offset + COMMAND_ELEMENT.size
        offset = start + length
        keyword = COMMAND_TAGS.get(tag)
        if keyword is None:
            continue
        vr = COMMAND_VRS[tag]
        if vr == "US":
            if length != 2:
                return None
            values[keyword] = data[start] | data[start + 1] << 8
            continue
        raw = data[start:offset]
        if vr == "UI":
            raw = raw.rstrip(b"\0 ")
        if PLAIN_TEXT.fullmatch(raw) is None:
            return None
        values[keyword] = raw.decode("ascii").strip()
    return values


COMMAND_ELEMENT = struct.Struct("<HHI")
"""Group, element and value length of an implicit VR little endian element (PS3.5 §7.1.3)."""


def command_values(data: bytes) -> dict[str, object]:
    """The :data:`COMMAND_TAGS` present in a checked command set, by keyword."""
    values = plain_command_values(data)
    if values is not None:
        return values
    try:
        with warnings.catch_warnings(), disable_value_validation():
            warnings.simplefilter("ignore")
            dataset = read_dataset(BytesIO(data), is_implicit_VR=True, is_little_endian=True)
            return element_values(dataset, COMMAND_TAGS)
    except PYDICOM_ERRORS as error:
        raise DissectorError(f"command set not decodable: {type(error).__name__}") from error


def read_command(
    data: bytes, context_id: int, direction: Direction, payload: FlowPayload
) -> DicomCommand:
    """A command set (implicit VR little endian, PS3.7 §6.3.1): read directly when plain,
    else decoded with pydicom."""
    check_command_elements(data)
    values = command_values(data)
    command_field = optional_int(values.get("CommandField"))
    if command_field is None:
        raise DissectorError("command set without Command Field (0000,0100)")
    data_set_type = optional_int(values.get("CommandDataSetType"))
    return DicomCommand(
        **observation_base(payload, direction),
        direction=direction,
        context_id=context_id,
        command_field=command_field,
        command=COMMAND_NAMES.get(command_field, f"0x{command_field:04x}"),
        message_id=optional_int(values.get("MessageID")),
        message_id_responded=optional_int(values.get("MessageIDBeingRespondedTo")),
        affected_sop_class_uid=decoded_value(values.get("AffectedSOPClassUID")),
        requested_sop_class_uid=decoded_value(values.get("RequestedSOPClassUID")),
        status=optional_int(values.get("Status")),
        has_data_set=data_set_type is not None and data_set_type != NO_DATA_SET,
        move_destination=decoded_value(values.get("MoveDestination")),
    )


@dataclass(frozen=True, slots=True)
class Encoding:
    """How a data set is encoded (PS3.5 §10 transfer syntaxes)."""

    implicit_vr: bool
    little_endian: bool

    @property
    def endian(self) -> str:
        """The struct byte-order character."""
        return "<" if self.little_endian else ">"


def encoding_of(transfer_syntax: str) -> Encoding:
    """Implicit VR LE, explicit VR BE (retired) or explicit VR LE for every other syntax."""
    if transfer_syntax == IMPLICIT_VR_LITTLE_ENDIAN:
        return Encoding(implicit_vr=True, little_endian=True)
    if transfer_syntax == EXPLICIT_VR_BIG_ENDIAN:
        return Encoding(implicit_vr=False, little_endian=False)
    return Encoding(implicit_vr=False, little_endian=True)


@dataclass(slots=True)
class ElementHeader:
    """Tag, VR (explicit only), value length and header size of a data element."""

    tag: int
    vr: bytes | None
    length: int
    size: int


def element_header(data: bytes, offset: int, encoding: Encoding) -> ElementHeader | None:
    """The element header at ``offset`` (PS3.5 §7.1.1–7.1.3), None if the bytes end first."""
    if offset + 8 > len(data):
        return None
    group, element = struct.unpack_from(encoding.endian + "HH", data, offset)
    tag = group << 16 | element
    if encoding.implicit_vr or group == 0xFFFE:
        (length,) = struct.unpack_from(encoding.endian + "I", data, offset + 4)
        return ElementHeader(tag, None, length, 8)
    vr = data[offset + 4 : offset + 6]
    if vr not in VALID_VRS:
        raise DissectorError(f"invalid VR {vr!r} in tag ({group:04X},{element:04X})")
    if vr in LONG_LENGTH_VRS:
        if offset + 12 > len(data):
            return None
        (length,) = struct.unpack_from(encoding.endian + "I", data, offset + 8)
        return ElementHeader(tag, vr, length, 12)
    (length,) = struct.unpack_from(encoding.endian + "H", data, offset + 6)
    return ElementHeader(tag, vr, length, 8)


def skip_element(data: bytes, offset: int, encoding: Encoding, depth: int) -> int | None:
    """Offset after the element at ``offset``; None when the bytes end inside it."""
    header = element_header(data, offset, encoding)
    if header is None:
        return None
    start = offset + header.size
    if header.length != UNDEFINED_LENGTH:
        end = start + header.length
        return end if end <= len(data) else None
    if depth >= MAX_NESTING:
        raise DissectorError("sequences nested deeper than the scanner follows")
    # An UN of undefined length holds a sequence in implicit VR LE (PS3.5 §6.2.2 note).
    nested = Encoding(True, True) if header.vr == b"UN" else encoding
    return skip_sequence(data, start, nested, depth + 1)


def skip_sequence(data: bytes, offset: int, encoding: Encoding, depth: int) -> int | None:
    """Offset after a sequence of undefined length (PS3.5 §7.5.1–7.5.2)."""
    while True:
        if offset + 8 > len(data):
            return None
        group, element, length = struct.unpack_from(encoding.endian + "HHI", data, offset)
        tag = group << 16 | element
        offset += 8
        if tag == SEQUENCE_DELIMITATION:
            return offset
        if tag != ITEM:
            raise DissectorError(f"unexpected tag ({group:04X},{element:04X}) in a sequence")
        if length != UNDEFINED_LENGTH:
            offset += length
            continue
        while True:
            if offset + 8 > len(data):
                return None
            item_group, item_element = struct.unpack_from(encoding.endian + "HH", data, offset)
            if (item_group << 16 | item_element) == ITEM_DELIMITATION:
                offset += 8
                break
            following = skip_element(data, offset, encoding, depth)
            if following is None:
                return None
            offset = following


@dataclass(frozen=True, slots=True)
class DatasetScan:
    """Where a data set prefix can be cut safely, and which top-level tags it holds."""

    end: int
    tags: tuple[tuple[int, int], ...]
    """(tag, value length) of every complete top-level element before Pixel Data."""
    complete: bool
    """False when the bytes ended inside an element."""


def scan_dataset(data: bytes, encoding: Encoding) -> DatasetScan:
    """Top-level elements up to Pixel Data (PS3.5 §7.1), tolerant of a cut prefix."""
    offset = 0
    tags: list[tuple[int, int]] = []
    previous = -1
    while offset < len(data):
        header = element_header(data, offset, encoding)
        if header is None or header.tag >= PIXEL_DATA or header.tag <= previous:
            return DatasetScan(offset, tuple(tags), header is not None)
        following = skip_element(data, offset, encoding, depth=0)
        if following is None:
            return DatasetScan(offset, tuple(tags), complete=False)
        tags.append((header.tag, header.length))
        previous = header.tag
        offset = following
    return DatasetScan(offset, tuple(tags), complete=True)


def inflate(data: bytes) -> bytes:
    """The start of a deflated data set (RFC 1951 raw deflate, PS3.5 §A.5)."""
    try:
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data, MAX_DATA_BYTES)
    except zlib.error as error:
        raise DissectorError(f"deflated data set not inflatable: {error}") from error


def patient_keywords(scan: DatasetScan) -> tuple[str, ...]:
    """Keywords of non-empty Patient module attributes present (values are never read)."""
    found = [
        keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
        for tag, length in scan.tags
        if tag >> 16 == PATIENT_GROUP and length > 0
    ]
    return tuple(found)


def read_device_attributes(data: bytes, encoding: Encoding, end: int) -> dict[str, str]:
    """The :data:`DEVICE_TAGS` of a cut data set, decoded with pydicom."""
    try:
        with warnings.catch_warnings(), disable_value_validation():
            warnings.simplefilter("ignore")
            dataset = read_dataset(
                BytesIO(data[:end]),
                is_implicit_VR=encoding.implicit_vr,
                is_little_endian=encoding.little_endian,
                specific_tags=list(DEVICE_TAGS),
            )
            values = element_values(dataset, DEVICE_TAGS)
            return {keyword: decoded_value(values.get(keyword)) for keyword in DEVICE_TAGS.values()}
    except PYDICOM_ERRORS as error:
        raise DissectorError(f"data set not decodable: {type(error).__name__}") from error


def read_dataset_prefix(
    data: bytes,
    *,
    context_id: int,
    transfer_syntax: str,
    last_seen: bool,
    direction: Direction,
    payload: FlowPayload,
) -> DicomDataset:
    """Equipment attributes of the first fragments of a C-STORE data set."""
    if transfer_syntax == DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN:
        data = inflate(data)
    encoding = encoding_of(transfer_syntax)
    scan = scan_dataset(data, encoding)
    values = read_device_attributes(data, encoding, scan.end)
    patients = patient_keywords(scan)
    return DicomDataset(
        **observation_base(payload, direction),
        direction=direction,
        context_id=context_id,
        transfer_syntax=transfer_syntax,
        sop_class_uid=values["SOPClassUID"],
        modality=values["Modality"],
        manufacturer=values["Manufacturer"],
        model_name=values["ManufacturerModelName"],
        software_versions=tuple(v for v in values["SoftwareVersions"].split("\\") if v),
        device_serial_number=values["DeviceSerialNumber"],
        station_name=values["StationName"],
        institution_name=values["InstitutionName"],
        carries_phi=bool(patients),
        patient_attributes=patients,
        truncated=not (last_seen and scan.complete),
    )


@dataclass(slots=True)
class DimseReader:
    """Reassembles command sets and C-STORE data sets of one direction (PS3.8 Annex E.2)."""

    payload: FlowPayload
    direction: Direction
    negotiated: Negotiated
    commands: dict[int, bytearray] = field(default_factory=dict)
    store_data: dict[int, bytearray] = field(default_factory=dict)
    observations: list[Observation] = field(default_factory=list)
    decoded: int = 0

    def feed(self, pdv: Pdv) -> None:
        """Take one PDV: finish a command set, or collect data set bytes of a C-STORE."""
        if pdv.is_command:
            buffer = self.commands.setdefault(pdv.context_id, bytearray())
            buffer += pdv.fragment[: MAX_DATA_BYTES - len(buffer)]
            if pdv.is_last and pdv.complete:
                del self.commands[pdv.context_id]
                self.command_done(bytes(buffer), pdv.context_id)
        elif pdv.context_id in self.store_data:
            collected = self.store_data[pdv.context_id]
            collected += pdv.fragment[: MAX_DATA_BYTES - len(collected)]
            if pdv.is_last and pdv.complete:
                self.data_done(pdv.context_id, last_seen=True)

    def command_done(self, data: bytes, context_id: int) -> None:
        """Decode a complete command set; await the data set of a C-STORE-RQ."""
        if self.decoded >= MAX_COMMANDS:
            return
        self.decoded += 1
        command = read_command(data, context_id, self.direction, self.payload)
        self.observations.append(command)
        if command.command_field == C_STORE_RQ and command.has_data_set:
            self.store_data[context_id] = bytearray()

    def data_done(self, context_id: int, *, last_seen: bool) -> None:
        """Decode what was collected of a C-STORE data set."""
        data = bytes(self.store_data.pop(context_id))
        if not data:
            return
        self.observations.append(
            read_dataset_prefix(
                data,
                context_id=context_id,
                transfer_syntax=self.negotiated.transfer_syntax(context_id, data),
                last_seen=last_seen,
                direction=self.direction,
                payload=self.payload,
            )
        )

    def finish(self) -> None:
        """At the end of the prefix, decode data sets whose last fragment was not seen."""
        for context_id in list(self.store_data):
            self.data_done(context_id, last_seen=False)


def read_direction(
    stream: bytes, direction: Direction, payload: FlowPayload, negotiated: Negotiated
) -> list[Observation]:
    """Observations of one direction; a malformed PDU ends it (raises if it is the first)."""
    dimse = DimseReader(payload, direction, negotiated)
    observations: list[Observation] = []
    try:
        for pdu in split_pdus(stream):
            observations += read_pdu(pdu, direction, payload, negotiated, dimse)
            observations += dimse.observations
            dimse.observations.clear()
        dimse.finish()
    except DissectorError:
        if not observations and not dimse.observations:
            raise
    return observations + dimse.observations


def read_pdu(
    pdu: Pdu, direction: Direction, payload: FlowPayload, negotiated: Negotiated, dimse: DimseReader
) -> list[Observation]:
    """The observation a PDU makes, or none (P-DATA-TF feeds the DIMSE reader)."""
    if pdu.pdu_type == PduType.A_ASSOCIATE_RQ:
        request = read_associate_rq(pdu, payload, direction)
        for context in request.presentation_contexts:
            negotiated.proposed[context.context_id] = context.transfer_syntaxes
        return [request]
    if pdu.pdu_type == PduType.A_ASSOCIATE_AC:
        accept = read_associate_ac(pdu, payload, direction)
        for context in accept.presentation_contexts:
            if context.accepted and context.transfer_syntaxes:
                negotiated.accepted[context.context_id] = context.transfer_syntaxes[0]
        return [accept]
    if pdu.pdu_type == PduType.A_ASSOCIATE_RJ:
        return [read_associate_rj(pdu, payload, direction)]
    if pdu.pdu_type == PduType.P_DATA_TF:
        for pdv in split_pdvs(pdu.body):
            dimse.feed(pdv)
        return []
    if pdu.pdu_type in (PduType.A_RELEASE_RQ, PduType.A_RELEASE_RP):
        response = pdu.pdu_type == PduType.A_RELEASE_RP
        base = observation_base(payload, direction)
        return [DicomRelease(**base, direction=direction, response=response)]
    return [read_abort(pdu, payload, direction)]


def dissect(payload: FlowPayload) -> list[Observation]:
    """DICOM upper layer PDUs of both directions of a TCP flow (PS3.8 §9.3).

    The acceptor's direction is read first so that data sets are decoded in the transfer
    syntax it accepted; observations are returned requestor first.
    """
    negotiated = Negotiated()
    results: dict[Direction, list[Observation]] = {}
    errors: list[str] = []
    streams = (
        (Direction.SERVER_TO_CLIENT, payload.server_bytes),
        (Direction.CLIENT_TO_SERVER, payload.client_bytes),
    )
    for direction, stream in streams:
        if not stream:
            continue
        try:
            results[direction] = read_direction(stream, direction, payload, negotiated)
        except DissectorError as error:
            errors.append(f"{direction.name.lower()}: {error}")
    observations = results.get(Direction.CLIENT_TO_SERVER, []) + results.get(
        Direction.SERVER_TO_CLIENT, []
    )
    if not observations and (payload.client_bytes or payload.server_bytes):
        reason = "; ".join(errors) or "no DICOM PDU"
        raise DissectorError(f"dicom flow {payload.flow.flow_id}: {reason}")
    return observations


SIGNATURE = Signature(transport=Transport.TCP, ports=frozenset({104, 11112, 4242}), probe=probe)
"""IANA's ``acr-nema`` 104 and ``dicom`` 11112 (PS3.8 Annex G), and 4242, Orthanc's default."""

DISSECTOR = FunctionDissector(name="dicom", signature=SIGNATURE, function=dissect)
