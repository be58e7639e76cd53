"""Where the shared third-party data lives, and which external tools the tests may call.

Outside CI a missing tool or data folder skips the tests that need it, with the reason; with
``CI=true`` it fails them, so that CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def in_ci() -> bool:
    """True when running under CI (``CI=true``)."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(reason: str) -> None:
    """Skip the current test, or fail it under CI."""
    if in_ci():
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def shared_data_dir() -> Path:
    """``MEDSHIELD_SHARED_DATA`` or ``../shared/data`` beside the checkout."""
    configured = os.environ.get("MEDSHIELD_SHARED_DATA")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"


def require_shared(relative: str = "") -> Path:
    """The shared data path ``relative``, or skip/fail the test when it is absent."""
    path = shared_data_dir() / relative
    if not path.exists():
        missing(f"shared data {path} not found; set MEDSHIELD_SHARED_DATA")
    return path


def require_tool(name: str) -> str:
    """The path of an external program (tshark …), or skip/fail the test when absent."""
    found = shutil.which(name)
    if found is None:
        missing(f"{name} not installed (make sysdeps installs it)")
        raise AssertionError  # unreachable: missing() raises
    return found
