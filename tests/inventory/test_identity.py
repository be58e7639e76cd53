"""Which MACs are devices and which IPs they own."""

from __future__ import annotations

from medshield.inventory.fingerprints.base import Binding
from medshield.inventory.identity import IdentityResolver

HOST = "00:09:fb:00:00:01"
ROUTER = "00:00:0c:00:00:fe"


def _see(resolver: IdentityResolver, mac: str | None, ip: str, via: str = "ip") -> None:
    resolver.add_sighting(mac, ip, 10.0, 20.0, 3, 300, via)


def test_ordinary_host_owns_its_address() -> None:
    resolver = IdentityResolver()
    _see(resolver, HOST, "10.1.0.5")
    result = resolver.resolve()
    assert result.mac_addresses == {HOST: {"10.1.0.5"}}
    assert result.bound_by[(HOST, "10.1.0.5")] == {"ip"}


def test_router_owns_only_proven_addresses() -> None:
    resolver = IdentityResolver()
    _see(resolver, ROUTER, "10.1.0.1", via="arp")
    for last in range(1, 6):
        _see(resolver, ROUTER, f"198.51.100.{last}")
    result = resolver.resolve()
    assert result.mac_addresses[ROUTER] == {"10.1.0.1"}
    assert result.bound_by[(ROUTER, "10.1.0.1")] == {"arp"}


def test_single_routed_public_address_is_not_owned_by_router() -> None:
    resolver = IdentityResolver()
    _see(resolver, ROUTER, "10.1.0.1", via="arp")
    _see(resolver, ROUTER, "93.184.216.34")
    assert resolver.resolve().mac_addresses[ROUTER] == {"10.1.0.1"}


def test_unspecified_and_broadcast_are_never_owned() -> None:
    resolver = IdentityResolver()
    _see(resolver, HOST, "0.0.0.0")
    _see(resolver, HOST, "255.255.255.255")
    result = resolver.resolve()
    assert result.mac_addresses == {HOST: set()}


def test_dhcp_binding_proves_ownership() -> None:
    resolver = IdentityResolver()
    _see(resolver, HOST, "0.0.0.0")
    resolver.add_binding(Binding(HOST, "10.1.0.7", 11.0, "dhcp"))
    result = resolver.resolve()
    assert result.mac_addresses[HOST] == {"10.1.0.7"}
    assert result.bound_by[(HOST, "10.1.0.7")] == {"dhcp"}


def test_address_proven_for_another_mac_is_not_taken() -> None:
    resolver = IdentityResolver()
    other = "00:09:fb:00:00:02"
    _see(resolver, other, "10.1.0.8", via="arp")
    _see(resolver, HOST, "10.1.0.8")
    result = resolver.resolve()
    assert result.mac_addresses[HOST] == set()
    assert result.mac_addresses[other] == {"10.1.0.8"}


def test_forged_arp_claims_do_not_take_a_held_address() -> None:
    # ARP spoofing: SPOOFER replies "10.1.0.40 is at me"; the real owner answers ARP too and
    # sends IP traffic from the address.
    resolver = IdentityResolver()
    owner, spoofer = "00:09:fb:00:00:40", "b8:ca:3a:00:00:13"
    _see(resolver, owner, "10.1.0.40", via="arp")
    _see(resolver, owner, "10.1.0.40")
    _see(resolver, spoofer, "10.1.0.13")
    _see(resolver, spoofer, "10.1.0.13", via="arp")
    _see(resolver, spoofer, "10.1.0.40", via="arp")
    result = resolver.resolve()
    assert result.mac_addresses[owner] == {"10.1.0.40"}
    assert result.mac_addresses[spoofer] == {"10.1.0.13"}
    assert result.bound_by[(owner, "10.1.0.40")] == {"arp"}


def test_a_dhcp_lease_outweighs_an_arp_claim() -> None:
    resolver = IdentityResolver()
    owner, spoofer = "00:09:fb:00:00:41", "b8:ca:3a:00:00:14"
    resolver.add_binding(Binding(owner, "10.1.0.41", 12.0, "dhcp"))
    _see(resolver, spoofer, "10.1.0.41", via="arp")
    result = resolver.resolve()
    assert result.mac_addresses[owner] == {"10.1.0.41"}
    assert result.mac_addresses[spoofer] == set()


def test_an_uncontested_arp_claim_still_binds() -> None:
    resolver = IdentityResolver()
    _see(resolver, HOST, "10.1.0.42", via="arp")
    assert resolver.resolve().mac_addresses[HOST] == {"10.1.0.42"}


def test_group_source_macs_are_ignored() -> None:
    resolver = IdentityResolver()
    _see(resolver, "01:00:5e:00:00:01", "10.1.0.9")
    assert resolver.resolve().mac_addresses == {}


def test_raw_ip_capture_makes_private_addresses_devices() -> None:
    resolver = IdentityResolver()
    _see(resolver, None, "192.168.1.20")
    _see(resolver, None, "93.184.216.34")
    assert resolver.resolve().ip_only == {"192.168.1.20"}


def test_raw_ip_capture_without_private_addresses_keeps_all() -> None:
    resolver = IdentityResolver()
    _see(resolver, None, "93.184.216.34")
    _see(resolver, None, "151.101.1.69")
    assert resolver.resolve().ip_only == {"93.184.216.34", "151.101.1.69"}


def test_router_is_recognised_as_gateway_host_is_not() -> None:
    resolver = IdentityResolver()
    _see(resolver, ROUTER, "10.1.0.1", via="arp")
    _see(resolver, ROUTER, "93.184.216.34")
    _see(resolver, HOST, "10.1.0.5")
    result = resolver.resolve()
    assert result.gateways == {ROUTER}
