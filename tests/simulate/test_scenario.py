"""Who talks to whom, and when devices boot (simulate/scenario.py)."""

from __future__ import annotations

from medshield.simulate.population import build_hospital
from medshield.simulate.runner import Simulation
from medshield.simulate.scenario import (
    READY_AFTER_BOOT_US,
    boot_times,
    conversations,
    ready_times,
)
from medshield.simulate.wire import US


def test_dhcp_clients_boot_early_and_servers_are_ready_at_once() -> None:
    hospital = build_hospital(60, 1)
    boots = boot_times(hospital, 1, 0, 300.0)
    ready = ready_times(hospital, boots, 0)
    assert set(boots) == {d.index for d in hospital.devices if not d.static}
    assert all(0 < t <= 20 * US for t in boots.values())
    assert all(ready[i] == t + READY_AFTER_BOOT_US for i, t in boots.items())
    assert all(ready[d.index] == 0 for d in hospital.devices if d.static)


def test_short_captures_boot_within_a_tenth_of_the_duration() -> None:
    hospital = build_hospital(20, 1)
    assert max(boot_times(hospital, 1, 0, 10.0).values()) <= US


def test_every_device_has_a_conversation(simulation: Simulation) -> None:
    talks = conversations(simulation.context, simulation.boots)
    assert len(talks) > len(simulation.hospital.devices)
