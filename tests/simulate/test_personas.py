"""Personas: every OUI belongs to the maker we claim, per netaddr's IEEE registry."""

from __future__ import annotations

import pytest

from medshield.core.enums import Criticality, DeviceCategory
from medshield.simulate.personas import MEDICAL_CATEGORIES, PRODUCTS, ROLE_CLASSES, Product, Role
from medshield.simulate.truth import vendor_of

REGISTRY_NAME_OF_MAKER = {
    "Cisco": "Cisco Systems",
    "VMware": "VMware",
    "Dell": "Dell",
    "Philips Medical Systems": "Philips",
    "Philips": "Philips",
    "GE Healthcare": "GE Healthcare",
    "GE MEDICAL SYSTEMS": "GE Healthcare",
    "Mindray": "Mindray",
    "Draeger": "Draeger",
    "ICU Medical": "ICU Medical",
    "BD": "ALARIS",
    "Baxter": "Baxter",
    "B. Braun": "B.Braun",
    "SIEMENS": "Siemens AG, Healthcare",
    "Sysmex": "Sysmex",
    "Roche": "Roche Diagnostics",
    "Abbott": "Abbott",
    "Digi International": "DigiBoard",
    "HP": "Hewlett Packard",
    "Lexmark": "LEXMARK",
    "Zebra": "Zebra Technologies",
    "Schneider Electric": "Schneider Electric",
}
"""How the IEEE registry spells each maker (or its predecessor: Alaris for BD)."""

ALL_PRODUCTS = [(role, product) for role, models in PRODUCTS.items() for product in models]


@pytest.mark.parametrize(
    ("role", "product"), ALL_PRODUCTS, ids=[f"{r.value}:{p.model}" for r, p in ALL_PRODUCTS]
)
def test_oui_is_registered_to_the_maker(role: Role, product: Product) -> None:
    org = vendor_of(f"{product.oui}:00:00:01")
    assert REGISTRY_NAME_OF_MAKER[product.manufacturer].lower() in org.lower(), (role, org)


def test_every_role_has_models_and_a_class() -> None:
    assert set(PRODUCTS) == set(Role) == set(ROLE_CLASSES)


def test_pumps_are_life_sustaining_and_medical() -> None:
    pump = ROLE_CLASSES[Role.INFUSION_PUMP]
    assert pump.criticality is Criticality.LIFE_SUSTAINING
    assert pump.category in MEDICAL_CATEGORIES
    assert DeviceCategory.WORKSTATION not in MEDICAL_CATEGORIES


def test_first_models_carry_the_planted_services() -> None:
    pump, lab = PRODUCTS[Role.INFUSION_PUMP][0], PRODUCTS[Role.LAB_ANALYSER][0]
    assert pump.login is not None and pump.login_is_default and pump.banner
    assert lab.login is not None and not lab.login_is_default and lab.banner.startswith("220 ")


def test_dicom_ae_prefixes_leave_room_for_the_number() -> None:
    for role in (Role.CT_SCANNER, Role.MR_SCANNER, Role.PACS):
        for product in PRODUCTS[role]:
            assert 0 < len(product.dicom_ae_prefix) <= 14
