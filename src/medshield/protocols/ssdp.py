"""SSDP discovery over UDP 1900 (UPnP Device Architecture 2.0 §1).

SSDP messages are HTTP/1.1 heads over UDP (HTTPU, UDA 2.0 §1.1.1): ``NOTIFY`` announcements
(§1.2), ``M-SEARCH`` searches (§1.3.2) and the ``200 OK`` answers to them (§1.3.3). The
``SERVER`` field names OS, UPnP version and product ("Linux/4.9 UPnP/2.0 Acme-Monitor/1.2"),
``LOCATION`` points at the device description, ``USN`` carries the device UUID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from medshield.core.enums import Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import Datagram, FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.http import parse_head
from medshield.protocols.support import FlowContext, dissect_datagrams

SSDP_PORT = 1900

NOTIFY = "notify"
SEARCH = "m-search"
RESPONSE = "response"

_START_LINES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"NOTIFY \* HTTP/1\.[01]\Z", re.IGNORECASE), NOTIFY),
    (re.compile(r"M-SEARCH \* HTTP/1\.[01]\Z", re.IGNORECASE), SEARCH),
    (re.compile(r"HTTP/1\.[01] 200(?: .*)?\Z", re.IGNORECASE), RESPONSE),
)
_PROBE = re.compile(rb"(?:NOTIFY|M-SEARCH) \* HTTP/1\.[01]\r?\n", re.IGNORECASE)
_UUID = re.compile(r"uuid:([0-9A-Za-z-]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class SsdpMessage(Observation):
    """One SSDP message (UDA 2.0 §1.2.2, §1.2.3, §1.3.2, §1.3.3)."""

    kind: ClassVar[str] = "ssdp.message"

    message_type: str
    """``notify``, ``m-search`` or ``response``."""
    server_header: str | None = None
    """``SERVER``: "OS/version UPnP/2.0 product/version" (UDA 2.0 §1.2.2)."""
    user_agent: str | None = None
    """``USER-AGENT`` of a search (UDA 2.0 §1.3.2)."""
    location: str | None = None
    """URL of the device description (UDA 2.0 §1.2.2)."""
    search_target: str | None = None
    """``ST`` of a search or response."""
    notification_type: str | None = None
    """``NT`` of an announcement."""
    notification_subtype: str | None = None
    """``NTS``: ``ssdp:alive``, ``ssdp:byebye`` or ``ssdp:update``."""
    usn: str | None = None
    """Unique service name, ``uuid:<device-UUID>[::<type>]``."""

    @property
    def device_uuid(self) -> str | None:
        """The device UUID of the USN (UDA 2.0 §1.1.4), or ``None``."""
        if self.usn is None:
            return None
        match = _UUID.search(self.usn)
        return match.group(1) if match else None


def parse_message(data: bytes, context: FlowContext) -> SsdpMessage:
    """One SSDP datagram: an HTTPU head (UDA 2.0 §1.1.2), body ignored."""
    parsed = parse_head(data)
    if parsed is None:
        raise DissectorError("empty SSDP datagram")
    head = parsed[0]
    message_type = next(
        (label for pattern, label in _START_LINES if pattern.match(head.start_line)), None
    )
    if message_type is None:
        raise DissectorError("SSDP datagram without a NOTIFY, M-SEARCH or 200 start line")
    return SsdpMessage(
        **context,
        message_type=message_type,
        server_header=head.field("server"),
        user_agent=head.field("user-agent"),
        location=head.field("location"),
        search_target=head.field("st"),
        notification_type=head.field("nt"),
        notification_subtype=head.field("nts"),
        usn=head.field("usn"),
    )


def _parse_datagram(datagram: Datagram, context: FlowContext) -> list[Observation]:
    return [parse_message(datagram.payload, context)]


def dissect(payload: FlowPayload) -> list[Observation]:
    """Every SSDP message of a UDP flow, one per datagram."""
    return dissect_datagrams(payload, _parse_datagram)


def looks_like_ssdp(head: bytes) -> bool:
    """A ``NOTIFY *`` or ``M-SEARCH *`` request line (UDA 2.0 §1.2.2, §1.3.2)."""
    return _PROBE.match(head) is not None


SIGNATURE = Signature(transport=Transport.UDP, ports=frozenset({SSDP_PORT}), probe=looks_like_ssdp)
DISSECTOR = FunctionDissector(name="ssdp", signature=SIGNATURE, function=dissect)
