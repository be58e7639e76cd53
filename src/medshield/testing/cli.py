"""Running the ``medshield`` command in-process, as the tests of the front ends do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from medshield.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return exit code, stdout and stderr."""
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assess_json(capture: Path, folder: Path, *extra: str) -> dict[str, Any]:
    """``medshield assess CAPTURE --json`` into a fresh SQLite database in ``folder``."""
    out = folder / "assessment.json"
    db = f"sqlite:///{folder / 'medshield.db'}"
    code, _, err = invoke("assess", str(capture), "--db", db, "--json", str(out), "-q", *extra)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out.read_text())
    return document
