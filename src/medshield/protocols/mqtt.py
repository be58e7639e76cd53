"""MQTT 3.1, 3.1.1 and 5.0 control packets in cleartext.

Packet layout follows OASIS MQTT v3.1.1 §2 (fixed header, remaining length) and §3.1–3.14,
and MQTT v5.0 §2.2.2 (properties) and §3. Only what an assessment needs is kept: client
identifiers, user names, whether a password was sent (redacted, and its SHA-256 so that
known default credentials can be recognised), will topics, CONNACK codes, and topic names
and filters. Application payloads are never kept.

Over TLS (port 8883) the bytes are not readable: the TLS dissector reports those flows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from medshield.core.enums import Direction, Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.credentials import RedactedSecret
from medshield.protocols.support import FlowContext, client_context, server_context


class PacketType(IntEnum):
    """MQTT control packet types (v3.1.1 §2.2.1 Table 2.1, v5.0 §2.1.2 Table 2-1)."""

    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14
    AUTH = 15


FIXED_FLAGS = {t: 0b0010 if t in (6, 8, 10) else 0 for t in range(1, 16)}
"""Fixed-header flags every packet but PUBLISH must carry: 0010 for PUBREL, SUBSCRIBE and
UNSUBSCRIBE, 0000 otherwise (v3.1.1 §2.2.2 Table 2.2; other values are malformed)."""
PROTOCOL_NAMES = {b"MQTT": (4, 5), b"MQIsdp": (3,)}
"""Protocol name and the protocol levels it goes with (v3.1.1 §3.1.2.1–3.1.2.2)."""
MAX_REMAINING_LENGTH = 268_435_455
"""Largest value four remaining-length bytes encode (v3.1.1 §2.2.3)."""
VERSION_5 = 5
CONNACK_V3_CODES = {
    0: "accepted",
    1: "unacceptable-protocol-version",
    2: "identifier-rejected",
    3: "server-unavailable",
    4: "bad-username-or-password",
    5: "not-authorized",
}
"""CONNACK return codes (v3.1.1 §3.2.2.3 Table 3.1)."""
CONNACK_V5_CODES = {
    0x00: "success",
    0x80: "unspecified-error",
    0x81: "malformed-packet",
    0x82: "protocol-error",
    0x83: "implementation-specific-error",
    0x84: "unsupported-protocol-version",
    0x85: "client-identifier-not-valid",
    0x86: "bad-user-name-or-password",
    0x87: "not-authorized",
    0x88: "server-unavailable",
    0x89: "server-busy",
    0x8A: "banned",
    0x8C: "bad-authentication-method",
    0x90: "topic-name-invalid",
    0x95: "packet-too-large",
    0x97: "quota-exceeded",
    0x99: "payload-format-invalid",
    0x9A: "retain-not-supported",
    0x9B: "qos-not-supported",
    0x9C: "use-another-server",
    0x9D: "server-moved",
    0x9F: "connection-rate-exceeded",
}
"""CONNACK reason codes (v5.0 §3.2.2.2)."""


class PropertyForm(IntEnum):
    """How a v5 property value is encoded (v5.0 §2.2.2.2, §1.5)."""

    BYTE = 1
    TWO_BYTE = 2
    FOUR_BYTE = 4
    VARIABLE = 5
    STRING = 6
    BINARY = 7
    STRING_PAIR = 8


PROPERTY_FORMS = {
    0x01: PropertyForm.BYTE,
    0x02: PropertyForm.FOUR_BYTE,
    0x03: PropertyForm.STRING,
    0x08: PropertyForm.STRING,
    0x09: PropertyForm.BINARY,
    0x0B: PropertyForm.VARIABLE,
    0x11: PropertyForm.FOUR_BYTE,
    0x12: PropertyForm.STRING,
    0x13: PropertyForm.TWO_BYTE,
    0x15: PropertyForm.STRING,
    0x16: PropertyForm.BINARY,
    0x17: PropertyForm.BYTE,
    0x18: PropertyForm.FOUR_BYTE,
    0x19: PropertyForm.BYTE,
    0x1A: PropertyForm.STRING,
    0x1C: PropertyForm.STRING,
    0x1F: PropertyForm.STRING,
    0x21: PropertyForm.TWO_BYTE,
    0x22: PropertyForm.TWO_BYTE,
    0x23: PropertyForm.TWO_BYTE,
    0x24: PropertyForm.BYTE,
    0x25: PropertyForm.BYTE,
    0x26: PropertyForm.STRING_PAIR,
    0x27: PropertyForm.FOUR_BYTE,
    0x28: PropertyForm.BYTE,
    0x29: PropertyForm.BYTE,
    0x2A: PropertyForm.BYTE,
}
"""Property identifier → encoding (v5.0 §2.2.2.2 Table 2-4)."""
ASSIGNED_CLIENT_IDENTIFIER = 0x12
AUTHENTICATION_METHOD = 0x15
TOPIC_ALIAS = 0x23


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttConnect(Observation):
    """A CONNECT packet (v3.1.1 §3.1, v5.0 §3.1); the password itself is never kept."""

    kind: ClassVar[str] = "mqtt.connect"

    protocol_name: str
    protocol_level: int
    """3 for MQTT 3.1 (``MQIsdp``), 4 for 3.1.1, 5 for 5.0."""
    client_id: str
    clean_session: bool
    """Clean Session (3.1.1) / Clean Start (5.0) flag."""
    keep_alive: int
    username: str | None = None
    password_present: bool = False
    password_length: int = 0
    password_redacted: str | None = None
    """At most two leading characters and ``***`` (:class:`RedactedSecret`)."""
    password_sha256: str | None = None
    """Hex SHA-256 of the password bytes, to compare with known default credentials."""
    will_flag: bool = False
    will_topic: str | None = None
    will_qos: int = 0
    will_retain: bool = False
    authentication_method: str | None = None
    """v5 Authentication Method property (enhanced authentication, §4.12)."""
    tls: bool = False
    """Always False: this dissector only reads cleartext MQTT."""
    truncated: bool = False
    """The prefix ended inside the CONNECT; fields after the cut are absent (the password
    may be flagged present without its length or digest)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttConnack(Observation):
    """A CONNACK packet (v3.1.1 §3.2, v5.0 §3.2)."""

    kind: ClassVar[str] = "mqtt.connack"

    protocol_level: int
    """Level of the CONNECT it answers (4 when no CONNECT was seen)."""
    session_present: bool
    return_code: int
    """Connect return code (3.1.1) or reason code (5.0)."""
    return_code_name: str
    accepted: bool
    anonymous: bool
    """Accepted for a CONNECT that carried neither user name nor password."""
    assigned_client_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttPublish(Observation):
    """PUBLISH packets of one direction to one topic (v3.1.1 §3.3); payloads are not kept."""

    kind: ClassVar[str] = "mqtt.publish"

    direction: Direction
    topic: str
    """Topic name; empty for a v5 PUBLISH that uses only a topic alias."""
    qos: int
    retain: bool
    count: int = 1
    """PUBLISH packets to this topic in the prefix."""
    topic_alias: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttSubscribe(Observation):
    """A SUBSCRIBE packet (v3.1.1 §3.8, v5.0 §3.8)."""

    kind: ClassVar[str] = "mqtt.subscribe"

    packet_id: int
    topic_filters: tuple[str, ...]
    requested_qos: tuple[int, ...]


