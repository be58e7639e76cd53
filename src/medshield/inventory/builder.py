"""Observations, sightings and flows → devices with evidence-backed attributes.

The builder is fed while a capture streams (sightings, flow links, observations) and builds
the devices once at the end, because which IPs a MAC owns is only known when every sighting
is in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from medshield.core.device import Device, Evidence, device_id_for_ip, device_id_for_mac
from medshield.core.enums import transport_label
from medshield.core.flow import Endpoint, FlowRecord
from medshield.core.observation import Observation
from medshield.core.registry import Registry
from medshield.inventory.classification import Facts, RuleSet, load_rules
from medshield.inventory.fingerprints import default_fingerprints
from medshield.inventory.fingerprints.base import Fingerprint
from medshield.inventory.identity import IdentityResolver, IdentityResult
from medshield.inventory.oui import lookup_vendor

LinkKey = tuple[str | None, str, str | None, str, int, int, str]
"""(client MAC, client IP, server MAC, server IP, transport, server port, app)."""


@dataclass(slots=True)
class Link:
    """Flows between two endpoints for one service, aggregated."""

    first_seen: float
    last_seen: float
    flows: int = 0
    packets: int = 0
    bytes: int = 0


class DeviceIndex:
    """The built devices, reachable by MAC, IP and flow endpoint (a fingerprint Resolver)."""

    def __init__(self, devices: dict[str, Device], identity: IdentityResult) -> None:
        self.devices = devices
        self._by_mac = {d.mac: d for d in devices.values() if d.mac}
        self._by_ip: dict[str, Device] = {}
        for device in devices.values():
            for ip in device.ips:
                self._by_ip.setdefault(ip, device)
        self.identity = identity
        self.roles: dict[str, dict[str, set[str]]] = {}
        """Device id → ``serves``/``uses`` → application protocols."""

    def role(self, device: Device, role: str) -> set[str]:
        """The protocols ``device`` serves or uses (``role``), for updating."""
        return self.roles.setdefault(device.id, {}).setdefault(role, set())

    def by_mac(self, mac: str | None) -> Device | None:
        """The device with this MAC address."""
        return self._by_mac.get(mac) if mac else None

    def by_ip(self, ip: str | None) -> Device | None:
        """The device that holds this IP address."""
        return self._by_ip.get(ip) if ip else None

    def by_endpoint(self, endpoint: Endpoint | None) -> Device | None:
        """The device behind an endpoint: its MAC's device when the IP is its own or unset."""
        if endpoint is None:
            return None
        owner = self._by_ip.get(endpoint.ip)
        if owner is not None:
            return owner
        device = self.by_mac(endpoint.mac)
        if device is not None and (not device.ips or endpoint.ip in ("0.0.0.0", "::")):
            return device
        return None

    def name_of(self, endpoint: Endpoint) -> str:
        """Device id of an endpoint, or its IP when it is no device of the inventory."""
        device = self.by_endpoint(endpoint)
        return device.id if device is not None else endpoint.ip


