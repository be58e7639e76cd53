"""Alerts to a SIEM: CEF lines and RFC 5424 messages on real sockets, JSON webhooks on a real
HTTP server, failures as one-line DeliveryErrors."""

from __future__ import annotations

import json
import re
import socket
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from medshield.core.enums import AlertKind, Severity
from medshield.core.finding import Alert
from medshield.report import siem

ALERT = Alert(
    AlertKind.BRUTE_FORCE,
    Severity.HIGH,
    "mac-b8ca3a9f1140",
    "mac-00066b4d5d9f",
    1_709_625_684.25,
    1_709_625_702.75,
    "60 failed FTP logins on port 21 in 18.5 s (a=b, c\\d)\nthen nothing",
)

RFC5424 = re.compile(
    rb"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) medshield - (?P<msgid>\S+) "
    rb"\[(?P<sd>[^\]]*)\] \xef\xbb\xbf(?P<msg>.*)$",
    re.S,
)


def extension(line: str) -> dict[str, str]:
    """The CEF extension as key → unescaped value (keys are known tokens before '=')."""
    body = line.split("|", 7)[7]
    parts = re.split(r"(?<!\\) (?=\w+=)", body)
    values = {}
    for part in parts:
        key, _, value = part.partition("=")
        values[key] = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)
    return values


def test_cef_line_escapes_and_carries_the_alert() -> None:
    line = siem.cef(ALERT)
    assert line.startswith("CEF:0|MedShield|MedShield|")
    header = line.split("|")
    assert header[4:7] == ["brute-force", "MedShield brute force", "8"]
    assert "\n" not in line
    values = extension(line)
    assert values["msg"] == ALERT.evidence
    assert values["externalId"] == ALERT.id
    assert (values["cs1"], values["cs2"]) == (ALERT.device, ALERT.peer)
    assert int(values["start"]) == 1_709_625_684_250 and int(values["end"]) == 1_709_625_702_750


def test_syslog_message_is_rfc5424_with_the_cef_line() -> None:
    message = siem.syslog_message(ALERT, "sensor-1")
    match = RFC5424.match(message)
    assert match is not None
    assert int(match["pri"]) == 4 * 8 + 3  # security/authorization, err
    assert match["ts"] == b"2024-03-05T08:01:24.250000Z" and match["host"] == b"sensor-1"
    assert match["msgid"] == b"brute-force"
    assert f'id="{ALERT.id}"'.encode() in match["sd"]
    assert match["msg"].decode() == siem.cef(ALERT)


@pytest.fixture
def udp_receiver() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        yield receiver


def test_udp_syslog_sends_one_datagram_per_alert(udp_receiver: socket.socket) -> None:
    port = udp_receiver.getsockname()[1]
    later = Alert(AlertKind.PORT_SCAN, Severity.MEDIUM, "10.0.0.9", None, 5.0, 6.0, "scan")
    assert siem.send_syslog([ALERT, later], "127.0.0.1", port) == 2
    first, second = udp_receiver.recv(65535), udp_receiver.recv(65535)
    assert RFC5424.match(first) and RFC5424.match(second)
    assert b"brute-force" in first and b"|port-scan|" in second and b"<36>1 " in second


class _Collect(socketserver.BaseRequestHandler):
    received: ClassVar[list[bytes]] = []

    def handle(self) -> None:
        data = b""
        while chunk := self.request.recv(65536):
            data += chunk
        type(self).received.append(data)


def test_tcp_syslog_frames_by_octet_counting() -> None:
    _Collect.received = []
    with socketserver.TCPServer(("127.0.0.1", 0), _Collect) as server:
        thread = threading.Thread(target=server.handle_request)
        thread.start()
        siem.send_syslog([ALERT, ALERT], "127.0.0.1", server.server_address[1], tcp=True)
        thread.join(5)
    (stream,) = _Collect.received
    messages = []
    while stream:
        length, _, rest = stream.partition(b" ")
        messages.append(rest[: int(length)])
        stream = rest[int(length) :]
    assert messages == [siem.syslog_message(ALERT, socket.gethostname())] * 2


class _Hook(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []
    status = 204

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def hook() -> Iterator[str]:
    _Hook.bodies, _Hook.status = [], 204
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    server.shutdown()
    server.server_close()


def test_webhook_posts_the_document(hook: str) -> None:
    document = {"schema": "medshield.detection/1", "alerts": [{"id": ALERT.id}]}
    assert siem.post_webhook(hook, document) == 204
    assert _Hook.bodies == [document]


def test_webhook_refusal_and_unreachable_are_delivery_errors(hook: str) -> None:
    _Hook.status = 500
    with pytest.raises(siem.DeliveryError, match="HTTP 500"):
        siem.post_webhook(hook, {})
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(siem.DeliveryError, match=f"webhook http://127.0.0.1:{port}/"):
        siem.post_webhook(f"http://127.0.0.1:{port}/", {})
    with pytest.raises(siem.DeliveryError, match="not an http"):
        siem.post_webhook("file:///etc/passwd", {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("siem.example:514", ("siem.example", 514)), ("[::1]:6514", ("::1", 6514))],
)
def test_syslog_endpoints(text: str, expected: tuple[str, int]) -> None:
    assert siem.parse_endpoint(text) == expected


@pytest.mark.parametrize("text", ["siem.example", "host:0", "host:99999", ":514"])
def test_bad_syslog_endpoints(text: str) -> None:
    with pytest.raises(siem.DeliveryError, match="HOST:PORT"):
        siem.parse_endpoint(text)
