"""SNMPv2c polling of the router and printers by the infrastructure server (RFC 3416, RFC 1901).

Messages are BER-encoded by hand (X.690 §8): ``Message ::= SEQUENCE { version INTEGER (1 for
v2c), community OCTET STRING, data PDU }`` with GetRequest-PDU [0] and Response-PDU [2]
(RFC 3416 §3), asking for sysDescr, sysObjectID, sysUpTime and sysName (RFC 3418).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from medshield.core.enums import FindingKind
from medshield.simulate.context import Context, arp_resolve, between, jitter
from medshield.simulate.facts import Identifier, Risk, communication, software
from medshield.simulate.population import SimDevice
from medshield.simulate.wire import Item, UdpSender

SNMP_PORT = 161
VERSION_2C = 1
COMMUNITY = "public"
"""The factory-default read community, which every polled agent here still accepts."""
GET_REQUEST = 0xA0
GET_RESPONSE = 0xA2
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
POLLED = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME)

Value = tuple[int, bytes]
"""A BER tag and its encoded contents."""


def length(size: int) -> bytes:
    """BER definite length, short or long form (X.690 §8.1.3)."""
    if size < 0x80:
        return bytes((size,))
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tlv(tag: int, contents: bytes) -> bytes:
    """Tag, length, contents."""
    return bytes((tag,)) + length(len(contents)) + contents


def integer(value: int) -> bytes:
    """INTEGER in the fewest two's-complement octets (X.690 §8.3)."""
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(0x02, value.to_bytes(size, "big", signed=True))


def octets(value: bytes) -> bytes:
    """OCTET STRING."""
    return tlv(0x04, value)


def _base128(value: int) -> bytes:
    """An arc in base 128, most significant group first, high bit on all but the last."""
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(groups))


def oid_contents(dotted: str) -> bytes:
    """OBJECT IDENTIFIER contents: first two arcs combined, base-128 arcs (X.690 §8.19)."""
    arcs = [int(part) for part in dotted.split(".")]
    out = bytearray((40 * arcs[0] + arcs[1],))
    for arc in arcs[2:]:
        out.extend(_base128(arc))
    return bytes(out)


def oid(dotted: str) -> bytes:
    """OBJECT IDENTIFIER."""
    return tlv(0x06, oid_contents(dotted))


NULL = b"\x05\x00"


def message(
    community: str, pdu_tag: int, request_id: int, bindings: Sequence[tuple[str, bytes]]
) -> bytes:
    """An SNMPv2c message with one PDU of variable bindings (RFC 3416 §3)."""
    varbinds = b"".join(tlv(0x30, oid(name) + value) for name, value in bindings)
    pdu = tlv(pdu_tag, integer(request_id) + integer(0) + integer(0) + tlv(0x30, varbinds))
    return tlv(0x30, integer(VERSION_2C) + octets(community.encode()) + pdu)


def get_request(request_id: int) -> bytes:
    """GetRequest for the system group scalars."""
    return message(COMMUNITY, GET_REQUEST, request_id, [(name, NULL) for name in POLLED])


def get_response(request_id: int, agent: SimDevice, uptime_centiseconds: int) -> bytes:
    """Response with the agent's system group values."""
    product = agent.product
    values = (
        octets(product.snmp_sys_descr.encode()),
        oid(product.snmp_sys_object_id),
        tlv(0x43, uptime_centiseconds.to_bytes(4, "big").lstrip(b"\0") or b"\0"),
        octets(agent.hostname.encode()),
    )
    return message(COMMUNITY, GET_RESPONSE, request_id, list(zip(POLLED, values, strict=True)))


def poll(ctx: Context, manager: SimDevice, agent: SimDevice) -> Iterator[Item]:
    """The monitoring server polling one agent every minute."""
    rng = ctx.rng("snmp", manager.index, agent.index)
    port = rng.randrange(49152, 65535)
    ask = UdpSender(manager.nic, agent.nic, port, SNMP_PORT, rng.getrandbits(16))
    tell = UdpSender(agent.nic, manager.nic, SNMP_PORT, port, rng.getrandbits(16))
    boot = rng.randrange(86_400, 90 * 86_400) * 100
    t = max(ctx.ready(agent), ctx.start_us) + between(rng, 5.0, 60.0)
    yield from arp_resolve(t, manager.nic, agent.nic)
    t += 1500
    request_id = rng.randrange(1, 2**30)
    first = True
    while t < ctx.end_us:
        request_id += 1
        frame = ask.frame(get_request(request_id))
        if first:
            yield t, frame, (communication(manager.nic, agent.nic, SNMP_PORT, "udp", "snmp"),)
        else:
            yield t, frame
        t += rng.randrange(800, 9_000)
        uptime = boot + (t - ctx.start_us) // 10_000
        reply = tell.frame(get_response(request_id, agent, uptime))
        if first:
            facts = (
                Risk(FindingKind.INSECURE_PROTOCOL, agent.id, "SNMPv2c agent on port 161"),
                Risk(
                    FindingKind.DEFAULT_CREDENTIALS,
                    agent.id,
                    f"SNMP agent accepts the default community '{COMMUNITY}'",
                ),
                Identifier(agent.id, "hostname", agent.hostname),
                *software(agent, "snmp"),
            )
            yield t, reply, facts
        else:
            yield t, reply
        first = False
        t += jitter(rng, 60.0, 0.05)
