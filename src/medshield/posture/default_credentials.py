"""Factory-default credentials accepted by a device: logins whose password digest matches a
known default (telnet, FTP, HTTP Basic, MQTT) and SNMP v1/v2c communities such as
``public`` that an agent answered (RFC 1157 §3.2.5, RFC 3584).

The finding is on the server or agent that accepted the credential. A login the server
refused is not a finding; one whose answer was not seen counts, since the device was
offered its default and nothing showed it refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from medshield.core.enums import FindingKind, Practice, Severity
from medshield.core.finding import Finding
from medshield.core.flow import Endpoint
from medshield.core.observation import Observation
from medshield.posture.base import CheckBase, PostureContext, first_per_key
from medshield.posture.cleartext_credentials import describe
from medshield.protocols.credentials import LoginOutcome, RedactedSecret
from medshield.protocols.ftp import FtpLogin
from medshield.protocols.http import HttpRequest
from medshield.protocols.mqtt import MqttConnack, MqttConnect
from medshield.protocols.snmp import SnmpMessage
from medshield.protocols.telnet import TelnetLogin


class DefaultCredentialsCheck(CheckBase):
    """The maker's default still opens the device."""

    name = "default-credentials"
    kind = FindingKind.DEFAULT_CREDENTIALS
    title = "Device accepts its factory-default credentials"
    severity = Severity.CRITICAL
    remediation = (
        "Change the default password or community to a unique secret per device (the "
        "maker's service documentation says how), disable SNMP v1/v2c where SNMP v3 exists, "
        "and record the change in the CMMS."
    )
    practice = Practice.STRONG_AUTHENTICATION

    def run(self, context: PostureContext) -> Iterable[Finding]:
        """Logins and SNMP communities matching the default table."""
        return first_per_key([*self._logins(context), *self._snmp(context)])

    def _logins(self, context: PostureContext) -> Iterator[Finding]:
        attempts: list[tuple[str, Observation, Endpoint | None, str | None, RedactedSecret]] = []
        for telnet in context.of(TelnetLogin):
            if telnet.password is not None and telnet.outcome != LoginOutcome.FAILURE:
                attempts.append(("telnet", telnet, telnet.server, telnet.username, telnet.password))
        for ftp in context.of(FtpLogin):
            if ftp.password is not None and ftp.outcome != LoginOutcome.FAILURE:
                attempts.append(("ftp", ftp, ftp.server, ftp.username, ftp.password))
        for http in context.of(HttpRequest):
            if http.basic_password is not None:
                secret = http.basic_password
                attempts.append(("http", http, http.server, http.basic_user, secret))
        refused = _refused_mqtt_flows(context)
        for mqtt in context.of(MqttConnect):
            if mqtt.password_sha256 and mqtt.flow_id not in refused:
                secret = RedactedSecret(
                    mqtt.password_redacted or "***", mqtt.password_length, mqtt.password_sha256
                )
                attempts.append(("mqtt", mqtt, mqtt.server, mqtt.username, secret))
        for protocol, observation, server, user, secret in attempts:
            known = context.credentials.match(protocol, user, secret.sha256)
            if known is None:
                continue
            yield self.finding(
                context.name(server),
                f"{protocol} login with {describe(user, secret)} matches the documented "
                f"default of {known.vendor} {known.product} ({known.source})",
                f"{protocol}:{user or ''}",
                observation.ts,
            )

    def _snmp(self, context: PostureContext) -> Iterator[Finding]:
        for msg in context.of(SnmpMessage):
            if msg.pdu_type != "response" or msg.community_secret is None:
                continue
            known = context.credentials.match("snmp", None, msg.community_secret.sha256)
            if known is None:
                continue
            yield self.finding(
                context.name(msg.server),
                f"SNMP v{_snmp_version(msg.version)} agent answered community "
                f"{msg.community_secret.redacted} ({msg.community_secret.length} characters), "
                f"the {known.product} default ({known.source})",
                "snmp-community",
                msg.ts,
            )


def _snmp_version(version: int) -> str:
    """RFC 3584 §2.1: version field 0 is SNMPv1, 1 is SNMPv2c."""
    return {0: "1", 1: "2c", 3: "3"}.get(version, str(version))


def _refused_mqtt_flows(context: PostureContext) -> set[int | None]:
    return {ack.flow_id for ack in context.of(MqttConnack) if not ack.accepted}


CHECK = DefaultCredentialsCheck()
