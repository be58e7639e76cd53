"""Alerts for a SIEM: CEF over syslog (RFC 5424, UDP or TCP) and JSON webhooks.

Each alert becomes one ArcSight Common Event Format line (CEF:0, "Implementing ArcSight
CEF" rev. 25: header fields escaped for ``|`` and ``\\``, extension values for ``=``, ``\\``
and line breaks), carried as the MSG of an RFC 5424 syslog message whose structured data
repeats the alert's id, kind and severity. Over TCP, messages are framed by octet counting
(RFC 6587 §3.4.1). A webhook receives the ``medshield.detection/1`` document as one JSON
POST. Delivery failures are :class:`DeliveryError` naming the destination; nothing is
retried silently.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from medshield import __version__
from medshield.core.enums import Severity
from medshield.core.errors import MedShieldError
from medshield.core.finding import Alert

VENDOR = "MedShield"
PRODUCT = "MedShield"
CEF_SEVERITY = {
    Severity.CRITICAL: 10,
    Severity.HIGH: 8,
    Severity.MEDIUM: 5,
    Severity.LOW: 3,
    Severity.INFO: 1,
}
"""CEF severity 0-10 (10 most important)."""
SYSLOG_SEVERITY = {
    Severity.CRITICAL: 2,
    Severity.HIGH: 3,
    Severity.MEDIUM: 4,
    Severity.LOW: 5,
    Severity.INFO: 6,
}
"""RFC 5424 §6.2.1 severities: crit, err, warning, notice, informational."""
FACILITY_SECURITY = 4
"""RFC 5424 facility 4: security/authorization messages."""
SD_ID = "alert@32473"
"""Structured-data id: 32473 is the private enterprise number RFC 5612 reserves for
documentation; a site with its own number may change it."""
WEBHOOK_TIMEOUT_S = 10.0


class DeliveryError(MedShieldError):
    """A syslog receiver or webhook could not be reached or refused the alerts."""


def _header(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _value(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("=", "\\=")
    return escaped.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _millis(ts: float) -> int:
    return round(ts * 1000)


def cef(alert: Alert) -> str:
    """The alert as one CEF:0 line."""
    title = alert.kind.value.replace("-", " ")
    extension = {
        "externalId": alert.id,
        "cat": alert.kind.value,
        "start": str(_millis(alert.start)),
        "end": str(_millis(alert.end)),
        "cs1Label": "device",
        "cs1": alert.device,
        "cs2Label": "peer",
        "cs2": alert.peer or "",
        "msg": alert.evidence,
    }
    fields = " ".join(f"{key}={_value(value)}" for key, value in extension.items())
    header = "|".join(
        _header(part)
        for part in (VENDOR, PRODUCT, __version__, alert.kind.value, f"MedShield {title}")
    )
    return f"CEF:0|{header}|{CEF_SEVERITY[alert.severity]}|{fields}"


def _sd_value(text: str) -> str:
    """PARAM-VALUE escaping (RFC 5424 §6.3.3): ``"``, ``\\`` and ``]``."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_message(alert: Alert, hostname: str) -> bytes:
    """The RFC 5424 message carrying ``alert``'s CEF line (UTF-8 MSG with its BOM, §6.4)."""
    priority = FACILITY_SECURITY * 8 + SYSLOG_SEVERITY[alert.severity]
    timestamp = datetime.fromtimestamp(alert.start, tz=UTC).isoformat(timespec="microseconds")
    params = {"id": alert.id, "kind": alert.kind.value, "severity": alert.severity.value}
    data = " ".join(f'{key}="{_sd_value(value)}"' for key, value in params.items())
    head = (
        f"<{priority}>1 {timestamp.replace('+00:00', 'Z')} {hostname or '-'} medshield - "
        f"{alert.kind.value} [{SD_ID} {data}] "
    )
    return head.encode("ascii", errors="replace") + b"\xef\xbb\xbf" + cef(alert).encode()


def send_syslog(alerts: Sequence[Alert], host: str, port: int, *, tcp: bool = False) -> int:
    """Send each alert to a syslog receiver; returns how many were sent."""
    hostname = socket.gethostname()
    messages = [syslog_message(alert, hostname) for alert in alerts]
    where = f"syslog {host}:{port}/{'tcp' if tcp else 'udp'}"
    try:
        if tcp:
            with socket.create_connection((host, port), timeout=WEBHOOK_TIMEOUT_S) as stream:
                stream.sendall(b"".join(b"%d %s" % (len(m), m) for m in messages))
        else:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            with socket.socket(family[0], socket.SOCK_DGRAM) as datagrams:
                for message in messages:
                    datagrams.sendto(message, family[4])
    except OSError as error:
        raise DeliveryError(f"{where}: {error.strerror or error}") from error
    return len(messages)


def post_webhook(url: str, document: dict[str, Any]) -> int:
    """POST ``document`` as JSON to ``url``; returns the HTTP status."""
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"webhook {url}: not an http(s) URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json", "User-Agent": f"MedShield/{__version__}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            status: int = response.status
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"webhook {url}: HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"webhook {url}: {reason}") from error
    return status


def parse_endpoint(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) of a syslog receiver."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DeliveryError(f"--syslog {text}: expected HOST:PORT")
    return host, int(port)
