"""Telnet dissector: sessions built here from RFC 854/855/1091 sequences, and nDPI's telnet
capture compared with what tshark shows of its data."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medshield.protocols import telnet
from medshield.protocols.credentials import LoginOutcome
from medshield.testing.environment import require_shared
from medshield.testing.flows import tcp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import flows_to_port, tshark_fields

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SUPPRESS_GO_AHEAD, TERMINAL_TYPE = 1, 3, 24


def command(*codes: int) -> bytes:
    return bytes((IAC, *codes))


def server_stream() -> bytes:
    """Negotiation, a banner, a failed then a successful login (the server echoes names)."""
    return (
        command(WILL, ECHO)
        + command(WILL, SUPPRESS_GO_AHEAD)
        + command(DO, TERMINAL_TYPE)
        + command(SB, TERMINAL_TYPE, 1)
        + command(SE)
        + b"\r\n\x1b[1mAcme PumpOS 4.2 (pump-07)\x1b[0m\r\nFirmware 4.2.1\r\n\r\n"
        + b"pump-07 login: admin\r\nPassword: \r\nLogin incorrect\r\n"
        + b"pump-07 login: root\r\nPassword: \r\nLast login: Mon Jan  1 00:00:00 from 192.0.2.9\r\n"
        + b"root@pump-07:~# "
    )


def client_stream() -> bytes:
    """The terminal type, then keystrokes one by one as clients send them (CR LF, CR NUL)."""
    return (
        command(DO, ECHO)
        + command(WILL, TERMINAL_TYPE)
        + command(SB, TERMINAL_TYPE, 0)
        + b"VT100"
        + command(SE)
        + b"a" + b"d" + b"m" + b"i" + b"n" + b"\r\n"
        + b"1234\r\n"
        + b"root\r\n"
        + b"r00tp\x7fpass\r\x00"
        + b"ls -l\r\n"
    )  # fmt: skip


def run(client: bytes, server: bytes) -> tuple[telnet.TelnetSession, list[telnet.TelnetLogin]]:
    found = telnet.dissect(tcp_payload(client, server, server_port=23))
    session = found[0]
    assert isinstance(session, telnet.TelnetSession)
    logins = [item for item in found[1:] if isinstance(item, telnet.TelnetLogin)]
    assert len(logins) == len(found) - 1
    return session, logins


def test_banner_terminal_type_and_prompts() -> None:
    session, _ = run(client_stream(), server_stream())
    assert session.banner == "Acme PumpOS 4.2 (pump-07)\nFirmware 4.2.1"
    assert session.prompt == "pump-07 login:"
    assert session.terminal_type == "VT100"
    assert session.login_prompt and session.password_prompt
    assert session.kind == "telnet.session"


def test_login_attempts_with_outcomes() -> None:
    _, logins = run(client_stream(), server_stream())
    assert [(login.username, login.outcome) for login in logins] == [
        ("admin", LoginOutcome.FAILURE),
        ("root", LoginOutcome.SUCCESS),
    ]
    first, second = logins
    assert first.password is not None and second.password is not None
    assert first.password.sha256 == hashlib.sha256(b"1234").hexdigest()
    assert first.password.redacted == "***"
    assert second.password.matches("r00tpass")  # the DEL erased the stray "p"
    assert second.password.redacted == "r0***"
    assert "r00tpass" not in repr(logins)


def test_prompt_asked_again_means_failure() -> None:
    server = b"login: tech\r\nPassword:\r\n\r\nlogin: "
    _, logins = run(b"tech\r\nwrong\r\n", server)
    assert [(login.username, login.outcome) for login in logins] == [("tech", LoginOutcome.FAILURE)]


def test_password_only_device() -> None:
    session, logins = run(b"cisco\r\n", b"\r\nUser Access Verification\r\n\r\nPassword: ")
    assert session.banner == "User Access Verification"
    assert not session.login_prompt and session.password_prompt
    (login,) = logins
    assert login.username is None
    assert login.password is not None and login.password.matches("cisco")
    assert login.outcome == LoginOutcome.UNKNOWN


def test_empty_wake_up_line_is_not_an_attempt() -> None:
    _, logins = run(b"\r\nadmin\r\nadmin\r\n", b"login: \r\nlogin: admin\r\nPassword: \r\n$ ")
    assert [(login.username, login.outcome) for login in logins] == [
        ("admin", LoginOutcome.SUCCESS)
    ]


def test_last_login_line_is_not_a_prompt() -> None:
    assert [kind for _, _, kind in telnet.prompts("Last login: today\r\nlogin: ")] == ["login"]


def test_command_stripping_edge_cases() -> None:
    stream = telnet.strip_commands(b"a" + command(IAC) + b"b" + command(241) + b"c" + bytes((IAC,)))
    assert stream.data == b"a\xffbc"
    unterminated = telnet.strip_commands(b"x" + command(SB, TERMINAL_TYPE, 0) + b"VT1")
    assert unterminated.data == b"x"
    negotiated = telnet.strip_commands(command(WILL, ECHO) + command(DONT, 5))
    assert negotiated.negotiations == ((WILL, ECHO), (DONT, 5))


def test_probe() -> None:
    assert telnet.looks_like_telnet(command(DO, ECHO) + command(WILL, TERMINAL_TYPE))
    assert telnet.looks_like_telnet(command(SB, TERMINAL_TYPE, 0))
    assert not telnet.looks_like_telnet(b"GET / HTTP/1.1")
    assert not telnet.looks_like_telnet(bytes((IAC, 1, 2)))


def _tshark_text(cells: list[str]) -> str:
    return "".join(cells).replace("\\r", "\r").replace("\\n", "\n")


@pytest.mark.tshark
def test_ndpi_capture_matches_tshark_data(tshark: str) -> None:
    """User name and password are the first two lines tshark shows the client sending; the
    banner is the first non-empty line of the server's data."""
    path = require_shared("pcap/iot/ndpi/telnet.pcap")
    rows = tshark_fields(tshark, path, ["tcp.srcport", "telnet.data"], "telnet.data")
    client_text = _tshark_text([data.replace(",", "") for port, data in rows if port != "23"])
    server_text = _tshark_text([data.replace(",", "") for port, data in rows if port == "23"])
    user, password = client_text.split("\r\n")[:2]
    first_server_line = next(line for line in server_text.splitlines() if line.strip())

    (payload,) = flows_to_port(path, 23)
    session, *logins = telnet.dissect(payload)
    assert isinstance(session, telnet.TelnetSession)
    assert session.banner is not None
    assert session.banner.splitlines()[0] == first_server_line.strip()
    (login,) = logins
    assert isinstance(login, telnet.TelnetLogin)
    assert login.username == user
    assert login.password is not None and login.password.matches(password)
    assert login.outcome == LoginOutcome.SUCCESS  # the session goes on to run a ping


def test_subnegotiation_only_capture() -> None:
    """zeek's capture: a server sends only IAC SB AUTHENTICATION … IAC SE."""
    path = require_shared("pcap/iot/zeek/telnet-auth-missing-name.pcap")
    (payload,) = flows_to_port(path, 21)
    assert payload.server_bytes.startswith(command(SB))
    session, *logins = telnet.dissect(payload)
    assert isinstance(session, telnet.TelnetSession)
    assert session.banner is None and logins == []


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(st.binary(max_size=600), st.binary(max_size=600))
def test_random_bytes_never_raise_anything_else(client: bytes, server: bytes) -> None:
    dissect_or_reject(telnet.dissect, tcp_payload(client, server, server_port=23))


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(mutated(client_stream()), mutated(server_stream()))
def test_mutated_sessions_never_raise_anything_else(client: bytes, server: bytes) -> None:
    dissect_or_reject(telnet.dissect, tcp_payload(client, server, server_port=23))
