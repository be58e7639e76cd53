"""Services that authenticate no one: a DICOM SCP that accepts associations addressed to
different called AE titles (PS3.8 §9.3.2: the called AE title names the intended acceptor;
an SCP that ignores it lets any caller store or query), and an MQTT broker that accepts
clients without a user name (MQTT 3.1.1 §3.1.2.9, §5.4.1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from medshield.core.enums import FindingKind, Practice, Severity
from medshield.core.finding import Finding
from medshield.posture.base import CheckBase, PostureContext
from medshield.protocols.dicom import DicomAssociationAccept
from medshield.protocols.mqtt import MqttConnack


class WeakAuthentication(CheckBase):
    """The service accepts any caller."""

    name = "weak-authentication"
    kind = FindingKind.WEAK_AUTHENTICATION
    title = "Service accepts unauthenticated callers"
    severity = Severity.HIGH
    remediation = (
        "Configure the DICOM SCP to accept only its own called AE title from known calling "
        "AE titles and addresses; require authentication (and TLS) on the MQTT broker."
    )
    practice = Practice.STRONG_AUTHENTICATION

    def run(self, context: PostureContext) -> Iterable[Finding]:
        """DICOM AE titles and anonymous MQTT."""
        return [*self._dicom(context), *self._mqtt(context)]

    def _dicom(self, context: PostureContext) -> Iterator[Finding]:
        accepted: dict[str, set[str]] = defaultdict(set)
        first: dict[str, float] = {}
        for ac in context.of(DicomAssociationAccept):
            server = context.name(ac.server)
            accepted[server].add(ac.called_ae.strip())
            first[server] = min(first.get(server, ac.ts), ac.ts)
        for server, titles in sorted(accepted.items()):
            if len(titles) > 1:
                shown = ", ".join(repr(t) for t in sorted(titles)[:5])
                yield self.finding(
                    server,
                    f"DICOM service accepted associations addressed to {len(titles)} different "
                    f"called AE titles ({shown})",
                    "dicom-called-ae",
                    first[server],
                )

    def _mqtt(self, context: PostureContext) -> Iterator[Finding]:
        seen: set[str] = set()
        for ack in context.of(MqttConnack):
            if not (ack.accepted and ack.anonymous):
                continue
            server = context.name(ack.server)
            if server in seen:
                continue
            seen.add(server)
            yield self.finding(
                server, "MQTT broker accepted a client without user name", "mqtt-anonymous", ack.ts
            )


CHECK = WeakAuthentication()
