"""SNMP v1 and v2c (RFC 1157, RFC 1901, RFC 3416) with the version of v3 messages (RFC 3412).

A community string is an SNMP v1/v2c password sent in cleartext; ``public``/``private`` are
the classic defaults, so the community is kept as seen (that is the finding) together with
a :class:`~medshield.protocols.credentials.RedactedSecret` for reports that must not show it.
Responses give a device's identity: sysDescr, sysObjectID and sysName (RFC 3418 §2).

The BER reader (ITU-T X.690 §8) accepts only the definite length forms (RFC 3417 §8 requires
them) and single-octet tags, which is all SNMP uses; every length is checked against its
enclosing value before it is used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from medshield.core.enums import Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import Datagram, FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.credentials import RedactedSecret
from medshield.protocols.support import FlowContext, dissect_datagrams, hex_colon, readable

TAG_INTEGER = 0x02
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_OID = 0x06
TAG_SEQUENCE = 0x30
TAG_IP_ADDRESS = 0x40
TAG_COUNTER64 = 0x46

VALUE_TYPES: dict[int, str] = {
    0x02: "integer",
    0x04: "octet-string",
    0x05: "null",
    0x06: "object-identifier",
    0x40: "ip-address",
    0x41: "counter32",
    0x42: "gauge32",
    0x43: "timeticks",
    0x44: "opaque",
    0x46: "counter64",
    0x80: "no-such-object",
    0x81: "no-such-instance",
    0x82: "end-of-mib-view",
}
"""ObjectSyntax (RFC 2578 §7.1, RFC 3416 §3) and the exceptions of a VarBind."""

PDU_TYPES: dict[int, str] = {
    0xA0: "get-request",
    0xA1: "get-next-request",
    0xA2: "response",
    0xA3: "set-request",
    0xA4: "trap",
    0xA5: "get-bulk-request",
    0xA6: "inform-request",
    0xA7: "snmpv2-trap",
    0xA8: "report",
}
"""PDU tags: RFC 1157 §4.1 (v1, 0xA4 Trap-PDU) and RFC 3416 §3."""
TRAP_V1 = 0xA4

VERSION_LABELS = {0: "v1", 1: "v2c", 3: "v3"}

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"

MAX_INTEGER_OCTETS = 9
"""Counter64 needs 8 octets plus a leading zero; anything longer is not SNMP."""
MAX_OID_ARCS = 128
"""RFC 2578 §3.5: at most 128 sub-identifiers."""
MAX_ARC_OCTETS = 5
"""A sub-identifier is at most 2^32-1 (RFC 2578 §3.5): five base-128 octets."""
MAX_VARBINDS = 64
MAX_VALUE_TEXT = 256


@dataclass(slots=True)
class Tlv:
    """One BER element (X.690 §8.1): its identifier octet and value bounds in the message."""

    tag: int
    start: int
    end: int
    cut: bool = False
    """The declared length ran past ``limit`` and the caller accepted a cut element."""


def read_tlv(data: bytes, offset: int, limit: int, *, allow_cut: bool = False) -> Tlv:
    """The element at ``offset``, which must end by ``limit`` (X.690 §8.1.2, §8.1.3).

    With ``allow_cut``, an element whose length runs past ``limit`` is cut there instead,
    so that the start of a truncated datagram can still be read.
    """
    if offset + 2 > limit:
        raise DissectorError("BER element cut short")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DissectorError("BER high tag numbers are not used by SNMP")
    first = data[offset + 1]
    offset += 2
    if first < 0x80:
        length = first
    else:
        octets = first & 0x7F
        # 0x80 is the indefinite form, which RFC 3417 §8 forbids; four octets reach 4 GiB.
        if octets == 0 or octets > 4 or offset + octets > limit:
            raise DissectorError("BER length form not allowed or cut short")
        length = int.from_bytes(data[offset : offset + octets], "big")
        offset += octets
    if offset + length > limit:
        if not allow_cut:
            raise DissectorError("BER length runs past its enclosing element")
        return Tlv(tag, offset, limit, cut=True)
    return Tlv(tag, offset, offset + length)


def expect(data: bytes, offset: int, limit: int, tag: int) -> Tlv:
    """The element at ``offset``, which must carry ``tag``."""
    element = read_tlv(data, offset, limit)
    if element.tag != tag:
        raise DissectorError(f"BER tag 0x{element.tag:02x} where 0x{tag:02x} was expected")
    return element


def children(data: bytes, parent: Tlv) -> Iterator[Tlv]:
    """The elements inside a constructed element, in order."""
    offset = parent.start
    while offset < parent.end:
        child = read_tlv(data, offset, parent.end)
        yield child
        offset = child.end


def decode_integer(data: bytes, element: Tlv, *, signed: bool = True) -> int:
    """INTEGER contents (X.690 §8.3), two's complement unless ``signed`` is false."""
    raw = data[element.start : element.end]
    if not raw or len(raw) > MAX_INTEGER_OCTETS:
        raise DissectorError(f"BER integer of {len(raw)} octets")
    return int.from_bytes(raw, "big", signed=signed)


