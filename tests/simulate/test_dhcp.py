"""DHCP at boot and renewal (simulate/dhcp.py)."""

from __future__ import annotations

from typing import Any

import dpkt
import pytest

from medshield.simulate import dhcp
from medshield.simulate.facts import Communication, Identifier
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation, SimulationConfig
from medshield.simulate.wire import US

from .checks import checksums_ok
from .conftest import decode, facts_of


@pytest.fixture(scope="module")
def simulation() -> Simulation:
    """Ten minutes: long enough for renewals at T1."""
    return Simulation(SimulationConfig(devices=20, duration=600.0, seed=3))


def lifecycle(simulation: Simulation, role: Role) -> tuple[Any, list[Any]]:
    hospital = simulation.hospital
    device = hospital.one(role)
    server = hospital.one(Role.INFRASTRUCTURE_SERVER)
    boot = simulation.start_us + US
    return device, list(dhcp.client_lifecycle(simulation.context, device, server, boot))


def dhcp_messages(items: list[Any]) -> list[tuple[dpkt.ethernet.Ethernet, dpkt.dhcp.DHCP]]:
    out = []
    for item in items:
        eth = decode(item)
        if isinstance(eth.data, dpkt.ip.IP) and isinstance(eth.data.data, dpkt.udp.UDP):
            out.append((eth, dpkt.dhcp.DHCP(eth.data.data.data)))
    return out


def test_dora_from_an_unconfigured_client(simulation: Simulation) -> None:
    device, items = lifecycle(simulation, Role.PATIENT_MONITOR)
    messages = dhcp_messages(items)
    kinds = [dict(m.opts)[dpkt.dhcp.DHCP_OPT_MSGTYPE][0] for _, m in messages[:4]]
    assert kinds == [
        dpkt.dhcp.DHCPDISCOVER,
        dpkt.dhcp.DHCPOFFER,
        dpkt.dhcp.DHCPREQUEST,
        dpkt.dhcp.DHCPACK,
    ]
    discover_eth, discover = messages[0]
    ip = discover_eth.data
    assert (ip.src, ip.dst) == (bytes(4), b"\xff" * 4)
    assert (ip.data.sport, ip.data.dport) == (68, 67)
    assert discover.chaddr[:6] == device.mac
    assert messages[1][1].yiaddr == int.from_bytes(device.ip, "big")
    assert all(checksums_ok(item[1]) for item in items if decode(item).type == 0x0800)


@pytest.mark.parametrize("role", [Role.CLINICAL_WORKSTATION, Role.INFUSION_PUMP])
def test_discover_carries_the_persona_fingerprint(simulation: Simulation, role: Role) -> None:
    device, items = lifecycle(simulation, role)
    options = dict(dhcp_messages(items)[0][1].opts)
    product = device.product
    assert options[dpkt.dhcp.DHCP_OPT_VENDOR_ID].decode() == product.dhcp_vendor_class
    assert list(options[dpkt.dhcp.DHCP_OPT_PARAM_REQ]) == list(product.stack.dhcp_parameters)
    assert options[dpkt.dhcp.DHCP_OPT_CLIENT_ID] == b"\x01" + device.mac
    if product.sends_hostname:
        assert options[dpkt.dhcp.DHCP_OPT_HOSTNAME].decode() == device.hostname


def test_server_answers_with_mask_router_dns_and_lease(simulation: Simulation) -> None:
    _, items = lifecycle(simulation, Role.CT_SCANNER)
    options = dict(dhcp_messages(items)[3][1].opts)
    assert options[dpkt.dhcp.DHCP_OPT_NETMASK] == bytes((255, 255, 0, 0))
    assert options[dpkt.dhcp.DHCP_OPT_ROUTER] == bytes((10, 20, 0, 1))
    assert int.from_bytes(options[dpkt.dhcp.DHCP_OPT_LEASE_SEC], "big") == dhcp.LEASE_SECONDS


def test_arp_probe_and_announcement_follow_the_ack(simulation: Simulation) -> None:
    device, items = lifecycle(simulation, Role.PRINTER)
    arps = [decode(item).data for item in items if decode(item).type == 0x0806]
    probe, announcement = arps[:2]
    assert (probe.spa, probe.tpa) == (bytes(4), device.ip)
    assert (announcement.spa, announcement.tpa) == (device.ip, device.ip)


def test_renewal_is_unicast_at_t1(simulation: Simulation) -> None:
    device, items = lifecycle(simulation, Role.INFUSION_PUMP)
    udp_items = [item for item in items if decode(item).type == 0x0800]
    renewal_item = udp_items[4]
    eth, request = dhcp_messages([renewal_item])[0]
    assert (
        eth.data.src == device.ip
        and eth.dst == simulation.hospital.one(Role.INFRASTRUCTURE_SERVER).mac
    )
    assert request.ciaddr == int.from_bytes(device.ip, "big")
    assert renewal_item[0] == simulation.start_us + US + dhcp.LEASE_SECONDS // 2 * US


def test_discover_facts_name_the_vendor_class(simulation: Simulation) -> None:
    device, items = lifecycle(simulation, Role.LAB_ANALYSER)
    facts = facts_of(items)
    assert Identifier(device.id, "dhcp_vendor_class", device.product.dhcp_vendor_class) in facts
    assert any(isinstance(f, Communication) and f.app == "dhcp" for f in facts)