def observation_base(payload: FlowPayload, direction: Direction) -> FlowContext:
    """Time and endpoints for observations read from one direction of the flow."""
    if direction == Direction.CLIENT_TO_SERVER:
        return client_context(payload)
    return server_context(payload)


def read_varint(data: bytes, offset: int) -> tuple[int, int] | None:
    """A variable byte integer (v3.1.1 §2.2.3, v5.0 §1.5.5) and the offset after it.

    None when the bytes end inside it; :class:`DissectorError` past four bytes.
    """
    value = 0
    for index in range(4):
        if offset + index >= len(data):
            return None
        byte = data[offset + index]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, offset + index + 1
    raise DissectorError(f"variable byte integer longer than four bytes at byte {offset}")


def probe(head: bytes) -> bool:
    """A CONNECT: first byte 0x10, then protocol name ``MQTT`` or ``MQIsdp`` (§3.1.2.1)."""
    if head[:1] != b"\x10":
        return False
    try:
        found = read_varint(head, 1)
    except DissectorError:
        return False
    if found is None:
        return False
    start = found[1]
    return (
        head[start : start + 6] == b"\x00\x04MQTT" or head[start : start + 8] == b"\x00\x06MQIsdp"
    )


@dataclass(slots=True)
class Packet:
    """A control packet: type, fixed-header flags and the remaining bytes read."""

    packet_type: int
    flags: int
    body: bytes
    complete: bool


