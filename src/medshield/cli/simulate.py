"""``medshield simulate``: write a simulated hospital capture and its ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medshield.cli.common import guarded


def simulate(
    out: Annotated[
        Path, typer.Option("--out", help="Capture to write (classic pcap).", dir_okay=False)
    ],
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth", help="Ground truth to write (JSON, medshield.truth/1).", dir_okay=False
        ),
    ] = None,
    devices: Annotated[
        int,
        typer.Option("--devices", help="Devices on the site (the simulator names its range)."),
    ] = 50,
    duration: Annotated[
        float, typer.Option("--duration", help="Capture length in seconds.")
    ] = 300.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed: same seed, same bytes.")] = 1,
    attacks: Annotated[
        str, typer.Option("--attacks", help="Comma-separated attack scenarios, or 'none'.")
    ] = "none",
    max_packets: Annotated[
        int | None,
        typer.Option("--max-packets", help="Stop once this many packets were written."),
    ] = None,
) -> None:
    """Simulate a hospital network seen from a SPAN port: pcap bytes plus ground truth."""
    # The simulator pulls in pydicom, pynetdicom and cryptography: only this command pays.
    from medshield.simulate import SimulationConfig, parse_attacks, simulate_to_files

    config = guarded(
        lambda: SimulationConfig(
            devices=devices,
            duration=duration,
            seed=seed,
            attacks=parse_attacks(attacks),
            max_packets=max_packets,
        )
    )
    result = guarded(lambda: simulate_to_files(config, out, truth))
    typer.echo(
        f"wrote {result.packets} packets from {result.truth['device_count']} devices to {out}"
        + (f" (truth: {truth})" if truth else ""),
        err=True,
    )
