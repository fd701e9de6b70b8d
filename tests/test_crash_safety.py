"""Crash safety: builds killed with SIGKILL (as in a power cut: no clean-up runs) at named crash points spread over
ingest, staging, checks, marts, export and publish (AI_READINESS_CRASH_AT, pipelines/base/faults.py), and at
moments no point marks. After every kill, data/marts/ is either byte-identical to what it was or the complete new
release (every published file from one release, all row counts and the focus country right), never a mix or a
partial file; and the next run needs no clean-up by hand (stale lock, `.partial` releases, temp symlinks, temp
raw files, the build DuckDB file with its WAL, Dagster runs left "STARTED" in a persistent $DAGSTER_HOME).

The kills form one chain over one data dir: each run starts from exactly what the killed run before it left
behind and must get past it to its own crash point; a final run must succeed and leave no debris. Each run
alternates the focus country (KOR/JPN), so a new release is told apart from the old one in every published file.
Publish-phase kills run `ai-readiness build --select published_marts` on an audited build warehouse (the same
publish step a full build ends with, without the ~15 s of rebuilding before it). Builds run in children of a
fork server (tests/build_server.py) to pay imports once; the last kill hits a fresh `python -m pipelines.cli
build` process, as `make run` starts it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.base.lock import build_lock
from tests.conftest import PROJECT_ROOT
from tests.fault_support import (
    OTHER_FOCUS,
    WDI,
    byte_snapshot,
    copy_data_dir,
    leftovers,
    logical_snapshot,
    published_files,
    release_dir,
    server_env,
)

# Killed in full builds: (crash point, phase, whether the kill lands after the atomic flip of `current`)
BUILD_CRASH_POINTS = [
    ("fetch:temp_written", "ingest", False),  # a raw file copied to its temp name, not yet renamed
    ("ingest:raw_fetched", "ingest", False),
    ("staging:uncommitted", "staging", False),  # inside the transaction that replaces stg_worldbank_wdi
    ("staging:written", "staging", False),  # committed, connection open: the WAL is not checkpointed
    ("check:stg_worldbank_wdi", "checks", False),
    ("core:fct_indicator_values", "marts", False),
    ("marts:mart_focus_trends", "marts", False),
]
# Killed in `ai-readiness build --select published_marts` runs (the same publish step, without rebuilding the
# marts before it: a full build would spend ~10 s to get there), each given an audited build warehouse of the
# other focus country.
PUBLISH_CRASH_POINTS = [
    ("export:dim_countries", "export", False),  # the release DuckDB file half written, in a .partial folder
    ("export:parquet_written", "export", False),  # DuckDB and Parquet written, report and docs not yet
    ("publish:release_written", "publish", False),  # complete, still named .partial
    ("publish:release_renamed", "publish", False),  # complete and named, `current` not flipped
    ("publish:current_swapped", "publish", True),
    ("publish:done", "publish", True),  # published and pruned, killed before reporting success
]
PUBLISH_ONLY = ("--select", "published_marts")
RAW_FILE = "raw/datahub_world-development-indicators/sp.pop.totl/data.csv"


@dataclass
class Published:
    release: Path | None
    bytes: dict[str, str]
    focus: str


def _state(marts: Path, focus: str) -> Published:
    return Published(release_dir(marts), byte_snapshot(marts), focus)


def _outcome(marts: Path, before: Published, run_focus: str, ref: dict) -> str:
    """'old' (byte-identical to before) or 'new' (the complete release of the killed run); anything else fails."""
    now = release_dir(marts)
    if now == before.release:
        assert byte_snapshot(marts) == before.bytes, "the previous release changed in place"
        return "old"
    assert now is not None and now.parent == marts / ".releases" and not now.name.endswith(".partial"), now
    for name, path in published_files(marts).items():
        assert path.resolve().is_relative_to(now), f"{name} is not from the current release {now.name}"
    assert logical_snapshot(marts) == ref[run_focus], "the new release is incomplete or mixed"
    return "new"


def _lock_is_free(marts: Path) -> bool:
    try:
        with build_lock(marts):
            return True
    except Exception:  # noqa: BLE001
        return False


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _holds_lock(marts: Path, pid: int) -> bool:
    try:
        return (marts / ".build.lock").read_text().startswith(f"pid {pid} ")
    except FileNotFoundError:
        return False


def _stat(path: Path) -> tuple | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _new_partial(marts: Path, seen: set[str]) -> bool:
    return any(p.name not in seen for p in (marts / ".releases").glob("*.partial"))


def test_killed_builds_leave_old_or_new_release_and_the_next_run_recovers(wdi_builds, wdi_baseline, tmp_path,
                                                                          mirror_dir):
    data_dir = copy_data_dir(wdi_baseline.old, tmp_path / "data")
    marts = data_dir / "marts"
    dagster_home = tmp_path / "dagster_home"  # as `make run`: a persistent instance that sees the killed runs
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / ".dagster_home" / "dagster.yaml", dagster_home)
    ref = wdi_baseline.ref
    published = _state(marts, "KOR")
    matrix = []

    def env_for(focus: str, crash_at: str | None = None) -> dict:
        return {"AI_READINESS_FOCUS_COUNTRY": focus, "AI_READINESS_CRASH_AT": crash_at,
                "AI_READINESS_FULL_REBUILD": "1", "DAGSTER_HOME": str(dagster_home)}

    def after_kill(name: str, phase: str, code: int | None, log: Path | str, focus: str, started: float,
                   flipped: bool | None) -> None:
        nonlocal published
        text = log.read_text() if isinstance(log, Path) else log
        assert code == -signal.SIGKILL, f"{name}: not killed (exit {code}), crash point never reached?\n{text[-3000:]}"
        outcome = _outcome(marts, published, focus, ref)
        if flipped is not None:
            assert outcome == ("new" if flipped else "old"), f"{name}: published {outcome}"
        assert _lock_is_free(marts), f"{name}: the build lock outlived the killed build"
        debris = leftovers(data_dir) + [p.name for p in (marts / ".build").glob("*.wal")]
        matrix.append((name, phase, outcome, debris, round(time.monotonic() - started, 1)))
        print(" | ".join(str(c) for c in matrix[-1]), flush=True)
        if outcome == "new":
            published = _state(marts, focus)

    def audited_build_warehouse(focus: str) -> None:
        """The build warehouse a complete, audited build for `focus` leaves (what the publish step copies)."""
        source = (wdi_baseline.old if focus == "KOR" else wdi_baseline.new) / "marts" / ".build"
        for wal in (marts / ".build").glob("*.wal"):
            wal.unlink()
        shutil.copy(source / "ai_readiness.duckdb", marts / ".build" / "ai_readiness.duckdb")

    # 1. Publish: killed while exporting the release, and around the flip of `current`.
    for name, phase, flipped in PUBLISH_CRASH_POINTS:
        focus = OTHER_FOCUS[published.focus]
        audited_build_warehouse(focus)
        started = time.monotonic()
        pid, log = wdi_builds.start(data_dir, *PUBLISH_ONLY, env=env_for(focus, name))
        after_kill(name, phase, wdi_builds.wait(pid, timeout=120), log, focus, started, flipped)

    focus = OTHER_FOCUS[published.focus]  # and at no named point: as soon as a release folder appears
    audited_build_warehouse(focus)
    seen = {p.name for p in (marts / ".releases").glob("*.partial")}
    started = time.monotonic()
    pid, log = wdi_builds.start(data_dir, *PUBLISH_ONLY, env=env_for(focus))
    _wait_for(lambda: _new_partial(marts, seen), 120, "a .partial release folder")
    os.kill(pid, signal.SIGKILL)
    after_kill("time:release folder appears", "export", wdi_builds.wait(pid, 30), log, focus, started, False)

    # 2. Full builds killed in ingest, staging, checks and marts, on top of the debris publishing left.
    for name, phase, flipped in BUILD_CRASH_POINTS:
        if name == "fetch:temp_written":  # only reached when a raw file must be (re)copied
            (data_dir / "raw" / WDI / RAW_FILE).unlink()
        focus = OTHER_FOCUS[published.focus]
        started = time.monotonic()
        pid, log = wdi_builds.start(data_dir, env=env_for(focus, name))
        after_kill(name, phase, wdi_builds.wait(pid, timeout=180), log, focus, started, flipped)

    # 3. A fresh `python -m pipelines.cli build` process (as `make run`), killed while writing the build warehouse.
    focus = OTHER_FOCUS[published.focus]
    env = server_env(mirror_dir, AI_READINESS_DATA_DIR=str(data_dir), **{
        k: v for k, v in env_for(focus).items() if v is not None})
    wal = marts / ".build" / "ai_readiness.duckdb.wal"
    left_behind = _stat(wal)  # the killed run before left a WAL: wait for this process's own writes
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "build"], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: _holds_lock(marts, process.pid), 90, "the build lock")
        _wait_for(lambda: _stat(wal) not in (None, left_behind) or process.poll() is not None,
                  120, "the build warehouse being written")
        process.kill()
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    after_kill("time:fresh process, warehouse being written", "core", process.returncode, output, focus, started,
               None)

    # The next run, with no clean-up by hand, succeeds and publishes; nothing is left behind.
    focus = OTHER_FOCUS[published.focus]
    started = time.monotonic()
    code, log = wdi_builds.run(data_dir, env={**env_for(focus), "AI_READINESS_FULL_REBUILD": None})
    assert code == 0, log[-4000:]
    assert _outcome(marts, published, focus, ref) == "new"
    assert leftovers(data_dir) == []
    assert not list((marts / ".build").glob("*.wal")), "the build warehouse was not checkpointed on close"
    releases = [p for p in (marts / ".releases").iterdir()]
    assert len(releases) <= 3, [p.name for p in releases]  # RELEASES_KEPT: orphans of killed runs are pruned too
    assert _lock_is_free(marts)
    matrix.append(("next run (no clean-up)", "all", "new", [], round(time.monotonic() - started, 1)))

    print(" | ".join(str(c) for c in matrix[-1]))