def split_packets(stream: bytes) -> Iterator[Packet]:
    """Control packets one after another (v3.1.1 §2.2); a cut last packet is flagged."""
    offset = 0
    while offset < len(stream):
        first = stream[offset]
        packet_type, flags = first >> 4, first & 0x0F
        if packet_type == 0:
            raise DissectorError(f"reserved packet type 0 at byte {offset}")
        if packet_type != PacketType.PUBLISH and flags != FIXED_FLAGS[packet_type]:
            raise DissectorError(f"invalid flags 0x{flags:x} for packet type {packet_type}")
        found = read_varint(stream, offset + 1)
        if found is None:
            return
        length, start = found
        body = stream[start : start + length]
        yield Packet(packet_type, flags, body, complete=len(body) == length)
        offset = start + length


@dataclass(slots=True)
class Reader:
    """A cursor over a packet body that raises :class:`DissectorError` on a short read."""

    data: bytes
    offset: int = 0

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes."""
        end = self.offset + size
        if end > len(self.data):
            raise DissectorError("packet ends inside a field")
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def byte(self) -> int:
        """One byte."""
        return self.take(1)[0]

    def uint16(self) -> int:
        """A two byte integer, big-endian (v3.1.1 §1.5.2)."""
        return int.from_bytes(self.take(2), "big")

    def binary(self) -> bytes:
        """Binary data: a two byte length then the bytes (v5.0 §1.5.6)."""
        return self.take(self.uint16())

    def string(self) -> str:
        """A UTF-8 encoded string (v3.1.1 §1.5.3); invalid UTF-8 is kept with replacements."""
        return self.binary().decode("utf-8", errors="replace")

    def varint(self) -> int:
        """A variable byte integer (v5.0 §1.5.5)."""
        found = read_varint(self.data, self.offset)
        if found is None:
            raise DissectorError("packet ends inside a variable byte integer")
        value, self.offset = found
        return value

    def properties(self) -> dict[int, object]:
        """A v5 property block (v5.0 §2.2.2); the last value of each identifier is kept."""
        block = Reader(self.take(self.varint()))
        found: dict[int, object] = {}
        while block.offset < len(block.data):
            identifier = block.varint()
            form = PROPERTY_FORMS.get(identifier)
            if form is None:
                raise DissectorError(f"unknown MQTT property 0x{identifier:02x}")
            found[identifier] = block.property_value(form)
        return found

    def property_value(self, form: PropertyForm) -> object:
        """One property value of the given encoding."""
        if form in (PropertyForm.BYTE, PropertyForm.TWO_BYTE, PropertyForm.FOUR_BYTE):
            return int.from_bytes(self.take(int(form)), "big")
        if form == PropertyForm.VARIABLE:
            return self.varint()
        if form == PropertyForm.STRING:
            return self.string()
        if form == PropertyForm.BINARY:
            return self.binary()
        return (self.string(), self.string())


def optional_text(value: object) -> str | None:
    """A property value that should be a string."""
    return value if isinstance(value, str) else None


@dataclass(slots=True)
class Session:
    """What the reader learned from the client that the server's packets need."""

    protocol_level: int = 4
    connect: MqttConnect | None = None


@dataclass(slots=True)
class ConnectPayload:
    """The payload fields of a CONNECT (v3.1.1 §3.1.3), as far as they were captured."""

    client_id: str
    will_topic: str | None = None
    username: str | None = None
    password: RedactedSecret | None = None
    complete: bool = True


