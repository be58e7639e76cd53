"""DHCP: each device's address at boot (DORA) and its lease renewals (RFC 2131, RFC 2132).

The server hands every device its reserved address (hospitals reserve addresses for medical
devices by MAC). After the ACK the client checks the address with an ARP probe and announces
it (RFC 5227 §2.1, §2.3). At T1 (half the lease, RFC 2131 §4.4.5) it renews by unicast.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

from medshield.simulate.context import ARP_REQUEST, Context
from medshield.simulate.facts import Identifier, communication, software
from medshield.simulate.population import DOMAIN, GATEWAY_IP, SimDevice
from medshield.simulate.wire import (
    ETH_BROADCAST,
    US,
    Item,
    Nic,
    Steps,
    UdpSender,
    arp_frame,
    ip_bytes,
)

SERVER_PORT = 67
CLIENT_PORT = 68
LEASE_SECONDS = 480
"""Short lease of the simulated scope, so that renewals appear in a five-minute capture."""
MAGIC_COOKIE = 0x63825363
SUBNET_MASK = ip_bytes("255.255.0.0")

DISCOVER, OFFER, REQUEST, ACK = 1, 2, 3, 5
BOOTREQUEST, BOOTREPLY = 1, 2
BROADCAST_FLAG = 0x8000

OPT_SUBNET_MASK = 1
OPT_ROUTER = 3
OPT_DNS = 6
OPT_HOSTNAME = 12
OPT_DOMAIN = 15
OPT_REQUESTED_IP = 50
OPT_LEASE_TIME = 51
OPT_MESSAGE_TYPE = 53
OPT_SERVER_ID = 54
OPT_PARAMETERS = 55
OPT_MAX_SIZE = 57
OPT_RENEWAL_TIME = 58
OPT_REBINDING_TIME = 59
OPT_VENDOR_CLASS = 60
OPT_CLIENT_ID = 61
OPT_END = 255

_BOOTP = struct.Struct("!BBBBIHH4s4s4s4s16s64s128sI")
BOOTP_MIN = 300
"""Minimum BOOTP message size clients pad to (RFC 1542 §3.2.1)."""

ZERO_IP = bytes(4)
BROADCAST_IP = b"\xff" * 4


def option(code: int, value: bytes) -> bytes:
    """One DHCP option in code-length-value form (RFC 2132 §2)."""
    return bytes((code, len(value))) + value


def bootp(
    op: int,
    xid: int,
    chaddr: bytes,
    options: bytes,
    *,
    secs: int = 0,
    flags: int = 0,
    ciaddr: bytes = ZERO_IP,
    yiaddr: bytes = ZERO_IP,
    siaddr: bytes = ZERO_IP,
) -> bytes:
    """A BOOTP/DHCP message (RFC 2131 §2, Figure 1), padded to the BOOTP minimum."""
    body = _BOOTP.pack(
        op,
        1,
        6,
        0,
        xid,
        secs,
        flags,
        ciaddr,
        yiaddr,
        siaddr,
        ZERO_IP,
        chaddr.ljust(16, b"\0"),
        bytes(64),
        bytes(128),
        MAGIC_COOKIE,
    )
    message = body + options + bytes((OPT_END,))
    return message.ljust(BOOTP_MIN, b"\0")


def client_options(
    device: SimDevice, kind: int, server: SimDevice | None, *, requested: bool
) -> bytes:
    """Options of a client DISCOVER/REQUEST in the order the device's stack writes them."""
    stack = device.product.stack
    parts = [option(OPT_MESSAGE_TYPE, bytes((kind,))), option(OPT_CLIENT_ID, b"\x01" + device.mac)]
    if stack.dhcp_max_size:
        parts.append(option(OPT_MAX_SIZE, stack.dhcp_max_size.to_bytes(2, "big")))
    if requested:
        parts.append(option(OPT_REQUESTED_IP, device.ip))
    if server is not None:
        parts.append(option(OPT_SERVER_ID, server.ip))
    if device.product.sends_hostname:
        parts.append(option(OPT_HOSTNAME, device.hostname.encode()))
    if device.product.dhcp_vendor_class:
        parts.append(option(OPT_VENDOR_CLASS, device.product.dhcp_vendor_class.encode()))
    parts.append(option(OPT_PARAMETERS, bytes(stack.dhcp_parameters)))
    return b"".join(parts)


