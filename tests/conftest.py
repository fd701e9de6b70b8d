"""Shared test fixtures: the real offline mirror (read-only) and hand-made fixture files."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def _mirror() -> Path:
    configured = os.environ.get("AI_READINESS_MIRROR")
    path = Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "data"
    return path.resolve()


# --- running under pytest-xdist (`make test`: two workers) -----------------------------------------------------
# Tests go to the workers one by one, except a module with module-scoped fixtures (or session fixtures of its own):
# it goes to one worker whole, so its fixtures are made once. The expensive session fixtures (BACKGROUND) are made
# once per run for all workers, in the background while the tests that do not need them run (tests/across_workers.py).
# New test files need nothing for this; an `xdist_group(name)` mark keeps tests together where fixtures do not say so.


def pytest_configure(config):
    config.addinivalue_line("markers", "xdist_group(name): run these tests in one pytest-xdist worker")


def _unit(item) -> str:
    """What runs in one worker: an xdist_group, a module that needs its own module or session fixtures, or the test."""
    for mark in item.iter_markers("xdist_group"):
        return mark.args[0]
    module = item.nodeid.split("::")[0]
    info = getattr(item, "_fixtureinfo", None)  # pytest.Function's; other items have no fixtures
    for definitions in (info.name2fixturedefs.values() if info else ()):
        for definition in definitions:
            if definition.scope in ("module", "class", "package") or (
                    definition.scope == "session" and definition.baseid == module):
                return module
    return item.nodeid


@pytest.hookimpl(trylast=True)  # after deselection (-k, -m): only the tests that will run count
def pytest_collection_modifyitems(config, items):
    """Order the units: first those that need no BACKGROUND fixture (they run while those are made), then those
    that need `wdi_baseline`, then `built`; in each, modules with fixtures of their own (expensive set-ups) before
    single tests. A unit's own order is kept."""
    units = {item.nodeid: _unit(item) for item in items}
    needs: dict[str, set] = {}
    for item in items:
        needs.setdefault(units[item.nodeid], set()).update(set(BACKGROUND) & set(item.fixturenames))

    def order(item) -> tuple:
        unit = units[item.nodeid]
        return "built" in needs[unit], "wdi_baseline" in needs[unit], unit == item.nodeid

    items.sort(key=order)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        from tests.across_workers import shared_root, write_units

        write_units(shared_root(config._tmp_path_factory), units)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "loadgroup":
        from tests.across_workers import unit_scheduling

        return unit_scheduling(config, log)
    return None


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


BACKGROUND = ("built", "wdi_baseline")  # session fixtures made once per run, in the background


@pytest.fixture(scope="session", autouse=True)
def _background(request, tmp_path_factory):
    """Starts making the BACKGROUND fixtures that a selected test needs as the run begins (tests/across_workers.py)."""
    from tests.across_workers import Background, shared_root

    made = {name: Background(shared_root(tmp_path_factory), name, _mirror()) for name in BACKGROUND}
    for name, maker in made.items():
        if any(name in item.fixturenames for item in request.session.items):
            maker.start()
    yield made
    session = request.session
    stopped = session.shouldfail or session.shouldstop or session.exitstatus == pytest.ExitCode.INTERRUPTED
    try:
        for maker in made.values():
            if maker.running() and not stopped:  # another worker may still need it: let it finish
                with contextlib.suppress(AssertionError):  # reported by the tests that needed it
                    maker.value()
    finally:
        for maker in made.values():
            maker.stop()


@pytest.fixture(scope="session")
def built(_background, mirror_dir) -> Path:
    """One full build from the real mirror into a temp data dir, shared by the read-only tests."""
    return Path(_background["built"].value())


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
def wdi_baseline(_background, mirror_dir):
    """Two complete WDI-only data dirs (focus KOR, then rebuilt with focus JPN) for the fault tests to copy
    (tests.fault_support.make_baseline)."""
    from tests.fault_support import Baseline

    return Baseline.from_json(_background["wdi_baseline"].value())
