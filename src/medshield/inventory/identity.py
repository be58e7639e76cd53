"""Which devices exist and which IP addresses are theirs, from MAC/IP sightings.

A device is a unicast source MAC. An IP address is bound to a MAC when the MAC's own
protocols prove it (ARP, DHCP ACK) or when the MAC sends from no more than two addresses
(an ordinary host). A MAC that sends from many addresses forwards for others (a router or
firewall): only its proven addresses are its own, the rest are remote hosts. A public
address seen from a MAC that also holds a proven private address is routed, not owned.
ARP has no authentication (RFC 826): when several MACs claim one address by ARP, a claim is
only believed from a MAC holding it by stronger evidence as well (IP traffic sent from it, a
DHCP lease); the others are forged bindings (ARP spoofing), not ownership.
Where a capture carries no MACs (raw IP), each private source address is a device; if the
capture holds no private address at all, each source address is.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field

from medshield.inventory.fingerprints.base import Binding
from medshield.inventory.oui import is_group_address

ORDINARY_HOST_MAX_ADDRESSES = 2


@dataclass(slots=True)
class Sighting:
    """Aggregated sightings of one (MAC, IP) source pair."""

    first_seen: float
    last_seen: float
    packets: int = 0
    bytes: int = 0
    via: set[str] = field(default_factory=set)

    def merge(self, first_seen: float, last_seen: float, packets: int, size: int, via: str) -> None:
        """Widen the window and add counters."""
        self.first_seen = min(self.first_seen, first_seen)
        self.last_seen = max(self.last_seen, last_seen)
        self.packets += packets
        self.bytes += size
        self.via.add(via)


def is_host_address(ip: str) -> bool:
    """False for addresses no host owns: unspecified, broadcast, multicast."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if address.is_unspecified or address.is_multicast:
        return False
    return not (address.version == 4 and ip == "255.255.255.255")


def is_private(ip: str) -> bool:
    """RFC 1918/4193/link-local and other non-global addresses."""
    return not ipaddress.ip_address(ip).is_global


@dataclass(slots=True)
class IdentityResult:
    """Devices (by MAC, or by IP for raw-IP captures) and the IPs each one owns."""

    mac_addresses: dict[str, set[str]]
    """MAC → the IP addresses bound to it."""
    ip_only: set[str]
    """Devices known only by IP (no MAC seen)."""
    bound_by: dict[tuple[str, str], set[str]]
    """(MAC, IP) → how the binding was proven (``arp``, ``dhcp``, ``ip``)."""
    gateways: set[str] = field(default_factory=set)
    """MACs that sent from addresses they do not own: they forward for others."""


class IdentityResolver:
    """Collects sightings and bindings, then decides devices and address ownership."""

    def __init__(self) -> None:
        self.by_pair: dict[tuple[str | None, str], Sighting] = {}
        self.proven: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add_sighting(
        self,
        mac: str | None,
        ip: str,
        first_seen: float,
        last_seen: float,
        packets: int,
        size: int,
        via: str,
    ) -> None:
        """Record that ``mac`` sent from ``ip`` (``via`` ``ip`` traffic or ``arp``)."""
        if mac is not None and is_group_address(mac):
            return
        key = (mac, ip)
        sighting = self.by_pair.get(key)
        if sighting is None:
            self.by_pair[key] = Sighting(first_seen, last_seen, packets, size, {via})
        else:
            sighting.merge(first_seen, last_seen, packets, size, via)
        if via == "arp" and mac is not None and is_host_address(ip):
            self.proven[mac][ip].add("arp")

    def add_binding(self, binding: Binding) -> None:
        """Record an ownership proof from a protocol (e.g. DHCP)."""
        if is_host_address(binding.ip) and not is_group_address(binding.mac):
            self.proven[binding.mac][binding.ip].add(binding.source)

    def resolve(self) -> IdentityResult:
        """Decide devices and bindings (rules in the module docstring)."""
        candidates: dict[str, set[str]] = defaultdict(set)
        raw_ips: set[str] = set()
        for (mac, ip), sighting in self.by_pair.items():
            if mac is None:
                if is_host_address(ip):
                    raw_ips.add(ip)
            elif sighting.via == {"arp"}:
                continue  # an ARP claim binds through the proofs, or not at all
            else:
                candidates[mac]
                if is_host_address(ip):
                    candidates[mac].add(ip)
        for mac in self.proven:
            candidates[mac]
        believed = self._believed_proofs()
        owner_by_proof = {ip: mac for mac, ips in believed.items() for ip in ips}
        macs: dict[str, set[str]] = {}
        bound_by: dict[tuple[str, str], set[str]] = {}
        gateways: set[str] = set()
        for mac, ips in candidates.items():
            proven = believed.get(mac, set())
            own = set(proven)
            if len(ips | proven) <= ORDINARY_HOST_MAX_ADDRESSES:
                has_private_proof = any(is_private(ip) for ip in proven)
                for ip in ips - proven:
                    if owner_by_proof.get(ip, mac) != mac:
                        continue
                    if has_private_proof and not is_private(ip):
                        continue
                    own.add(ip)
            macs[mac] = own
            routed = ips - own
            if len(routed) >= ORDINARY_HOST_MAX_ADDRESSES or any(
                not is_private(ip) for ip in routed
            ):
                gateways.add(mac)
            for ip in own:
                bound_by[(mac, ip)] = set(self.proven.get(mac, {}).get(ip, set())) or {"ip"}
        return IdentityResult(macs, self._raw_ip_devices(raw_ips), bound_by, gateways)

    def _believed_proofs(self) -> dict[str, set[str]]:
        """MAC → the addresses its proofs bind to it, less contested ARP-only claims."""
        claimants: dict[str, set[str]] = defaultdict(set)
        for mac, ips in self.proven.items():
            for ip in ips:
                claimants[ip].add(mac)
        believed: dict[str, set[str]] = {}
        for mac, ips in self.proven.items():
            believed[mac] = {
                ip
                for ip in ips
                if len(claimants[ip]) == 1
                or self._holds(mac, ip)
                or not any(self._holds(other, ip) for other in claimants[ip])
            }
        return believed

    def _holds(self, mac: str, ip: str) -> bool:
        """Has ``mac`` more than an ARP claim on ``ip``: a DHCP lease, or IP traffic from it?"""
        if self.proven[mac][ip] - {"arp"}:
            return True
        sighting = self.by_pair.get((mac, ip))
        return sighting is not None and "ip" in sighting.via

    @staticmethod
    def _raw_ip_devices(raw_ips: set[str]) -> set[str]:
        private = {ip for ip in raw_ips if is_private(ip)}
        return private or raw_ips