def server_options(kind: int, server: SimDevice, dns: SimDevice) -> bytes:
    """Options of an OFFER/ACK: lease, T1/T2, mask, router, DNS, domain (RFC 2132 §3, §9)."""
    return b"".join(
        (
            option(OPT_MESSAGE_TYPE, bytes((kind,))),
            option(OPT_SERVER_ID, server.ip),
            option(OPT_LEASE_TIME, LEASE_SECONDS.to_bytes(4, "big")),
            option(OPT_RENEWAL_TIME, (LEASE_SECONDS // 2).to_bytes(4, "big")),
            option(OPT_REBINDING_TIME, (LEASE_SECONDS * 7 // 8).to_bytes(4, "big")),
            option(OPT_SUBNET_MASK, SUBNET_MASK),
            option(OPT_ROUTER, ip_bytes(GATEWAY_IP)),
            option(OPT_DNS, dns.ip),
            option(OPT_DOMAIN, DOMAIN.encode()),
        )
    )


def boot_facts(device: SimDevice) -> tuple[object, ...]:
    """What a DISCOVER shows about its sender."""
    facts: list[object] = []
    if device.product.dhcp_vendor_class:
        facts.append(Identifier(device.id, "dhcp_vendor_class", device.product.dhcp_vendor_class))
    if device.product.sends_hostname:
        facts.append(Identifier(device.id, "hostname", device.hostname))
    facts.extend(software(device, "dhcp"))
    return tuple(facts)


def client_lifecycle(
    ctx: Context, device: SimDevice, server: SimDevice, boot_us: int
) -> Iterator[Item]:
    """DORA at ``boot_us``, ARP probe and announcement, then a unicast renewal every T1."""
    rng = ctx.rng("dhcp", device.index)
    t = yield from _dora(rng, device, server, boot_us)
    t += int(rng.uniform(0.05, 0.4) * US)
    yield t, arp_frame(ETH_BROADCAST, ARP_REQUEST, device.mac, ZERO_IP, bytes(6), device.ip)
    t += int(rng.uniform(1.0, 2.0) * US)
    yield t, arp_frame(ETH_BROADCAST, ARP_REQUEST, device.mac, device.ip, bytes(6), device.ip)
    renew_at = boot_us + LEASE_SECONDS // 2 * US
    first = True
    while renew_at < ctx.end_us:
        renew_at = yield from _renew(rng, device, server, renew_at, first=first)
        renew_at += LEASE_SECONDS // 2 * US
        first = False


def _dora(rng: random.Random, device: SimDevice, server: SimDevice, t: int) -> Steps:
    """DISCOVER, OFFER, REQUEST, ACK (RFC 2131 §3.1); returns the time of the ACK."""
    stack = device.product.stack
    xid = rng.getrandbits(32)
    flags = BROADCAST_FLAG if stack.dhcp_broadcast else 0
    unconfigured = Nic(device.mac, ZERO_IP, stack.ttl)
    everyone = Nic(ETH_BROADCAST, BROADCAST_IP)
    client = UdpSender(unconfigured, everyone, CLIENT_PORT, SERVER_PORT, rng.getrandbits(16))
    to_client = everyone if flags else Nic(device.mac, device.ip)
    reply = UdpSender(server.nic, to_client, SERVER_PORT, CLIENT_PORT, rng.getrandbits(16))
    discover = bootp(
        BOOTREQUEST,
        xid,
        device.mac,
        client_options(device, DISCOVER, None, requested=False),
        flags=flags,
    )
    yield t, client.frame(discover), boot_facts(device)
    t += int(rng.uniform(0.002, 0.02) * US)
    offer = bootp(
        BOOTREPLY,
        xid,
        device.mac,
        server_options(OFFER, server, server),
        flags=flags,
        yiaddr=device.ip,
        siaddr=server.ip,
    )
    yield t, reply.frame(offer)
    t += int(rng.uniform(0.001, 0.01) * US)
    request = bootp(
        BOOTREQUEST,
        xid,
        device.mac,
        client_options(device, REQUEST, server, requested=True),
        flags=flags,
        secs=0,
    )
    yield t, client.frame(request)
    t += int(rng.uniform(0.002, 0.02) * US)
    ack = bootp(
        BOOTREPLY,
        xid,
        device.mac,
        server_options(ACK, server, server),
        flags=flags,
        yiaddr=device.ip,
        siaddr=server.ip,
    )
    yield t, reply.frame(ack)
    return t


def _renew(
    rng: random.Random, device: SimDevice, server: SimDevice, t: int, *, first: bool
) -> Steps:
    """Unicast REQUEST with ``ciaddr`` in RENEWING state and the server's ACK (§4.3.2)."""
    xid = rng.getrandbits(32)
    client = UdpSender(device.nic, server.nic, CLIENT_PORT, SERVER_PORT, rng.getrandbits(16))
    reply = UdpSender(server.nic, device.nic, SERVER_PORT, CLIENT_PORT, rng.getrandbits(16))
    request = bootp(
        BOOTREQUEST,
        xid,
        device.mac,
        client_options(device, REQUEST, None, requested=False),
        ciaddr=device.ip,
    )
    facts = (communication(device.nic, server.nic, SERVER_PORT, "udp", "dhcp"),) if first else ()
    yield (t, client.frame(request), facts) if facts else (t, client.frame(request))
    t += int(rng.uniform(0.002, 0.02) * US)
    ack = bootp(
        BOOTREPLY,
        xid,
        device.mac,
        server_options(ACK, server, server),
        ciaddr=device.ip,
        yiaddr=device.ip,
        siaddr=server.ip,
    )
    yield t, reply.frame(ack)
    return t
