"""FTP dissector: control connections written here per RFC 959 §4-§5, and the zeek and
nDPI FTP captures compared with tshark."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medshield.core.errors import DissectorError
from medshield.protocols import ftp
from medshield.protocols.credentials import LoginOutcome
from medshield.testing.environment import require_shared
from medshield.testing.flows import tcp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import flows_to_port, tshark_fields

CLIENT = (
    b"USER admin\r\nPASS wrong\r\nUSER service\r\nPASS serv1ce pass\r\nSYST\r\nLIST\r\nQUIT\r\n"
)
SERVER = (
    b"220-Acme Imaging FTP 2.3\r\n"
    b"220-\r\n"
    b"220 ready\r\n"
    b"331 Password required for admin.\r\n"
    b"530 Login incorrect.\r\n"
    b"331 Password required for service.\r\n"
    b"230-Welcome\r\n"
    b"    2024 maintenance notes\r\n"
    b"230 Logged in.\r\n"
    b"215 UNIX Type: L8 Version: AcmeFTPd 2.3\r\n"
    b"150 Opening ASCII mode data connection.\r\n"
    b"226 Transfer complete.\r\n"
    b"221 Goodbye.\r\n"
)


def run(client: bytes, server: bytes) -> tuple[ftp.FtpSession, list[ftp.FtpLogin]]:
    found = ftp.dissect(tcp_payload(client, server, server_port=21))
    session = found[0]
    assert isinstance(session, ftp.FtpSession)
    logins = [item for item in found[1:] if isinstance(item, ftp.FtpLogin)]
    assert len(logins) == len(found) - 1
    return session, logins


def test_session_banner_system_and_commands() -> None:
    session, _ = run(CLIENT, SERVER)
    assert session.banner == "Acme Imaging FTP 2.3\nready"
    assert session.banner_code == 220
    assert session.system == "UNIX Type: L8 Version: AcmeFTPd 2.3"
    assert session.commands == ("USER", "PASS", "SYST", "LIST", "QUIT")
    assert not session.tls_upgraded


def test_logins_are_paired_with_their_final_replies() -> None:
    _, logins = run(CLIENT, SERVER)
    assert [(login.username, login.reply_code, login.outcome) for login in logins] == [
        ("admin", 530, LoginOutcome.FAILURE),
        ("service", 230, LoginOutcome.SUCCESS),
    ]
    password = logins[1].password
    assert password is not None
    assert password.sha256 == hashlib.sha256(b"serv1ce pass").hexdigest()
    assert password.length == 12 and password.redacted == "se***"
    assert "serv1ce" not in repr(logins)


def test_user_accepted_without_password() -> None:
    _, logins = run(b"USER anonymous\r\n", b"220 ok\r\n230 Anonymous access granted.\r\n")
    (login,) = logins
    assert login.password is None and login.outcome == LoginOutcome.SUCCESS


def test_missing_replies_leave_the_outcome_unknown() -> None:
    _, logins = run(b"USER tech\r\nPASS tech\r\n", b"220 ok\r\n331 Password please.\r\n")
    assert [login.outcome for login in logins] == [LoginOutcome.UNKNOWN]


def test_auth_tls_stops_reading() -> None:
    """RFC 4217 §4: after 234 both sides speak TLS."""
    client = b"AUTH TLS\r\n\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\r\nUSER x\r\n"
    server = b"220 FileZilla Server\r\n234 Using authentication type TLS.\r\n\x16\x03\x03\x00"
    session, logins = run(client, server)
    assert session.tls_upgraded
    assert session.commands == ("AUTH",)
    assert logins == []


def test_telnet_sequences_in_the_control_connection_are_ignored() -> None:
    """RFC 959 §4.1: the control connection is a Telnet connection."""
    server = b"\xff\xfb\x01220 ready\r\n331 pw\r\n230 ok\r\n"
    _, logins = run(b"USER \xff\xffx\r\nPASS p\r\n", server)
    assert [(login.username, login.outcome) for login in logins] == [
        ("\ufffdx", LoginOutcome.SUCCESS)
    ]


def test_a_server_that_is_not_ftp() -> None:
    with pytest.raises(DissectorError, match="not an FTP reply"):
        ftp.dissect(tcp_payload(b"", b"SSH-2.0-OpenSSH_8.9\r\n", server_port=21))


def test_signature_has_no_probe() -> None:
    assert ftp.SIGNATURE.ports == frozenset({21}) and ftp.SIGNATURE.probe is None


FTP_CAPTURES = [
    "iot/zeek/ftp/bruteforce.pcap",
    "iot/zeek/ftp/ftp-password-pass-command.pcap",
    "iot/zeek/ftp/ipv4.pcap",
    "iot/zeek/ftp/retr.pcap",
    "iot/ndpi/ftp.pcap",
    "iot/ndpi/ftp_failed.pcap",
]


@pytest.mark.tshark
@pytest.mark.parametrize("capture", FTP_CAPTURES)
def test_captures_match_tshark(capture: str, tshark: str) -> None:
    """User names, password digests, 220 banners, SYST replies and the number of accepted
    logins (230 replies), as tshark decodes them."""
    path = require_shared(f"pcap/{capture}")
    fields = ["ftp.request.command", "ftp.request.arg", "ftp.response.code", "ftp.response.arg"]
    users: Counter[str] = Counter()
    digests: Counter[str] = Counter()
    banners: set[str] = set()
    systems: set[str] = set()
    accepted = 0
    for verb, argument, code, text in tshark_fields(tshark, path, fields, "ftp"):
        users[argument] += verb == "USER"
        digests[hashlib.sha256(argument.encode()).hexdigest()] += verb == "PASS"
        banners |= {text} if code == "220" else set()
        systems |= {text} if code == "215" else set()
        accepted += code == "230"

    sessions: list[ftp.FtpSession] = []
    logins: list[ftp.FtpLogin] = []
    for payload in flows_to_port(path, 21):
        for item in ftp.dissect(payload):
            if isinstance(item, ftp.FtpSession):
                sessions.append(item)
            elif isinstance(item, ftp.FtpLogin):
                logins.append(item)
    assert +Counter(login.username for login in logins) == +users
    our_digests = Counter(login.password.sha256 for login in logins if login.password)
    assert our_digests == +digests
    assert {s.banner.splitlines()[0] for s in sessions if s.banner} == banners
    assert {s.system for s in sessions if s.system} == systems
    assert sum(login.outcome == LoginOutcome.SUCCESS for login in logins) == accepted


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(st.binary(max_size=600), st.binary(max_size=600))
def test_random_bytes_never_raise_anything_else(client: bytes, server: bytes) -> None:
    dissect_or_reject(ftp.dissect, tcp_payload(client, server, server_port=21))


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(mutated(CLIENT), mutated(SERVER))
def test_mutated_sessions_never_raise_anything_else(client: bytes, server: bytes) -> None:
    dissect_or_reject(ftp.dissect, tcp_payload(client, server, server_port=21))
