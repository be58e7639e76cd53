"""ARP spoofing: the compromised workstation poisons the caches of the HL7 path (RFC 826).

The attacker places itself between the patient monitors and the HL7 interface engine, as
``arpspoof`` does: every :data:`INTERVAL_S` it sends each monitor an unsolicited ARP reply
binding the engine's IP to its own MAC, and the engine one binding each monitor's IP to its
own MAC, for :data:`ROUNDS` rounds. Each forged binding changes an IP↔MAC binding the
segment had already shown (the monitors resolved the engine at start-up), which is what a
``spoofing`` detector must notice.
"""

from __future__ import annotations

from collections.abc import Iterator

from medshield.simulate.attacks.base import (
    AttackScenario,
    attack_start,
    compromised_workstation,
    internal_step,
)
from medshield.simulate.context import ARP_REPLY, Context
from medshield.simulate.personas import Role
from medshield.simulate.wire import US, Item, arp_frame

VICTIMS = 4
"""Monitors whose traffic the attacker diverts."""
INTERVAL_S = 2.0
ROUNDS = 30


def conversations(ctx: Context) -> list[Iterator[Item]]:
    """One poisoning loop (none on a site without monitors)."""
    if not ctx.hospital.of(Role.PATIENT_MONITOR):
        return []
    return [_poison(ctx)]


def _poison(ctx: Context) -> Iterator[Item]:
    hospital = ctx.hospital
    attacker = compromised_workstation(hospital)
    engine = hospital.one(Role.HL7_ENGINE)
    monitors = hospital.of(Role.PATIENT_MONITOR)[:VICTIMS]
    rng = ctx.rng("attack", SCENARIO.name)
    t = attack_start(ctx, attacker, offset_s=5.0)
    for _ in range(ROUNDS):
        for monitor in monitors:
            # To the monitor: "the engine's IP is at my MAC".
            forged = arp_frame(
                monitor.mac, ARP_REPLY, attacker.mac, engine.ip, monitor.mac, monitor.ip
            )
            yield t, forged, (internal_step(SCENARIO, attacker, engine.ip_text),)
            t += rng.randrange(200, 900)
            # To the engine: "this monitor's IP is at my MAC".
            forged = arp_frame(
                engine.mac, ARP_REPLY, attacker.mac, monitor.ip, engine.mac, engine.ip
            )
            yield t, forged, (internal_step(SCENARIO, attacker, monitor.ip_text),)
            t += rng.randrange(200, 900)
        t += int(INTERVAL_S * US) + rng.randrange(-20_000, 20_000)


SCENARIO = AttackScenario(
    name="spoofing",
    kind="spoofing",
    conversations=conversations,
    summary="ARP replies binding the HL7 engine's and monitors' IPs to a workstation's MAC",
)
