"""TLS sessions: pumps to the pump server, browsers to the internet, a legacy web UI.

Handshakes are written message by message (RFC 8446 §4 for ClientHello extensions and TLS 1.3,
RFC 5246 §7.4 for the TLS 1.2 and 1.0 server flight with its Certificate, RFC 8422 §5.4 for
ECDHE ServerKeyExchange). Encrypted records are random bytes of the sizes the negotiated cipher
produces. Three client personalities:

* ``embedded`` — an OpenSSL 1.1.1 client on pumps: fixed extension order, TLS 1.3 and 1.2;
* ``chrome`` — GREASE values (RFC 8701) and an extension order permuted per connection;
* ``legacy`` — an old service tool offering TLS 1.0–1.2 suites down to 3DES and RC4.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from medshield.core.enums import FindingKind
from medshield.simulate.certs import ServerCertificate, ca_issued_certificate, legacy_self_signed
from medshield.simulate.context import (
    Context,
    EphemeralPorts,
    InternetHost,
    arp_resolve,
    between,
)
from medshield.simulate.dns import lookup
from medshield.simulate.facts import Risk, communication
from medshield.simulate.population import SimDevice
from medshield.simulate.tcp import TcpConnection
from medshield.simulate.wire import US, Item, Steps

HTTPS_PORT = 443
HANDSHAKE, CHANGE_CIPHER_SPEC, ALERT, APPLICATION_DATA = 22, 20, 21, 23
CLIENT_HELLO, SERVER_HELLO, CERTIFICATE = 1, 2, 11
SERVER_KEY_EXCHANGE, SERVER_HELLO_DONE, CLIENT_KEY_EXCHANGE = 12, 14, 16
TLS10, TLS12, TLS13 = 0x0301, 0x0303, 0x0304
X25519 = 0x001D
ECDSA_SECP256R1_SHA256 = 0x0403

ECDHE_ECDSA_AES128_GCM_SHA256 = 0xC02B
RSA_3DES_EDE_CBC_SHA = 0x000A
AES_128_GCM_SHA256 = 0x1301
CIPHER_NAMES = {
    ECDHE_ECDSA_AES128_GCM_SHA256: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    RSA_3DES_EDE_CBC_SHA: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    AES_128_GCM_SHA256: "TLS_AES_128_GCM_SHA256",
}
GREASE = tuple(0x0A0A + 0x1010 * i for i in range(16))

EXT_SERVER_NAME = 0
EXT_STATUS_REQUEST = 5
EXT_SUPPORTED_GROUPS = 10
EXT_EC_POINT_FORMATS = 11
EXT_SIGNATURE_ALGORITHMS = 13
EXT_ALPN = 16
EXT_SCT = 18
EXT_ENCRYPT_THEN_MAC = 22
EXT_EXTENDED_MASTER_SECRET = 23
EXT_COMPRESS_CERTIFICATE = 27
EXT_SESSION_TICKET = 35
EXT_SUPPORTED_VERSIONS = 43
EXT_PSK_MODES = 45
EXT_KEY_SHARE = 51
EXT_APPLICATION_SETTINGS = 17513
EXT_RENEGOTIATION_INFO = 0xFF01


def u8(value: int) -> bytes:
    return value.to_bytes(1, "big")


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def u24(value: int) -> bytes:
    return value.to_bytes(3, "big")


def vec8(data: bytes) -> bytes:
    """An opaque vector with a one-byte length (RFC 8446 §3.4)."""
    return u8(len(data)) + data


def vec16(data: bytes) -> bytes:
    """An opaque vector with a two-byte length."""
    return u16(len(data)) + data


def record(content_type: int, version: int, body: bytes) -> bytes:
    """A TLSPlaintext/TLSCiphertext record (RFC 8446 §5.1, RFC 5246 §6.2)."""
    return struct.pack("!BHH", content_type, version, len(body)) + body


def handshake(kind: int, body: bytes) -> bytes:
    """A handshake message: type and 24-bit length (RFC 8446 §4)."""
    return u8(kind) + u24(len(body)) + body


def extension(kind: int, data: bytes) -> bytes:
    """One extension: type and length-prefixed data (RFC 8446 §4.2)."""
    return u16(kind) + vec16(data)


def _suites(values: tuple[int, ...]) -> bytes:
    return vec16(b"".join(u16(v) for v in values))


def _server_name(host: str) -> bytes:
    name = host.encode()
    return extension(EXT_SERVER_NAME, vec16(u8(0) + vec16(name)))


def _alpn(protocols: tuple[str, ...]) -> bytes:
    return extension(EXT_ALPN, vec16(b"".join(vec8(p.encode()) for p in protocols)))


def _groups(values: tuple[int, ...]) -> bytes:
    return extension(EXT_SUPPORTED_GROUPS, vec16(b"".join(u16(v) for v in values)))


def _signature_algorithms(values: tuple[int, ...]) -> bytes:
    return extension(EXT_SIGNATURE_ALGORITHMS, vec16(b"".join(u16(v) for v in values)))


def _versions(values: tuple[int, ...]) -> bytes:
    return extension(EXT_SUPPORTED_VERSIONS, vec8(b"".join(u16(v) for v in values)))


def _key_share(rng: random.Random, grease: int | None) -> bytes:
    shares = b""
    if grease is not None:
        shares += u16(grease) + vec16(b"\0")
    shares += u16(X25519) + vec16(rng.randbytes(32))
    return extension(EXT_KEY_SHARE, vec16(shares))


class ClientProfile(Enum):
    """The TLS client personality of a device."""

    EMBEDDED = "embedded"
    CHROME = "chrome"
    LEGACY = "legacy"


EMBEDDED_SUITES = (
    0x1302,
    0x1303,
    0x1301,
    0xC02C,
    0xC030,
    0xCCA9,
    0xCCA8,
    0xC02B,
    0xC02F,
    0xC024,
    0xC028,
    0xC023,
    0xC027,
    0xC00A,
    0xC014,
    0xC009,
    0xC013,
    0x009D,
    0x009C,
    0x003D,
    0x003C,
    0x0035,
    0x002F,
    0x00FF,
)
CHROME_SUITES = (
    0x1301,
    0x1302,
    0x1303,
    0xC02B,
    0xC02F,
    0xC02C,
    0xC030,
    0xCCA9,
    0xCCA8,
    0xC013,
    0xC014,
    0x009C,
    0x009D,
    0x002F,
    0x0035,
)
LEGACY_SUITES = (
    0xC014,
    0xC013,
    0x0035,
    0x002F,
    0xC00A,
    0xC009,
    0x0038,
    0x0032,
    0x000A,
    0x0013,
    0x0005,
    0x0004,
)
SIGNATURES = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)


def client_hello(rng: random.Random, profile: ClientProfile, server_name: str) -> bytes:
    """The ClientHello record a client of ``profile`` sends (RFC 8446 §4.1.2)."""
    random_bytes = rng.randbytes(32)
    suites: tuple[int, ...]
    if profile is ClientProfile.LEGACY:
        session_id = b""
        suites = LEGACY_SUITES
        extensions = [
            _server_name(server_name),
            _groups((0x0017, 0x0018)),
            extension(EXT_EC_POINT_FORMATS, vec8(b"\0")),
            extension(EXT_RENEGOTIATION_INFO, b"\0"),
        ]
    elif profile is ClientProfile.EMBEDDED:
        session_id = rng.randbytes(32)
        suites = EMBEDDED_SUITES
        extensions = [
            _server_name(server_name),
            extension(EXT_EC_POINT_FORMATS, vec8(b"\x00\x01\x02")),
            _groups((X25519, 0x0017, 0x001E, 0x0019, 0x0018)),
            extension(EXT_SESSION_TICKET, b""),
            _alpn(("http/1.1",)),
            extension(EXT_ENCRYPT_THEN_MAC, b""),
            extension(EXT_EXTENDED_MASTER_SECRET, b""),
            _signature_algorithms((*SIGNATURES, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502)),
            _versions((TLS13, TLS12)),
            extension(EXT_PSK_MODES, vec8(b"\x01")),
            _key_share(rng, None),
        ]
    else:
        session_id = rng.randbytes(32)
        grease = rng.sample(GREASE, 4)
        suites = (grease[0], *CHROME_SUITES)
        middle = [
            _server_name(server_name),
            extension(EXT_EXTENDED_MASTER_SECRET, b""),
            extension(EXT_RENEGOTIATION_INFO, b"\0"),
            _groups((grease[1], X25519, 0x0017, 0x0018)),
            extension(EXT_EC_POINT_FORMATS, vec8(b"\0")),
            extension(EXT_SESSION_TICKET, b""),
            _alpn(("h2", "http/1.1")),
            extension(EXT_STATUS_REQUEST, b"\x01\x00\x00\x00\x00"),
            _signature_algorithms(SIGNATURES),
            extension(EXT_SCT, b""),
            _key_share(rng, grease[1]),
            extension(EXT_PSK_MODES, vec8(b"\x01")),
            _versions((grease[2], TLS13, TLS12)),
            extension(EXT_COMPRESS_CERTIFICATE, vec8(u16(2))),
            extension(EXT_APPLICATION_SETTINGS, vec16(vec8(b"h2"))),
        ]
        rng.shuffle(middle)
        extensions = [extension(grease[3], b""), *middle, extension(grease[0] ^ 0x1010, b"\0")]
    body = (
        u16(TLS12)
        + random_bytes
        + vec8(session_id)
        + _suites(suites)
        + vec8(b"\0")
        + vec16(b"".join(extensions))
    )
    return record(HANDSHAKE, TLS10, handshake(CLIENT_HELLO, body))


def _ecdsa_signature(rng: random.Random) -> bytes:
    """A DER ECDSA-Sig-Value of the right shape (the simulator does not compute real keys)."""
    r = bytes((rng.randrange(1, 0x80),)) + rng.randbytes(31)
    s = bytes((rng.randrange(1, 0x80),)) + rng.randbytes(31)
    return b"\x30\x44\x02\x20" + r + b"\x02\x20" + s


def server_flight_tls12(
    rng: random.Random, version: int, cipher: int, certificate: bytes, *, ecdhe: bool
) -> bytes:
    """ServerHello, Certificate, [ServerKeyExchange], ServerHelloDone (RFC 5246 §7.4.1–7.4.5)."""
    hello = (
        u16(version)
        + rng.randbytes(32)
        + vec8(rng.randbytes(32))
        + u16(cipher)
        + u8(0)
        + vec16(
            extension(EXT_RENEGOTIATION_INFO, b"\0") + extension(EXT_EC_POINT_FORMATS, vec8(b"\0"))
        )
    )
    chain = u24(len(certificate) + 3) + u24(len(certificate)) + certificate
    messages = [handshake(SERVER_HELLO, hello), handshake(CERTIFICATE, chain)]
    if ecdhe:
        params = u8(3) + u16(X25519) + vec8(rng.randbytes(32))
        signed = u16(ECDSA_SECP256R1_SHA256) + vec16(_ecdsa_signature(rng))
        messages.append(handshake(SERVER_KEY_EXCHANGE, params + signed))
    messages.append(handshake(SERVER_HELLO_DONE, b""))
    return b"".join(record(HANDSHAKE, version, message) for message in messages)


def client_finish_tls12(rng: random.Random, version: int, *, rsa_bytes: int | None) -> bytes:
    """ClientKeyExchange, ChangeCipherSpec and the encrypted Finished (RFC 5246 §7.4.7–7.4.9)."""
    exchange = vec8(rng.randbytes(32)) if rsa_bytes is None else vec16(rng.randbytes(rsa_bytes))
    return (
        record(HANDSHAKE, version, handshake(CLIENT_KEY_EXCHANGE, exchange))
        + record(CHANGE_CIPHER_SPEC, version, b"\x01")
        + record(HANDSHAKE, version, rng.randbytes(40))
    )


def server_finish_tls12(rng: random.Random, version: int) -> bytes:
    """The server's ChangeCipherSpec and encrypted Finished."""
    return record(CHANGE_CIPHER_SPEC, version, b"\x01") + record(
        HANDSHAKE, version, rng.randbytes(40)
    )


