"""The simulated site's devices and addresses (simulate/population.py)."""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address, IPv4Network

import pytest

from medshield.core.device import device_id_for_mac
from medshield.core.errors import BadInputError
from medshield.simulate.personas import ROLE_CLASSES, Role
from medshield.simulate.population import (
    FIRST_ROLES,
    MAX_DEVICES,
    SITE_NETWORK,
    build_hospital,
    plan_roles,
)


def test_ten_devices_cover_the_core_roles() -> None:
    roles = plan_roles(10)
    assert roles == list(FIRST_ROLES[:10])
    assert {Role.PATIENT_MONITOR, Role.INFUSION_PUMP, Role.PACS, Role.ROUTER} <= set(roles)


def test_sixteen_devices_have_one_of_each_role() -> None:
    assert Counter(plan_roles(16)) == Counter(set(Role))


@pytest.mark.parametrize("count", [10, 11, 57, 500, 1000])
def test_plan_has_exactly_the_requested_count(count: int) -> None:
    assert len(plan_roles(count)) == count


def test_large_sites_are_mostly_pumps_and_monitors() -> None:
    counts = Counter(plan_roles(1000))
    assert counts[Role.INFUSION_PUMP] > counts[Role.PATIENT_MONITOR] > counts[Role.PRINTER]
    assert counts[Role.PACS] == counts[Role.HL7_ENGINE] == counts[Role.ROUTER] == 1
    assert counts[Role.INFUSION_PUMP] + counts[Role.PATIENT_MONITOR] > 550


@pytest.mark.parametrize("count", [9, MAX_DEVICES + 1])
def test_out_of_range_counts_are_refused(count: int) -> None:
    with pytest.raises(BadInputError, match="--devices"):
        plan_roles(count)


def test_identities_and_addresses_are_unique_and_on_site() -> None:
    hospital = build_hospital(1000, 4)
    devices = hospital.devices
    assert len({d.mac for d in devices}) == len({d.ip for d in devices}) == 1000
    assert all(IPv4Address(d.ip) in SITE_NETWORK for d in devices)
    assert all(d.id == device_id_for_mac(d.mac_text) for d in devices)
    assert len({d.hostname for d in devices}) == 1000


def test_roles_keep_to_their_blocks_except_the_legacy_ward() -> None:
    hospital = build_hospital(200, 1)
    ward = hospital.legacy_ward
    assert ward == IPv4Network("10.20.60.0/24")
    in_ward = [d for d in hospital.devices if IPv4Address(d.ip) in ward]
    assert Counter(d.role for d in in_ward) == {
        Role.PATIENT_MONITOR: 2,
        Role.CLINICAL_WORKSTATION: 1,
    }
    blocks: dict[int, set[str]] = {}
    for device in hospital.devices:
        if IPv4Address(device.ip) not in ward:
            blocks.setdefault(device.ip[2], set()).add(ROLE_CLASSES[device.role].category)
    mixed = [
        octet
        for octet, categories in blocks.items()
        if len(categories) > 1 and "workstation" in categories
    ]
    assert mixed == []


def test_small_sites_have_no_legacy_ward() -> None:
    assert build_hospital(12, 1).legacy_ward is None


def test_same_seed_same_site_other_seed_other_macs() -> None:
    assert build_hospital(50, 9) == build_hospital(50, 9)
    assert [d.mac for d in build_hospital(50, 9).devices] != [
        d.mac for d in build_hospital(50, 10).devices
    ]


def test_servers_keep_static_addresses() -> None:
    hospital = build_hospital(30, 2)
    assert hospital.router.ip_text == "10.20.0.1" and hospital.router.static
    assert hospital.one(Role.PACS).static and not hospital.one(Role.PATIENT_MONITOR).static
