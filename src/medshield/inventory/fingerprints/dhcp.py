"""DHCP (RFC 2131, RFC 2132): hostname, vendor class, request-list fingerprint, leases."""

from __future__ import annotations

from collections.abc import Iterable

from medshield.core.observation import Observation
from medshield.inventory.fingerprints.base import Binding, Resolver, note
from medshield.inventory.fingerprints.software import add_product
from medshield.protocols.dhcp import DhcpMessage

CLASS_NOT_SOFTWARE = ("MSFT",)
"""Vendor classes naming an OS family, not a DHCP client release (``MSFT 5.0``: Windows)."""

BOOTREQUEST = 1
DHCPACK = 5
DHCPINFORM = 8


class DhcpFingerprint:
    """Client options identify the device; an ACK proves which address it leased."""

    name = "dhcp"
    kinds = frozenset({DhcpMessage.kind})

    def bindings(self, observation: Observation) -> Iterable[Binding]:
        """The leased address of an ACK (RFC 2131 §3.1 step 5) or an INFORM's ciaddr."""
        if not isinstance(observation, DhcpMessage) or observation.client_mac is None:
            return ()
        if observation.message_type == DHCPACK and observation.yiaddr:
            return (Binding(observation.client_mac, observation.yiaddr, observation.ts, "dhcp"),)
        if observation.message_type == DHCPINFORM and observation.ciaddr:
            return (Binding(observation.client_mac, observation.ciaddr, observation.ts, "dhcp"),)
        return ()

    def apply(self, observation: Observation, devices: Resolver) -> None:
        """Hostname (option 12/81), vendor class (60) and request list (55) of a client."""
        if not isinstance(observation, DhcpMessage) or observation.op != BOOTREQUEST:
            return
        # chaddr names the client (RFC 2131 §2); a frame sent from another MAC still has a
        # sender on the wire, which is the best device left when chaddr has none.
        device = devices.by_mac(observation.client_mac) or devices.by_endpoint(observation.client)
        msg = observation
        note(device, "hostname", msg.hostname, 0.9, msg, f"DHCP option 12 {msg.hostname!r}")
        if msg.fqdn:
            note(device, "hostname", msg.fqdn, 0.85, msg, f"DHCP option 81 {msg.fqdn!r}")
        note(
            device,
            "dhcp_vendor_class",
            msg.vendor_class_id,
            0.95,
            msg,
            f"DHCP option 60 {msg.vendor_class_id!r}",
        )
        if msg.vendor_class_id and not msg.vendor_class_id.startswith(CLASS_NOT_SOFTWARE):
            add_product(device, msg.vendor_class_id, "dhcp-vendor-class")
        if msg.parameter_request_list:
            fingerprint = ",".join(str(code) for code in msg.parameter_request_list)
            note(device, "dhcp_fingerprint", fingerprint, 0.9, msg, "DHCP option 55 order")


FINGERPRINT = DhcpFingerprint()
