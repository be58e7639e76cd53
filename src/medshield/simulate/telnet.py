"""Telnet: a biomed technician logging into a pump's embedded serial server (RFC 854, RFC 857).

The server opens option negotiation (WILL ECHO, WILL SUPPRESS-GO-AHEAD, DO TERMINAL-TYPE,
DO NAWS; RFC 857, RFC 858, RFC 1091, RFC 1073), prints its banner and ``login:``. The client
sends one keystroke per segment, as interactive clients do; the server echoes the user name
(it negotiated ECHO) but not the password, which it only acknowledges.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from medshield.core.enums import FindingKind
from medshield.simulate.context import Context, EphemeralPorts, arp_resolve, between
from medshield.simulate.facts import Risk, communication, software
from medshield.simulate.population import SimDevice
from medshield.simulate.tcp import TcpConnection
from medshield.simulate.wire import Item, Steps

TELNET_PORT = 23
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SUPPRESS_GO_AHEAD, TERMINAL_TYPE, NAWS = 1, 3, 24, 31
TTYPE_IS, TTYPE_SEND = 0, 1


def command(verb: int, option: int) -> bytes:
    """An option negotiation command: IAC verb option (RFC 854, p. 14)."""
    return bytes((IAC, verb, option))


def subnegotiation(option: int, data: bytes) -> bytes:
    """IAC SB option data IAC SE (RFC 855)."""
    return bytes((IAC, SB, option)) + data + bytes((IAC, SE))


SERVER_OPENING = (
    command(WILL, ECHO)
    + command(WILL, SUPPRESS_GO_AHEAD)
    + command(DO, TERMINAL_TYPE)
    + command(DO, NAWS)
)
CLIENT_ANSWER = (
    command(DO, ECHO)
    + command(DO, SUPPRESS_GO_AHEAD)
    + command(WILL, TERMINAL_TYPE)
    + command(WILL, NAWS)
    + subnegotiation(NAWS, b"\x00\x50\x00\x18")
)
TTYPE_REQUEST = subnegotiation(TERMINAL_TYPE, bytes((TTYPE_SEND,)))
TTYPE_REPLY = subnegotiation(TERMINAL_TYPE, bytes((TTYPE_IS,)) + b"VT100")


def _keystrokes(
    conn: TcpConnection,
    rng: random.Random,
    t: int,
    text: str,
    *,
    echo: bool,
    facts_on_enter: tuple[object, ...] = (),
    reply_on_enter: bytes = b"",
) -> Steps:
    """Type ``text`` and Enter one key per segment; the server echoes or just ACKs each key."""
    for key in text:
        t += rng.randrange(110_000, 380_000)
        t = yield from conn.send(conn.client, t, key.encode())
        if echo:
            t = yield from conn.send(conn.server, t + rng.randrange(400, 2500), key.encode())
        else:
            t = yield from conn.ack(conn.server, t + rng.randrange(20_000, 45_000))
    t += rng.randrange(150_000, 500_000)
    t = yield from conn.send(conn.client, t, b"\r\n", facts=facts_on_enter)
    return (yield from conn.send(conn.server, t + rng.randrange(1_000, 90_000), reply_on_enter))


def login_session(ctx: Context, technician: SimDevice, target: SimDevice) -> Iterator[Item]:
    """A technician's telnet session on ``target`` with the model's service login, repeated."""
    login = target.product.login
    if login is None:
        return
    rng = ctx.rng("telnet", technician.index, target.index)
    ports = EphemeralPorts(rng)
    t = max(ctx.ready(technician), ctx.ready(target)) + between(rng, 20.0, 60.0)
    yield from arp_resolve(t, technician.nic, target.nic)
    t += 3000
    first = True
    while t < ctx.end_us:
        conn = TcpConnection(
            technician.nic,
            target.nic,
            ports.take(),
            TELNET_PORT,
            rng,
            client_window=technician.product.stack.window,
            server_window=target.product.stack.window,
        )
        comm = communication(technician.nic, target.nic, TELNET_PORT, "tcp", "telnet")
        t = yield from conn.open(t, (comm,))
        t = yield from _negotiate(conn, rng, t)
        t = yield from _login(conn, rng, t, target, login, first=first)
        t = yield from _keystrokes(
            conn, rng, t, "info device", echo=True, reply_on_enter=_status(target)
        )
        t = yield from _keystrokes(
            conn, rng, t, "exit", echo=True, reply_on_enter=b"\r\nGoodbye.\r\n"
        )
        t = yield from conn.close(conn.server, t + rng.randrange(500, 5_000))
        first = False
        t += between(rng, 900.0, 1800.0)


def _negotiate(conn: TcpConnection, rng: random.Random, t: int) -> Steps:
    """Server DO/WILL offers, client answers with window size, terminal type exchange."""
    t = yield from conn.send(conn.server, t + rng.randrange(2_000, 20_000), SERVER_OPENING)
    t = yield from conn.send(conn.client, t + rng.randrange(500, 3_000), CLIENT_ANSWER)
    t = yield from conn.send(conn.server, t + rng.randrange(500, 3_000), TTYPE_REQUEST)
    return (yield from conn.send(conn.client, t + rng.randrange(500, 3_000), TTYPE_REPLY))


def _login(
    conn: TcpConnection,
    rng: random.Random,
    t: int,
    target: SimDevice,
    login: tuple[str, str],
    *,
    first: bool,
) -> Steps:
    """Banner and ``login:``, the user name echoed, the password not, then the prompt."""
    product = target.product
    user, password = login
    offered = (
        Risk(FindingKind.INSECURE_PROTOCOL, target.id, f"telnet service on port {TELNET_PORT}"),
        *software(target, "telnet"),
    )
    banner = f"\r\n{product.banner}\r\n\r\nlogin: ".encode()
    t = yield from conn.send(
        conn.server, t + rng.randrange(1_000, 8_000), banner, facts=offered if first else ()
    )
    t = yield from _keystrokes(conn, rng, t, user, echo=True, reply_on_enter=b"\r\nPassword: ")
    exposed = [
        Risk(
            FindingKind.CLEARTEXT_CREDENTIALS,
            target.id,
            f"telnet login for '{user}' sent in cleartext",
        )
    ]
    if product.login_is_default:
        maker = product.banner.split(" Version")[0]
        exposed.append(
            Risk(
                FindingKind.DEFAULT_CREDENTIALS,
                target.id,
                f"telnet login '{user}' with the {maker} factory default password",
            )
        )
    return (
        yield from _keystrokes(
            conn,
            rng,
            t,
            password,
            echo=False,
            facts_on_enter=tuple(exposed) if first else (),
            reply_on_enter=b"\r\n\r\n#> ",
        )
    )


def _status(target: SimDevice) -> bytes:
    """What ``info device`` prints."""
    return (
        f"\r\nDevice Information:\r\n  Product: {target.product.banner}\r\n  MAC Address: "
        f"{target.mac_text}\r\n  IP Address: {target.ip_text}\r\n  Serial: {target.serial}"
        "\r\n\r\n#> "
    ).encode()
