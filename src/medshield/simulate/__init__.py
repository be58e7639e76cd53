"""The hospital network simulator: device personas and protocol conversations → pcap + truth.

Public API::

    config = SimulationConfig(devices=50, duration=300.0, seed=1, max_packets=None)
    result = simulate_to_files(config, Path("hospital.pcap"), Path("truth.json"))
    result = simulate(config, stream)          # any binary stream
    for ts_us, frame, *facts in Simulation(config).items(): ...

The same configuration always gives the same bytes.
"""

from medshield.simulate.attacks import KNOWN_ATTACKS, parse_attacks
from medshield.simulate.runner import (
    Simulation,
    SimulationConfig,
    SimulationResult,
    simulate,
    simulate_to_files,
)

__all__ = [
    "KNOWN_ATTACKS",
    "Simulation",
    "SimulationConfig",
    "SimulationResult",
    "parse_attacks",
    "simulate",
    "simulate_to_files",
]
