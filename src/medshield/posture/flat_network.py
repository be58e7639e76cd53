"""Flat network: a medical device sharing its IPv4 /24 with a workstation that was active in
the capture. A /24 stands in for the segment when the capture shows no subnet masks; a
workstation beside a pump can reach it without crossing a firewall.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Iterator

from medshield.core.device import Device
from medshield.core.enums import MEDICAL_CATEGORIES, DeviceCategory, FindingKind, Practice, Severity
from medshield.core.finding import Finding
from medshield.posture.base import CheckBase, PostureContext

SEGMENT_PREFIX = 24


def segments_of(device: Device) -> set[ipaddress.IPv4Network]:
    """The /24 networks of the device's IPv4 addresses."""
    found: set[ipaddress.IPv4Network] = set()
    for ip in device.ips:
        address = ipaddress.ip_address(ip)
        if isinstance(address, ipaddress.IPv4Address):
            found.add(ipaddress.IPv4Network(f"{ip}/{SEGMENT_PREFIX}", strict=False))
    return found


class FlatNetwork(CheckBase):
    """Medical devices and workstations in one segment."""

    name = "flat-network"
    kind = FindingKind.FLAT_NETWORK
    title = "Medical device shares a network segment with workstations"
    severity = Severity.MEDIUM
    remediation = (
        "Move the medical device to a dedicated clinical VLAN and allow only the flows it "
        "needs (medshield policy learn proposes them)."
    )
    practice = Practice.SEGMENT_NETWORK

    def run(self, context: PostureContext) -> Iterable[Finding]:
        """One finding per medical device in a segment with a workstation."""
        return list(self._shared(context))

    def _shared(self, context: PostureContext) -> Iterator[Finding]:
        workstations: dict[ipaddress.IPv4Network, list[Device]] = defaultdict(list)
        for device in context.devices.devices.values():
            if device.category is DeviceCategory.WORKSTATION:
                for segment in segments_of(device):
                    workstations[segment].append(device)
        for device in context.devices.devices.values():
            if device.category not in MEDICAL_CATEGORIES:
                continue
            for segment in sorted(segments_of(device), key=str):
                neighbours = workstations.get(segment)
                if not neighbours:
                    continue
                names = ", ".join(sorted(ip for w in neighbours for ip in w.ips)[:5])
                yield self.finding(
                    device.id,
                    f"{device.category} in {segment} with {len(neighbours)} workstation(s): "
                    f"{names}",
                    f"segment:{segment}",
                    device.first_seen,
                )


CHECK = FlatNetwork()
