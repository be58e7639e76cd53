"""Data exfiltration: the compromised workstation stages PACS studies, then uploads them.

What a ransomware affiliate does before encrypting (MITRE ATT&CK T1213 data from information
repositories, T1560 archive collected data, T1567 exfiltration over a web service):

1. **Staging.** The workstation fetches whole studies from the PACS it normally only browses:
   one HTTP/1.1 keep-alive connection to the PACS web port (RFC 9112) carrying
   :data:`STUDIES` GETs of dcm4chee-arc's study export (DICOM PS3.18 §10.4 retrieve,
   ``accept=application/zip``), a few MB in total, from a PowerShell script.
2. **Archiving.** A pause while the studies are packed into one archive.
3. **Lookup.** The unfamiliar upload host is resolved through the site resolver (RFC 1035),
   A and AAAA as Windows asks.
4. **Upload.** TLS 1.2 to :data:`UPLOAD_HOST` on port 443 (RFC 5246 §7.3 full handshake with
   SNI, RFC 6066 §3), then about 30 MB of ``application_data`` records from the workstation
   at :data:`UPLOAD_RATE`, the server's short response, ``close_notify`` and FIN.

A ``data-exfiltration`` detector sees an internal host send tens of MB to a public address it
never talked to, right after pulling an unusual volume from the PACS.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

from medshield.simulate.attacks.base import (
    AttackScenario,
    attack_start,
    compromised_workstation,
    internal_step,
)
from medshield.simulate.certs import ca_issued_certificate
from medshield.simulate.context import Context, EphemeralPorts, InternetHost, arp_resolve
from medshield.simulate.dicom import UID_ROOT
from medshield.simulate.dns import DNS_PORT, lookup
from medshield.simulate.facts import AttackStep
from medshield.simulate.http import HTTP_PORT, request, response
from medshield.simulate.personas import Role
from medshield.simulate.population import SimDevice
from medshield.simulate.tcp import MSS, TcpConnection, chunks
from medshield.simulate.tls import (
    ALERT,
    APPLICATION_DATA,
    ECDHE_ECDSA_AES128_GCM_SHA256,
    HTTPS_PORT,
    TLS12,
    ClientProfile,
    client_finish_tls12,
    client_hello,
    encrypted,
    record,
    server_finish_tls12,
    server_flight_tls12,
)
from medshield.simulate.wire import US, Item, Nic, Steps

UPLOAD_HOST = InternetHost("files.share-transfer.example", bytes((45, 61, 136, 83)), 51)
"""A file-transfer service the hospital never uses (a Linux host 13 hops away: TTL 64 - 13)."""
UPLOAD_ORGANISATION = "Share Transfer"

STUDIES = 3
"""Studies the workstation pulls from the PACS."""
STUDY_BYTES = (700_000, 1_400_000)
"""Size range of one exported study (a ZIP of compressed DICOM)."""
ARCHIVE_BYTES = (30_000_000, 30_400_000)
"""Size range of the uploaded archive: ~30 MB of plaintext under TLS."""
UPLOAD_RATE = (6_000_000, 9_000_000)
"""Upload throughput range, bytes per second: the archive leaves in a few seconds."""
BULK_GAP_US = 12
"""Time between back-to-back segments of the upload (the NIC's serialisation, ~1 Gb/s)."""
MAX_FRAGMENT = 1 << 14
"""Largest TLS plaintext fragment (RFC 5246 §6.2.1): bulk writes fill records to it."""
GCM_NONCE, GCM_TAG = 8, 16
"""AES-GCM record overhead in TLS 1.2: explicit nonce and tag (RFC 5288 §3)."""
TOOL_PORTS = (59000, 60000)
"""Source ports of the attacker's connections: within Windows' dynamic range (RFC 6335 §6)
but outside the ranges the simulator's browser uses towards the PACS, so that no attack
connection shares a 4-tuple with a benign one."""
POWERSHELL_UA = "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4046"
"""What ``Invoke-WebRequest`` sends as User-Agent."""


def conversations(ctx: Context) -> list[Iterator[Item]]:
    """The staging, lookup and upload of one compromised workstation, as one conversation."""
    return [_exfiltrate(ctx)]


def _exfiltrate(ctx: Context) -> Iterator[Item]:
    hospital = ctx.hospital
    attacker = compromised_workstation(hospital)
    pacs = hospital.one(Role.PACS)
    resolver = hospital.one(Role.INFRASTRUCTURE_SERVER)
    rng = ctx.rng("attack", SCENARIO.name)
    ports = EphemeralPorts(rng, *TOOL_PORTS)
    t = attack_start(ctx, attacker, offset_s=60.0)
    t = yield from _stage(rng, t, attacker, pacs, ports.take())
    t += rng.randrange(2 * US, 5 * US)  # packing the studies into one archive
    upload = ctx.internet_nic(UPLOAD_HOST)
    found = lookup(
        rng, t, attacker.nic, resolver.nic, UPLOAD_HOST.name, UPLOAD_HOST.ip, aaaa=True, ttl=60
    )
    t = yield from _only(found, internal_step(SCENARIO, attacker, resolver.nic, DNS_PORT))
    t += rng.randrange(1_000, 20_000)
    yield from _upload(ctx, rng, t, attacker, upload, ports.take())


def _stage(rng: random.Random, t: int, attacker: SimDevice, pacs: SimDevice, port: int) -> Steps:
    """ARP for the PACS, then one keep-alive HTTP connection exporting :data:`STUDIES`."""
    step = internal_step(SCENARIO, attacker, pacs.nic, HTTP_PORT)
    arp_step = internal_step(SCENARIO, attacker, pacs.nic)
    # No cached entry to count on: Windows keeps one 15–45 s, the browser visits minutes apart.
    for item in arp_resolve(t, attacker.nic, pacs.nic):
        yield item[0], item[1], (arp_step,)
    conn = TcpConnection(
        attacker.nic,
        pacs.nic,
        port,
        HTTP_PORT,
        rng,
        client_window=attacker.product.stack.window,
        server_window=pacs.product.stack.window,
    )
    t = yield from _only(conn.open(t + rng.randrange(1_000, 5_000)), step)
    for _ in range(STUDIES):
        t += rng.randrange(20_000, 600_000)
        study = _study_uid(rng)
        path = f"/dcm4chee-arc/aets/{pacs.product.dicom_ae_prefix}/rs/studies/{study}"
        body = _zip_export(rng, study, rng.randrange(*STUDY_BYTES))
        exchange = conn.exchange(
            t,
            request(f"{path}?accept=application/zip", pacs.fqdn, POWERSHELL_UA),
            response(t, pacs.product.http_server, "application/zip", body),
            think_us=rng.randrange(80_000, 500_000),  # the archive zips the study first
        )
        t = yield from _only(exchange, step)
    return (yield from _only(conn.close(conn.client, t + rng.randrange(5_000, 200_000)), step))


def _upload(
    ctx: Context, rng: random.Random, t: int, attacker: SimDevice, upload: Nic, port: int
) -> Steps:
    """TLS 1.2 session to the upload host carrying the archive (RFC 5246 §7.3, Figure 1)."""
    step = internal_step(SCENARIO, attacker, upload, HTTPS_PORT)
    internet_lag = rng.randrange(9_000, 40_000)
    conn = TcpConnection(
        attacker.nic,
        upload,
        port,
        HTTPS_PORT,
        rng,
        client_window=attacker.product.stack.window,
        server_window=65535,
        lag_us=internet_lag,
    )
    certificate = ca_issued_certificate(
        rng, UPLOAD_HOST.name, ctx.start_us / US, UPLOAD_ORGANISATION
    )
    cipher = ECDHE_ECDSA_AES128_GCM_SHA256
    t = yield from _only(conn.open(t), step)
    hello = client_hello(rng, ClientProfile.EMBEDDED, UPLOAD_HOST.name)
    t = yield from _only(conn.send(conn.client, t + rng.randrange(200, 1500), hello), step)
    flight = server_flight_tls12(rng, TLS12, cipher, certificate.der, ecdhe=True)
    t = yield from _only(conn.send(conn.server, t + rng.randrange(400, 3000), flight), step)
    finish = client_finish_tls12(rng, TLS12, rsa_bytes=None)
    t = yield from _only(conn.send(conn.client, t + rng.randrange(300, 4000), finish), step)
    done = server_finish_tls12(rng, TLS12)
    t = yield from _only(conn.send(conn.server, t + rng.randrange(300, 2000), done), step)
    stream = _upload_stream(rng, rng.randrange(*ARCHIVE_BYTES))
    conn.lag_us = _bulk_lag_us(rng.uniform(*UPLOAD_RATE))
    bulk = conn.send(
        conn.client, t + rng.randrange(1_000, 10_000), chunks(stream), gap_us=BULK_GAP_US
    )
    del stream  # the segments hold the bytes now; a 30 MB copy need not live on
    t = yield from _only(bulk, step)
    conn.lag_us = internet_lag
    # The service stores the archive, then answers with a short JSON (a download link).
    reply = encrypted(rng, TLS12, cipher, rng.randrange(180, 420))
    t = yield from _only(conn.send(conn.server, t + rng.randrange(80_000, 400_000), reply), step)
    close_notify = encrypted(rng, TLS12, cipher, 2, ALERT)
    t = yield from _only(
        conn.send(conn.client, t + rng.randrange(2_000, 60_000), close_notify), step
    )
    return (yield from _only(conn.close(conn.client, t + rng.randrange(100, 1000)), step))


def _bulk_lag_us(rate: float) -> int:
    """The connection lag that paces a bulk :meth:`TcpConnection.send` at ``rate`` bytes/s.

    ``send`` writes two segments :data:`BULK_GAP_US` apart, then waits ``lag_us // 4 + 20``
    µs for the receiver's delayed ACK (RFC 1122 §4.2.3.2). A sender with an open window
    streams at the path's throughput rather than once per round trip, so the bulk phase runs
    on this shorter ACK clock instead of the internet round trip of the handshake.
    """
    pair_us = 2 * MSS * US / rate
    return max(0, int(4 * (pair_us - 2 * BULK_GAP_US - 20)))


def _upload_stream(rng: random.Random, size: int) -> bytes:
    """The client's application data: the HTTP PUT head, then ``size`` bytes of archive.

    Each full record is ``MAX_FRAGMENT`` bytes of ciphertext plus the GCM nonce and tag
    (RFC 5288 §3). Ciphertext is indistinguishable from random, so one random block, rotated
    per record, stands for it cheaply; the explicit nonce is the record sequence number, as
    OpenSSL sends it (the Finished record was number 0).
    """
    head = encrypted(rng, TLS12, ECDHE_ECDSA_AES128_GCM_SHA256, rng.randrange(320, 520))
    block = rng.randbytes(MAX_FRAGMENT + GCM_TAG)
    records = [head]
    for sequence, offset in enumerate(range(0, size, MAX_FRAGMENT), start=2):
        length = min(MAX_FRAGMENT, size - offset) + GCM_TAG
        turn = rng.randrange(len(block))
        ciphertext = (block[turn:] + block[:turn])[:length]
        records.append(
            record(APPLICATION_DATA, TLS12, sequence.to_bytes(GCM_NONCE, "big") + ciphertext)
        )
    return b"".join(records)


def _study_uid(rng: random.Random) -> str:
    """A Study Instance UID under the simulator's UID root (DICOM PS3.5 §9)."""
    return f"{UID_ROOT}.1.{rng.randrange(10**9, 10**10)}.{rng.randrange(10**5, 10**6)}"


def _zip_export(rng: random.Random, study: str, size: int) -> bytes:
    """A study export of ``size`` bytes: a ZIP local file header (APPNOTE §4.3.7) for the
    DICOMDIR folder, then deflated data, which is as random as the header is not."""
    name = f"{study}/DICOMDIR".encode()
    # Version 2.0, data descriptor follows (bit 3), deflate, DOS time and date, sizes deferred.
    header = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x0008, 8, 0, 0x5863, 0, 0, 0, len(name), 0
    )
    prefix = header + name
    return prefix + rng.randbytes(size - len(prefix))


def _only(steps: Steps, step: AttackStep) -> Steps:
    """``steps`` with ``step`` as their only fact, keeping their return value.

    The reused benign builders may attach a Communication (a DNS lookup does); attack frames
    carry none (truth.py, *Attacks*).
    """
    while True:
        try:
            ts, frame = next(steps)[:2]
        except StopIteration as done:
            end: int = done.value
            return end
        yield ts, frame, (step,)


SCENARIO = AttackScenario(
    name="exfil",
    kind="data-exfiltration",
    conversations=conversations,
    summary=(
        "a workstation pulls studies from the PACS over HTTP, then uploads ~30 MB over TLS "
        "to a new internet host"
    ),
)