def decode_oid(data: bytes, element: Tlv) -> str:
    """OBJECT IDENTIFIER contents (X.690 §8.19) in dotted form."""
    raw = data[element.start : element.end]
    arcs: list[int] = []
    value = 0
    octets = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        octets += 1
        if octets > MAX_ARC_OCTETS:
            raise DissectorError("OID sub-identifier too large")
        if not byte & 0x80:
            arcs.append(value)
            value = octets = 0
            if len(arcs) > MAX_OID_ARCS:
                raise DissectorError("OID with too many sub-identifiers")
    if octets or not arcs:
        raise DissectorError("OID cut short or empty")
    first = min(arcs[0] // 40, 2)  # X.690 §8.19.4: the first two arcs share one number
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


@dataclass(frozen=True, slots=True)
class SnmpVarBind:
    """A variable binding (RFC 3416 §3): OID, value type and value.

    Octet strings are text when they decode as printable UTF-8, colon-separated hex
    otherwise; integers, counters and timeticks are ints; OIDs and addresses are strings.
    """

    oid: str
    value_type: str
    value: str | int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SnmpMessage(Observation):
    """One SNMP message (RFC 1157 §4, RFC 3416 §3; for v3 only the version, RFC 3412 §6)."""

    kind: ClassVar[str] = "snmp.message"

    version: int
    """msgVersion: 0 for v1, 1 for v2c, 3 for v3."""
    community: str | None = None
    """The community string as sent (v1/v2c)."""
    community_secret: RedactedSecret | None = None
    """The community, redacted, for evidence that must not show it."""
    pdu_type: str | None = None
    """``get-request``, ``response``, ``trap`` … (RFC 3416 §3)."""
    request_id: int | None = None
    error_status: int | None = None
    varbinds: tuple[SnmpVarBind, ...] = ()
    """Up to 64 variable bindings."""
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_name: str | None = None
    trap_enterprise: str | None = None
    """v1 Trap-PDU enterprise (RFC 1157 §4.1.6): the agent's sysObjectID."""
    agent_address: str | None = None
    """v1 Trap-PDU agent-addr."""
    complete: bool = True
    """False when the message ended before all of it could be read."""

    @property
    def version_label(self) -> str:
        """``v1``, ``v2c``, ``v3`` or ``version-<n>``."""
        return VERSION_LABELS.get(self.version, f"version-{self.version}")


def _octets_value(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if raw and "\ufffd" not in text and text.isprintable():
        return text[:MAX_VALUE_TEXT]
    printable = readable(raw, MAX_VALUE_TEXT)
    if printable and len(printable) * 4 >= len(raw) * 3 and "\ufffd" not in printable:
        return printable  # mostly text, e.g. a description ending in CR LF
    return hex_colon(raw[: MAX_VALUE_TEXT // 3])


def decode_value(data: bytes, element: Tlv) -> str | int | None:
    """A VarBind value (RFC 2578 §7.1.1-§7.1.10)."""
    tag = element.tag
    raw = data[element.start : element.end]
    if tag == TAG_INTEGER:
        return decode_integer(data, element)
    if tag in (0x41, 0x42, 0x43, TAG_COUNTER64):
        return decode_integer(data, element, signed=False)
    if tag == TAG_OID:
        return decode_oid(data, element)
    if tag == TAG_IP_ADDRESS:
        return str(ipaddress.IPv4Address(raw)) if len(raw) == 4 else hex_colon(raw)
    if tag in (TAG_OCTET_STRING, 0x44):
        return _octets_value(raw)
    return None


def _varbinds(data: bytes, element: Tlv, found: list[SnmpVarBind]) -> None:
    """VarBindList (RFC 3416 §3) into ``found``, so a cut list keeps its first entries."""
    for varbind in children(data, element):
        if len(found) >= MAX_VARBINDS:
            return
        if varbind.tag != TAG_SEQUENCE:
            raise DissectorError("VarBind is not a SEQUENCE")
        name = expect(data, varbind.start, varbind.end, TAG_OID)
        value = read_tlv(data, name.end, varbind.end)
        found.append(
            SnmpVarBind(
                oid=decode_oid(data, name),
                value_type=VALUE_TYPES.get(value.tag, f"tag-0x{value.tag:02x}"),
                value=decode_value(data, value),
            )
        )


@dataclass(slots=True)
class _Pdu:
    """What the PDU reader found so far; kept when the PDU turns out to be cut short."""

    request_id: int | None = None
    error_status: int | None = None
    trap_enterprise: str | None = None
    agent_address: str | None = None
    varbinds: list[SnmpVarBind] | None = None
    cut: bool = False


def _read_pdu(data: bytes, pdu: Tlv, found: _Pdu) -> None:
    """A PDU (RFC 3416 §3) or a v1 Trap-PDU (RFC 1157 §4.1.6) into ``found``."""
    found.varbinds = []
    offset = pdu.start

    def field() -> Tlv:
        nonlocal offset
        element = read_tlv(data, offset, pdu.end)
        offset = element.end
        return element

    if pdu.tag == TRAP_V1:
        found.trap_enterprise = decode_oid(data, field())
        address = field()
        raw = data[address.start : address.end]
        found.agent_address = str(ipaddress.IPv4Address(raw)) if len(raw) == 4 else None
        for _ in range(3):  # generic-trap, specific-trap, time-stamp
            field()
    else:
        found.request_id = decode_integer(data, field())
        found.error_status = decode_integer(data, field())
        field()  # error-index (max-repetitions in GetBulk)
    bindings = read_tlv(data, offset, pdu.end, allow_cut=True)
    if bindings.tag != TAG_SEQUENCE:
        raise DissectorError("variable-bindings is not a SEQUENCE")
    found.cut = bindings.cut
    _varbinds(data, bindings, found.varbinds)


@dataclass(frozen=True, slots=True)
class _Identity:
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_name: str | None = None


def _identity(pdu_tag: int, varbinds: list[SnmpVarBind]) -> _Identity:
    """sysDescr, sysObjectID and sysName (RFC 3418 §2) as a response reports them."""
    if PDU_TYPES.get(pdu_tag) != "response":
        return _Identity()

    def value(oid: str, value_type: str) -> str | None:
        for varbind in varbinds:
            if varbind.oid == oid and varbind.value_type == value_type:
                return str(varbind.value)
        return None

    return _Identity(
        sys_descr=value(SYS_DESCR, "octet-string"),
        sys_object_id=value(SYS_OBJECT_ID, "object-identifier"),
        sys_name=value(SYS_NAME, "octet-string"),
    )


def parse_message(data: bytes, context: FlowContext) -> SnmpMessage:
    """One SNMP message; a PDU cut short keeps what was read (``complete`` false)."""
    message = read_tlv(data, 0, len(data), allow_cut=True)
    if message.tag != TAG_SEQUENCE:
        raise DissectorError("SNMP message is not a SEQUENCE")
    version_element = expect(data, message.start, message.end, TAG_INTEGER)
    version = decode_integer(data, version_element)
    if version not in VERSION_LABELS:
        raise DissectorError(f"SNMP version {version} unknown")
    if version == 3:
        return SnmpMessage(**context, version=version)
    community = expect(data, version_element.end, message.end, TAG_OCTET_STRING)
    raw_community = data[community.start : community.end]
    pdu = read_tlv(data, community.end, message.end, allow_cut=True)
    if pdu.tag not in PDU_TYPES:
        raise DissectorError(f"SNMP PDU tag 0x{pdu.tag:02x} unknown")
    found = _Pdu()
    try:
        _read_pdu(data, pdu, found)
        complete = not (message.cut or pdu.cut or found.cut)
    except DissectorError:
        complete = False
    varbinds = found.varbinds or []
    identity = _identity(pdu.tag, varbinds)
    return SnmpMessage(
        **context,
        version=version,
        community=raw_community.decode("utf-8", "replace"),
        community_secret=RedactedSecret.of(raw_community),
        pdu_type=PDU_TYPES[pdu.tag],
        request_id=found.request_id,
        error_status=found.error_status,
        varbinds=tuple(varbinds),
        trap_enterprise=found.trap_enterprise,
        agent_address=found.agent_address,
        complete=complete,
        sys_descr=identity.sys_descr,
        sys_object_id=identity.sys_object_id,
        sys_name=identity.sys_name,
    )


def _parse_datagram(datagram: Datagram, context: FlowContext) -> list[Observation]:
    return [parse_message(datagram.payload, context)]


def dissect(payload: FlowPayload) -> list[Observation]:
    """Every SNMP message of a UDP flow, one per datagram (RFC 3417 §2)."""
    return dissect_datagrams(payload, _parse_datagram)


def looks_like_snmp(head: bytes) -> bool:
    """A BER SEQUENCE opening with version 0 or 1 and a community OCTET STRING, or version 3
    and the msgGlobalData SEQUENCE (RFC 3416 §3, RFC 3412 §6)."""
    try:
        message = read_tlv(head, 0, len(head), allow_cut=True)
        version_element = expect(head, message.start, message.end, TAG_INTEGER)
        version = decode_integer(head, version_element)
        following = read_tlv(head, version_element.end, message.end, allow_cut=True)
    except DissectorError:
        return False
    expected_tag = TAG_SEQUENCE if version == 3 else TAG_OCTET_STRING
    return (
        message.tag == TAG_SEQUENCE and version in VERSION_LABELS and following.tag == expected_tag
    )


SIGNATURE = Signature(transport=Transport.UDP, ports=frozenset({161, 162}), probe=looks_like_snmp)
DISSECTOR = FunctionDissector(name="snmp", signature=SIGNATURE, function=dissect)
