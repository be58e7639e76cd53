"""HTTP/1.1 from workstations to the PACS web viewer (RFC 9110, RFC 9112).

Requests carry Host, User-Agent, Accept and Connection headers (RFC 9110 §7.2, §10.1.5);
responses a Date, Server (§10.2.4), Content-Type and Content-Length. The biomed workstation
opens the archive's admin page with ``Authorization: Basic`` (RFC 7617), the planted cleartext
credential.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Iterator

from medshield.core.enums import FindingKind
from medshield.simulate.context import Context, EphemeralPorts, arp_resolve, between
from medshield.simulate.dns import lookup
from medshield.simulate.facts import Risk, communication, software
from medshield.simulate.population import SimDevice
from medshield.simulate.tcp import TcpConnection
from medshield.simulate.wire import US, Item

HTTP_PORT = 80
ADMIN_USER = "pacsadmin"
ADMIN_PASSWORD = "Archive#2023"
VIEWER_PATHS = ("/viewer/", "/viewer/worklist?modality=CT", "/viewer/worklist?modality=MR")
ASSETS = (
    ("/viewer/app.js", "application/javascript", 48_000),
    ("/viewer/styles.css", "text/css", 9_000),
)


def http_date(ts_us: int) -> str:
    """IMF-fixdate (RFC 9110 §5.6.7)."""
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(ts_us // US))


def request(path: str, host: str, user_agent: str, authorization: str | None = None) -> bytes:
    """A GET request (RFC 9112 §3) with the headers a browser sends."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        "Connection: keep-alive",
        f"User-Agent: {user_agent}",
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Encoding: gzip, deflate",
        "Accept-Language: en-US,en;q=0.9",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def basic_credentials(user: str, password: str) -> str:
    """The Basic authorization value (RFC 7617 §2)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def response(ts_us: int, server: str, content_type: str, body: bytes) -> bytes:
    """A 200 OK response (RFC 9112 §4) with the body."""
    head = (
        "HTTP/1.1 200 OK\r\n"
        f"Date: {http_date(ts_us)}\r\n"
        f"Server: {server}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def page(rng: random.Random, title: str, size: int) -> bytes:
    """An HTML page of about ``size`` bytes (no patient data)."""
    rows = "".join(
        f"<tr><td>{rng.randrange(10**5, 10**6)}</td><td>queued</td></tr>"
        for _ in range(max(1, size // 42))
    )
    html = (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><table>{rows}"
        "</table></body></html>"
    )
    return html.encode()


_ASSET_ALPHABET = b"abcdefghijklmnopqrstuvwxyz();{}=.,\n "
_TO_ASSET_TEXT = bytes(_ASSET_ALPHABET[i % len(_ASSET_ALPHABET)] for i in range(256))


def asset(rng: random.Random, size: int) -> bytes:
    """A static asset body of ``size`` printable bytes."""
    return rng.randbytes(size).translate(_TO_ASSET_TEXT)


def browse_viewer(
    ctx: Context, workstation: SimDevice, pacs: SimDevice, dns: SimDevice, *, admin: bool = False
) -> Iterator[Item]:
    """Visits to the PACS web viewer (or, with ``admin``, its admin page with Basic auth)."""
    rng = ctx.rng("http", workstation.index, "admin" if admin else "viewer")
    # Disjoint port ranges: the admin and viewer visits of one workstation never share a 4-tuple.
    ports = EphemeralPorts(rng, 60000, 65000) if admin else EphemeralPorts(rng, 49152, 59000)
    host = pacs.fqdn
    t = max(ctx.ready(workstation), ctx.ready(pacs)) + between(rng, 8.0, 90.0)
    yield from arp_resolve(t, workstation.nic, pacs.nic)
    t += 2000
    first = True
    while t < ctx.end_us:
        t = yield from lookup(rng, t, workstation.nic, dns.nic, host, pacs.ip, aaaa=True)
        conn = TcpConnection(
            workstation.nic,
            pacs.nic,
            ports.take(),
            HTTP_PORT,
            rng,
            client_window=workstation.product.stack.window,
            server_window=pacs.product.stack.window,
        )
        comm = communication(workstation.nic, pacs.nic, HTTP_PORT, "tcp", "http")
        t = yield from conn.open(t + rng.randrange(300, 2000), (comm,))
        client_facts: tuple[object, ...] = software(workstation, "http") if first else ()
        server_facts: tuple[object, ...] = software(pacs, "http") if first else ()
        if admin:
            authorization = basic_credentials(ADMIN_USER, ADMIN_PASSWORD)
            if first:
                client_facts += (
                    Risk(
                        FindingKind.CLEARTEXT_CREDENTIALS,
                        pacs.id,
                        f"HTTP Basic credentials for '{ADMIN_USER}' on port {HTTP_PORT}",
                    ),
                )
            pages = [("/dcm4chee-arc/ui2/", "text/html", 6_000)]
        else:
            authorization = None
            pages = [(rng.choice(VIEWER_PATHS), "text/html", rng.randrange(2_000, 12_000))]
            pages += list(ASSETS) if rng.random() < 0.5 else []
        for path, content_type, size in pages:
            body = page(rng, "Archive", size) if content_type == "text/html" else asset(rng, size)
            t += rng.randrange(2_000, 400_000)
            t = yield from conn.exchange(
                t,
                request(path, host, workstation.product.user_agent, authorization),
                response(t, pacs.product.http_server, content_type, body),
                think_us=rng.randrange(1_000, 20_000),
                request_facts=client_facts,
                response_facts=server_facts,
            )
            client_facts = server_facts = ()
        t = yield from conn.close(conn.client, t + between(rng, 1.0, 15.0))
        first = False
        t += between(rng, 60.0, 240.0) if not admin else between(rng, 300.0, 900.0)
