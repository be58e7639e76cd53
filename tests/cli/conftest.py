"""Fixtures of the front-end tests: one simulated hospital and its assessment per worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medshield.testing.cli import invoke


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A 200-device, 600-second simulated hospital capture and its ground truth."""
    folder = tmp_path_factory.mktemp("sim")
    capture, truth = folder / "s.pcap", folder / "t.json"
    code, _, err = invoke(
        "simulate", "--devices", "200", "--duration", "600", "--seed", "1",
        "--out", str(capture), "--truth", str(truth),
    )  # fmt: skip
    assert code == 0, err
    return capture, json.loads(truth.read_text())


@pytest.fixture(scope="session")
def assessment(
    simulated: tuple[Path, dict[str, object]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """The assessment JSON of the simulated capture."""
    folder = tmp_path_factory.mktemp("assess")
    out = folder / "a.json"
    code, _, err = invoke(
        "assess", str(simulated[0]), "--db", f"sqlite:///{folder / 'm.db'}", "--json", str(out),
        "--quiet",
    )  # fmt: skip
    assert code == 0, err
    document: dict[str, object] = json.loads(out.read_text())
    return document
