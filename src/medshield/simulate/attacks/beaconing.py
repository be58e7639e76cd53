"""Command-and-control beaconing: an infected device calling home over TLS every 30 s.

The site's IoT gateway (else the compromised workstation) runs an implant that resolves its
C2 name through the hospital resolver (RFC 1035 §4.1) and then, every :data:`INTERVAL_S`
± :data:`JITTER` (the implant's sleep jitter), opens a TLS 1.2 session to the C2 host
(RFC 5246 §7.3: full handshake with the certificate in clear), sends one small encrypted
check-in, reads one small tasking reply, sends close_notify (§7.2.1) and closes, until the
capture ends. Check-ins and replies keep the same size from one beacon to the next, which
together with the fixed period is what a beaconing detector looks for.

The implant keeps the resolved address for the answer's TTL and resolves again when it has
expired, just before the beacon that needs it, so the ClientHellos keep their period.
Every frame carries the scenario's :class:`~medshield.simulate.facts.AttackStep`: the
lookup aimed at the resolver (port 53), the rest at the C2 address (port 443).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from medshield.core.enums import FindingKind
from medshield.simulate import dns
from medshield.simulate.attacks.base import (
    AttackScenario,
    attack_start,
    compromised_workstation,
    internal_step,
    marked,
)
from medshield.simulate.certs import ServerCertificate, ca_issued_certificate
from medshield.simulate.context import Context, EphemeralPorts, InternetHost, arp_resolve, jitter
from medshield.simulate.facts import AttackStep, Risk
from medshield.simulate.personas import MEDICAL_CATEGORIES, WINDOWS, Role
from medshield.simulate.population import Hospital, SimDevice
from medshield.simulate.tcp import TcpConnection
from medshield.simulate.tls import (
    ALERT,
    ECDHE_ECDSA_AES128_GCM_SHA256,
    HTTPS_PORT,
    TLS12,
    ClientProfile,
    client_finish_tls12,
    client_hello,
    encrypted,
    server_finish_tls12,
    server_flight_tls12,
)
from medshield.simulate.wire import US, Item, Nic, Steps, UdpSender

C2 = InternetHost("cdn-update.telemetry-sync.example", bytes((185, 193, 127, 14)), 52)
"""The command-and-control server: a public address no benign conversation uses."""
C2_ORGANISATION = "Telemetry Sync"
"""Organisation in the C2 certificate (a private CA the implant pins)."""
INTERVAL_S = 30.0
JITTER = 0.03
"""Sleep jitter as a fraction of :data:`INTERVAL_S`."""
DNS_TTL_S = 300
"""TTL of the C2's A record: the implant resolves again once it has expired."""
CHECK_IN_BYTES = (300, 320)
"""Plaintext size of the implant's check-in (bounds): nearly the same every time."""
TASKING_BYTES = (240, 260)
"""Plaintext size of the C2's reply ("no task")."""
HELLO_DELAY_US = 350
"""From the handshake's last ACK to the ClientHello: the implant writes at once."""


def conversations(ctx: Context) -> list[Iterator[Item]]:
    """One beaconing loop from the infected device."""
    return [_beacons(ctx, _infected(ctx.hospital))]


def _infected(hospital: Hospital) -> SimDevice:
    """The site's IoT gateway, else the compromised workstation."""
    return hospital.optional(Role.IOT_GATEWAY) or compromised_workstation(hospital)


def _beacons(ctx: Context, device: SimDevice) -> Iterator[Item]:
    """The implant's life in the capture: lookups and check-ins until the end."""
    hospital = ctx.hospital
    resolver = hospital.one(Role.INFRASTRUCTURE_SERVER)
    rng = ctx.rng("attack", SCENARIO.name)
    c2 = ctx.internet_nic(C2)
    lookup_step = internal_step(SCENARIO, device, resolver.nic, dns.DNS_PORT)
    beacon_step = internal_step(SCENARIO, device, c2, HTTPS_PORT)
    certificate = ca_issued_certificate(rng, C2.name, ctx.start_us / US, C2_ORGANISATION)
    windows = device.product.stack is WINDOWS
    ports = EphemeralPorts(rng, 49152, 65535) if windows else EphemeralPorts(rng, 32768, 60999)
    # The path to the C2 host: one route, so one round-trip time for every beacon.
    lag_us = rng.randrange(15_000, 45_000)
    t = attack_start(ctx, device, offset_s=45.0)
    if device.role not in (Role.CLINICAL_WORKSTATION, Role.BIOMED_WORKSTATION):
        # Workstations already resolve names and browse the internet; other devices have
        # not talked to the resolver or the router yet.
        yield from _arp(t, device.nic, resolver.nic, lookup_step)
        yield from _arp(t + 1_000, device.nic, hospital.router.nic, beacon_step)
        t += 3_000
    upstream_us, connect_us = _lookup_timing(rng)
    syn_at = t + upstream_us + connect_us
    expires = syn_at  # nothing resolved yet
    exposure = _exposure(device)
    while syn_at < ctx.end_us:
        if syn_at >= expires:
            asked = syn_at - connect_us - upstream_us
            lookup = _lookup(rng, asked, upstream_us, device.nic, resolver.nic)
            yield from marked(lookup, lookup_step)
            expires = asked + upstream_us + DNS_TTL_S * US
            upstream_us, connect_us = _lookup_timing(rng)
        conn = TcpConnection(
            device.nic,
            c2,
            ports.take(),
            HTTPS_PORT,
            rng,
            client_window=device.product.stack.window,
            server_window=65535,
            lag_us=lag_us,
        )
        yield from marked(_check_in(rng, conn, syn_at, certificate, exposure), beacon_step)
        exposure = ()
        syn_at += jitter(rng, INTERVAL_S, JITTER)