def read_connect_payload(body: Reader, flags: int, level: int, complete: bool) -> ConnectPayload:
    """Client identifier, will, user name and password; a cut packet keeps what came first."""
    found = ConnectPayload(client_id=body.string())
    try:
        if flags & 0x04:
            if level == VERSION_5:
                body.properties()
            found.will_topic = body.string()
            body.binary()
        if flags & 0x80:
            found.username = body.string()
        if flags & 0x40:
            found.password = RedactedSecret.of(body.binary())
    except DissectorError:
        if complete:
            raise
        found.complete = False
    return found


def read_connect(packet: Packet, payload: FlowPayload) -> MqttConnect:
    """A CONNECT (v3.1.1 §3.1.2–3.1.3, v5.0 §3.1.2–3.1.3); the password is kept redacted,
    with its SHA-256 for comparison with known defaults (protocols.credentials)."""
    body = Reader(packet.body)
    name = body.binary()
    levels = PROTOCOL_NAMES.get(name)
    level = body.byte()
    if levels is None or level not in levels:
        raise DissectorError(f"CONNECT with protocol {name[:16]!r} level {level}")
    flags = body.byte()
    keep_alive = body.uint16()
    properties = body.properties() if level == VERSION_5 else {}
    fields = read_connect_payload(body, flags, level, packet.complete)
    secret = fields.password
    return MqttConnect(
        **observation_base(payload, Direction.CLIENT_TO_SERVER),
        protocol_name=name.decode("ascii"),
        protocol_level=level,
        client_id=fields.client_id,
        clean_session=bool(flags & 0x02),
        keep_alive=keep_alive,
        username=fields.username,
        password_present=bool(flags & 0x40),
        password_length=secret.length if secret is not None else 0,
        password_redacted=secret.redacted if secret is not None else None,
        password_sha256=secret.sha256 if secret is not None else None,
        will_flag=bool(flags & 0x04),
        will_topic=fields.will_topic,
        will_qos=(flags >> 3) & 0x03,
        will_retain=bool(flags & 0x20),
        authentication_method=optional_text(properties.get(AUTHENTICATION_METHOD)),
        truncated=not fields.complete,
    )


def read_connack(packet: Packet, payload: FlowPayload, session: Session) -> MqttConnack:
    """A CONNACK (v3.1.1 §3.2.2, v5.0 §3.2.2)."""
    body = Reader(packet.body)
    flags = body.byte()
    code = body.byte()
    level = session.protocol_level
    properties = body.properties() if level == VERSION_5 and len(packet.body) > 2 else {}
    names = CONNACK_V5_CODES if level == VERSION_5 else CONNACK_V3_CODES
    connect = session.connect
    credentials = connect is not None and (connect.username is not None or connect.password_present)
    return MqttConnack(
        **observation_base(payload, Direction.SERVER_TO_CLIENT),
        protocol_level=level,
        session_present=bool(flags & 0x01),
        return_code=code,
        return_code_name=names.get(code, f"unknown-0x{code:02x}"),
        accepted=code == 0,
        anonymous=code == 0 and connect is not None and not credentials,
        assigned_client_id=optional_text(properties.get(ASSIGNED_CLIENT_IDENTIFIER)),
    )


@dataclass(slots=True)
class PublishSeen:
    """Topic and header of one PUBLISH (v3.1.1 §3.3.1–3.3.2)."""

    topic: str
    qos: int
    retain: bool
    topic_alias: int | None


def read_publish(packet: Packet, level: int) -> PublishSeen:
    """The topic of a PUBLISH; a cut packet still yields its topic if that is complete."""
    qos = (packet.flags >> 1) & 0x03
    if qos == 3:
        raise DissectorError("PUBLISH with QoS 3")
    body = Reader(packet.body)
    topic = body.string()
    alias = None
    if level == VERSION_5 and packet.complete:
        if qos:
            body.uint16()
        alias_value = body.properties().get(TOPIC_ALIAS)
        alias = alias_value if isinstance(alias_value, int) else None
    return PublishSeen(topic, qos, bool(packet.flags & 0x01), alias)