def server_flight_tls13(rng: random.Random, client_hello_record: bytes) -> bytes:
    """ServerHello selecting TLS 1.3, the compatibility CCS, the encrypted flight (§4.1.3)."""
    session_id = client_hello_record[44 : 44 + client_hello_record[43]]
    hello = (
        u16(TLS12)
        + rng.randbytes(32)
        + vec8(session_id)
        + u16(AES_128_GCM_SHA256)
        + u8(0)
        + vec16(
            extension(EXT_KEY_SHARE, u16(X25519) + vec16(rng.randbytes(32)))
            + extension(EXT_SUPPORTED_VERSIONS, u16(TLS13))
        )
    )
    return (
        record(HANDSHAKE, TLS12, handshake(SERVER_HELLO, hello))
        + record(CHANGE_CIPHER_SPEC, TLS12, b"\x01")
        + record(APPLICATION_DATA, TLS12, rng.randbytes(rng.randrange(2800, 4600)))
    )


def encrypted(
    rng: random.Random,
    version: int,
    cipher: int,
    plaintext_length: int,
    content_type: int = APPLICATION_DATA,
) -> bytes:
    """An encrypted record of the size ``cipher`` makes of ``plaintext_length`` bytes."""
    if cipher == RSA_3DES_EDE_CBC_SHA:
        with_mac = plaintext_length + 20 + 1
        length = with_mac + (-with_mac % 8)
    elif cipher == AES_128_GCM_SHA256:
        length = plaintext_length + 1 + 16
    else:
        length = 8 + plaintext_length + 16
    return record(content_type, version, rng.randbytes(length))


