"""Shared test fixtures: the real offline mirror (read-only) and hand-made fixture files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def _mirror() -> Path:
    configured = os.environ.get("AI_READINESS_MIRROR")
    path = Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "data"
    return path.resolve()


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """../shared/data (or $AI_READINESS_MIRROR): real publisher files. Never write here; copy to tmp_path first."""
    path = _mirror()
    if not (path / "worldbank_wdi").is_dir():
        pytest.fail(f"offline mirror not found at {path}; set AI_READINESS_MIRROR")
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES
