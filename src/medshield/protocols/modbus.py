"""Modbus/TCP (Modbus Application Protocol Specification v1.1b3; MBAP header per the
Modbus Messaging on TCP/IP Implementation Guide v1.0b §3.1.3).

A flow becomes one :class:`ModbusSession` (unit identifiers, function codes, exception
responses) and, when the device answers Read Device Identification (function 43, MEI 14,
§6.21), a :class:`ModbusDeviceIdentification` with vendor, product code and revision.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from medshield.core.enums import Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.support import client_context, readable, server_context

MBAP = struct.Struct("!HHHB")
"""Transaction identifier, protocol identifier (0 for Modbus), length, unit identifier."""
MAX_LENGTH = 254
"""The MBAP length counts the unit identifier and the PDU; an ADU is at most 260 bytes."""
MAX_EXCEPTIONS = 64
EXCEPTION_FLAG = 0x80
"""§7: an exception response sets the high bit of the function code."""

FC_ENCAPSULATED = 0x2B
MEI_READ_DEVICE_ID = 0x0E
"""§6.21: function 43, MEI type 14, Read Device Identification."""
DEVICE_ID_HEADER = struct.Struct("!BBBBBBB")
"""Function, MEI type, read device id code, conformity level, more follows, next object id,
number of objects."""

PUBLIC_FUNCTION_CODES = frozenset(
    {1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43}
)
"""§5.1 public function codes."""
WRITE_FUNCTION_CODES = frozenset({5, 6, 15, 16, 21, 22, 23})
"""Functions that change coils, registers or file records (§6)."""

OBJECT_FIELDS = {
    0x00: "vendor_name",
    0x01: "product_code",
    0x02: "revision",
    0x03: "vendor_url",
    0x04: "product_name",
    0x05: "model_name",
    0x06: "user_application_name",
}
"""§6.21 table of object identifiers (basic 0x00-0x02, regular 0x03-0x06)."""


@dataclass(frozen=True, slots=True)
class Adu:
    """One Modbus/TCP application data unit: MBAP fields and the PDU."""

    transaction_id: int
    unit_id: int
    pdu: bytes

    @property
    def function_code(self) -> int:
        """The PDU's function code (with the exception bit, if set)."""
        return self.pdu[0]


@dataclass(frozen=True, slots=True)
class ModbusException:
    """An exception response (§7): the function that failed and the exception code."""

    transaction_id: int
    unit_id: int
    function_code: int
    exception_code: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusSession(Observation):
    """What a Modbus/TCP flow did: units addressed, functions used, exceptions returned."""

    kind: ClassVar[str] = "modbus.session"

    unit_ids: tuple[int, ...] = ()
    function_codes: tuple[int, ...] = ()
    """Distinct function codes of the requests, in order of first use."""
    requests: int = 0
    responses: int = 0
    exceptions: tuple[ModbusException, ...] = ()

    @property
    def writes(self) -> bool:
        """True when a request wrote coils, registers or file records."""
        return any(code in WRITE_FUNCTION_CODES for code in self.function_codes)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusDeviceIdentification(Observation):
    """A Read Device Identification response (§6.21)."""

    kind: ClassVar[str] = "modbus.device_identification"

    transaction_id: int
    unit_id: int
    conformity_level: int
    vendor_name: str | None = None
    product_code: str | None = None
    revision: str | None = None
    """MajorMinorRevision."""
    vendor_url: str | None = None
    product_name: str | None = None
    model_name: str | None = None
    user_application_name: str | None = None


def parse_adus(data: bytes) -> list[Adu]:
    """ADUs of one direction in order; stops at an invalid header or a cut ADU."""
    adus: list[Adu] = []
    offset = 0
    while offset + MBAP.size < len(data):
        transaction_id, protocol_id, length, unit_id = MBAP.unpack_from(data, offset)
        end = offset + 6 + length
        if protocol_id != 0 or not 2 <= length <= MAX_LENGTH or end > len(data):
            break
        adus.append(Adu(transaction_id, unit_id, data[offset + MBAP.size : end]))
        offset = end
    return adus