@dataclass(frozen=True, slots=True)
class TlsServer:
    """What a TLS server negotiates and presents."""

    version: int
    cipher: int
    certificate: ServerCertificate | None
    """None for TLS 1.3 servers, whose certificate travels encrypted."""

    @property
    def weak_reasons(self) -> list[str]:
        """Why a correct assessor calls this server's TLS weak (empty when it is sound)."""
        reasons = []
        if self.version < TLS12:
            reasons.append("TLS 1.0" if self.version == TLS10 else f"version {self.version:#06x}")
        if self.cipher == RSA_3DES_EDE_CBC_SHA:
            reasons.append(CIPHER_NAMES[self.cipher])
        if self.certificate is not None and self.certificate.self_signed:
            reasons.append("self-signed certificate")
        if self.certificate is not None and self.certificate.expired_at is not None:
            day = time.strftime("%Y-%m-%d", time.gmtime(self.certificate.expired_at))
            reasons.append(f"certificate expired {day}")
        return reasons


def pump_server_tls(ctx: Context, server: SimDevice) -> TlsServer:
    """TLS 1.2 with ECDHE-ECDSA-AES128-GCM and a CA-issued certificate (sound)."""
    key = f"tls/{server.index}"
    found = ctx.caches.entries.get(key)
    if found is None:
        cert = ca_issued_certificate(
            ctx.rng("cert", server.index), server.fqdn, ctx.start_us / US, "Simulated Hospital"
        )
        found = TlsServer(TLS12, ECDHE_ECDSA_AES128_GCM_SHA256, cert)
        ctx.caches.entries[key] = found
    return found  # type: ignore[return-value]


