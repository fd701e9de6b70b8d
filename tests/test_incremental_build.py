"""`ai-readiness build` through the CLI, incremental: a no-op runs no Dagster step (Dagster is not even imported)
and leaves the published files byte-identical; a changed source reruns only its raw_/stg_ steps and what depends
on them; a code change reruns the marts; a missing release is published again; a failed build commits nothing, so
the next one retries; `--full` rebuilds everything. Each build is a fresh process (the registry is read when the
definitions load, and one-source changes rewrite it)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.fault_support import byte_snapshot, release_dir

CHANGED = "worldbank_wdi_ict_exports"  # small, World Bank CSV layout: bench/bench_build.py rewrites it too
OTHER = "oecd_pisa"
STEP = re.compile(r"^\[\s*[\d.]+s\] (?:ok|FAILED|skipped)\s+(\S+)", re.MULTILINE)


def _cli(data_dir: Path, mirror: Path, *argv: str, edited: tuple[str, ...] = (), env_extra: dict | None = None,
         timeout: int = 600) -> subprocess.CompletedProcess:
    """tests/cli_runner.py in a fresh process, with the environment tests.conftest.run_build gives a build."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update({"AI_READINESS_DATA_DIR": str(data_dir), "AI_READINESS_MIRROR": str(mirror),
                "AI_READINESS_LOG_LEVEL": "WARNING", **(env_extra or {})})
    command = [sys.executable, "-m", "tests.cli_runner", *(f"--edited={p}" for p in edited), "--", *argv]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _steps(result: subprocess.CompletedProcess) -> set[str]:
    return set(STEP.findall(result.stdout))


def _branch_steps(result: subprocess.CompletedProcess) -> set[str]:
    """The raw_/stg_ assets that ran (their checks are named <asset>_gx_suite)."""
    return {s for s in _steps(result) if s.startswith(("raw_", "stg_")) and not s.endswith("_gx_suite")}


def _ok(result: subprocess.CompletedProcess, what: str) -> None:
    assert result.returncode == 0, f"{what}: exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-4000:]}"


def test_a_no_op_build_imports_no_dagster_runs_no_step_and_keeps_the_published_bytes(built, mirror_dir):
    marts = built / "marts"
    before, release = byte_snapshot(marts), release_dir(marts)
    result = _cli(built, mirror_dir, "build")
    _ok(result, "no-op build")
    assert "up to date" in result.stdout and "heavy imports: none" in result.stdout, result.stdout
    assert _steps(result) == set()
    assert release_dir(marts) == release and byte_snapshot(marts) == before


@pytest.fixture()
def two_sources(tmp_path, mirror_dir):
    """A mirror where CHANGED is a copy (OTHER a link to the real folder) and a registry copy: builds of these two
    sources only, into tmp_path/data."""
    from bench.bench_build import mirror_copy

    mirror, registry = mirror_copy(mirror_dir, PROJECT_ROOT / "config" / "sources", tmp_path / "inputs", CHANGED)
    env = {"AI_READINESS_SOURCES": f"{CHANGED},{OTHER}", "AI_READINESS_REGISTRY_DIR": str(registry)}
    return tmp_path / "data", mirror, registry, env


def _plan(data_dir: Path, mirror: Path, registry: Path, env: dict, monkeypatch):
    """What the next plain build would run, planned in this process with the same settings."""
    from pipelines.base.settings import Paths
    from pipelines.orchestration import incremental
    from pipelines.sources import registry as registry_module

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    registry_module._load.cache_clear()  # the test rewrites registry entries between plans
    return incremental.plan_build(Paths(data_dir), registry_module.load_registry(registry), mirror=mirror)


def test_only_what_changed_rebuilds_and_a_failed_build_commits_nothing(two_sources, monkeypatch):
    """One chain over one data dir (a cold build is the expensive part): each step starts from what the one before
    left."""
    from bench.bench_build import rewrite_one_file

    data_dir, mirror, registry, env = two_sources
    marts = data_dir / "marts"

    first = _cli(data_dir, mirror, "build", env_extra=env)
    _ok(first, "cold build")
    assert _branch_steps(first) == {f"raw_{CHANGED}", f"stg_{CHANGED}", f"raw_{OTHER}", f"stg_{OTHER}"}

    noop = _cli(data_dir, mirror, "build", env_extra=env)
    _ok(noop, "no-op")
    assert "up to date" in noop.stdout and _steps(noop) == set(), noop.stdout

    # A changed upstream file that is not registered is a new vintage; this one no longer parses, so it is held:
    # nothing is published or committed.
    published, release = byte_snapshot(marts), release_dir(marts)
    data_file = next(p for p in (mirror / CHANGED).rglob("*.csv") if b'"' in p.read_bytes())
    original = data_file.read_bytes()
    data_file.write_bytes(original.replace(b'"', b"'", 1))
    failed = _cli(data_dir, mirror, "build", env_extra=env)
    assert failed.returncode == 1 and f"new vintage {CHANGED}/" in failed.stderr and "held" in failed.stderr, \
        failed.stderr[-3000:]
    assert byte_snapshot(marts) == published
    data_file.write_bytes(original)
    plan = _plan(data_dir, mirror, registry, env, monkeypatch)
    assert plan.stale_sources == (CHANGED,) and plan.rebuild_marts and plan.publish, plan.summary()
    assert plan.sources[CHANGED].reason == "never built"  # forgotten before the run, not recorded after it

    # The input fixed (registered, same values in new bytes): only that source's branch and what depends on it.
    rewrite_one_file(mirror, registry, CHANGED, 1)
    fixed = _cli(data_dir, mirror, "build", env_extra=env)
    _ok(fixed, "one-source rebuild")
    assert _branch_steps(fixed) == {f"raw_{CHANGED}", f"stg_{CHANGED}"}
    assert {f"stg_{CHANGED}_gx_suite", "fct_indicator_values", "mart_composite_index", "published_marts"} \
        <= _steps(fixed)
    assert release_dir(marts) != release
    assert _plan(data_dir, mirror, registry, env, monkeypatch).up_to_date

    # The published release removed (as by hand, or `make clean-outputs` without the build warehouse): published
    # again from the audited build warehouse, nothing rebuilt.
    (marts / "current").unlink()
    republished = _cli(data_dir, mirror, "build", env_extra=env)
    _ok(republished, "publish again")
    assert _steps(republished) == {"published_marts"}, republished.stdout
    assert (marts / "current").is_symlink() and (marts / "ai_readiness.duckdb").is_file()

    # Code only the marts read (as if sql/docs/sources.sql were edited): the marts run, no raw_/stg_ step (killed
    # at the first mart: that is all this step needs to show).
    code_change = _cli(data_dir, mirror, "build", edited=("sql/docs/sources.sql",),
                       env_extra={**env, "AI_READINESS_CRASH_AT": "core:fct_indicator_values"})
    assert code_change.returncode == -signal.SIGKILL, code_change.stdout[-3000:]
    assert "marts: code, config, libraries, settings or the source selection changed" in code_change.stdout
    assert "sources to stage" not in code_change.stdout and _branch_steps(code_change) == set()

    # --full: every source again (killed once a raw step is done)
    full = _cli(data_dir, mirror, "build", "--full", env_extra={**env, "AI_READINESS_CRASH_AT": "ingest:raw_fetched"})
    assert full.returncode == -signal.SIGKILL, full.stdout[-3000:]
    assert f"2/2 sources to stage: {OTHER} (full rebuild requested), {CHANGED} (full rebuild requested)" \
        in full.stdout, full.stdout
