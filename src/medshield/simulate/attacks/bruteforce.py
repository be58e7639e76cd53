"""Password guessing against a device's FTP service, as hydra or medusa run it (RFC 959).

The compromised workstation opens :data:`TASKS` parallel control connections to the FTP
service of the first lab analyser. On each, the server greets (reply 220) and the tool tries
up to :data:`ATTEMPTS_PER_CONNECTION` guesses (§4.1.1 USER and PASS): ``USER`` → 331,
``PASS`` → 530 after the server's failed-login pause of 1–2 s (vsftpd's
``delay_failed_login``); after the third failure the server drops the connection
(``max_login_fails``) and the task reconnects with the next guesses. The guesses are the
user × password pairs of a small wordlist, in hydra's order (every password for one user,
then the next user), never the device's real credential: every attempt fails.

A site without a lab analyser falls back to telnet (RFC 854) on the first infusion pump with
a service login: ``login:`` and ``Password:`` prompts, ``Login incorrect`` after the same
pause. Every frame carries the scenario's :class:`~medshield.simulate.facts.AttackStep`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from medshield.simulate.attacks.base import (
    AttackScenario,
    attack_start,
    compromised_workstation,
    internal_step,
    marked,
)
from medshield.simulate.context import Context, EphemeralPorts, arp_resolve, between
from medshield.simulate.ftp import FTP_PORT
from medshield.simulate.personas import Role
from medshield.simulate.population import Hospital, SimDevice
from medshield.simulate.tcp import TcpConnection
from medshield.simulate.telnet import (
    DO,
    ECHO,
    NAWS,
    SERVER_OPENING,
    SUPPRESS_GO_AHEAD,
    TELNET_PORT,
    TERMINAL_TYPE,
    WONT,
    command,
)
from medshield.simulate.wire import Item, Steps

TASKS = 4
"""Parallel connections, as ``hydra -t 4``."""
ATTEMPTS_PER_CONNECTION = 3
"""Failed logins after which the server drops the connection."""
ATTEMPTS = (40, 60)
"""Bounds of the number of guesses the tool makes before giving up."""
USERS = ("admin", "service", "root", "ftp", "lab")
PASSWORDS = (
    "admin",
    "123456",
    "password",
    "12345678",
    "1234",
    "service",
    "root",
    "changeme",
    "guest",
    "qwerty",
    "letmein",
    "default",
)
FAILED_LOGIN_DELAY_S = (1.0, 2.0)
"""The server's pause before it answers a wrong password."""
DELAYED_ACK_US = 40_000
"""The server acknowledges the PASS segment while it pauses (RFC 1122 §4.2.3.2)."""
DEFAULT_FTP_BANNER = "220 FTP server ready."

Guess = tuple[str, str]
Dialogue = Callable[[TcpConnection, random.Random, int, SimDevice, tuple[Guess, ...]], Steps]


@dataclass(frozen=True, slots=True)
class _Service:
    """The login service guessed against: its port and one connection's dialogue."""

    port: int
    dialogue: Dialogue


def conversations(ctx: Context) -> list[Iterator[Item]]:
    """One conversation per parallel task (none on a site with no login service)."""
    hospital = ctx.hospital
    found = _target(hospital)
    if found is None:
        return []
    target, service = found
    attacker = compromised_workstation(hospital)
    batches = _batches(ctx.rng("attack", SCENARIO.name), target)
    ports = EphemeralPorts(ctx.rng("attack", SCENARIO.name, "ports"))
    # Sequential client ports in connection order, whichever task opens the connection.
    plan = [(ports.take(), batch) for batch in batches]
    step = internal_step(SCENARIO, attacker, target.nic, service.port)
    start = attack_start(ctx, attacker, offset_s=30.0)
    return [
        marked(_task(ctx, attacker, target, service, plan[task::TASKS], start, task), step)
        for task in range(min(TASKS, len(plan)))
    ]


def _target(hospital: Hospital) -> tuple[SimDevice, _Service] | None:
    """The first lab analyser's FTP service, else the first pump's telnet login, else none."""
    lab = hospital.optional(Role.LAB_ANALYSER)
    if lab is not None and lab.product.login is not None:
        return lab, _Service(FTP_PORT, _ftp_connection)
    for pump in hospital.of(Role.INFUSION_PUMP):
        if pump.product.login is not None:
            return pump, _Service(TELNET_PORT, _telnet_connection)
    return None


def _batches(rng: random.Random, target: SimDevice) -> list[tuple[Guess, ...]]:
    """The guesses in wordlist order, cut into one batch per connection."""
    real = target.product.login
    pairs = [(user, word) for user in USERS for word in PASSWORDS if (user, word) != real]
    count = min(len(pairs), rng.randint(*ATTEMPTS))
    guesses = pairs[:count]
    size = ATTEMPTS_PER_CONNECTION
    return [tuple(guesses[i : i + size]) for i in range(0, count, size)]


