"""ARP spoofing: a MAC claiming by ARP an IP address another host holds by its traffic.

Adversary-in-the-Middle: ARP Cache Poisoning, MITRE ATT&CK T1557.002. ARP has no
authentication (RFC 826): any station may announce "IP X is at my MAC", and every host that
hears it rebinds X. What the forger cannot fake as easily is the binding the segment shows
by ordinary traffic: the MAC that sends IP packets from X while it is in use. So, in the
spirit of arpwatch's "changed ethernet address" report, a binding is *genuine* when it is
shown by IP traffic, and an ARP claim on that address from another MAC
while the genuine holder is active is a forged (or conflicting, RFC 5227 §2.4) binding.

Who holds an address by traffic, per address X (sightings ``via`` ``ip``):

* an ordinary host — a MAC sending from at most
  :data:`~medshield.inventory.identity.ORDINARY_HOST_MAX_ADDRESSES` addresses — that sends
  from X; when several do, the one seen first (a later one conflicts with it);
* else a MAC forwarding for many addresses (a router, or a forger relaying what it
  intercepts) that sends from X *and* answers ARP for X: a router's own interface address.

Not alerted: a host answering ARP for its own address (it is the holder); a router's IP
traffic from the many addresses it routes (it claims none of them by ARP); one MAC changing
address by DHCP (no other MAC involved); an address reassigned to another MAC once its
previous holder went quiet (the claim and the holding do not overlap in time). Not
detectable from sightings: a forged claim on an address nobody sends IP traffic from (a
router that never sources packets from its own address).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass

from medshield.core.enums import AlertKind, Severity
from medshield.core.finding import Alert
from medshield.core.flow import Endpoint
from medshield.detection.base import Namer, PassiveDetector
from medshield.flows.hosts import HostSighting
from medshield.inventory.identity import ORDINARY_HOST_MAX_ADDRESSES, is_host_address
from medshield.inventory.oui import is_group_address

LISTED_ADDRESSES = 8
"""Claimed addresses named in the evidence; the rest are counted."""
SEVERITY = Severity.HIGH
"""A forged binding diverts a device's traffic through the forger: HL7 results, pump and
monitor telemetry can be read or altered in transit (integrity of clinical data), and the
diverted device may lose its server altogether."""


@dataclass(slots=True)
class _Window:
    """When and how much one (MAC, IP) pair was seen by one means."""

    first_seen: float
    last_seen: float
    packets: int

    def add(self, sighting: HostSighting) -> None:
        self.first_seen = min(self.first_seen, sighting.first_seen)
        self.last_seen = max(self.last_seen, sighting.last_seen)
        self.packets += sighting.packets

    def overlaps(self, other: _Window) -> bool:
        return self.first_seen <= other.last_seen and other.first_seen <= self.last_seen


@dataclass(frozen=True, slots=True)
class ForgedClaim:
    """An ARP claim of ``ip`` by a MAC that does not hold it, and the MAC that does."""

    ip: str
    genuine_mac: str
    claim_first_seen: float
    claim_last_seen: float
    packets: int


IPV4 = 4

_Pair = tuple[str, str]
"""MAC and IP."""


class SpoofingDetector(PassiveDetector):
    """Forged ARP bindings (module docstring). State is one window per (MAC, IP) pair sent
    from and per pair claimed by ARP: bounded by hosts, not packets."""

    name = "spoofing"
    kind = AlertKind.SPOOFING

    def __init__(self) -> None:
        self._sent: dict[_Pair, _Window] = {}
        self._claimed: dict[_Pair, _Window] = {}

    def sighting(self, sighting: HostSighting) -> None:
        """Record a unicast MAC sending from, or claiming by ARP, an IPv4 host address (ARP
        binds IPv4 only; IPv6 neighbour discovery is no concern of this rule)."""
        mac = sighting.mac
        if mac is None or is_group_address(mac) or not is_host_address(sighting.ip):
            return
        if ipaddress.ip_address(sighting.ip).version != IPV4:
            return
        table = {"ip": self._sent, "arp": self._claimed}.get(sighting.via)
        if table is None:
            return
        known = table.get((mac, sighting.ip))
        if known is None:
            table[(mac, sighting.ip)] = _Window(
                sighting.first_seen, sighting.last_seen, sighting.packets
            )
        else:
            known.add(sighting)

    def forged_claims(self) -> dict[str, list[ForgedClaim]]:
        """Forging MAC → its ARP claims on addresses held by another MAC at the time."""
        return self._forged(self._holders())

    def _forged(self, holders: dict[str, tuple[str, _Window]]) -> dict[str, list[ForgedClaim]]:
        forged: dict[str, list[ForgedClaim]] = defaultdict(list)
        for (mac, ip), claim in sorted(self._claimed.items(), key=_claim_order):
            holder = holders.get(ip)
            if holder is None or holder[0] == mac or not claim.overlaps(holder[1]):
                continue
            forged[mac].append(
                ForgedClaim(ip, holder[0], claim.first_seen, claim.last_seen, claim.packets)
            )
        return dict(forged)

    def alerts(self, name: Namer) -> list[Alert]:
        """One alert per forging MAC, over its forged claims' first to last sighting."""
        holders = self._holders()
        found: list[Alert] = []
        for mac, claims in self._forged(holders).items():
            held = [
                (window.packets, ip)
                for (sender, ip), window in self._sent.items()
                if sender == mac and ip in holders and holders[ip][0] == mac
            ]
            # Named by an address it genuinely holds; 0.0.0.0 names it by MAC alone.
            own_ip = max(held)[1] if held else "0.0.0.0"
            peer = None
            if len(claims) == 1:
                peer = name(Endpoint(claims[0].ip, 0, claims[0].genuine_mac))
            found.append(
                Alert(
                    self.kind,
                    SEVERITY,
                    name(Endpoint(own_ip, 0, mac)),
                    peer,
                    min(claim.claim_first_seen for claim in claims),
                    max(claim.claim_last_seen for claim in claims),
                    _evidence(mac, claims),
                )
            )
        return found

    def _holders(self) -> dict[str, tuple[str, _Window]]:
        """Address → the MAC holding it by IP traffic and when (module docstring)."""
        addresses: dict[str, set[str]] = defaultdict(set)
        for mac, ip in self._sent:
            addresses[mac].add(ip)
        ordinary: dict[str, list[tuple[float, str]]] = defaultdict(list)
        forwarding: dict[str, list[tuple[float, str]]] = defaultdict(list)
        for (mac, ip), window in self._sent.items():
            if len(addresses[mac]) <= ORDINARY_HOST_MAX_ADDRESSES:
                ordinary[ip].append((window.first_seen, mac))
            elif (mac, ip) in self._claimed:
                forwarding[ip].append((window.first_seen, mac))
        holders: dict[str, tuple[str, _Window]] = {}
        for ip in ordinary.keys() | forwarding.keys():
            _, mac = min(ordinary.get(ip) or forwarding[ip])
            holders[ip] = (mac, self._sent[(mac, ip)])
        return holders


def _claim_order(item: tuple[_Pair, _Window]) -> tuple[str, int, int]:
    """Claims by MAC, then by address in numeric order."""
    (mac, ip), _ = item
    address = ipaddress.ip_address(ip)
    return mac, address.version, int(address)


def _evidence(mac: str, claims: list[ForgedClaim]) -> str:
    """The claimed addresses with their genuine MACs, the ARP messages and their span."""
    listed = ", ".join(
        f"{claim.ip} (held by {claim.genuine_mac})" for claim in claims[:LISTED_ADDRESSES]
    )
    more = len(claims) - LISTED_ADDRESSES
    if more > 0:
        listed += f" and {more} more"
    packets = sum(claim.packets for claim in claims)
    span = max(c.claim_last_seen for c in claims) - min(c.claim_first_seen for c in claims)
    count = len(claims)
    return (
        f"ARP binds {count} address{'es' if count != 1 else ''} held by other hosts to "
        f"{mac}: {listed}; {packets} ARP message{'s' if packets != 1 else ''} over "
        f"{span:.1f} s (ATT&CK T1557.002)"
    )
