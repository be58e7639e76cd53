"""The ``medshield`` command: one Typer app, one module per command group.

Every command turns :class:`~medshield.core.errors.MedShieldError` into a one-line message and
exit code 2 (bad input); nothing reaches the user as a traceback.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn

import typer

from medshield.cli import assess, detect, feeds, inventory, patch_plan, simulate, vulns

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
    app.command("detect")(detect.detect)


_register_commands()


def main() -> NoReturn:
    """Console-script entry point."""
    try:
        app()
    except SystemExit as done:
        leave(done.code)
    leave(0)


def leave(code: int | str | None) -> NoReturn:
    """End the process as ``sys.exit(code)`` would, less the interpreter's teardown.

    The exit handlers run and the output is flushed; what is skipped is freeing, one by one,
    the objects an assessment leaves in caches and module state (a third of a second after a
    million packets), which the operating system takes back at once anyway.
    """
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    status = code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # e.g. a closed pipe: the output is lost either way
            status = status or 1
    os._exit(status)