def _task(
    ctx: Context,
    attacker: SimDevice,
    target: SimDevice,
    service: _Service,
    plan: list[tuple[int, tuple[Guess, ...]]],
    start: int,
    task: int,
) -> Steps:
    """One task's connections, back to back; the first task resolves the target first."""
    rng = ctx.rng("attack", SCENARIO.name, "task", task)
    t = start
    if task == 0:
        yield from arp_resolve(t, attacker.nic, target.nic)
    # The tool starts its tasks within milliseconds once the target's MAC is known.
    t += 2_000 + task * rng.randrange(300, 3_000)
    for port, guesses in plan:
        conn = TcpConnection(
            attacker.nic,
            target.nic,
            port,
            service.port,
            rng,
            client_window=attacker.product.stack.window,
            server_window=target.product.stack.window,
        )
        t = yield from conn.open(t)
        t = yield from service.dialogue(conn, rng, t, target, guesses)
        if len(guesses) == ATTEMPTS_PER_CONNECTION:
            t = yield from conn.close(conn.server, t + rng.randrange(200, 1_500))
        else:
            # Out of guesses before the server's limit: the tool hangs up itself.
            t = yield from conn.close(conn.client, t + rng.randrange(200, 1_500))
        t += rng.randrange(1_000, 8_000)
    return t


def _ftp_connection(
    conn: TcpConnection,
    rng: random.Random,
    t: int,
    target: SimDevice,
    guesses: tuple[Guess, ...],
) -> Steps:
    """Greeting, then USER/331 and PASS/530 per guess (RFC 959 §4.1.1, §4.2 reply codes)."""
    banner = target.product.banner or DEFAULT_FTP_BANNER
    t = yield from conn.send(
        conn.server, t + rng.randrange(1_000, 10_000), f"{banner}\r\n".encode()
    )
    for user, password in guesses:
        t = yield from _line(conn, rng, t, f"USER {user}")
        t = yield from _reply(conn, rng, t, f"331 Password required for {user}.")
        t = yield from _line(conn, rng, t, f"PASS {password}")
        t = yield from _refusal(conn, rng, t, b"530 Login incorrect.\r\n")
    return t


def _telnet_connection(
    conn: TcpConnection,
    rng: random.Random,
    t: int,
    target: SimDevice,
    guesses: tuple[Guess, ...],
) -> Steps:
    """Option negotiation, banner and ``login:``; the tool types whole lines (RFC 854).

    A guessing tool accepts the server's ECHO and SUPPRESS-GO-AHEAD (RFC 857, RFC 858) and
    refuses the terminal options it has no use for (RFC 1091, RFC 1073). The server echoes
    the user name, not the password.
    """
    t = yield from conn.send(conn.server, t + rng.randrange(2_000, 20_000), SERVER_OPENING)
    answer = (
        command(DO, ECHO)
        + command(DO, SUPPRESS_GO_AHEAD)
        + command(WONT, TERMINAL_TYPE)
        + command(WONT, NAWS)
    )
    t = yield from conn.send(conn.client, t + rng.randrange(500, 3_000), answer)
    banner = f"\r\n{target.product.banner}\r\n\r\nlogin: ".encode()
    t = yield from conn.send(conn.server, t + rng.randrange(1_000, 8_000), banner)
    for index, (user, password) in enumerate(guesses):
        t = yield from _line(conn, rng, t, user)
        t = yield from conn.send(
            conn.server, t + rng.randrange(500, 3_000), f"{user}\r\nPassword: ".encode()
        )
        t = yield from _line(conn, rng, t, password)
        last = index == ATTEMPTS_PER_CONNECTION - 1
        refusal = "\r\nLogin incorrect\r\n" + ("" if last else "\r\nlogin: ")
        t = yield from _refusal(conn, rng, t, refusal.encode())
    return t


def _line(conn: TcpConnection, rng: random.Random, t: int, text: str) -> Steps:
    """A command line the tool sends as soon as the previous reply arrived."""
    return (
        yield from conn.send(conn.client, t + rng.randrange(200, 2_000), f"{text}\r\n".encode())
    )


def _reply(conn: TcpConnection, rng: random.Random, t: int, text: str) -> Steps:
    """A prompt reply the server sends at once."""
    return (
        yield from conn.send(conn.server, t + rng.randrange(500, 3_000), f"{text}\r\n".encode())
    )


def _refusal(conn: TcpConnection, rng: random.Random, t: int, text: bytes) -> Steps:
    """The server ACKs the password, pauses, then refuses it."""
    answer_at = t + between(rng, *FAILED_LOGIN_DELAY_S)
    yield from conn.ack(conn.server, t + DELAYED_ACK_US + rng.randrange(0, 2_000))
    return (yield from conn.send(conn.server, answer_at, text))


SCENARIO = AttackScenario(
    name="bruteforce",
    kind="brute-force",
    conversations=conversations,
    summary="4 parallel FTP connections from a workstation guessing 40-60 passwords on a lab "
    "analyser, all refused",
)
