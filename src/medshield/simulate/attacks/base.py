"""What every attack scenario shares: who is compromised, when the attack starts, its facts.

A scenario is a function from the run's :class:`~medshield.simulate.context.Context` to lazy
conversations, like the site's benign ones; every frame it yields carries an
:class:`~medshield.simulate.facts.AttackStep`, from which the truth's attack window is built.
Scenarios draw from their own random streams (``ctx.rng("attack", name, ...)``), so planting
one never changes the bytes of the benign traffic or of another scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from medshield.simulate.context import Context, InternetHost
from medshield.simulate.facts import AttackStep
from medshield.simulate.personas import Role
from medshield.simulate.population import Hospital, SimDevice
from medshield.simulate.wire import US, Item, Nic, Steps

Conversations = Callable[[Context], list[Iterator[Item]]]


@dataclass(frozen=True, slots=True)
class AttackScenario:
    """An attack the simulator can plant: its ``--attacks`` name, the alert kind a detector
    must raise for it (PRODUCT.md), and the conversations that carry it."""

    name: str
    kind: str
    conversations: Conversations
    summary: str


START_FRACTION = 0.3
"""Attacks start this far into the capture: after boot, DHCP and the first benign exchanges,
so that a detector has seen each device's normal traffic first."""
SETTLE_US = 5 * US
"""At least this long after the attacking device is ready."""


def attack_start(ctx: Context, attacker: SimDevice | None, offset_s: float = 0.0) -> int:
    """When a scenario begins (µs): :data:`START_FRACTION` into the capture, not before the
    attacker has settled, plus ``offset_s`` so that scenarios planted together do not overlap
    to the microsecond."""
    at = ctx.start_us + int((ctx.end_us - ctx.start_us) * START_FRACTION)
    if attacker is not None:
        at = max(at, ctx.ready(attacker) + SETTLE_US)
    return at + int(offset_s * US)


def compromised_workstation(hospital: Hospital) -> SimDevice:
    """The device an attacker controls inside the hospital: the last clinical workstation
    (a phished desktop), else the biomed workstation."""
    workstations = hospital.of(Role.CLINICAL_WORKSTATION) or hospital.of(Role.BIOMED_WORKSTATION)
    return workstations[-1]


def internal_step(
    scenario: AttackScenario, attacker: SimDevice, target: Nic | str, port: int | None = None
) -> AttackStep:
    """The fact of a frame an inside device aims at ``target`` (a NIC or an IP text)."""
    ip = target if isinstance(target, str) else target.ip_text
    return AttackStep(scenario.name, scenario.kind, attacker.id, attacker.ip_text, ip, port)


def external_step(
    scenario: AttackScenario, attacker: InternetHost, target: Nic, port: int | None = None
) -> AttackStep:
    """The fact of a frame a host beyond the router aims at ``target``."""
    ip = Nic(b"", attacker.ip).ip_text
    return AttackStep(scenario.name, scenario.kind, ip, ip, target.ip_text, port)


def marked(steps: Steps, fact: AttackStep) -> Steps:
    """``steps`` (e.g. ``conn.open(t)``) with ``fact`` on every frame, keeping their return
    value: the truth's attack window counts every frame of the attack."""
    while True:
        try:
            item = next(steps)
        except StopIteration as done:
            end: int = done.value
            return end
        facts = (*item[2], fact) if len(item) > 2 else (fact,)
        yield item[0], item[1], facts
