"""DHCP and BOOTP over UDP 67/68 (RFC 951, RFC 2131, RFC 2132).

The fields kept are the ones that identify a device: its hardware address, the host name and
vendor class it announces, and the parameter request list, whose order fingerprints the DHCP
client implementation.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from medshield.core.enums import Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import Datagram, FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.support import FlowContext, dissect_datagrams, hex_colon, readable

BOOTREQUEST = 1
BOOTREPLY = 2

FIXED_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
"""RFC 2131 §2, figure 1: op … file, 236 bytes."""

MAGIC_COOKIE = bytes((99, 130, 83, 99))
"""RFC 2131 §3: the options field starts with this cookie; BOOTP messages may lack it."""

SNAME_OFFSET = 44
FILE_OFFSET = 108

OPTION_PAD = 0
OPTION_END = 255
OPTION_HOSTNAME = 12
OPTION_REQUESTED_IP = 50
OPTION_OVERLOAD = 52
OPTION_MESSAGE_TYPE = 53
OPTION_SERVER_ID = 54
OPTION_PARAMETER_REQUEST_LIST = 55
OPTION_VENDOR_CLASS_ID = 60
OPTION_CLIENT_ID = 61
OPTION_CLIENT_FQDN = 81

FQDN_CANONICAL = 0x04
"""RFC 4702 §2.1: the E flag, set when the name is in DNS wire format."""

MESSAGE_TYPES: dict[int, str] = {
    1: "DHCPDISCOVER",
    2: "DHCPOFFER",
    3: "DHCPREQUEST",
    4: "DHCPDECLINE",
    5: "DHCPACK",
    6: "DHCPNAK",
    7: "DHCPRELEASE",
    8: "DHCPINFORM",
}
"""RFC 2132 §9.6 (option 53 values)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DhcpMessage(Observation):
    """One DHCP (or BOOTP) message, RFC 2131 §2 with the options of RFC 2132.

    Addresses that are 0.0.0.0 on the wire (unset) are ``None``. Text options are decoded
    as UTF-8 with control characters removed.
    """

    kind: ClassVar[str] = "dhcp.message"

    op: int
    """1 BOOTREQUEST (client to server), 2 BOOTREPLY."""
    xid: int
    """Transaction id chosen by the client (RFC 2131 §2)."""
    message_type: int | None = None
    """Option 53 (RFC 2132 §9.6); ``None`` for plain BOOTP."""
    bootp: bool = False
    """True when the magic cookie is missing: a BOOTP message without options (RFC 951)."""
    client_mac: str | None = None
    """``chaddr`` cut to ``hlen`` bytes, colon-separated hex."""
    hardware_type: int = 1
    """``htype`` (ARP hardware type, 1 for Ethernet)."""
    ciaddr: str | None = None
    """The client's current address, when it has one (RENEWING, INFORM)."""
    yiaddr: str | None = None
    """The address the server offers or assigns."""
    siaddr: str | None = None
    """The next server to use in bootstrap (TFTP for network boot)."""
    giaddr: str | None = None
    """The relay agent that forwarded the message (RFC 2131 §4.1)."""
    requested_ip: str | None = None
    """Option 50 (RFC 2132 §9.1)."""
    hostname: str | None = None
    """Option 12 (RFC 2132 §3.14)."""
    vendor_class_id: str | None = None
    """Option 60 (RFC 2132 §9.13)."""
    parameter_request_list: tuple[int, ...] = ()
    """Option 55 (RFC 2132 §9.8), in the client's order."""
    client_id: str | None = None
    """Option 61 (RFC 2132 §9.14): type byte then identifier, colon-separated hex."""
    server_id: str | None = None
    """Option 54 (RFC 2132 §9.7)."""
    fqdn: str | None = None
    """Option 81, the client FQDN (RFC 4702 §2)."""
    option_codes: tuple[int, ...] = ()
    """Every option code in the order sent (pad and end left out): a client fingerprint."""

    @property
    def message_type_name(self) -> str | None:
        """``DHCPDISCOVER`` … for option 53, or ``None``."""
        if self.message_type is None:
            return None
        return MESSAGE_TYPES.get(self.message_type, f"type-{self.message_type}")


def _address(raw: bytes) -> str | None:
    """A 4-byte IPv4 address, ``None`` when unset (0.0.0.0) or of the wrong size."""
    if len(raw) != 4 or raw == b"\0\0\0\0":
        return None
    return "%d.%d.%d.%d" % tuple(raw)  # noqa: UP031 - the dotted quad, at C speed


def _text(raw: bytes) -> str | None:
    """A text option; clients often NUL-terminate it (RFC 2132 §2 says they should not)."""
    text = readable(raw.rstrip(b"\0"), limit=255)
    return text or None


