"""What several detectors ask of an address: inside or outside the site, and whether the host
is clinical (it held a real DICOM, HL7 or MQTT conversation in the capture)."""

from __future__ import annotations

from functools import lru_cache

from medshield.core.flow import FlowRecord
from medshield.inventory.identity import is_host_address, is_private

ADDRESS_CACHE = 1 << 16
"""Addresses whose class is remembered: detectors ask about the same few thousand hosts for
every flow, and parsing an address (:mod:`ipaddress`) costs more than the rest of a
detector's work on a flow."""
CLINICAL_APPS = frozenset({"dicom", "hl7", "mqtt"})
"""Application protocols that make a host clinical: DICOM (PS3.8) and HL7 v2 carry patient
data by design; on a hospital network MQTT is the telemetry transport of infusion pumps and
medical IoT gateways."""


@lru_cache(maxsize=ADDRESS_CACHE)
def is_inside(ip: str) -> bool:
    """A host address that is not globally routable (RFC 1918, RFC 4193, link-local …)."""
    return is_host_address(ip) and is_private(ip)


@lru_cache(maxsize=ADDRESS_CACHE)
def is_outside(ip: str) -> bool:
    """A globally routable unicast address (IANA special-purpose registries, RFC 6890)."""
    return is_host_address(ip) and not is_private(ip)


class ClinicalHosts:
    """The addresses that took part in a real DICOM, HL7 or MQTT conversation, and which.

    Only flows with payload both ways count: a refused probe to port 104 is labelled
    ``dicom`` by its port alone and proves nothing about the host.
    """

    def __init__(self) -> None:
        self.apps: dict[str, set[str]] = {}

    def note(self, flow: FlowRecord, app: str) -> None:
        """Remember both ends of ``flow`` when it is a clinical conversation."""
        if app in CLINICAL_APPS and flow.c2s.payload_bytes and flow.s2c.payload_bytes:
            for ip in (flow.client.ip, flow.server.ip):
                self.apps.setdefault(ip, set()).add(app)

    def of(self, ip: str) -> list[str]:
        """The clinical protocols ``ip`` spoke, sorted (empty for a non-clinical host)."""
        return sorted(self.apps.get(ip, ()))
