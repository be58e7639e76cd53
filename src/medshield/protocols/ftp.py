"""FTP control connections (RFC 959), logins included.

The greeting (``220``, RFC 959 §5.4) and the ``SYST`` reply (§4.1.3) often name the server
software and version; ``USER``/``PASS`` (§4.1.1) travel in cleartext and are findings. The
control connection follows the Telnet protocol (§3, §4), so Telnet command sequences are
removed first. Commands and replies are paired in order: each command gets one final reply,
after any preliminary ``1yz`` replies (§4.2, §5.4).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from medshield.core.enums import Transport
from medshield.core.errors import DissectorError
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.credentials import LoginOutcome, RedactedSecret
from medshield.protocols.support import client_context, readable, server_context
from medshield.protocols.telnet import strip_commands

MAX_REPLY_LINES = 32
"""Lines kept of a multi-line reply; greetings are rarely longer."""
MAX_TEXT = 512
MAX_COMMANDS = 64
"""Distinct command verbs kept per session."""
MAX_LOGINS = 128
"""Login attempts reported per connection; enough to show a brute force."""

_REPLY_LINE = re.compile(r"(\d{3})([ -])(.*)\Z", re.DOTALL)
"""RFC 959 §4.2: three digits, then a space (last line) or a hyphen (more lines follow)."""
_COMMAND_LINE = re.compile(rb"([A-Za-z]{3,4})(?: (.*))?\Z", re.DOTALL)
"""RFC 959 §5.3: a command code of three or four letters and its argument."""
_LINE_BREAK = re.compile(rb"\r?\n")

LOGIN_ACCEPTED = frozenset({230, 202})
"""230 user logged in; 202 superfluous (already logged in) (§4.2.2)."""
LOGIN_REFUSED = frozenset({530, 430})
"""530 not logged in (§4.2.2); 430 invalid user name or password (RFC 2228 use)."""
TLS_ACCEPTED = 234
"""RFC 4217 §4: AUTH TLS accepted; what follows on both sides is TLS."""


@dataclass(frozen=True, slots=True)
class FtpReply:
    """A reply (RFC 959 §4.2): its code and text lines (codes stripped)."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The lines joined by newlines, at most 512 characters."""
        return "\n".join(self.lines)[:MAX_TEXT]


@dataclass(frozen=True, slots=True, kw_only=True)
class FtpSession(Observation):
    """What an FTP server says about itself and what the client did (RFC 959)."""

    kind: ClassVar[str] = "ftp.session"

    banner: str | None = None
    """Text of the greeting, e.g. ``(vsFTPd 3.0.3)`` (§5.4)."""
    banner_code: int | None = None
    """220 ready, 120 ready soon, 421 not available."""
    system: str | None = None
    """Text of the 215 reply to ``SYST`` (§4.1.3), e.g. ``UNIX Type: L8``."""
    tls_upgraded: bool = False
    """``AUTH TLS``/``AUTH SSL`` was accepted (RFC 4217 §4): the rest is encrypted."""
    commands: tuple[str, ...] = ()
    """Distinct command verbs the client sent, upper-case, in order (no arguments)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FtpLogin(Observation):
    """One login attempt: ``USER`` and ``PASS`` (RFC 959 §4.1.1) and the server's answer."""

    kind: ClassVar[str] = "ftp.login"

    username: str | None = None
    password: RedactedSecret | None = None
    reply_code: int | None = None
    """The final reply that decided the attempt (230, 530 …)."""
    outcome: LoginOutcome = LoginOutcome.UNKNOWN


def _lines(data: bytes) -> list[bytes]:
    """Complete lines (CRLF per RFC 959 §4.1, a bare LF tolerated); a cut last line is
    dropped."""
    lines = _LINE_BREAK.split(data)
    return lines[:-1]


def parse_replies(data: bytes) -> list[FtpReply]:
    """Replies in a server stream (RFC 959 §4.2).

    Raises :class:`DissectorError` when the stream does not open with a reply code; stops
    quietly at the first line that breaks the reply syntax later on.
    """
    replies: list[FtpReply] = []
    lines = iter(_lines(strip_commands(data).data))
    for raw in lines:
        match = _REPLY_LINE.match(raw.decode("utf-8", "replace"))
        if match is None:
            if not replies and raw.strip():
                raise DissectorError("the server's first line is not an FTP reply")
            if raw.strip():
                break
            continue
        code, more, first = match.groups()
        text = [readable(first.encode("utf-8"), MAX_TEXT)]
        if more == "-":
            text.extend(_continuation(lines, code))
        replies.append(FtpReply(int(code), tuple(line for line in text if line)))
    return replies