def _exposure(device: SimDevice) -> tuple[Risk, ...]:
    """The truth's internet exposure of an infected *medical* device (its rule in
    :mod:`medshield.simulate.truth`): compromised or not, it talks to a public address."""
    if device.role_class.category not in MEDICAL_CATEGORIES:
        return ()
    detail = f"HTTPS to public address {C2.ip[0]}.{C2.ip[1]}.{C2.ip[2]}.{C2.ip[3]} ({C2.name})"
    return (Risk(FindingKind.INTERNET_EXPOSURE, device.id, detail),)


def _arp(t: int, asker: Nic, target: Nic, step: AttackStep) -> Iterator[Item]:
    """The ARP exchange (RFC 826) for a next hop the implant needs, marked as the attack's."""
    for item in arp_resolve(t, asker, target):
        yield item[0], item[1], (step,)


def _lookup_timing(rng: random.Random) -> tuple[int, int]:
    """How long the resolver takes (the C2 name is in no cache: an upstream round trip) and
    how soon after the answer the implant connects, in µs."""
    return rng.randrange(15_000, 60_000), rng.randrange(200, 900)


def _lookup(rng: random.Random, t: int, upstream_us: int, client: Nic, resolver: Nic) -> Steps:
    """An A query for the C2 name at ``t`` and the resolver's answer (RFC 1035 §4.1.1)."""
    txid, port = rng.getrandbits(16), rng.randrange(32768, 61000)
    ask = UdpSender(client, resolver, port, dns.DNS_PORT, rng.getrandbits(16))
    tell = UdpSender(resolver, client, dns.DNS_PORT, port, rng.getrandbits(16))
    yield t, ask.frame(dns.query(txid, C2.name, dns.TYPE_A))
    t += upstream_us
    yield t, tell.frame(dns.answer(txid, C2.name, dns.TYPE_A, [C2.ip], DNS_TTL_S))
    return t


def _check_in(
    rng: random.Random,
    conn: TcpConnection,
    t: int,
    certificate: ServerCertificate,
    syn_facts: tuple[object, ...] = (),
) -> Steps:
    """One beacon: TLS 1.2 handshake with the C2 name as SNI (RFC 6066 §3), one check-in and
    its reply in application data records (RFC 5246 §6.2.3), close_notify, FIN."""
    cipher = ECDHE_ECDSA_AES128_GCM_SHA256
    t = yield from conn.open(t, syn_facts)
    hello = client_hello(rng, ClientProfile.EMBEDDED, C2.name)
    t = yield from conn.send(conn.client, t + HELLO_DELAY_US, hello)
    flight = server_flight_tls12(rng, TLS12, cipher, certificate.der, ecdhe=True)
    t = yield from conn.send(conn.server, t + conn.lag_us + rng.randrange(300, 1_500), flight)
    finish = client_finish_tls12(rng, TLS12, rsa_bytes=None)
    t = yield from conn.send(conn.client, t + rng.randrange(300, 2_000), finish)
    t = yield from conn.send(
        conn.server, t + conn.lag_us + rng.randrange(200, 800), server_finish_tls12(rng, TLS12)
    )
    request = encrypted(rng, TLS12, cipher, rng.randrange(*CHECK_IN_BYTES))
    t = yield from conn.send(conn.client, t + rng.randrange(200, 1_000), request)
    response = encrypted(rng, TLS12, cipher, rng.randrange(*TASKING_BYTES))
    think_us = conn.lag_us + rng.randrange(1_000, 15_000)
    t = yield from conn.send(conn.server, t + think_us, response)
    close_notify = encrypted(rng, TLS12, cipher, 2, ALERT)
    t = yield from conn.send(conn.client, t + rng.randrange(200, 1_000), close_notify)
    return (yield from conn.close(conn.client, t + rng.randrange(100, 500)))


SCENARIO = AttackScenario(
    name="beaconing",
    kind="beaconing",
    conversations=conversations,
    summary="an IoT gateway resolving a C2 name, then a TLS 1.2 check-in of constant size "
    "to a public host every 30 s ± 3 %",
)
