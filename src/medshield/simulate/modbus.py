"""Modbus/TCP: the building-management collector reading the cold-room PLC's registers.

Each request is an MBAP header (transaction id, protocol 0, length, unit id; Modbus Messaging
on TCP/IP Implementation Guide V1.0b §3.1.3) and a Read Holding Registers PDU (function 0x03,
Modbus Application Protocol V1.1b3 §6.3); the response carries the byte count and register
values: temperatures in tenths of a degree, door and alarm states.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

from medshield.simulate.context import Context, EphemeralPorts, arp_resolve, between, jitter
from medshield.simulate.facts import communication
from medshield.simulate.population import SimDevice
from medshield.simulate.tcp import TcpConnection
from medshield.simulate.wire import Item

MODBUS_PORT = 502
READ_HOLDING_REGISTERS = 0x03
UNIT_ID = 1
FIRST_REGISTER = 0
REGISTER_COUNT = 8


def read_request(transaction: int, start: int, count: int) -> bytes:
    """MBAP header and Read Holding Registers request."""
    pdu = struct.pack("!BHH", READ_HOLDING_REGISTERS, start, count)
    return struct.pack("!HHHB", transaction, 0, len(pdu) + 1, UNIT_ID) + pdu


def read_response(transaction: int, registers: list[int]) -> bytes:
    """MBAP header and Read Holding Registers response with the register values."""
    values = b"".join(struct.pack("!H", value & 0xFFFF) for value in registers)
    pdu = struct.pack("!BB", READ_HOLDING_REGISTERS, len(values)) + values
    return struct.pack("!HHHB", transaction, 0, len(pdu) + 1, UNIT_ID) + pdu


def _registers(rng: random.Random) -> list[int]:
    """Cold-room probes (°C × 10), set point, door switch, alarm, compressor state."""
    probes = [int(rng.gauss(42, 4)) for _ in range(4)]
    return [*probes, 40, rng.choices((0, 1), (97, 3))[0], 0, rng.choice((0, 1))]


def poll(ctx: Context, collector: SimDevice, controller: SimDevice) -> Iterator[Item]:
    """One persistent connection; registers read every ten seconds."""
    rng = ctx.rng("modbus", collector.index, controller.index)
    ports = EphemeralPorts(rng)
    t = max(ctx.ready(collector), ctx.ready(controller)) + between(rng, 2.0, 15.0)
    yield from arp_resolve(t, collector.nic, controller.nic)
    conn = TcpConnection(
        collector.nic,
        controller.nic,
        ports.take(),
        MODBUS_PORT,
        rng,
        client_window=collector.product.stack.window,
        server_window=controller.product.stack.window,
    )
    comm = communication(collector.nic, controller.nic, MODBUS_PORT, "tcp", "modbus")
    t = yield from conn.open(t + 2000, (comm,))
    transaction = rng.randrange(0, 60000)
    while True:
        t += jitter(rng, 10.0, 0.05)
        if t >= ctx.end_us:
            return
        transaction = (transaction + 1) & 0xFFFF
        t = yield from conn.exchange(
            t,
            read_request(transaction, FIRST_REGISTER, REGISTER_COUNT),
            read_response(transaction, _registers(rng)),
            think_us=rng.randrange(2_000, 12_000),
        )
