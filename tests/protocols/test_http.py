"""HTTP/1.x dissector: RFC 9112 messages encoded here (pipelining, chunked and compressed
bodies, cut prefixes, Basic credentials per RFC 7617) and real captures against tshark."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medshield.core.errors import DissectorError
from medshield.protocols import http
from medshield.testing.environment import require_shared
from medshield.testing.flows import tcp_payload
from medshield.testing.fuzz import dissect_or_reject, mutated
from medshield.testing.pcaps import read_flow_payloads, tshark_fields


def basic(user_pass: bytes) -> bytes:
    return b"Basic " + base64.b64encode(user_pass)


def requests_stream() -> bytes:
    """Three pipelined requests (RFC 9112 §9.3.2), the second with a body."""
    return (
        b"GET /patients/view?mrn=12345&name=DOE HTTP/1.1\r\n"
        b"Host: pump-12.icu.example\r\n"
        b"User-Agent: PumpManager/4.2\r\n"
        b"Authorization: " + basic(b"admin:secret-pass") + b"\r\n"
        b"\r\n"
        b"POST /api/settings HTTP/1.1\r\n"
        b"Host: pump-12.icu.example\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 13\r\n"
        b"\r\n"
        b'{"rate": 12}\n'
        b"HEAD /status HTTP/1.1\r\n"
        b"Host: pump-12.icu.example\r\n"
        b"\r\n"
    )


def html_page(title: bytes) -> bytes:
    return b"<html><head><title>\n  " + title + b"  </title></head><body>x</body></html>"


def responses_stream() -> bytes:
    page = html_page(b"Infusion Pump &amp; Gateway")
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(page), page)
    return (
        b"HTTP/1.1 401 Unauthorized\r\n"
        b"Server: Acme-Embedded/1.0\r\n"
        b'WWW-Authenticate: Digest realm="pump", qop="auth", Basic realm="Pump Admin"\r\n'
        b"Content-Length: 0\r\n"
        b"\r\n"
        b"HTTP/1.1 200 OK\r\n"
        b"Server: Acme-Embedded/1.0\r\n"
        b"X-Powered-By: PHP/5.4.1\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"\r\n" + chunked + b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/html\r\n"
        b"Content-Length: 5000\r\n"
        b"\r\n"
    )


def split(found: list[object]) -> tuple[list[http.HttpRequest], list[http.HttpResponse]]:
    requests = [item for item in found if isinstance(item, http.HttpRequest)]
    responses = [item for item in found if isinstance(item, http.HttpResponse)]
    assert len(requests) + len(responses) == len(found)
    return requests, responses


def test_pipelined_requests_keep_path_only() -> None:
    requests, _ = split(list(http.dissect(tcp_payload(requests_stream()))))
    assert [(r.method, r.path, r.has_query) for r in requests] == [
        ("GET", "/patients/view", True),
        ("POST", "/api/settings", False),
        ("HEAD", "/status", False),
    ]
    first = requests[0]
    assert first.host == "pump-12.icu.example"
    assert first.user_agent == "PumpManager/4.2"
    assert requests[1].content_type == "application/json"
    assert "12345" not in repr(first)


def test_basic_credentials_are_redacted() -> None:
    first = split(list(http.dissect(tcp_payload(requests_stream()))))[0][0]
    assert first.has_authorization and first.authorization_scheme == "Basic"
    assert first.basic_user == "admin"
    password = first.basic_password
    assert password is not None
    assert password.redacted == "se***"
    assert password.length == len(b"secret-pass")
    assert password.sha256 == hashlib.sha256(b"secret-pass").hexdigest()
    assert password.matches("secret-pass") and not password.matches("admin")
    assert "secret-pass" not in repr(first)


@pytest.mark.parametrize(
    ("header", "user", "secret"),
    [
        (basic(b"svc:pa:ss"), "svc", b"pa:ss"),  # RFC 7617 §2: the user-id ends at the first colon
        (b"Basic  " + base64.b64encode(b"u:p12345"), "u", b"p12345"),
        (b"basic " + base64.b64encode(b"tech:1234").rstrip(b"="), "tech", b"1234"),
    ],
)
def test_basic_credential_variants(header: bytes, user: str, secret: bytes) -> None:
    request = b"GET / HTTP/1.1\r\nAuthorization: " + header + b"\r\n\r\n"
    (found,) = http.dissect(tcp_payload(request))
    assert isinstance(found, http.HttpRequest)
    assert found.basic_user == user
    assert found.basic_password is not None
    assert found.basic_password.sha256 == hashlib.sha256(secret).hexdigest()


def test_other_schemes_and_bad_base64() -> None:
    request = (
        b"GET / HTTP/1.1\r\nAuthorization: Bearer abc.def\r\n\r\n"
        b"GET / HTTP/1.1\r\nAuthorization: Basic %%%notbase64\r\n\r\n"
    )
    bearer, broken = http.dissect(tcp_payload(request))
    assert isinstance(bearer, http.HttpRequest) and isinstance(broken, http.HttpRequest)
    assert bearer.authorization_scheme == "Bearer" and bearer.basic_user is None
    assert broken.authorization_scheme == "Basic" and broken.basic_password is None


def test_responses_with_challenges_chunked_title_and_head() -> None:
    payload = tcp_payload(requests_stream(), responses_stream())
    _, responses = split(list(http.dissect(payload)))
    assert [r.status for r in responses] == [401, 200, 200]
    challenge, page, head = responses
    assert challenge.auth_schemes == ("Digest", "Basic")
    assert challenge.realm == "pump"
    assert challenge.server_header == "Acme-Embedded/1.0"
    assert page.title == "Infusion Pump & Gateway"
    assert page.powered_by == "PHP/5.4.1"
    assert page.content_type == "text/html; charset=utf-8"
    assert head.title is None  # the answer to HEAD has no body (RFC 9110 §9.3.2)


def test_gzip_body_title() -> None:
    body = gzip.compress(html_page(b"Monitor Web UI"))
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    (found,) = http.dissect(tcp_payload(b"", response))
    assert isinstance(found, http.HttpResponse)
    assert found.title == "Monitor Web UI"


def test_prefix_cut_inside_the_head() -> None:
    cut = b"GET /index.html HTTP/1.1\r\nHost: dev.example\r\nUser-Agent: Moz"
    (found,) = http.dissect(tcp_payload(cut))
    assert isinstance(found, http.HttpRequest)
    assert found.host == "dev.example"
    assert found.user_agent is None  # that line was cut
    assert not found.headers_complete


def test_target_forms_and_folded_fields() -> None:
    request = (
        b"GET http://proxy.example:8080/a/b?x=1 HTTP/1.1\r\n"
        b"User-Agent: Device\r\n  Firmware/2.0\r\n\r\n"
        b"OPTIONS * HTTP/1.1\r\n\r\n"
    )
    absolute, asterisk = http.dissect(tcp_payload(request))
    assert isinstance(absolute, http.HttpRequest) and isinstance(asterisk, http.HttpRequest)
    assert (absolute.path, absolute.has_query) == ("/a/b", True)
    assert absolute.user_agent == "Device Firmware/2.0"  # RFC 9112 §5.2 obs-fold
    assert asterisk.path == "*"


def test_non_http_bytes_raise_dissector_error() -> None:
    with pytest.raises(DissectorError):
        http.dissect(tcp_payload(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"\x16\x03\x03"))


def test_probe() -> None:
    assert http.looks_like_http_request(b"GET / HTTP/1.1\r\nHost: x\r\n")
    assert http.looks_like_http_request(b"POST /upload HTTP/1.0\n")
    assert not http.looks_like_http_request(b"DESCRIBE rtsp://cam/ RTSP/1.0\r\n")
    assert not http.looks_like_http_request(b"\x16\x03\x01")


BASIC_AUTH_CAPTURES = [
    "iot/zeek/http/basic-auth-with-colon.pcap",
    "iot/zeek/http/basic-auth-with-extra-space.pcap",
    "iot/ndpi/http-basic-auth.pcap",
    "iot/chrissanders/http_dvwa_clearlogin.pcapng",
]
REFERENCE_FIELDS = [
    "http.request.method",
    "http.request.uri",
    "http.host",
    "http.user_agent",
    "http.authbasic",
    "http.response.code",
    "http.server",
    "http.content_type",
    "http.www_authenticate",
    "http.file_data",
]


def _http_flows(path: Path) -> list[object]:
    found: list[object] = []
    for payload in read_flow_payloads(path):
        if payload.flow.transport == 6 and http.looks_like_http_request(payload.client_bytes):
            found.extend(http.dissect(payload))
    return found


@pytest.mark.tshark
@pytest.mark.parametrize("capture", BASIC_AUTH_CAPTURES)
def test_capture_matches_tshark(capture: str, tshark: str) -> None:
    """Requests: method, path (tshark's URI without its query), Host, User-Agent, Basic user
    and password digest, all equal. Responses: status, Server, Content-Type and realm of
    each one we read, and titles from tshark's reassembled bodies; server streams are cut at
    8 KiB, so ours are a sub-multiset of tshark's."""
    path = require_shared(f"pcap/{capture}")
    expected_requests: Counter[tuple[str, ...]] = Counter()
    expected_responses: Counter[tuple[object, ...]] = Counter()
    titles: set[str] = set()
    for row in tshark_fields(tshark, path, REFERENCE_FIELDS, "http"):
        method, uri, host, agent, user_pass, code, server, content_type, challenge, body = row
        if method:
            user, _, secret = user_pass.partition(":")
            digest = hashlib.sha256(secret.encode()).hexdigest() if user_pass else ""
            expected_requests[(method, uri.split("?")[0], host, agent, user, digest)] += 1
        if code:
            realm = re.search(r'realm="([^"]*)"', challenge)
            found_realm = realm.group(1) if realm else ""
            expected_responses[(int(code), server, content_type, found_realm)] += 1
            titles |= {m.group(1).strip() for m in re.finditer(r"<title>(.*?)</title>", body)}

    requests, responses = split(_http_flows(path))
    ours_requests = Counter(
        (
            r.method,
            r.path,
            r.host or "",
            r.user_agent or "",
            r.basic_user or "",
            r.basic_password.sha256 if r.basic_password else "",
        )
        for r in requests
    )
    ours_responses = Counter(
        (r.status, r.server_header or "", r.content_type or "", r.realm or "") for r in responses
    )
    assert expected_requests and responses
    assert ours_requests == expected_requests
    assert not ours_responses - expected_responses
    our_titles = {r.title for r in responses if r.title}
    assert our_titles <= titles
    assert bool(our_titles) == bool(titles)


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(st.binary(max_size=800), st.binary(max_size=800))
def test_random_bytes_never_raise_anything_else(client: bytes, server: bytes) -> None:
    dissect_or_reject(http.dissect, tcp_payload(client, server))


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(mutated(requests_stream()), mutated(responses_stream(), b"HTTP/1.1 200 OK\r\n\r\n"))
def test_mutated_messages_never_raise_anything_else(client: bytes, server: bytes) -> None:
    dissect_or_reject(http.dissect, tcp_payload(client, server))
