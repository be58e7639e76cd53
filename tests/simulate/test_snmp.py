"""SNMPv2c BER encoding and polling (simulate/snmp.py)."""

from __future__ import annotations

import itertools

import pytest

from medshield.core.enums import FindingKind
from medshield.simulate import snmp
from medshield.simulate.facts import Identifier, Risk
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation

from .conftest import decode, facts_of


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x02\x01\x00"),
        (127, b"\x02\x01\x7f"),
        (128, b"\x02\x02\x00\x80"),
        (256, b"\x02\x02\x01\x00"),
        (-1, b"\x02\x01\xff"),
    ],
)
def test_integer_encoding_x690(value: int, encoded: bytes) -> None:
    assert snmp.integer(value) == encoded


def test_oid_encoding_x690() -> None:
    assert snmp.oid("1.3.6.1.2.1.1.1.0") == bytes.fromhex("06082b06010201010100")
    assert snmp.oid("1.3.6.1.4.1.311") == bytes.fromhex("06072b060104018237")


def test_long_form_length() -> None:
    assert snmp.length(127) == b"\x7f"
    assert snmp.length(200) == b"\x81\xc8"
    assert snmp.length(300) == b"\x82\x01\x2c"


def test_get_request_layout() -> None:
    message = snmp.get_request(1)
    assert message[0] == 0x30
    assert message[2:5] == b"\x02\x01\x01"  # version 2c
    assert message[5:13] == b"\x04\x06public"
    assert message[13] == snmp.GET_REQUEST


def test_poll_reveals_sysdescr_and_plants_the_risks(simulation: Simulation) -> None:
    hospital = simulation.hospital
    router, infra = hospital.router, hospital.one(Role.INFRASTRUCTURE_SERVER)
    items = list(itertools.islice(snmp.poll(simulation.context, infra, router), 6))
    replies = [
        bytes(decode(i).data.data.data)
        for i in items
        if decode(i).type == 0x0800 and decode(i).data.data.sport == snmp.SNMP_PORT
    ]
    assert replies and router.product.snmp_sys_descr.encode() in replies[0]
    assert snmp.oid(router.product.snmp_sys_object_id) in replies[0]
    facts = facts_of(items)
    kinds = {(f.kind, f.device) for f in facts if isinstance(f, Risk)}
    assert kinds == {
        (FindingKind.INSECURE_PROTOCOL, router.id),
        (FindingKind.DEFAULT_CREDENTIALS, router.id),
    }
    assert Identifier(router.id, "hostname", router.hostname) in facts