class InventoryBuilder:
    """Accumulates what a capture shows and builds the device inventory."""

    def __init__(
        self, fingerprints: Registry[Fingerprint] | None = None, rules: RuleSet | None = None
    ) -> None:
        self.identity = IdentityResolver()
        self.rules = rules if rules is not None else load_rules()
        self.fingerprints = fingerprints if fingerprints is not None else default_fingerprints()
        self._by_kind: dict[str, list[Fingerprint]] = {}
        for fingerprint in self.fingerprints:
            for kind in fingerprint.kinds:
                self._by_kind.setdefault(kind, []).append(fingerprint)
        self.links: dict[LinkKey, Link] = {}
        self.observations: list[Observation] = []

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
        """A (MAC, IP) source pair seen in IP traffic or ARP."""
        self.identity.add_sighting(mac, ip, first_seen, last_seen, packets, size, via)

    def add_flow(self, flow: FlowRecord, app: str) -> None:
        """A completed flow and the application label it got."""
        key: LinkKey = (
            flow.client.mac,
            flow.client.ip,
            flow.server.mac,
            flow.server.ip,
            flow.transport,
            flow.server.port,
            app,
        )
        link = self.links.get(key)
        if link is None:
            link = self.links[key] = Link(flow.first_seen, flow.last_seen)
        link.first_seen = min(link.first_seen, flow.first_seen)
        link.last_seen = max(link.last_seen, flow.last_seen)
        link.flows += 1
        link.packets += flow.packets
        link.bytes += flow.bytes

    def add_observations(self, observations: Iterable[Observation]) -> None:
        """Observations from the dissectors; kept until :meth:`build`."""
        for observation in observations:
            fingerprints = self._by_kind.get(observation.kind)
            if not fingerprints:
                continue
            self.observations.append(observation)
            for fingerprint in fingerprints:
                for binding in fingerprint.bindings(observation):
                    self.identity.add_binding(binding)

    def build(self) -> DeviceIndex:
        """Decide the devices, then annotate them from every signal."""
        identity = self.identity.resolve()
        devices = self._devices(identity)
        index = DeviceIndex(devices, identity)
        self._apply_links(index)
        for observation in self.observations:
            for fingerprint in self._by_kind.get(observation.kind, ()):
                fingerprint.apply(observation, index)
        for device in devices.values():
            gateway = device.mac in identity.gateways
            self.rules.classify(device, Facts.of(device, index.roles.get(device.id, {}), gateway))
        return index

    def _devices(self, identity: IdentityResult) -> dict[str, Device]:
        devices: dict[str, Device] = {}
        for (mac, ip), sighting in self.identity.by_pair.items():
            if mac is None:
                if ip not in identity.ip_only:
                    continue
                device_id = device_id_for_ip(ip)
            elif mac in identity.mac_addresses:
                device_id = device_id_for_mac(mac)
            else:
                continue
            device = devices.get(device_id)
            if device is None:
                device = devices[device_id] = Device(
                    device_id, mac, sighting.first_seen, sighting.last_seen
                )
                _add_vendor(device)
            device.seen(sighting.first_seen)
            device.seen(sighting.last_seen)
            device.packets += sighting.packets
            device.bytes += sighting.bytes
        for mac, ips in identity.mac_addresses.items():
            device = devices.get(device_id_for_mac(mac))
            if device is None:
                continue
            for ip in ips:
                _add_ip(device, ip, identity.bound_by[(mac, ip)], self.identity)
        for ip in identity.ip_only:
            device = devices[device_id_for_ip(ip)]
            _add_ip(device, ip, {"ip"}, self.identity)
        return devices

    def _apply_links(self, index: DeviceIndex) -> None:
        for key in self.links:
            client_mac, client_ip, server_mac, server_ip, transport, port, app = key
            client = Endpoint(client_ip, 0, client_mac)
            server = Endpoint(server_ip, port, server_mac)
            client_device = index.by_endpoint(client)
            server_device = index.by_endpoint(server)
            label = app or _port_label(transport, port)
            sides = ((client_device, server, "uses"), (server_device, client, "serves"))
            for device, peer, role in sides:
                if device is None:
                    continue
                device.protocols.add(label)
                index.role(device, role).add(label)
                peer_name = index.name_of(peer)
                if peer_name != device.id:
                    device.peers.add(peer_name)


def _port_label(transport: int, port: int) -> str:
    name = transport_label(transport)
    return f"{name}/{port}" if port else name


def _add_vendor(device: Device) -> None:
    if device.mac is None:
        return
    found = lookup_vendor(device.mac)
    if found is None:
        return
    evidence = Evidence(
        "oui",
        device.first_seen,
        f"IEEE {found.registry} {found.prefix} is registered to {found.vendor}",
    )
    device.add_attribute("vendor", found.vendor, 0.6, evidence)


def _add_ip(device: Device, ip: str, proofs: set[str], identity: IdentityResolver) -> None:
    device.ips.add(ip)
    sighting = identity.by_pair.get((device.mac, ip))
    ts = sighting.first_seen if sighting else device.first_seen
    detail = f"{ip} proven by {', '.join(sorted(proofs))}"
    confidence = 0.95 if proofs - {"ip"} else 0.8
    device.add_attribute("ip", ip, confidence, Evidence("identity", ts, detail))