def read_subscribe(packet: Packet, payload: FlowPayload, level: int) -> MqttSubscribe:
    """A SUBSCRIBE: packet identifier and topic filters (v3.1.1 §3.8.2–3.8.3)."""
    body = Reader(packet.body)
    packet_id = body.uint16()
    if level == VERSION_5:
        body.properties()
    filters: list[str] = []
    options: list[int] = []
    while body.offset < len(body.data):
        filters.append(body.string())
        options.append(body.byte() & 0x03)
    return MqttSubscribe(
        **observation_base(payload, Direction.CLIENT_TO_SERVER),
        packet_id=packet_id,
        topic_filters=tuple(filters),
        requested_qos=tuple(options),
    )


@dataclass(slots=True)
class DirectionResult:
    """Observations of one direction and the PUBLISH topics counted there."""

    observations: list[Observation] = field(default_factory=list)
    publishes: dict[tuple[str, int | None], tuple[PublishSeen, int]] = field(default_factory=dict)

    def count_publish(self, seen: PublishSeen) -> None:
        """Count a PUBLISH under its topic (and alias)."""
        key = (seen.topic, seen.topic_alias)
        first, count = self.publishes.get(key, (seen, 0))
        self.publishes[key] = (first, count + 1)


def read_packet(
    packet: Packet, direction: Direction, payload: FlowPayload, session: Session
) -> Observation | PublishSeen | None:
    """What one packet tells; packets without assessment value give None."""
    if packet.packet_type == PacketType.PUBLISH:
        return read_publish(packet, session.protocol_level)
    if packet.packet_type == PacketType.CONNECT and direction == Direction.CLIENT_TO_SERVER:
        connect = read_connect(packet, payload)
        session.protocol_level = connect.protocol_level
        session.connect = connect
        return connect
    if not packet.complete:
        return None
    if packet.packet_type == PacketType.CONNACK and direction == Direction.SERVER_TO_CLIENT:
        return read_connack(packet, payload, session)
    if packet.packet_type == PacketType.SUBSCRIBE and direction == Direction.CLIENT_TO_SERVER:
        return read_subscribe(packet, payload, session.protocol_level)
    return None


def read_direction(
    stream: bytes, direction: Direction, payload: FlowPayload, session: Session
) -> list[Observation]:
    """Observations of one direction; a malformed packet ends it (raises if nothing came)."""
    result = DirectionResult()
    read_any = False
    try:
        for packet in split_packets(stream):
            found = read_packet(packet, direction, payload, session)
            read_any = True
            if isinstance(found, PublishSeen):
                result.count_publish(found)
            elif found is not None:
                result.observations.append(found)
    except DissectorError:
        if not read_any:
            raise
    base = observation_base(payload, direction)
    for seen, count in result.publishes.values():
        result.observations.append(
            MqttPublish(
                **base,
                direction=direction,
                topic=seen.topic,
                qos=seen.qos,
                retain=seen.retain,
                count=count,
                topic_alias=seen.topic_alias,
            )
        )
    return result.observations


def dissect(payload: FlowPayload) -> list[Observation]:
    """MQTT packets of both directions of a TCP flow; the client's CONNECT sets the version."""
    session = Session()
    observations: list[Observation] = []
    errors: list[str] = []
    parsed_any = False
    streams = (
        (Direction.CLIENT_TO_SERVER, payload.client_bytes),
        (Direction.SERVER_TO_CLIENT, payload.server_bytes),
    )
    for direction, stream in streams:
        if not stream:
            continue
        try:
            observations += read_direction(stream, direction, payload, session)
            parsed_any = True
        except DissectorError as error:
            errors.append(f"{direction.name.lower()}: {error}")
    if not parsed_any and errors:
        raise DissectorError(f"mqtt flow {payload.flow.flow_id}: {'; '.join(errors)}")
    return observations


SIGNATURE = Signature(transport=Transport.TCP, ports=frozenset({1883}), probe=probe)
"""IANA's ``mqtt`` port 1883; MQTT over TLS (8883) belongs to the TLS dissector."""

DISSECTOR = FunctionDissector(name="mqtt", signature=SIGNATURE, function=dissect)
