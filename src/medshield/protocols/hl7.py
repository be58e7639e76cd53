"""HL7 version 2 messages, framed by MLLP or sent as bare ``MSH`` streams.

Message construction follows HL7 v2.5 chapter 2: segments end with a carriage return
(§2.5.1; ``\\r\\n`` and ``\\n`` are accepted because real interfaces send them), the field
separator is the fourth character of the MSH segment (MSH-1) and the component, repetition,
escape and subcomponent separators are the characters of MSH-2 (§2.5.4, §2.14.9.2). Nothing
assumes ``|^~\\&``. Framing follows the HL7 v2 Transport Specification MLLP release 2: a
block is ``0x0B`` + message + ``0x1C 0x0D``; commit acknowledgements (``0x06``/``0x15`` alone
in a block) are skipped.

PHI never leaves this module: a message records *which* segments carry patient data, never
their contents. Identifiers kept are those of applications, facilities and equipment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

from medshield.core.enums import Direction, Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.support import FlowContext, client_context, server_context

START_BLOCK = 0x0B
"""MLLP start block character <SB> (MLLP release 2 §1.2)."""
END_BLOCK = 0x1C
"""MLLP end block character <EB>, followed by a carriage return."""
COMMIT_ACKS = frozenset({b"\x06", b"\x15"})
"""MLLP release 2 commit acknowledgement blocks (ACK / NAK)."""
HEADER_SEGMENTS = (b"MSH", b"FHS", b"BHS")
"""Segments that may open an HL7 v2 stream: message, file and batch headers (§2.10.3)."""

PHI_SEGMENTS = frozenset({"PID", "PD1", "NK1", "GT1", "IN1", "IN2", "IN3", "MRG", "ACC", "DB1"})
"""Segments whose presence means patient-identifying data (HL7 v2.5 ch. 3, 6)."""
PV1_IDENTIFIER_FIELDS = (19, 50)
"""PV1-19 visit number and PV1-50 alternate visit ID identify a patient's encounter."""
EQUIPMENT_FIELDS: dict[str, tuple[int, ...]] = {"OBX": (18,), "PRT": (10, 16), "EQU": (1,)}
"""Fields of data type EI naming a device: OBX-18 equipment instance identifier (§7.4.2.18),
PRT-10 participation device and PRT-16 UDI device identifier (v2.8+ §7.4.x), EQU-1
equipment instance identifier (§13.4.1.1)."""
ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})
"""MSA-1 acknowledgment codes (HL7 table 0008, §2.15.8.1)."""

Framing = Literal["mllp", "none"]

_SEGMENT_BREAK = re.compile(r"\r\n|\r|\n")
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}\Z")


@dataclass(frozen=True, slots=True)
class HierarchicDesignator:
    """An HD value (HL7 v2.5 §2.A.36): namespace ID ^ universal ID ^ universal ID type."""

    namespace_id: str = ""
    universal_id: str = ""
    universal_id_type: str = ""

    def __str__(self) -> str:
        parts = [self.namespace_id, self.universal_id, self.universal_id_type]
        while parts and not parts[-1]:
            parts.pop()
        return "^".join(parts)

    def __bool__(self) -> bool:
        return bool(self.namespace_id or self.universal_id or self.universal_id_type)


@dataclass(frozen=True, slots=True)
class EquipmentIdentifier:
    """An EI value (HL7 v2.5 §2.A.28) naming a device, with the field it came from."""

    source: str
    """Field reference such as ``OBX-18``, ``PRT-10``, ``PRT-16`` or ``EQU-1``."""
    entity_identifier: str
    namespace_id: str = ""
    universal_id: str = ""
    universal_id_type: str = ""


