"""Credentials that cross the network in cleartext: telnet and FTP logins (RFC 854, RFC 959
§4.1.1), HTTP Basic authentication (RFC 7617) without TLS, MQTT CONNECT passwords (MQTT
3.1.1 §3.1.3.5) without TLS.

The finding is on the device whose credential is exposed: the server being logged into.
Evidence names the user and a redacted password (at most two characters and its length).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from medshield.core.enums import FindingKind, Practice, Severity
from medshield.core.finding import Finding
from medshield.core.flow import Endpoint
from medshield.posture.base import CheckBase, PostureContext, first_per_key
from medshield.protocols.credentials import RedactedSecret
from medshield.protocols.ftp import FtpLogin
from medshield.protocols.http import HttpRequest
from medshield.protocols.mqtt import MqttConnect
from medshield.protocols.telnet import TelnetLogin


def describe(user: str | None, secret: RedactedSecret | None) -> str:
    """``user 'admin', password ad*** (8 characters)`` — never the secret itself."""
    who = f"user {user!r}" if user else "no user name"
    if secret is None:
        return who
    return f"{who}, password {secret.redacted} ({secret.length} characters)"


class CleartextCredentials(CheckBase):
    """A login anyone on the path can read."""

    name = "cleartext-credentials"
    kind = FindingKind.CLEARTEXT_CREDENTIALS
    title = "Credentials sent in cleartext"
    severity = Severity.HIGH
    remediation = (
        "Replace telnet/FTP with SSH/SFTP, serve HTTP and MQTT over TLS, and change the "
        "exposed password; until then restrict who can reach the service."
    )
    practice = Practice.STRONG_AUTHENTICATION

    def run(self, context: PostureContext) -> Iterable[Finding]:
        """One finding per server, protocol and user."""
        return first_per_key(self._logins(context))

    def _logins(self, context: PostureContext) -> Iterator[Finding]:
        for telnet in context.of(TelnetLogin):
            if telnet.password is not None:
                yield self._one(context, telnet.server, "telnet", telnet.username,
                                telnet.password, telnet.ts)  # fmt: skip
        for ftp in context.of(FtpLogin):
            if ftp.password is not None:
                yield self._one(context, ftp.server, "FTP", ftp.username, ftp.password, ftp.ts)
        for http in context.of(HttpRequest):
            if http.basic_password is not None:
                yield self._one(context, http.server, "HTTP Basic", http.basic_user,
                                http.basic_password, http.ts)  # fmt: skip
        for mqtt in context.of(MqttConnect):
            if mqtt.password_present and not mqtt.tls:
                redacted = mqtt.password_redacted or "***"
                secret = RedactedSecret(redacted, mqtt.password_length, mqtt.password_sha256 or "")
                yield self._one(context, mqtt.server, "MQTT", mqtt.username, secret, mqtt.ts)

    def _one(
        self,
        context: PostureContext,
        server: Endpoint | None,
        protocol: str,
        user: str | None,
        secret: RedactedSecret,
        ts: float,
    ) -> Finding:
        where = f"{server.ip}:{server.port}" if server else "unknown server"
        return self.finding(
            context.name(server),
            f"{protocol} login to {where}: {describe(user, secret)} readable on the wire",
            f"{protocol}:{user or ''}",
            ts,
        )


CHECK = CleartextCredentials()
