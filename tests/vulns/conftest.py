"""Fixtures of the vulnerability-intelligence tests: the shared advisories, read once."""

from __future__ import annotations

from pathlib import Path

import pytest

from medshield.testing.environment import require_shared
from medshield.vulns.importer import import_paths
from medshield.vulns.matching import AdvisoryIndex
from medshield.vulns.model import Advisory, ImportResult


@pytest.fixture(scope="session")
def advisories_dir() -> Path:
    """``shared/data/advisories`` (CISA CSAF, KEV, cvelistV5)."""
    return require_shared("advisories")


@pytest.fixture(scope="session")
def imported(advisories_dir: Path) -> ImportResult:
    """Everything under the shared advisories folder, imported once per test session."""
    return import_paths([advisories_dir])


@pytest.fixture(scope="session")
def by_id(imported: ImportResult) -> dict[str, Advisory]:
    """Imported advisories by id."""
    return {advisory.id: advisory for advisory in imported.advisories}


@pytest.fixture(scope="session")
def index(imported: ImportResult) -> AdvisoryIndex:
    """The matching index over every shared advisory."""
    return AdvisoryIndex(imported.advisories)