def legacy_web_tls(ctx: Context, server: SimDevice) -> TlsServer:
    """TLS 1.0, 3DES and an expired self-signed RSA-1024 certificate (planted weak TLS)."""
    key = f"tls/{server.index}"
    found = ctx.caches.entries.get(key)
    if found is None:
        cert = legacy_self_signed(
            ctx.rng("cert", server.index),
            server.fqdn,
            ctx.start_us / US,
            server.product.manufacturer,
        )
        found = TlsServer(TLS10, RSA_3DES_EDE_CBC_SHA, cert)
        ctx.caches.entries[key] = found
    return found  # type: ignore[return-value]


TLS13_SERVER = TlsServer(TLS13, AES_128_GCM_SHA256, None)


def session(
    rng: random.Random,
    conn: TcpConnection,
    t: int,
    profile: ClientProfile,
    server: TlsServer,
    server_name: str,
    *,
    exchanges: int,
    syn_facts: tuple[object, ...] = (),
    flight_facts: tuple[object, ...] = (),
) -> Steps:
    """One TLS connection: handshake, ``exchanges`` request/response pairs, close_notify, FIN."""
    t = yield from conn.open(t, syn_facts)
    hello = client_hello(rng, profile, server_name)
    t = yield from conn.send(conn.client, t + rng.randrange(200, 1500), hello)
    if server.certificate is None:
        t = yield from _handshake_tls13(rng, conn, t, hello, flight_facts)
        record_version, alert_type = TLS12, APPLICATION_DATA  # TLS 1.3 wraps alerts (§5.2)
    else:
        t = yield from _handshake_tls12(rng, conn, t, server, server.certificate, flight_facts)
        record_version, alert_type = server.version, ALERT
    for _ in range(exchanges):
        request = encrypted(rng, record_version, server.cipher, rng.randrange(300, 900))
        response = b"".join(
            encrypted(rng, record_version, server.cipher, rng.randrange(400, 16000))
            for _ in range(rng.randrange(1, 4))
        )
        t = yield from conn.exchange(
            t + rng.randrange(500, 30_000), request, response, think_us=rng.randrange(1000, 40_000)
        )
    close_notify = encrypted(rng, record_version, server.cipher, 2, alert_type)
    t = yield from conn.send(conn.client, t + rng.randrange(1000, 200_000), close_notify)
    return (yield from conn.close(conn.client, t + rng.randrange(100, 1000)))


