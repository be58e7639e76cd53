"""Modbus/TCP register polling (simulate/modbus.py)."""

from __future__ import annotations

import itertools
import struct

from medshield.simulate import modbus
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation

from .conftest import decode


def test_request_is_mbap_and_function_3() -> None:
    request = modbus.read_request(0x0102, 0, 8)
    transaction, protocol, length, unit = struct.unpack("!HHHB", request[:7])
    assert (transaction, protocol, length, unit) == (0x0102, 0, 6, 1)
    assert request[7:] == b"\x03\x00\x00\x00\x08"


def test_response_carries_byte_count_and_registers() -> None:
    response = modbus.read_response(7, [1, 2, 0xFFFF])
    assert struct.unpack("!HHHB", response[:7]) == (7, 0, 9, 1)
    assert response[7:] == b"\x03\x06\x00\x01\x00\x02\xff\xff"


def test_poll_reads_every_ten_seconds(simulation: Simulation) -> None:
    hospital = simulation.hospital
    collector = hospital.one(Role.INFRASTRUCTURE_SERVER)
    controller = hospital.one(Role.BUILDING_CONTROLLER)
    items = list(itertools.islice(modbus.poll(simulation.context, collector, controller), 20))
    requests = [
        item[0]
        for item in items
        if decode(item).type == 0x0800
        and decode(item).data.data.dport == modbus.MODBUS_PORT
        and decode(item).data.data.data
    ]
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(requests)]
    assert gaps and all(9.0 < gap < 11.0 for gap in gaps)
