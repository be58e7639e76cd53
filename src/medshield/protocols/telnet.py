"""Telnet sessions (RFC 854 with option negotiation per RFC 855, 857, 858, 1091).

Telnet is cleartext: the banner a device prints names its vendor, model or firmware, and the
login it asks for travels as typed. Command sequences are stripped first (RFC 854 "The
Telnet Command Structure"). Prompts and the banner are read from the server's stream; what
was typed comes from the client's stream, because a server echoes the user name (RFC 857)
but never the password. Without timestamps per byte, the n-th line the client typed answers
the n-th prompt the server printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from medshield.core.enums import Transport
from medshield.core.flow import FlowPayload
from medshield.core.observation import Observation
from medshield.protocols.base import FunctionDissector, Signature
from medshield.protocols.credentials import LoginOutcome, RedactedSecret
from medshield.protocols.support import client_context, readable, server_context

IAC = 255
DONT = 254
DO = 253
WONT = 252
WILL = 251
SB = 250
SE = 240
NEGOTIATION = frozenset({WILL, WONT, DO, DONT})
"""RFC 854: IAC WILL/WONT/DO/DONT <option> (three bytes)."""

OPTION_TERMINAL_TYPE = 24
"""RFC 1091: IAC SB TERMINAL-TYPE IS <name> IAC SE."""
TERMINAL_TYPE_IS = 0

CR = 0x0D
LF = 0x0A
NUL = 0x00
ERASE_CHARACTERS = frozenset({0x08, 0x7F})
"""Backspace and DEL, which terminals send for the erase key."""
ERASE_LINE = 0x15
"""Ctrl-U, the erase-line character of Unix terminals."""

BANNER_LINES = 5
MAX_FIELD = 128
MAX_ATTEMPTS = 128
"""Login attempts reported per connection; enough to show a brute force."""

_LOGIN_PROMPT = re.compile(r"(?<![A-Za-z])(?<!last )(?:login|username|user name)[ \t]*:", re.I)
_PASSWORD_PROMPT = re.compile(r"(?<![A-Za-z])(?:password|passcode)[ \t]*:", re.I)
_FAILURE = re.compile(r"incorrect|invalid|fail|denied|bad password|wrong", re.I)
_SUCCESS = re.compile(r"last login|welcome|^[^\r\n]{0,64}[$#%>](?:[ \t]|\Z)", re.I | re.M)
"""After the password: a greeting, or a shell prompt (``$``, ``#``, ``%``, ``>``) opening a line."""

LOGIN = "login"
PASSWORD = "password"


@dataclass(frozen=True, slots=True)
class TelnetStream:
    """One direction with its command sequences removed (RFC 854)."""

    data: bytes
    negotiations: tuple[tuple[int, int], ...] = ()
    """(command, option) pairs: WILL/WONT/DO/DONT and the option code (RFC 855)."""
    terminal_type: str | None = None
    """The name sent with TERMINAL-TYPE IS (RFC 1091)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TelnetSession(Observation):
    """What the server shows before a login, and whether it asks for one."""

    kind: ClassVar[str] = "telnet.session"

    banner: str | None = None
    """Up to five non-empty lines the server printed before the line of its first prompt."""
    prompt: str | None = None
    """The line of the first prompt, e.g. ``pump-07 login:`` (often names the host)."""
    login_prompt: bool = False
    password_prompt: bool = False
    terminal_type: str | None = None
    """Terminal type the client announced (RFC 1091)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TelnetLogin(Observation):
    """One login attempt: the user name typed, the password redacted, the server's answer."""

    kind: ClassVar[str] = "telnet.login"

    username: str | None = None
    """``None`` when the server asked only for a password."""
    password: RedactedSecret | None = None
    outcome: LoginOutcome = LoginOutcome.UNKNOWN


def _subnegotiation(data: bytes, start: int) -> tuple[bytes, int]:
    """The parameters of IAC SB … IAC SE from ``start`` (after SB) and the offset after SE.

    IAC IAC inside stands for a data byte 255 (RFC 855). A missing SE ends at the data end.
    """
    body = bytearray()
    index = start
    while index < len(data):
        byte = data[index]
        if byte == IAC and index + 1 < len(data):
            following = data[index + 1]
            if following == SE:
                return bytes(body), index + 2
            body.append(following)
            index += 2
            continue
        body.append(byte)
        index += 1
    return bytes(body), len(data)


def strip_commands(data: bytes) -> TelnetStream:
    """Data bytes of one direction without Telnet commands (RFC 854, RFC 855)."""
    text = bytearray()
    negotiations: list[tuple[int, int]] = []
    terminal_type: str | None = None
    index = 0
    while index < len(data):
        byte = data[index]
        if byte != IAC:
            text.append(byte)
            index += 1
            continue
        if index + 1 >= len(data):
            break
        command = data[index + 1]
        if command == IAC:
            text.append(IAC)
            index += 2
        elif command in NEGOTIATION:
            if index + 2 < len(data):
                negotiations.append((command, data[index + 2]))
            index += 3
        elif command == SB:
            body, index = _subnegotiation(data, index + 2)
            if body[:2] == bytes((OPTION_TERMINAL_TYPE, TERMINAL_TYPE_IS)):
                terminal_type = readable(body[2:], MAX_FIELD) or None
        else:
            index += 2  # NOP, DM, BRK, IP, AO, AYT, EC, EL, GA: two bytes
    return TelnetStream(bytes(text), tuple(negotiations), terminal_type)


def typed_lines(data: bytes) -> list[bytes]:
    """Lines a user entered, with erase characters applied (RFC 854 NVT: CR LF, CR NUL).

    A last line without its end of line was not submitted and is left out.
    """
    lines: list[bytes] = []
    current = bytearray()
    index = 0
    while index < len(data):
        byte = data[index]
        index += 1
        if byte in (CR, LF):
            if byte == CR and index < len(data) and data[index] in (LF, NUL):
                index += 1
            lines.append(bytes(current))
            current.clear()
        elif byte in ERASE_CHARACTERS:
            if current:
                current.pop()
        elif byte == ERASE_LINE:
            current.clear()
        elif byte != NUL:
            current.append(byte)
    return lines


def prompts(text: str) -> list[tuple[int, int, str]]:
    """Login and password prompts in the server's text: (start, end, kind), in order."""
    found = [(m.start(), m.end(), LOGIN) for m in _LOGIN_PROMPT.finditer(text)]
    found += [(m.start(), m.end(), PASSWORD) for m in _PASSWORD_PROMPT.finditer(text)]
    return sorted(found)


def outcome_of(reply: str) -> LoginOutcome:
    """The server's answer to a password: failure words, else a shell prompt or greeting."""
    if _FAILURE.search(reply):
        return LoginOutcome.FAILURE
    if _SUCCESS.search(reply.strip()):
        return LoginOutcome.SUCCESS
    return LoginOutcome.UNKNOWN


def banner_of(text: str) -> str | None:
    """The first non-empty lines of what the server printed before its first prompt."""
    lines = [readable(line.encode("utf-8"), MAX_FIELD) for line in text.splitlines()]
    kept = [line for line in lines if line][:BANNER_LINES]
    return "\n".join(kept) or None


@dataclass(slots=True)
class _Attempt:
    username: bytes | None = None
    password: bytes | None = None
    reply: str = ""
    """Server text between the password prompt and the next prompt (or the end)."""
    prompted_again: bool = False
    """Another prompt followed the password prompt."""


def _attempts(server_text: str, lines: list[bytes]) -> list[_Attempt]:
    """Login attempts: the n-th typed line answers the n-th prompt."""
    found = prompts(server_text)
    attempts: list[_Attempt] = []
    for index, ((_, end, prompt_kind), line) in enumerate(zip(found, lines, strict=False)):
        if prompt_kind == LOGIN or not attempts or attempts[-1].password is not None:
            if len(attempts) == MAX_ATTEMPTS:
                break
            attempts.append(_Attempt())
        attempt = attempts[-1]
        if prompt_kind == LOGIN:
            attempt.username = line
            continue
        attempt.password = line
        following = found[index + 1][0] if index + 1 < len(found) else len(server_text)
        attempt.reply = server_text[end:following]
        attempt.prompted_again = index + 1 < len(found)
    return attempts


def _outcome(attempt: _Attempt) -> LoginOutcome:
    if attempt.password is None:
        return LoginOutcome.UNKNOWN
    outcome = outcome_of(attempt.reply)
    if outcome == LoginOutcome.UNKNOWN and attempt.prompted_again:
        return LoginOutcome.FAILURE  # asked to log in again
    return outcome


def dissect(payload: FlowPayload) -> list[Observation]:
    """The session banner and every login attempt of a Telnet connection."""
    if not payload.client_bytes and not payload.server_bytes:
        return []
    server = strip_commands(payload.server_bytes)
    client = strip_commands(payload.client_bytes)
    server_text = server.data.decode("utf-8", "replace")
    found = prompts(server_text)
    line_start = len(server_text)
    prompt: str | None = None
    if found:
        line_start = server_text.rfind("\n", 0, found[0][0]) + 1
        prompt = readable(server_text[line_start : found[0][1]].encode("utf-8"), MAX_FIELD)
    observations: list[Observation] = [
        TelnetSession(
            **server_context(payload),
            banner=banner_of(server_text[:line_start]),
            prompt=prompt or None,
            login_prompt=any(kind == LOGIN for _, _, kind in found),
            password_prompt=any(kind == PASSWORD for _, _, kind in found),
            terminal_type=client.terminal_type,
        )
    ]
    for attempt in _attempts(server_text, typed_lines(client.data)):
        if attempt.username == b"" and attempt.password is None:
            continue  # an empty line that only woke the prompt up
        observations.append(
            TelnetLogin(
                **client_context(payload),
                username=None if attempt.username is None else readable(attempt.username),
                password=None if attempt.password is None else RedactedSecret.of(attempt.password),
                outcome=_outcome(attempt),
            )
        )
    return observations


def looks_like_telnet(head: bytes) -> bool:
    """A client that opens with option negotiation: IAC WILL/WONT/DO/DONT or IAC SB."""
    return len(head) >= 3 and head[0] == IAC and (head[1] in NEGOTIATION or head[1] == SB)


SIGNATURE = Signature(transport=Transport.TCP, ports=frozenset({23, 2323}), probe=looks_like_telnet)
DISSECTOR = FunctionDissector(name="telnet", signature=SIGNATURE, function=dissect)