def _handshake_tls13(
    rng: random.Random,
    conn: TcpConnection,
    t: int,
    hello: bytes,
    flight_facts: tuple[object, ...],
) -> Steps:
    """ServerHello and encrypted flight; the client's CCS and encrypted Finished (§2, D.4)."""
    flight = server_flight_tls13(rng, hello)
    t = yield from conn.send(conn.server, t + rng.randrange(400, 3000), flight, facts=flight_facts)
    finish = record(CHANGE_CIPHER_SPEC, TLS12, b"\x01") + encrypted(
        rng, TLS12, AES_128_GCM_SHA256, 36
    )
    return (yield from conn.send(conn.client, t + rng.randrange(300, 2000), finish))


def _handshake_tls12(
    rng: random.Random,
    conn: TcpConnection,
    t: int,
    server: TlsServer,
    certificate: ServerCertificate,
    flight_facts: tuple[object, ...],
) -> Steps:
    """Full TLS 1.0–1.2 handshake with the certificate in clear (RFC 5246 §7.3, Figure 1)."""
    ecdhe = server.cipher != RSA_3DES_EDE_CBC_SHA
    flight = server_flight_tls12(rng, server.version, server.cipher, certificate.der, ecdhe=ecdhe)
    t = yield from conn.send(conn.server, t + rng.randrange(400, 3000), flight, facts=flight_facts)
    # RSA key exchange: the premaster secret encrypted under the 1024-bit key is 128 bytes.
    finish = client_finish_tls12(rng, server.version, rsa_bytes=None if ecdhe else 128)
    t = yield from conn.send(conn.client, t + rng.randrange(300, 4000), finish)
    return (
        yield from conn.send(
            conn.server, t + rng.randrange(300, 2000), server_finish_tls12(rng, server.version)
        )
    )


