"""Suite-wide fixtures: shared data and external tools (see medshield.testing.environment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medshield.testing.environment import require_shared, require_tool


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared third-party data folder (``MEDSHIELD_SHARED_DATA``)."""
    return require_shared()


@pytest.fixture(scope="session")
def tshark() -> str:
    """Path of tshark, the reference decoder."""
    return require_tool("tshark")