def _exception(adu: Adu) -> ModbusException | None:
    if not adu.function_code & EXCEPTION_FLAG or len(adu.pdu) < 2:
        return None
    return ModbusException(
        adu.transaction_id, adu.unit_id, adu.function_code & ~EXCEPTION_FLAG, adu.pdu[1]
    )


def device_identification(adu: Adu) -> dict[str, str] | None:
    """Objects of a Read Device Identification response (§6.21), by field name.

    Objects whose length runs past the PDU end the list; unknown (private) objects are
    skipped.
    """
    pdu = adu.pdu
    if (
        len(pdu) < DEVICE_ID_HEADER.size
        or pdu[0] != FC_ENCAPSULATED
        or pdu[1] != MEI_READ_DEVICE_ID
    ):
        return None
    count = pdu[6]
    objects: dict[str, str] = {}
    offset = DEVICE_ID_HEADER.size
    for _ in range(count):
        if offset + 2 > len(pdu):
            break
        object_id, length = pdu[offset], pdu[offset + 1]
        value = pdu[offset + 2 : offset + 2 + length]
        if len(value) < length:
            break
        field = OBJECT_FIELDS.get(object_id)
        if field is not None:
            objects[field] = readable(value, 255)
        offset += 2 + length
    return objects


def _identification(adu: Adu, payload: FlowPayload) -> ModbusDeviceIdentification | None:
    objects = device_identification(adu)
    if objects is None:
        return None
    return ModbusDeviceIdentification(
        **server_context(payload),
        transaction_id=adu.transaction_id,
        unit_id=adu.unit_id,
        conformity_level=adu.pdu[3],
        vendor_name=objects.get("vendor_name") or None,
        product_code=objects.get("product_code") or None,
        revision=objects.get("revision") or None,
        vendor_url=objects.get("vendor_url") or None,
        product_name=objects.get("product_name") or None,
        model_name=objects.get("model_name") or None,
        user_application_name=objects.get("user_application_name") or None,
    )


def dissect(payload: FlowPayload) -> list[Observation]:
    """One session summary per flow and every device identification answered.

    Raises :class:`DissectorError` when neither direction starts with a Modbus/TCP ADU.
    """
    requests = parse_adus(payload.client_bytes)
    responses = parse_adus(payload.server_bytes)
    if not requests and not responses:
        if payload.client_bytes or payload.server_bytes:
            raise DissectorError("no Modbus/TCP ADU (MBAP header) at the start of the flow")
        return []
    identifications = [found for adu in responses if (found := _identification(adu, payload))]
    exceptions = [error for adu in responses if (error := _exception(adu))][:MAX_EXCEPTIONS]
    context = client_context(payload) if requests else server_context(payload)
    session = ModbusSession(
        **context,
        unit_ids=tuple(dict.fromkeys(adu.unit_id for adu in requests + responses)),
        function_codes=tuple(dict.fromkeys(adu.function_code for adu in requests)),
        requests=len(requests),
        responses=len(responses),
        exceptions=tuple(exceptions),
    )
    return [session, *identifications]


def looks_like_modbus(head: bytes) -> bool:
    """An MBAP header with protocol identifier 0, a plausible length and a public function
    code, its whole ADU present."""
    if len(head) <= MBAP.size:
        return False
    _, protocol_id, length, _ = MBAP.unpack_from(head)
    return (
        protocol_id == 0
        and 2 <= length <= MAX_LENGTH
        and 6 + length <= len(head)
        and head[MBAP.size] in PUBLIC_FUNCTION_CODES
    )


SIGNATURE = Signature(transport=Transport.TCP, ports=frozenset({502}), probe=looks_like_modbus)
DISSECTOR = FunctionDissector(name="modbus", signature=SIGNATURE, function=dissect)
