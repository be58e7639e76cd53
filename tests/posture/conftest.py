"""Posture tests: protocol bytes → dissector observations → a device index → checks."""

from __future__ import annotations

import pytest

from medshield.testing.posture import Scenario


@pytest.fixture
def scenario() -> Scenario:
    """A fresh two-host scenario."""
    return Scenario()