def _read_options(area: bytes, codes: list[int], values: dict[int, bytes]) -> None:
    """Options of one area (RFC 2132 §2), until END or the area's end.

    A code seen again is concatenated to the earlier value (RFC 3396 §5); an option whose
    length runs past the area ends the reading, keeping what came before it.
    """
    offset = 0
    while offset < len(area):
        code = area[offset]
        if code == OPTION_END:
            return
        if code == OPTION_PAD:
            offset += 1
            continue
        if offset + 1 >= len(area):
            return
        end = offset + 2 + area[offset + 1]
        if end > len(area):
            return
        codes.append(code)
        values[code] = values.get(code, b"") + area[offset + 2 : end]
        offset = end


def _options(message: bytes) -> tuple[list[int], dict[int, bytes]]:
    """All options, including those moved into ``file``/``sname`` (RFC 2132 §9.3)."""
    codes: list[int] = []
    values: dict[int, bytes] = {}
    _read_options(message[FIXED_HEADER.size + len(MAGIC_COOKIE) :], codes, values)
    overload = values.get(OPTION_OVERLOAD, b"\0")[:1]
    # RFC 2131 §4.1: the file field is read before sname when both are overloaded.
    if overload in (b"\x01", b"\x03"):
        _read_options(message[FILE_OFFSET : FILE_OFFSET + 128], codes, values)
    if overload in (b"\x02", b"\x03"):
        _read_options(message[SNAME_OFFSET : SNAME_OFFSET + 64], codes, values)
    return codes, values


def _fqdn(value: bytes) -> str | None:
    """Option 81 (RFC 4702 §2): flags, two rcodes, then the name, wire format if E is set."""
    if len(value) < 3:
        return None
    name = value[3:]
    if not value[0] & FQDN_CANONICAL:
        return _text(name)
    labels: list[str] = []
    offset = 0
    while offset < len(name) and name[offset] != 0:
        end = offset + 1 + name[offset]
        if name[offset] > 63 or end > len(name):
            break
        labels.append(readable(name[offset + 1 : end], limit=63))
        offset = end
    return ".".join(labels) or None


def _client_mac(length: int, chaddr: bytes) -> str | None:
    """``chaddr`` cut to ``hlen`` bytes, as colon hex (RFC 2131 §2)."""
    if not 0 < length <= len(chaddr):
        return None
    return hex_colon(chaddr[:length])


def parse_message(data: bytes, context: FlowContext) -> DhcpMessage:
    """One DHCP/BOOTP message (RFC 2131 §2, §3; RFC 951 §3 when the cookie is absent)."""
    if len(data) < FIXED_HEADER.size:
        raise DissectorError(f"DHCP message of {len(data)} bytes, shorter than the header")
    (op, htype, hlen, _hops, xid, _secs, _flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, _, _) = (
        FIXED_HEADER.unpack_from(data)
    )
    if op not in (BOOTREQUEST, BOOTREPLY):
        raise DissectorError(f"DHCP op {op} is neither BOOTREQUEST nor BOOTREPLY")
    bootp = data[FIXED_HEADER.size : FIXED_HEADER.size + 4] != MAGIC_COOKIE
    codes, values = ([], {}) if bootp else _options(data)
    message_type = values.get(OPTION_MESSAGE_TYPE, b"")[:1]
    client_id = values.get(OPTION_CLIENT_ID)
    return DhcpMessage(
        **context,
        op=op,
        xid=xid,
        bootp=bootp,
        hardware_type=htype,
        client_mac=_client_mac(hlen, chaddr),
        ciaddr=_address(ciaddr),
        yiaddr=_address(yiaddr),
        siaddr=_address(siaddr),
        giaddr=_address(giaddr),
        message_type=message_type[0] if message_type else None,
        requested_ip=_address(values.get(OPTION_REQUESTED_IP, b"")),
        server_id=_address(values.get(OPTION_SERVER_ID, b"")),
        hostname=_text(values.get(OPTION_HOSTNAME, b"")),
        vendor_class_id=_text(values.get(OPTION_VENDOR_CLASS_ID, b"")),
        parameter_request_list=tuple(values.get(OPTION_PARAMETER_REQUEST_LIST, b"")),
        client_id=hex_colon(client_id) if client_id else None,
        fqdn=_fqdn(values.get(OPTION_CLIENT_FQDN, b"")),
        option_codes=tuple(codes),
    )


def _parse_datagram(datagram: Datagram, context: FlowContext) -> list[Observation]:
    return [parse_message(datagram.payload, context)]


def dissect(payload: FlowPayload) -> list[Observation]:
    """Every DHCP message of a UDP flow (one message per datagram, RFC 2131 §4.1)."""
    return dissect_datagrams(payload, _parse_datagram)


def looks_like_dhcp(head: bytes) -> bool:
    """BOOTP op code and the DHCP magic cookie at offset 236 (RFC 2131 §3)."""
    return (
        len(head) >= FIXED_HEADER.size + 4
        and head[0] in (BOOTREQUEST, BOOTREPLY)
        and head[FIXED_HEADER.size : FIXED_HEADER.size + 4] == MAGIC_COOKIE
    )


SIGNATURE = Signature(transport=Transport.UDP, ports=frozenset({67, 68}), probe=looks_like_dhcp)
DISSECTOR = FunctionDissector(name="dhcp", signature=SIGNATURE, function=dissect)
