"""DNS over UDP (RFC 1035 §4), multicast DNS (RFC 6762) with DNS-SD (RFC 6763), and LLMNR
(RFC 4795, which reuses the DNS message format).

Besides one :class:`DnsMessage` per datagram, mDNS announcements yield what devices say about
themselves: :class:`MdnsService` (instance name, service type, host, port and TXT key/values,
where models often appear as ``md=``/``model=``/``ty=``) and :class:`MdnsHost` (host name and
addresses).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import ClassVar

from medshield.core.enums import Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import Datagram, FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.support import FlowContext, dissect_datagrams

MDNS_PORT = 5353
LLMNR_PORT = 5355

HEADER = struct.Struct("!HHHHHH")
"""RFC 1035 §4.1.1: ID, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT."""
QUESTION_TAIL = struct.Struct("!HH")
RECORD_TAIL = struct.Struct("!HHIH")
"""RFC 1035 §4.1.3: TYPE, CLASS, TTL, RDLENGTH after the owner name."""
SRV_HEAD = struct.Struct("!HHH")
"""RFC 2782: priority, weight, port before the target."""

MAX_NAME_OCTETS = 255
"""RFC 1035 §2.3.4: a name is at most 255 octets on the wire."""
MAX_POINTERS = 64
"""Compression pointers followed per name; legitimate names need a handful."""

TOP_BIT = 0x8000
"""RFC 6762 §5.4 (QU bit in QCLASS) and §10.2 (cache-flush bit in CLASS)."""

TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_PTR = 12
TYPE_HINFO = 13
TYPE_TXT = 16
TYPE_AAAA = 28
TYPE_SRV = 33
NAME_TYPES = frozenset({TYPE_NS, TYPE_CNAME, TYPE_PTR})

TYPE_NAMES: dict[int, str] = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    13: "HINFO",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    41: "OPT",
    47: "NSEC",
    65: "HTTPS",
    255: "ANY",
}

SECTION_ANSWER = "answer"
SECTION_AUTHORITY = "authority"
SECTION_ADDITIONAL = "additional"


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsQuestion:
    """A question entry (RFC 1035 §4.1.2)."""

    name: str
    qtype: int
    qclass: int
    unicast_response: bool = False
    """mDNS QU bit (RFC 6762 §5.4)."""

    @property
    def type_name(self) -> str:
        """``A``, ``PTR`` … or ``TYPE<n>``."""
        return TYPE_NAMES.get(self.qtype, f"TYPE{self.qtype}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsRecord:
    """A resource record (RFC 1035 §4.1.3) with the RDATA of the types kept decoded."""

    section: str
    """``answer``, ``authority`` or ``additional``."""
    name: str
    rtype: int
    rclass: int
    ttl: int
    cache_flush: bool = False
    """mDNS cache-flush bit (RFC 6762 §10.2)."""
    address: str | None = None
    """A (RFC 1035 §3.4.1) or AAAA (RFC 3596 §2.2) address."""
    target: str | None = None
    """PTR, CNAME, NS target, or SRV target host (RFC 2782)."""
    port: int | None = None
    """SRV port."""
    text: tuple[str, ...] = ()
    """TXT character-strings (RFC 1035 §3.3.14), or HINFO CPU and OS (§3.3.2)."""

    @property
    def type_name(self) -> str:
        """``A``, ``PTR`` … or ``TYPE<n>``."""
        return TYPE_NAMES.get(self.rtype, f"TYPE{self.rtype}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsMessage(Observation):
    """One DNS, mDNS or LLMNR message (RFC 1035 §4.1)."""

    kind: ClassVar[str] = "dns.message"

    protocol: str
    """``dns``, ``mdns`` or ``llmnr`` (from the flow's ports)."""
    transaction_id: int
    is_response: bool
    opcode: int
    rcode: int
    """Response code (RFC 1035 §4.1.1): 0 no error, 2 server failure, 3 name error …"""
    authoritative: bool = False
    truncated: bool = False
    """The TC flag: the sender cut the message."""
    questions: tuple[DnsQuestion, ...] = ()
    records: tuple[DnsRecord, ...] = ()
    complete: bool = True
    """False when the message ended before every counted entry could be read."""

    @property
    def answers(self) -> tuple[DnsRecord, ...]:
        """Records of the answer section."""
        return tuple(record for record in self.records if record.section == SECTION_ANSWER)


@dataclass(frozen=True, slots=True, kw_only=True)
class MdnsService(Observation):
    """A DNS-SD service instance a device advertises (RFC 6763 §4.1, §5, §6)."""

    kind: ClassVar[str] = "mdns.service"

    instance: str
    """The user-visible instance label, e.g. ``Infusion Pump 12``."""
    service: str
    """The service type and domain, e.g. ``_http._tcp.local``."""
    host: str | None = None
    """SRV target host name."""
    port: int | None = None
    """SRV port."""
    properties: tuple[tuple[str, str], ...] = ()
    """TXT key/value pairs, keys lower-cased, first occurrence kept (RFC 6763 §6.4);
    a key without ``=`` has the value ``""``."""
    addresses: tuple[str, ...] = ()
    """A/AAAA addresses given for ``host`` in the same message."""

    def txt(self, key: str) -> str | None:
        """The TXT value of ``key`` (case-insensitive), or ``None``."""
        wanted = key.lower()
        return next((value for name, value in self.properties if name == wanted), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class MdnsHost(Observation):
    """A host name a device claims over mDNS, with its addresses (RFC 6762 §6, §8.2)."""

    kind: ClassVar[str] = "mdns.host"

    hostname: str
    addresses: tuple[str, ...] = ()


def read_name(message: bytes, offset: int) -> tuple[tuple[str, ...], int]:
    """A domain name at ``offset``: its labels and the offset just after it.

    Compression (RFC 1035 §4.1.4) is followed only backwards, each pointer before the start
    of the segment that holds it, so a loop is impossible; the 255-octet limit (§2.3.4)
    bounds the work.
    """
    labels: list[str] = []
    position = offset
    segment_start = offset
    after: int | None = None
    octets = 0
    pointers = 0
    while True:
        if position >= len(message):
            raise DissectorError("DNS name runs past the end of the message")
        length = message[position]
        if length == 0:
            return tuple(labels), position + 1 if after is None else after
        if length & 0xC0 == 0xC0:
            if position + 1 >= len(message):
                raise DissectorError("DNS compression pointer cut short")
            target = ((length & 0x3F) << 8) | message[position + 1]
            pointers += 1
            if target >= segment_start or pointers > MAX_POINTERS:
                raise DissectorError("DNS compression pointer does not point backwards (loop)")
            if after is None:
                after = position + 2
            position = segment_start = target
            continue
        if length & 0xC0:
            raise DissectorError(f"DNS label type {length >> 6} is not supported")
        octets += length + 1
        if octets > MAX_NAME_OCTETS or position + 1 + length > len(message):
            raise DissectorError("DNS name too long or cut short")
        labels.append(message[position + 1 : position + 1 + length].decode("utf-8", "replace"))
        position += 1 + length


def _read_question(message: bytes, offset: int) -> tuple[DnsQuestion, int]:
    """The question at ``offset`` (RFC 1035 §4.1.2) and the offset after it."""
    labels, offset = read_name(message, offset)
    end = offset + QUESTION_TAIL.size
    _check_end(message, end)
    qtype, qclass = QUESTION_TAIL.unpack_from(message, offset)
    question = DnsQuestion(
        name=".".join(labels),
        qtype=qtype,
        qclass=qclass & ~TOP_BIT,
        unicast_response=bool(qclass & TOP_BIT),
    )
    return question, end


def _check_end(message: bytes, end: int) -> None:
    if end > len(message):
        raise DissectorError(f"DNS message ends {end - len(message)} bytes early")


def _character_strings(rdata: bytes) -> tuple[str, ...]:
    """<character-string>s (RFC 1035 §3.3): length-prefixed; a cut last string is kept."""
    strings: list[str] = []
    offset = 0
    while offset < len(rdata):
        end = offset + 1 + rdata[offset]
        strings.append(rdata[offset + 1 : end].decode("utf-8", "replace"))
        offset = end
    return tuple(strings)


def _address(rtype: int, rdata: bytes) -> str | None:
    if rtype == TYPE_A and len(rdata) == 4:
        return "%d.%d.%d.%d" % tuple(rdata)  # noqa: UP031 - the dotted quad, at C speed
    if rtype == TYPE_AAAA and len(rdata) == 16:
        return str(ipaddress.IPv6Address(rdata))
    return None


@dataclass(slots=True)
class _Labelled:
    """A record with its owner and target names as labels, which DNS-SD needs because an
    instance label may itself contain dots (RFC 6763 §4.3)."""

    record: DnsRecord
    owner: tuple[str, ...]
    target: tuple[str, ...] = ()


def _read_record(message: bytes, offset: int, section: str) -> tuple[_Labelled, int]:
    """The resource record at ``offset`` (RFC 1035 §4.1.3) and the offset after it."""
    labels, offset = read_name(message, offset)
    rdata_offset = offset + RECORD_TAIL.size
    _check_end(message, rdata_offset)
    rtype, rclass, ttl, rdlength = RECORD_TAIL.unpack_from(message, offset)
    end = rdata_offset + rdlength
    _check_end(message, end)
    rdata = message[rdata_offset:end]
    target: tuple[str, ...] = ()
    port: int | None = None
    if rtype in NAME_TYPES:
        target = read_name(message, rdata_offset)[0]
    elif rtype == TYPE_SRV and rdlength > SRV_HEAD.size:
        _priority, _weight, port = SRV_HEAD.unpack_from(rdata)
        target = read_name(message, rdata_offset + SRV_HEAD.size)[0]
    record = DnsRecord(
        section=section,
        name=".".join(labels),
        rtype=rtype,
        rclass=rclass & ~TOP_BIT,
        ttl=ttl,
        cache_flush=bool(rclass & TOP_BIT),
        address=_address(rtype, rdata),
        target=".".join(target) if target else None,
        port=port,
        text=_character_strings(rdata) if rtype in (TYPE_TXT, TYPE_HINFO) else (),
    )
    return _Labelled(record, labels, target), end


def _protocol(payload: FlowPayload) -> str:
    ports = {payload.flow.client.port, payload.flow.server.port}
    if MDNS_PORT in ports:
        return "mdns"
    if LLMNR_PORT in ports:
        return "llmnr"
    return "dns"


def _parse(data: bytes, context: FlowContext, protocol: str) -> tuple[DnsMessage, list[_Labelled]]:
    """One message (RFC 1035 §4.1); entries after a malformed one are left out."""
    if len(data) < HEADER.size:
        raise DissectorError(f"DNS message of {len(data)} bytes, shorter than the header")
    transaction_id, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    offset = HEADER.size
    questions: list[DnsQuestion] = []
    records: list[_Labelled] = []
    sections = (
        (SECTION_ANSWER, ancount),
        (SECTION_AUTHORITY, nscount),
        (SECTION_ADDITIONAL, arcount),
    )
    complete = True
    try:
        # Counts are untrusted: each entry takes at least 5 bytes, so a message that is cut
        # short stops the loops long before a huge count matters.
        for _ in range(qdcount):
            question, offset = _read_question(data, offset)
            questions.append(question)
        for section, count in sections:
            for _ in range(count):
                labelled, offset = _read_record(data, offset, section)
                records.append(labelled)
    except DissectorError:
        complete = False
    message = DnsMessage(
        **context,
        protocol=protocol,
        transaction_id=transaction_id,
        is_response=bool(flags & 0x8000),
        opcode=(flags >> 11) & 0xF,
        authoritative=bool(flags & 0x0400),
        truncated=bool(flags & 0x0200),
        rcode=flags & 0xF,
        questions=tuple(questions),
        records=tuple(labelled.record for labelled in records),
        complete=complete,
    )
    return message, records


def parse_message(data: bytes, context: FlowContext, protocol: str = "dns") -> DnsMessage:
    """One DNS message (RFC 1035 §4.1); entries after a malformed one are left out."""
    return _parse(data, context, protocol)[0]


def _own_records(message: DnsMessage, records: list[_Labelled]) -> list[_Labelled]:
    """Records the sender states about itself.

    All records of a response; of a query only the authority section, which holds the
    records it is probing for (RFC 6762 §8.2): a query's answer section lists records it
    already knows from other hosts (known-answer suppression, §7.1).
    """
    if message.is_response:
        return records
    return [labelled for labelled in records if labelled.record.section == SECTION_AUTHORITY]


def _instance(labels: tuple[str, ...]) -> bool:
    """``<Instance>.<_Service>.<_tcp|_udp>.<Domain>`` (RFC 6763 §4.1)."""
    return (
        len(labels) >= 3
        and labels[1].startswith("_")
        and labels[2].lower() in ("_tcp", "_udp")
        and not labels[0].startswith("_")
    )


def txt_properties(strings: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """TXT strings as key/value pairs (RFC 6763 §6.3-§6.5): keys case-insensitive, the first
    occurrence of a key wins, a string without ``=`` is a boolean attribute, an empty key
    is ignored."""
    properties: dict[str, str] = {}
    for string in strings:
        key, _, value = string.partition("=")
        key = key.lower()
        if key and key not in properties:
            properties[key] = value
    return tuple(properties.items())


@dataclass(slots=True)
class _ServiceParts:
    host: str | None = None
    port: int | None = None
    properties: tuple[tuple[str, str], ...] = ()


def _services(own: list[_Labelled]) -> dict[tuple[str, ...], _ServiceParts]:
    """Service instances named by PTR targets and SRV/TXT owners (RFC 6763 §4-§6)."""
    services: dict[tuple[str, ...], _ServiceParts] = {}
    for labelled in own:
        record = labelled.record
        if record.rtype == TYPE_PTR and _instance(labelled.target):
            services.setdefault(labelled.target, _ServiceParts())
        elif record.rtype == TYPE_SRV and _instance(labelled.owner):
            parts = services.setdefault(labelled.owner, _ServiceParts())
            parts.host, parts.port = record.target, record.port
        elif record.rtype == TYPE_TXT and _instance(labelled.owner):
            parts = services.setdefault(labelled.owner, _ServiceParts())
            parts.properties = parts.properties or txt_properties(record.text)
    return services


def _host_addresses(own: list[_Labelled]) -> dict[str, list[str]]:
    """A/AAAA addresses per owner name (lower-cased), in order."""
    hosts: dict[str, list[str]] = {}
    for labelled in own:
        address = labelled.record.address
        if address is not None:
            found = hosts.setdefault(labelled.record.name.lower(), [])
            if address not in found:
                found.append(address)
    return hosts


def mdns_advertisements(
    message: DnsMessage, records: list[_Labelled], context: FlowContext
) -> list[Observation]:
    """What an mDNS message says its sender offers: services and host names."""
    own = _own_records(message, records)
    hosts = _host_addresses(own)
    found: list[Observation] = []
    for labels, parts in _services(own).items():
        addresses = hosts.get(parts.host.lower(), []) if parts.host else []
        found.append(
            MdnsService(
                **context,
                instance=labels[0],
                service=".".join(labels[1:]),
                host=parts.host,
                port=parts.port,
                properties=parts.properties,
                addresses=tuple(addresses),
            )
        )
    for labelled in own:
        name = labelled.record.name
        if labelled.record.address is not None and name.lower() in hosts:
            found.append(
                MdnsHost(**context, hostname=name, addresses=tuple(hosts.pop(name.lower())))
            )
    return found


def _without_repeats(observations: list[Observation]) -> list[Observation]:
    """mDNS announcements repeat (RFC 6762 §8.3); keep the first of identical facts."""
    seen: set[tuple[object, ...]] = set()
    kept: list[Observation] = []
    for observation in observations:
        if isinstance(observation, MdnsService):
            key: tuple[object, ...] = (
                observation.instance,
                observation.service,
                observation.host,
                observation.port,
                observation.properties,
                frozenset(observation.addresses),
            )
        elif isinstance(observation, MdnsHost):
            key = (observation.hostname, frozenset(observation.addresses))
        else:
            kept.append(observation)
            continue
        if key not in seen:
            seen.add(key)
            kept.append(observation)
    return kept


def dissect(payload: FlowPayload) -> list[Observation]:
    """A :class:`DnsMessage` per datagram; for mDNS also the services and hosts announced."""
    protocol = _protocol(payload)

    def parse_datagram(datagram: Datagram, context: FlowContext) -> list[Observation]:
        message, records = _parse(datagram.payload, context, protocol)
        if protocol != "mdns" or message.opcode != 0:
            return [message]
        # RFC 6762 §18.3: mDNS messages with another opcode are ignored.
        return [message, *mdns_advertisements(message, records, context)]

    return _without_repeats(dissect_datagrams(payload, parse_datagram))


SIGNATURE = Signature(transport=Transport.UDP, ports=frozenset({53, MDNS_PORT, LLMNR_PORT}))
DISSECTOR = FunctionDissector(name="dns", signature=SIGNATURE, function=dissect)
