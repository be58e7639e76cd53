"""Service discovery: mDNS (RFC 6762/6763) host names and TXT models; SSDP (UPnP DA 2.0)."""

from __future__ import annotations

from medshield.core.observation import Observation
from medshield.inventory.fingerprints.base import NoBindings, Resolver, note
from medshield.inventory.fingerprints.software import add_product
from medshield.protocols.dns import MdnsHost, MdnsService
from medshield.protocols.ssdp import SsdpMessage

MODEL_KEYS = ("md", "model", "ty", "usb_mdl", "product")
"""TXT keys that carry a model (DNS-SD conventions of AirPrint, Google Cast, HomeKit)."""

SSDP_FROM_RESPONDER = "response"


class DiscoveryFingerprint(NoBindings):
    """Devices announce themselves: names, models and UPnP server strings."""

    name = "discovery"
    kinds = frozenset({MdnsHost.kind, MdnsService.kind, SsdpMessage.kind})

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """The announcing device is the sender of the datagram."""
        if isinstance(observation, MdnsHost):
            device = devices.by_endpoint(observation.client)
            name = observation.hostname.removesuffix(".local").removesuffix(".local.")
            note(device, "hostname", name, 0.7, observation, f"mDNS host {observation.hostname!r}")
        elif isinstance(observation, MdnsService):
            device = devices.by_endpoint(observation.client)
            note(device, "mdns_service", observation.service, 0.7, observation, "mDNS service")
            for key, value in observation.properties:
                if key.lower() in MODEL_KEYS:
                    note(device, "model", value, 0.6, observation, f"mDNS TXT {key}={value!r}")
        elif isinstance(observation, SsdpMessage):
            responder = observation.message_type.lower() == SSDP_FROM_RESPONDER
            device = devices.by_endpoint(observation.server if responder else observation.client)
            header = observation.server_header
            note(device, "ssdp_server", header, 0.7, observation, f"SSDP SERVER {header!r}")
            add_product(device, header, "ssdp-server")


FINGERPRINT = DiscoveryFingerprint()