def _continuation(lines: Iterator[bytes], code: str) -> list[str]:
    """The remaining lines of a multi-line reply, up to ``code`` followed by a space.

    Servers often repeat ``code-`` on inner lines; that prefix is dropped like the last
    line's ``code `` (RFC 959 §4.2 allows any text there).
    """
    kept: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", "replace")
        last = line.startswith(f"{code} ")
        prefixed = last or line.startswith(f"{code}-")
        if len(kept) < MAX_REPLY_LINES:
            kept.append(readable((line[4:] if prefixed else line).encode("utf-8"), MAX_TEXT))
        if last:
            break
    return kept


def parse_commands(data: bytes) -> list[tuple[str, bytes]]:
    """Commands in a client stream (RFC 959 §5.3): upper-case verb and raw argument.

    Stops at the first line that is not a command (after ``AUTH TLS``, TLS records).
    """
    commands: list[tuple[str, bytes]] = []
    for raw in _lines(strip_commands(data).data):
        match = _COMMAND_LINE.match(raw)
        if match is None:
            break
        commands.append((match.group(1).decode("ascii").upper(), match.group(2) or b""))
    return commands


def _final_replies(replies: list[FtpReply]) -> tuple[FtpReply | None, list[FtpReply]]:
    """The greeting and then one final reply per command (preliminary 1yz skipped)."""
    finals = [reply for reply in replies if not 100 <= reply.code < 200]
    greeting = finals[0] if finals else (replies[0] if replies else None)
    return greeting, finals[1:]


def _outcome(reply: FtpReply | None) -> LoginOutcome:
    if reply is None:
        return LoginOutcome.UNKNOWN
    if reply.code in LOGIN_ACCEPTED:
        return LoginOutcome.SUCCESS
    if reply.code in LOGIN_REFUSED:
        return LoginOutcome.FAILURE
    return LoginOutcome.UNKNOWN


@dataclass(slots=True)
class _Login:
    username: str | None = None
    password: bytes | None = None
    reply: FtpReply | None = None


def _logins(commands: list[tuple[str, bytes]], finals: list[FtpReply]) -> list[_Login]:
    """USER/PASS exchanges with the reply that settled each (RFC 959 §5.4 USER/PASS)."""
    logins: list[_Login] = []
    for index, (verb, argument) in enumerate(commands):
        reply = finals[index] if index < len(finals) else None
        starts_attempt = verb == "USER" or (
            verb == "PASS" and (not logins or logins[-1].password is not None)
        )
        if starts_attempt and len(logins) == MAX_LOGINS:
            break
        if verb == "USER":
            logins.append(_Login(username=readable(argument, MAX_TEXT), reply=reply))
        elif verb == "PASS":
            if not logins or logins[-1].password is not None:
                logins.append(_Login())
            logins[-1].password = argument
            logins[-1].reply = reply
    return logins


def dissect(payload: FlowPayload) -> list[Observation]:
    """The session (greeting, system, commands) and each login attempt of a control
    connection."""
    replies = parse_replies(payload.server_bytes)
    commands = parse_commands(payload.client_bytes)
    if not replies and not commands:
        return []
    greeting, finals = _final_replies(replies)
    system: str | None = None
    tls = False
    for index, (verb, _) in enumerate(commands):
        reply = finals[index] if index < len(finals) else None
        if verb == "SYST" and reply is not None and reply.code == 215:
            system = reply.text or None
        if verb == "AUTH" and reply is not None and reply.code == TLS_ACCEPTED:
            tls = True
            commands = commands[: index + 1]
            break
    verbs = list(dict.fromkeys(verb for verb, _ in commands))[:MAX_COMMANDS]
    observations: list[Observation] = [
        FtpSession(
            **server_context(payload),
            banner=(greeting.text or None) if greeting else None,
            banner_code=greeting.code if greeting else None,
            system=system,
            tls_upgraded=tls,
            commands=tuple(verbs),
        )
    ]
    for login in _logins(commands, finals):
        observations.append(
            FtpLogin(
                **client_context(payload),
                username=login.username,
                password=None if login.password is None else RedactedSecret.of(login.password),
                reply_code=login.reply.code if login.reply else None,
                outcome=_outcome(login.reply),
            )
        )
    return observations


SIGNATURE = Signature(transport=Transport.TCP, ports=frozenset({21}))
"""No probe: FTP servers speak first, and the client's ``USER`` also opens POP3 (RFC 1939)."""
DISSECTOR = FunctionDissector(name="ftp", signature=SIGNATURE, function=dissect)
