"""Devices offering insecure management protocols: telnet (RFC 854), FTP (RFC 959) and
SNMP v1/v2c (RFC 1157, RFC 1901), whose credentials and data travel in cleartext.

The finding is on the device offering the service: the server that answered, the agent that
responded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from medshield.core.enums import FindingKind, Practice, Severity
from medshield.core.finding import Finding
from medshield.posture.base import CheckBase, PostureContext, first_per_key
from medshield.protocols.ftp import FtpSession
from medshield.protocols.snmp import SnmpMessage
from medshield.protocols.telnet import TelnetSession

SNMP_V3 = 3


class InsecureProtocol(CheckBase):
    """A cleartext management service is reachable."""

    name = "insecure-protocol"
    kind = FindingKind.INSECURE_PROTOCOL
    title = "Insecure management protocol offered"
    severity = Severity.MEDIUM
    remediation = (
        "Disable telnet and FTP in favour of SSH/SFTP, move SNMP to v3 with authPriv; where "
        "the maker gives no alternative, allow the service only from the biomed jump host."
    )
    practice = Practice.SECURE_PROTOCOLS

    def run(self, context: PostureContext) -> Iterable[Finding]:
        """Telnet and FTP servers that answered; SNMP agents that answered v1/v2c."""
        return first_per_key(self._services(context))

    def _services(self, context: PostureContext) -> Iterator[Finding]:
        for telnet in context.of(TelnetSession):
            if telnet.banner or telnet.login_prompt or telnet.password_prompt:
                server = telnet.server
                where = f"{server.ip}:{server.port}" if server else "?"
                yield self.finding(context.name(server), f"telnet service answered on {where}",
                                   "telnet", telnet.ts)  # fmt: skip
        for ftp in context.of(FtpSession):
            if ftp.banner_code is not None and not ftp.tls_upgraded:
                server = ftp.server
                where = f"{server.ip}:{server.port}" if server else "?"
                yield self.finding(context.name(server), f"FTP service answered on {where}",
                                   "ftp", ftp.ts)  # fmt: skip
        for snmp in context.of(SnmpMessage):
            if snmp.pdu_type == "response" and snmp.version != SNMP_V3:
                version = "v1" if snmp.version == 0 else "v2c"
                yield self.finding(context.name(snmp.server),
                                   f"SNMP {version} agent answered a request (community-based)",
                                   "snmp", snmp.ts)  # fmt: skip


CHECK = InsecureProtocol()