@dataclass(frozen=True, slots=True)
class SoftwareSegment:
    """An SFT segment (HL7 v2.5 §2.15.12): the software that built or relayed the message."""

    vendor: str
    """SFT-1 Software Vendor Organization (XON, first component)."""
    version: str
    """SFT-2 Software Certified Version or Release Number."""
    product: str
    """SFT-3 Software Product Name."""
    binary_id: str = ""
    """SFT-4 Software Binary ID."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hl7Message(Observation):
    """One HL7 v2 message header and what the rest of the message reveals, without PHI."""

    kind: ClassVar[str] = "hl7.message"

    direction: Direction
    framing: Framing
    field_separator: str
    """MSH-1."""
    encoding_characters: str
    """MSH-2: component, repetition, escape and subcomponent separators (in that order)."""
    sending_application: HierarchicDesignator
    """MSH-3."""
    sending_facility: HierarchicDesignator
    """MSH-4."""
    receiving_application: HierarchicDesignator
    """MSH-5."""
    receiving_facility: HierarchicDesignator
    """MSH-6."""
    message_time: str
    """MSH-7, first component, as sent (HL7 TS/DTM)."""
    message_type: str
    """MSH-9 code and trigger joined with ``^`` whatever the component separator (``ORU^R01``)."""
    message_code: str
    trigger_event: str
    message_structure: str
    control_id: str
    """MSH-10."""
    processing_id: str
    """MSH-11 (``P`` production, ``T`` training, ``D`` debugging)."""
    version: str
    """MSH-12 version ID."""
    character_set: str = ""
    """MSH-18, first repetition."""
    segment_ids: tuple[str, ...] = ()
    """Distinct segment IDs in order of first appearance."""
    segment_count: int = 0
    carries_phi: bool = False
    phi_segments: tuple[str, ...] = ()
    """Segments that made ``carries_phi`` true (IDs only, never contents)."""
    equipment: tuple[EquipmentIdentifier, ...] = ()
    software: tuple[SoftwareSegment, ...] = ()
    """SFT segments: vendor, version and product of the sending software."""
    acknowledgment_code: str | None = None
    """MSA-1 for acknowledgements (AA/AE/AR/CA/CE/CR), None otherwise."""
    acknowledged_control_id: str | None = None
    """MSA-2: the MSH-10 of the message being acknowledged."""
    truncated: bool = False
    """The message was cut by the end of the captured prefix; its last segment was dropped."""


@dataclass(slots=True)
class Delimiters:
    """The separators declared by MSH-1 and MSH-2 (HL7 v2.5 §2.5.4)."""

    field: str
    component: str | None
    repetition: str | None
    escape: str | None
    subcomponent: str | None

    @property
    def encoding_characters(self) -> str:
        """MSH-2 as declared."""
        chars = (self.component, self.repetition, self.escape, self.subcomponent)
        return "".join(c for c in chars if c)


@dataclass(slots=True)
class RawMessage:
    """One message's bytes out of a stream, with how it was framed."""

    data: bytes
    framing: Framing
    truncated: bool


def probe(head: bytes) -> bool:
    """MLLP start block then a header segment, or a bare header segment (MLLP r2 §1.2)."""
    start = head[1:] if head[:1] == bytes([START_BLOCK]) else head
    if len(start) < 4 or start[:3] not in HEADER_SEGMENTS:
        return False
    separator = start[3:4]
    return not separator.isalnum() and separator not in b"\r\n \x00"


def split_stream(stream: bytes, stream_truncated: bool = False) -> Iterator[RawMessage]:
    """Messages of one direction: MLLP blocks, or MSH-delimited runs of bare segments."""
    block = stream.find(START_BLOCK)
    header = stream.find(b"MSH")
    # A capture may start mid-message: a start block before the first header means MLLP.
    if block >= 0 and (header < 0 or block < header):
        yield from _mllp_blocks(stream)
    else:
        yield from _bare_messages(stream, stream_truncated)


def _mllp_blocks(stream: bytes) -> Iterator[RawMessage]:
    """Blocks ``<SB> data <EB><CR>`` (MLLP r2 §1.2); bytes between blocks are ignored."""
    position = stream.find(START_BLOCK)
    while position >= 0:
        end = stream.find(END_BLOCK, position + 1)
        if end < 0:
            data = stream[position + 1 :]
            if data:
                yield RawMessage(data, "mllp", truncated=True)
            return
        data = stream[position + 1 : end]
        if data and data not in COMMIT_ACKS:
            yield RawMessage(data, "mllp", truncated=False)
        position = stream.find(START_BLOCK, end + 1)


def _bare_messages(stream: bytes, stream_truncated: bool) -> Iterator[RawMessage]:
    """Unframed messages: each starts at a segment beginning with ``MSH`` (HL7 v2.5 §2.5)."""
    starts = [m.start(1) for m in re.finditer(rb"(?:^|[\r\n])(MSH)", stream)]
    for index, start in enumerate(starts):
        last = index == len(starts) - 1
        end = len(stream) if last else starts[index + 1]
        data = stream[start:end]
        cut = last and (stream_truncated or not data.endswith((b"\r", b"\n")))
        yield RawMessage(data, "none", truncated=cut)


