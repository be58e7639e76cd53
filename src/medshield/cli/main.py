"""The ``medshield`` command: one Typer app, one module per command group.

Every command turns :class:`~medshield.core.errors.MedShieldError` into a one-line message and
exit code 2 (bad input); nothing reaches the user as a traceback.
"""

from __future__ import annotations

import sys

import typer

from medshield.cli import assess, feeds, inventory, patch_plan, simulate, vulns

app = typer.Typer(
    name="medshield",
    help="Passive discovery, posture and risk assessment for connected medical devices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    """Every command, listed once (no registration by import side effect)."""
    app.command("simulate")(simulate.simulate)
    app.command("assess")(assess.assess)
    app.command("inventory")(inventory.inventory)
    app.add_typer(feeds.feeds_app(), name="feeds")
    app.command("vulns")(vulns.vulns)
    app.command("patch-plan")(patch_plan.patch_plan)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())  # pragma: no cover