def pump_sessions(
    ctx: Context, pump: SimDevice, server: SimDevice, dns: SimDevice, *, arp: bool = True
) -> Iterator[Item]:
    """A pump checking in with the pump server every minute or so (drug library, events)."""
    rng = ctx.rng("tls-pump", pump.index)
    ports = EphemeralPorts(rng, 32768, 60999)
    tls = pump_server_tls(ctx, server)
    t = ctx.ready(pump) + between(rng, 3.0, 30.0)
    if arp:
        yield from arp_resolve(t, pump.nic, dns.nic)
        t += 1000
    while t < ctx.end_us:
        t = yield from lookup(rng, t, pump.nic, dns.nic, server.fqdn, server.ip)
        conn = TcpConnection(
            pump.nic,
            server.nic,
            ports.take(),
            HTTPS_PORT,
            rng,
            client_window=pump.product.stack.window,
            server_window=server.product.stack.window,
        )
        comm = communication(pump.nic, server.nic, HTTPS_PORT, "tcp", "tls")
        t = yield from session(
            rng,
            conn,
            t + rng.randrange(500, 3000),
            ClientProfile.EMBEDDED,
            tls,
            server.fqdn,
            exchanges=rng.randrange(1, 4),
            syn_facts=(comm,),
        )
        t += between(rng, 45.0, 90.0)


def legacy_web_sessions(
    ctx: Context, client: SimDevice, server: SimDevice, dns: SimDevice
) -> Iterator[Item]:
    """A biomed service tool polling a lab analyser's legacy HTTPS interface."""
    rng = ctx.rng("tls-legacy", client.index, server.index)
    ports = EphemeralPorts(rng)
    tls = legacy_web_tls(ctx, server)
    t = max(ctx.ready(client), ctx.ready(server)) + between(rng, 10.0, 45.0)
    yield from arp_resolve(t, client.nic, server.nic)
    t += 2000
    first = True
    while t < ctx.end_us:
        t = yield from lookup(rng, t, client.nic, dns.nic, server.fqdn, server.ip, aaaa=True)
        conn = TcpConnection(
            client.nic,
            server.nic,
            ports.take(),
            HTTPS_PORT,
            rng,
            client_window=client.product.stack.window,
            server_window=server.product.stack.window,
        )
        comm = communication(client.nic, server.nic, HTTPS_PORT, "tcp", "tls")
        weak = (
            (Risk(FindingKind.WEAK_TLS, server.id, ", ".join(tls.weak_reasons)),) if first else ()
        )
        t = yield from session(
            rng,
            conn,
            t + rng.randrange(500, 3000),
            ClientProfile.LEGACY,
            tls,
            server.fqdn,
            exchanges=rng.randrange(2, 5),
            syn_facts=(comm,),
            flight_facts=weak,
        )
        first = False
        t += between(rng, 120.0, 300.0)


def internet_sessions(
    ctx: Context,
    client: SimDevice,
    dns: SimDevice,
    hosts: tuple[InternetHost, ...],
    *,
    profile: ClientProfile,
    interval: tuple[float, float],
    exposure: bool = False,
) -> Iterator[Item]:
    """HTTPS to public services through the router (TLS 1.3), each preceded by a lookup.

    With ``exposure`` the client is a medical device, and its first connection is the planted
    internet-exposure risk.
    """
    rng = ctx.rng("tls-internet", client.index)
    ports = EphemeralPorts(rng)
    t = ctx.ready(client) + between(rng, 5.0, 40.0)
    yield from arp_resolve(t, client.nic, ctx.hospital.router.nic)
    t += 1500
    first = True
    while t < ctx.end_us:
        host = rng.choice(hosts)
        peer = ctx.internet_nic(host)
        t = yield from lookup(
            rng, t, client.nic, dns.nic, host.name, host.ip, aaaa=profile is ClientProfile.CHROME
        )
        conn = TcpConnection(
            client.nic,
            peer,
            ports.take(),
            HTTPS_PORT,
            rng,
            client_window=client.product.stack.window,
            server_window=65535,
            lag_us=rng.randrange(9_000, 40_000),
        )
        facts: list[object] = [communication(client.nic, peer, HTTPS_PORT, "tcp", "tls")]
        if exposure and first:
            facts.append(
                Risk(
                    FindingKind.INTERNET_EXPOSURE,
                    client.id,
                    f"HTTPS to public address {peer.ip_text} ({host.name})",
                )
            )
        t = yield from session(
            rng,
            conn,
            t + rng.randrange(500, 3000),
            profile,
            TLS13_SERVER,
            host.name,
            exchanges=rng.randrange(1, 5),
            syn_facts=tuple(facts),
        )
        first = False
        t += int(rng.uniform(*interval) * US)