def decode_text(data: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else ISO 8859-1 (HL7's default, §2.14.9.18)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def delimiters_of(header: str) -> Delimiters:
    """Separators from an MSH segment's MSH-1 and MSH-2 (§2.14.9.1, §2.14.9.2)."""
    if len(header) < 4 or not header.startswith("MSH"):
        raise DissectorError("message does not start with an MSH segment")
    field = header[3]
    if field.isalnum() or field in "\r\n \x00":
        raise DissectorError(f"invalid field separator {field!r} in MSH-1")
    end = header.find(field, 4)
    declared = header[4:] if end < 0 else header[4:end]
    chars: list[str | None] = list(declared[:4])
    if len(set(chars)) != len(chars) or any(c is not None and c.isalnum() for c in chars):
        raise DissectorError("invalid encoding characters in MSH-2")
    chars += [None] * (4 - len(chars))
    return Delimiters(field, chars[0], chars[1], chars[2], chars[3])


@dataclass(slots=True)
class Segment:
    """One segment split into fields; ``field(n)`` follows HL7 numbering (MSH-1 is the sep.)."""

    segment_id: str
    fields: tuple[str, ...]
    delimiters: Delimiters

    def field(self, number: int) -> str:
        """Field ``number`` as sent (escapes kept), empty when absent."""
        index = number - 1 if self.segment_id == "MSH" else number
        if self.segment_id == "MSH" and number == 1:
            return self.delimiters.field
        return self.fields[index] if 0 <= index < len(self.fields) else ""

    def repetitions(self, number: int) -> list[str]:
        """Repetitions of field ``number`` (only the first for MSH-2, which holds the seps)."""
        value = self.field(number)
        repetition = self.delimiters.repetition
        if self.segment_id == "MSH" and number == 2:
            return [value]
        return value.split(repetition) if repetition else [value]

    def components(self, value: str) -> list[str]:
        """Components of one repetition, unescaped; subcomponents keep only their first."""
        delimiters = self.delimiters
        component, sub, escape = delimiters.component, delimiters.subcomponent, delimiters.escape
        if (
            (not component or component not in value)
            and (not sub or sub not in value)
            and (not escape or escape not in value)
        ):
            return [value]  # most fields: one component, nothing to split or unescape
        parts = value.split(component) if component else [value]
        return [unescape(p.split(sub)[0] if sub else p, delimiters) for p in parts]


def parse_segment(line: str, delimiters: Delimiters) -> Segment | None:
    """A segment, or None for a line whose first field is not a segment ID (§2.5.2)."""
    fields = tuple(line.split(delimiters.field))
    segment_id = fields[0]
    if not _SEGMENT_ID.match(segment_id):
        return None
    return Segment(segment_id, fields, delimiters)


def unescape(value: str, delimiters: Delimiters) -> str:
    """Replace the escape sequences for delimiters (HL7 v2.5 §2.7.1); others stay as sent."""
    escape = delimiters.escape
    if not escape or escape not in value:
        return value
    table = {
        "F": delimiters.field,
        "S": delimiters.component or "",
        "T": delimiters.subcomponent or "",
        "R": delimiters.repetition or "",
        "E": escape,
    }
    pattern = re.escape(escape) + "([FSTRE])" + re.escape(escape)
    return re.sub(pattern, lambda m: table[m.group(1)], value)


def padded(parts: list[str], count: int) -> list[str]:
    """``parts`` extended with empty strings to at least ``count`` items (absent components)."""
    return parts + [""] * (count - len(parts))


def hierarchic_designator(segment: Segment, number: int) -> HierarchicDesignator:
    """Field ``number`` read as HD (namespace ^ universal ID ^ type), first repetition."""
    parts = padded(segment.components(segment.repetitions(number)[0]), 3)
    return HierarchicDesignator(parts[0], parts[1], parts[2])


def equipment_identifiers(segment: Segment) -> list[EquipmentIdentifier]:
    """Every non-empty EI repetition in the segment's equipment fields."""
    found: list[EquipmentIdentifier] = []
    for number in EQUIPMENT_FIELDS.get(segment.segment_id, ()):
        for repetition in segment.repetitions(number):
            parts = padded(segment.components(repetition), 4)
            if any(parts[:4]):
                source = f"{segment.segment_id}-{number}"
                found.append(EquipmentIdentifier(source, parts[0], parts[1], parts[2], parts[3]))
    return found


def software_segment(segment: Segment) -> SoftwareSegment | None:
    """SFT-1 to SFT-4 (HL7 v2.5 §2.15.12), or None when neither product nor version is set."""
    vendor = segment.components(segment.field(1))[0]
    version = segment.components(segment.field(2))[0]
    product = segment.components(segment.field(3))[0]
    binary_id = segment.components(segment.field(4))[0]
    if not (product or version):
        return None
    return SoftwareSegment(vendor, version, product, binary_id)


def is_phi_segment(segment: Segment) -> bool:
    """True for patient segments, and for PV1 when it carries encounter identifiers."""
    if segment.segment_id in PHI_SEGMENTS:
        return True
    if segment.segment_id == "PV1":
        return any(segment.field(n).strip() for n in PV1_IDENTIFIER_FIELDS)
    return False


@dataclass(frozen=True, slots=True)
class Origin:
    """Where observations of one direction come from (flow, endpoints, time)."""

    payload: FlowPayload
    direction: Direction

    def base(self) -> FlowContext:
        """The :class:`Observation` fields for this direction (stamped with its first byte)."""
        if self.direction == Direction.CLIENT_TO_SERVER:
            return client_context(self.payload)
        return server_context(self.payload)


def parse_message(raw: RawMessage, origin: Origin) -> Hl7Message | None:
    """One message (HL7 v2.5 §2.5–2.6, §2.14.9 MSH, §2.15.8 MSA); None if it has no MSH."""
    lines = [line for line in _SEGMENT_BREAK.split(decode_text(raw.data)) if line]
    if raw.truncated and lines and not raw.data.endswith((b"\r", b"\n")):
        lines.pop()
    if not lines or not lines[0].startswith("MSH"):
        return None
    delimiters = delimiters_of(lines[0])
    segments = [s for s in (parse_segment(line, delimiters) for line in lines) if s is not None]
    if not segments or segments[0].segment_id != "MSH":
        return None
    return _message(segments, raw, origin)


def _message(segments: list[Segment], raw: RawMessage, origin: Origin) -> Hl7Message:
    msh = segments[0]
    delimiters = msh.delimiters
    message_type = padded(msh.components(msh.field(9)), 3)
    code, trigger, structure = message_type[0], message_type[1], message_type[2]
    ids = tuple(dict.fromkeys(s.segment_id for s in segments))
    phi = tuple(dict.fromkeys(s.segment_id for s in segments if is_phi_segment(s)))
    equipment = tuple(e for s in segments for e in equipment_identifiers(s))
    software = tuple(
        found
        for s in segments
        if s.segment_id == "SFT" and (found := software_segment(s)) is not None
    )
    msa = next((s for s in segments if s.segment_id == "MSA"), None)
    ack_code = msa.components(msa.field(1))[0].upper() if msa is not None else None
    return Hl7Message(
        **origin.base(),
        direction=origin.direction,
        framing=raw.framing,
        field_separator=delimiters.field,
        encoding_characters=delimiters.encoding_characters,
        sending_application=hierarchic_designator(msh, 3),
        sending_facility=hierarchic_designator(msh, 4),
        receiving_application=hierarchic_designator(msh, 5),
        receiving_facility=hierarchic_designator(msh, 6),
        message_time=msh.components(msh.field(7))[0],
        message_type=f"{code}^{trigger}" if trigger else code,
        message_code=code,
        trigger_event=trigger,
        message_structure=structure,
        control_id=msh.components(msh.field(10))[0],
        processing_id=msh.components(msh.field(11))[0],
        version=msh.components(msh.field(12))[0],
        character_set=msh.components(msh.repetitions(18)[0])[0],
        segment_ids=ids,
        segment_count=len(segments),
        carries_phi=bool(phi),
        phi_segments=phi,
        equipment=equipment,
        software=software,
        acknowledgment_code=ack_code if ack_code in ACK_CODES else None,
        acknowledged_control_id=msa.components(msa.field(2))[0] if msa is not None else None,
        truncated=raw.truncated,
    )


MAX_MESSAGES_PER_DIRECTION = 16
"""An interface repeats the same header on every message: the first few identify the sender,
its message types and whether PHI flows, so the rest of the prefix is not parsed."""


def dissect_direction(stream: bytes, truncated: bool, origin: Origin) -> list[Hl7Message]:
    """Every readable message of one direction; a malformed message ends the direction.

    Raises :class:`DissectorError` only when the malformed message is the first one.
    """
    messages: list[Hl7Message] = []
    for raw in split_stream(stream, truncated):
        if len(messages) >= MAX_MESSAGES_PER_DIRECTION:
            break
        try:
            message = parse_message(raw, origin)
        except DissectorError:
            if messages:
                break
            raise
        if message is not None:
            messages.append(message)
    return messages


def dissect(payload: FlowPayload) -> list[Observation]:
    """HL7 v2 messages of both directions of a TCP flow (MLLP or bare)."""
    observations: list[Observation] = []
    errors: list[str] = []
    directions = (
        (payload.client_bytes, payload.client_truncated, Direction.CLIENT_TO_SERVER),
        (payload.server_bytes, payload.server_truncated, Direction.SERVER_TO_CLIENT),
    )
    for stream, truncated, direction in directions:
        if not stream:
            continue
        try:
            observations += dissect_direction(stream, truncated, Origin(payload, direction))
        except DissectorError as error:
            errors.append(f"{direction.name.lower()}: {error}")
    if not observations and (payload.client_bytes or payload.server_bytes):
        reason = "; ".join(errors) or "no HL7 v2 message"
        raise DissectorError(f"hl7 flow {payload.flow.flow_id}: {reason}")
    return observations


SIGNATURE = Signature(transport=Transport.TCP, ports=frozenset({2575}), probe=probe)
"""IANA registers 2575 for HL7 over MLLP; interfaces on other ports are found by the probe."""

DISSECTOR = FunctionDissector(name="hl7", signature=SIGNATURE, function=dissect)
