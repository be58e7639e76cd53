"""Medical devices exchanging traffic with the internet: any flow between a device of a
medical category and a globally routable address (RFC 6890 special-purpose registries
decide what is not global).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

from medshield.core.enums import MEDICAL_CATEGORIES, FindingKind, Practice, Severity
from medshield.core.finding import Finding
from medshield.core.flow import Endpoint
from medshield.posture.base import CheckBase, PostureContext, first_per_key


def is_public(ip: str) -> bool:
    """True for a globally routable unicast address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.is_global and not address.is_multicast


class InternetExposure(CheckBase):
    """A medical device reaches, or is reached from, the internet."""

    name = "internet-exposure"
    kind = FindingKind.INTERNET_EXPOSURE
    title = "Medical device communicates with the internet"
    severity = Severity.HIGH
    remediation = (
        "Block the device's internet access at the perimeter and allow only the maker's "
        "documented service endpoints through a proxy; review why it talks outside."
    )
    practice = Practice.SEGMENT_NETWORK

    def run(self, context: PostureContext) -> Iterable[Finding]:
        """One finding per medical device and public peer."""
        return first_per_key(self._exposures(context))

    def _exposures(self, context: PostureContext) -> Iterator[Finding]:
        for key, link in context.links.items():
            client_mac, client_ip, server_mac, server_ip, transport, port, app = key
            client = Endpoint(client_ip, 0, client_mac)
            server = Endpoint(server_ip, port, server_mac)
            for local, remote, role in ((client, server, "to"), (server, client, "from")):
                device = context.device(local)
                if device is None or device.category not in MEDICAL_CATEGORIES:
                    continue
                if not is_public(remote.ip):
                    continue
                service = f"{app or transport}/{port}"
                yield self.finding(
                    device.id,
                    f"{device.category} exchanged {link.packets} packets {role} public address "
                    f"{remote.ip} ({service})",
                    f"peer:{remote.ip}",
                    link.first_seen,
                )


CHECK = InternetExposure()
