"""Attack scenarios the simulator can plant (``--attacks``), by name.

The names match the behaviour alerts MedShield detects. Only ``none`` is implemented so far;
asking for another is refused with a clear message rather than silently producing a capture
without the attack.
"""

from __future__ import annotations

from medshield.core.errors import BadInputError

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
SUPPORTED_ATTACKS: frozenset[str] = frozenset({NONE})


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
    for name in names:
        if name not in SUPPORTED_ATTACKS:
            raise BadInputError("--attacks", f"attack scenario {name!r} is not yet supported")
    return tuple(dict.fromkeys(name for name in names if name != NONE))
