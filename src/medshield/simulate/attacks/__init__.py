"""Attack scenarios the simulator can plant (``--attacks``), one module per scenario.

The names match the behaviour alerts MedShield detects (PRODUCT.md alert kinds). A known
scenario not implemented yet is refused with a clear message rather than silently producing
a capture without the attack. Each scenario's frames carry
:class:`~medshield.simulate.facts.AttackStep` facts, so the truth lists its window, attacker
and targets (see :mod:`medshield.simulate.truth`).
"""

from __future__ import annotations

from collections.abc import Iterator

from medshield.core.errors import BadInputError
from medshield.core.registry import Registry
from medshield.simulate.attacks import beaconing, bruteforce, exfil, lateral, scan, spoofing
from medshield.simulate.attacks.base import AttackScenario
from medshield.simulate.context import Context
from medshield.simulate.wire import Item

NONE = "none"
KNOWN_ATTACKS: tuple[str, ...] = (
    NONE,
    "scan",
    "bruteforce",
    "exfil",
    "beaconing",
    "lateral",
    "spoofing",
)


def default_scenarios() -> Registry[AttackScenario]:
    """Every implemented scenario, registered by name (no registration by import)."""
    registry: Registry[AttackScenario] = Registry("attack scenario")
    scenarios = (
        scan.SCENARIO,
        bruteforce.SCENARIO,
        exfil.SCENARIO,
        beaconing.SCENARIO,
        lateral.SCENARIO,
        spoofing.SCENARIO,
    )
    for scenario in scenarios:
        registry.register(scenario.name, scenario)
    return registry


SCENARIOS = default_scenarios()


def parse_attacks(text: str) -> tuple[str, ...]:
    """The attack scenarios named in a comma-separated list (``none`` → no scenario).

    Raises :class:`BadInputError` for an unknown name, for ``none`` mixed with others, and for
    a known scenario that is not implemented yet.
    """
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if not names:
        raise BadInputError("--attacks", "empty list; use 'none' for no attack")
    for name in names:
        if name not in KNOWN_ATTACKS:
            known = ", ".join(KNOWN_ATTACKS)
            raise BadInputError("--attacks", f"unknown attack scenario {name!r} (known: {known})")
    if NONE in names and len(names) > 1:
        raise BadInputError("--attacks", "'none' cannot be combined with other scenarios")
    chosen = tuple(dict.fromkeys(name for name in names if name != NONE))
    check_attacks(chosen)
    return chosen


def check_attacks(names: tuple[str, ...]) -> None:
    """Raise :class:`BadInputError` for a name that is no implemented scenario."""
    for name in names:
        if name not in SCENARIOS:
            if name in KNOWN_ATTACKS:
                raise BadInputError("--attacks", f"attack scenario {name!r} is not yet supported")
            known = ", ".join(KNOWN_ATTACKS)
            raise BadInputError("--attacks", f"unknown attack scenario {name!r} (known: {known})")


def attack_conversations(ctx: Context, names: tuple[str, ...]) -> list[Iterator[Item]]:
    """The conversations of the scenarios ``names``, in that order."""
    found: list[Iterator[Item]] = []
    for name in names:
        found += SCENARIOS.get(name).conversations(ctx)
    return found
