"""Shared run context (simulate/context.py)."""

from __future__ import annotations

import random
from ipaddress import IPv4Address

from medshield.simulate.context import (
    EPOCH,
    INTERNET,
    EphemeralPorts,
    arp_resolve,
    start_of_capture,
)
from medshield.simulate.personas import Role
from medshield.simulate.runner import Simulation
from medshield.simulate.wire import US


def test_start_depends_on_the_seed_only() -> None:
    assert start_of_capture(0) == EPOCH * US
    assert start_of_capture(1) == (EPOCH + 86_400) * US == start_of_capture(366)


def test_named_random_streams_are_independent_and_repeatable(simulation: Simulation) -> None:
    ctx = simulation.context
    assert ctx.rng("a", 1).random() == ctx.rng("a", 1).random() != ctx.rng("a", 2).random()


def test_public_hosts_sit_behind_the_router(simulation: Simulation) -> None:
    ctx = simulation.context
    nic = ctx.internet_nic(INTERNET[0])
    assert nic.mac == simulation.hospital.router.mac
    assert IPv4Address(nic.ip).is_global


def test_ports_are_sequential_and_ephemeral() -> None:
    ports = EphemeralPorts(random.Random(1))
    first, second = ports.take(), ports.take()
    assert second == first + 1 and first >= 49152


def test_arp_resolution_is_a_request_and_reply(simulation: Simulation) -> None:
    hospital = simulation.hospital
    asker, target = hospital.one(Role.PATIENT_MONITOR).nic, hospital.one(Role.HL7_ENGINE).nic
    request, reply = list(arp_resolve(0, asker, target))
    assert request[1][:6] == b"\xff" * 6 and reply[1][:6] == asker.mac
    assert reply[1][6:12] == target.mac and reply[0] > request[0]


def test_ports_wrap_within_their_range() -> None:
    ports = EphemeralPorts(random.Random(1), 60000, 60003)
    taken = [ports.take() for _ in range(6)]
    assert set(taken) == {60000, 60001, 60002}
    assert taken[3:] == taken[:3]
