"""Concurrency: readers during publishes, and two builds at once.

- A reader process loops over everything users open (every Parquet file by its path with pyarrow, the DuckDB file
  read-only, the report) while another process publishes again and again, alternating two releases (focus KOR and
  JPN): the reader must see only complete releases, and no error at all.
- A second `ai-readiness build` while one runs refuses at once with one line (exit 2), or with --wait waits for
  the first to finish; the outputs are the first build's complete release.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from pipelines.base.lock import BuildLocked, build_lock
from tests.conftest import PROJECT_ROOT
from tests.fault_support import WDI, copy_data_dir, leftovers, logical_snapshot

PUBLISHES = 4


def _python(code: str, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=PROJECT_ROOT, text=True, **popen)


def test_readers_never_see_a_partial_release_while_builds_publish(wdi_baseline, tmp_path):
    data_dir = copy_data_dir(wdi_baseline.old, tmp_path / "data")  # focus KOR published
    marts = data_dir / "marts"
    ref = wdi_baseline.ref
    allowed = {kind: {name: sorted({ref["KOR"][kind][name], ref["JPN"][kind].get(name, -1)})
                      for name in ref["KOR"][kind]} for kind in ("tables", "parquet_rows")}
    allowed["files"] = ref["KOR"]["files"]
    (tmp_path / "allowed.json").write_text(json.dumps(allowed))
    stop, result = tmp_path / "stop", tmp_path / "reader.json"
    builds = [wdi_baseline.new / "marts" / ".build" / "ai_readiness.duckdb",  # JPN first: the first flip shows
              wdi_baseline.old / "marts" / ".build" / "ai_readiness.duckdb"]

    reader = _python("import sys; from tests.fault_support import reader_loop; reader_loop(*sys.argv[1:]); import os; os._exit(0)",
                     str(marts), str(stop), str(tmp_path / "allowed.json"), str(result),
                     stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)  # the reader's first passes see the old release
        publisher = _python("import sys; from tests.fault_support import publisher_loop; publisher_loop(*sys.argv[1:])",
                            str(marts), ",".join(map(str, builds)), str(PUBLISHES), stderr=subprocess.PIPE)
        _, publisher_err = publisher.communicate(timeout=240)
        assert publisher.returncode == 0, publisher_err[-3000:]
        time.sleep(0.5)
    finally:
        stop.touch()
        _, reader_err = reader.communicate(timeout=120)
    assert reader.returncode == 0, reader_err[-3000:]
    seen = json.loads(result.read_text())

    print(f"\nreader: {seen['passes']} passes over {PUBLISHES} publishes, {seen['retried']} retried")
    assert seen["errors"] == [], seen["errors"][:10]
    assert seen["passes"] >= PUBLISHES, seen  # it really read throughout
    assert {"parquet:KOR", "parquet:JPN", "duckdb:KOR", "duckdb:JPN"} <= set(seen["foci"]), seen["foci"]
    last_focus = "JPN" if PUBLISHES % 2 else "KOR"
    assert logical_snapshot(marts) == ref[last_focus]
    assert len(list((marts / ".releases").iterdir())) <= 3 and leftovers(data_dir) == []


def _holds_lock(marts: Path, pid: int) -> bool:
    try:
        return (marts / ".build.lock").read_text().startswith(f"pid {pid} ")
    except FileNotFoundError:
        return False


def test_a_second_build_refuses_or_waits_and_nothing_is_corrupted(wdi_builds, wdi_baseline, monkeypatch,
                                                                  tmp_path):
    """The first build is a publish (`--select published_marts`) of an audited KOR build warehouse over a JPN
    release: it holds the lock for a few seconds, long enough for the second and third to meet it."""
    import contextlib
    import io
    import shutil

    from pipelines import cli

    data_dir = copy_data_dir(wdi_baseline.new, tmp_path / "data")  # focus JPN published
    marts = data_dir / "marts"
    shutil.copy(wdi_baseline.old / "marts" / ".build" / "ai_readiness.duckdb", marts / ".build" / "ai_readiness.duckdb")
    first, first_log = wdi_builds.start(data_dir, "--select", "published_marts")
    deadline = time.monotonic() + 60
    while not _holds_lock(marts, first):
        assert time.monotonic() < deadline, first_log.read_text()[-3000:]
        time.sleep(0.01)

    monkeypatch.setenv("AI_READINESS_DATA_DIR", str(data_dir))  # `ai-readiness build` here: refused at once
    err = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stderr(err):
        code = cli.main(["build"])
    assert code == 2 and time.monotonic() - started < 5
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1, err.getvalue()
    assert lines[0].startswith("ai-readiness: another build is running") and f"pid {first} since" in lines[0]
    assert "--wait" in lines[0]

    waiting, waiting_log = wdi_builds.start(data_dir, "--wait", "120", "--select", f"raw_{WDI}")
    finished = {}
    deadline = time.monotonic() + 180
    while len(finished) < 2:
        for name, pid in (("first", first), ("waiting", waiting)):
            if name not in finished:
                code = wdi_builds.wait(pid, timeout=0.05)
                if code is not None:
                    finished[name] = (code, time.monotonic())
        assert time.monotonic() < deadline, "builds did not finish"
    assert finished["first"][0] == 0, first_log.read_text()[-3000:]
    assert finished["waiting"][0] == 0, waiting_log.read_text()[-3000:]
    assert finished["waiting"][1] > finished["first"][1]  # it waited for the first
    assert "ai-readiness build ok" in waiting_log.read_text()
    # the first build's complete release, untouched by the refused and the waiting build
    assert logical_snapshot(marts) == wdi_baseline.ref["KOR"]
    assert leftovers(data_dir) == []


def test_the_lock_is_reentrant_in_one_process_and_exclusive_across_processes(tmp_path):
    marts = tmp_path / "marts"
    holder = _python("import sys, time; from pathlib import Path; from pipelines.base.lock import build_lock\n"
                     "with build_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)",
                     str(marts), stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        try:
            with build_lock(marts, wait_seconds=0.6, poll_seconds=0.1):
                raise AssertionError("two holders of the build lock")
        except BuildLocked as exc:
            assert f"pid {holder.pid} since" in str(exc) and "--wait SECONDS" in str(exc)
        assert 0.5 < time.monotonic() - started < 5  # waited as long as asked, then refused
    finally:
        holder.kill()
        holder.wait()
    with build_lock(marts):  # the killed holder left no stale lock; the CLI holds it and its run re-enters
        with build_lock(marts):
            pass
