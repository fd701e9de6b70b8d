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


def run_build(data_dir: Path, mirror: Path, *extra_args: str, env_extra: dict | None = None, timeout: int = 600):
    """`ai-readiness build` in a fresh process (as `make run` does), writing under data_dir; ephemeral Dagster instance."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME",)}
    env.update({"AI_READINESS_DATA_DIR": str(data_dir), "AI_READINESS_MIRROR": str(mirror),
                "AI_READINESS_LOG_LEVEL": "WARNING"})
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "build", *extra_args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def release_bytes(data_dir: Path) -> dict[str, str]:
    """sha256 of every file of the published release (DuckDB, Parquet, report, docs), keyed by its path in the
    release, and which release `data/marts/current` points to: equal before and after = byte-identical."""
    import hashlib

    release = (data_dir / "marts" / "current").resolve()
    files = {str(p.relative_to(release)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(release.rglob("*")) if p.is_file()}
    return {"current": release.name, **files}


@pytest.fixture(scope="session")
def built(tmp_path_factory, mirror_dir):
    """One full build from the real mirror into a temp data dir, shared by the read-only tests."""
    data_dir = tmp_path_factory.mktemp("built")
    result = run_build(data_dir, mirror_dir)
    assert result.returncode == 0, f"build failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return data_dir


@pytest.fixture()
def published_db(built):
    import duckdb

    connection = duckdb.connect(str(built / "marts" / "ai_readiness.duckdb"), read_only=True)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture(scope="session")
def report_file(built, tmp_path_factory) -> Path:
    """The HTML report of the `built` warehouse (pipelines.publish.report), rendered once for the report and browser tests."""
    from pipelines.publish.report import build_report

    return build_report(built / "marts" / "ai_readiness.duckdb", tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="session")
def wdi_builds(tmp_path_factory, mirror_dir):
    """WDI-only builds from the mirror in forked child processes (tests/build_server.py): imports paid once."""
    from tests.fault_support import BuildServer, server_env

    server = BuildServer(server_env(mirror_dir), tmp_path_factory.mktemp("wdi_builds"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def wdi_baseline(wdi_builds, tmp_path_factory):
    """Two complete WDI-only data dirs (focus KOR, then rebuilt with focus JPN) for the fault tests to copy."""
    from tests.fault_support import make_baseline

    return make_baseline(wdi_builds, tmp_path_factory.mktemp("wdi_baseline"))
