"""FTP: a technician logging into a lab analyser's FTP service to collect QC files (RFC 959).

Control connection only: greeting (reply 220), USER/PASS (§4.1.1, replies 331/230), SYST,
PWD, QUIT (reply 221), after which the server closes the connection.
"""

from __future__ import annotations

from collections.abc import Iterator

from medshield.core.enums import FindingKind
from medshield.simulate.context import Context, EphemeralPorts, arp_resolve, between
from medshield.simulate.facts import Risk, communication, software
from medshield.simulate.population import SimDevice
from medshield.simulate.tcp import TcpConnection
from medshield.simulate.wire import Item

FTP_PORT = 21


def login_session(ctx: Context, technician: SimDevice, target: SimDevice) -> Iterator[Item]:
    """Log in with the QC export account, look around, quit; every ten minutes or so."""
    product = target.product
    if product.login is None:
        return
    user, password = product.login
    rng = ctx.rng("ftp", technician.index, target.index)
    ports = EphemeralPorts(rng)
    t = max(ctx.ready(technician), ctx.ready(target)) + between(rng, 40.0, 100.0)
    yield from arp_resolve(t, technician.nic, target.nic)
    t += 2000
    first = True
    while t < ctx.end_us:
        conn = TcpConnection(
            technician.nic,
            target.nic,
            ports.take(),
            FTP_PORT,
            rng,
            client_window=technician.product.stack.window,
            server_window=product.stack.window,
        )
        comm = communication(technician.nic, target.nic, FTP_PORT, "tcp", "ftp")
        t = yield from conn.open(t, (comm,))
        offered = (
            Risk(FindingKind.INSECURE_PROTOCOL, target.id, f"FTP service on port {FTP_PORT}"),
            *software(target, "ftp"),
        )
        t = yield from conn.send(
            conn.server,
            t + rng.randrange(1_000, 10_000),
            f"{product.banner}\r\n".encode(),
            facts=offered if first else (),
        )
        exposed = (
            Risk(
                FindingKind.CLEARTEXT_CREDENTIALS,
                target.id,
                f"FTP USER/PASS for '{user}' sent in cleartext",
            ),
        )
        dialogue = (
            (f"USER {user}", f"331 Password required for {user}.", ()),
            (f"PASS {password}", f"230 User {user} logged in.", exposed if first else ()),
            ("SYST", "215 Windows_NT", ()),
            ("PWD", '257 "/QC" is current directory.', ()),
            ("QUIT", "221 Goodbye.", ()),
        )
        for request, reply, facts in dialogue:
            t = yield from conn.exchange(
                t + rng.randrange(300_000, 2_500_000),
                f"{request}\r\n".encode(),
                f"{reply}\r\n".encode(),
                think_us=rng.randrange(500, 5_000),
                request_facts=facts,
            )
        t = yield from conn.close(conn.server, t + rng.randrange(100, 2_000))
        first = False
        t += between(rng, 500.0, 900.0)
