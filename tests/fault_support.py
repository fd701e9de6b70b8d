"""Helpers for the fault tests (crash safety, concurrency, network faults, security): a fork server that runs
builds in real child processes, and what a user sees under data/marts/ (byte and logical snapshots)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PROJECT_ROOT

WDI = "worldbank_wdi"
# What users open under data/marts/: each a fixed symlink through `current` to the release folder.
ENTRIES = ("ai_readiness.duckdb", "parquet", "parquet_by_source", "report", "docs")
FOCUS_TABLE = "mart_japan_benchmark"  # carries focus_iso3: tells a KOR release from a JPN one
OTHER_FOCUS = {"JPN": "KOR", "KOR": "JPN"}


class BuildServer:
    """Client of tests/build_server.py: `start` a build in a forked child, `wait` for it, kill it with os.kill."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self._count = 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.build_server"], cwd=PROJECT_ROOT, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=(log_dir / "server.log").open("w"),
        )
        ready = self._reply()
        assert ready.get("ready"), ready

    def _reply(self) -> dict:
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"build server died: {(self.log_dir / 'server.log').read_text()[-3000:]}")
            if line.startswith("{"):
                return json.loads(line)

    def _ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._reply()

    def start(self, data_dir: Path, *argv: str, env: dict | None = None) -> tuple[int, Path]:
        """Start `ai-readiness build <argv>` writing under data_dir; returns (pid, log file)."""
        self._count += 1
        log = self.log_dir / f"build-{self._count:03d}.log"
        child_env = {"AI_READINESS_DATA_DIR": str(data_dir), "AI_READINESS_CRASH_AT": None}
        child_env.update(env or {})
        reply = self._ask(op="start", argv=["build", *argv], env=child_env, log=str(log))
        return reply["pid"], log

    def wait(self, pid: int, timeout: float = 300) -> int | None:
        """Exit code (negative: killed by that signal), or None if still running after `timeout` seconds."""
        return self._ask(op="wait", pid=pid, timeout=timeout)["exitcode"]

    def run(self, data_dir: Path, *argv: str, env: dict | None = None, timeout: float = 300) -> tuple[int, str]:
        pid, log = self.start(data_dir, *argv, env=env)
        code = self.wait(pid, timeout)
        if code is None:
            os.kill(pid, 9)
            self.wait(pid, 10)
            raise AssertionError(f"build did not finish in {timeout}s:\n{log.read_text()[-3000:]}")
        return code, log.read_text()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_env(mirror: Path | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME",) and not k.startswith("AI_READINESS_")}
    env.update({"AI_READINESS_SOURCES": WDI, "AI_READINESS_LOG_LEVEL": "WARNING"})
    if mirror is not None:
        env["AI_READINESS_MIRROR"] = str(mirror)
    env.update(extra)
    return env


def copy_data_dir(src: Path, dest: Path) -> Path:
    """A working copy of a built data dir (symlinks stay relative symlinks)."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


# --- what a user sees under data/marts/ ----------------------------------------------------------------------


def published_files(marts_dir: Path) -> dict[str, Path]:
    """Every published file, by its user-facing path (through the symlinks), e.g. 'parquet/dim_sources.parquet'."""
    files = {}
    for entry in ENTRIES:
        path = marts_dir / entry
        if path.is_file():
            files[entry] = path
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file():
                    files[str(file.relative_to(marts_dir))] = file
    return files


def byte_snapshot(marts_dir: Path) -> dict[str, str]:
    """sha256 of every published file: equal snapshots mean byte-identical outputs."""
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in published_files(marts_dir).items()}


def release_dir(marts_dir: Path) -> Path | None:
    current = marts_dir / "current"
    return current.resolve() if current.is_symlink() else None


def logical_snapshot(marts_dir: Path) -> dict:
    """What a release says, independent of bytes that differ between two builds of the same inputs (DuckDB file
    layout, release ids): file names, row counts of every DuckDB table and Parquet file, and the focus country
    in both. Reading it fully also proves no file is partial (a cut DuckDB or Parquet file does not open)."""
    import duckdb
    import pyarrow.parquet as pq

    files = published_files(marts_dir)
    connection = duckdb.connect(str(marts_dir / "ai_readiness.duckdb"), read_only=True)
    try:
        tables = {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for (name,) in
                  connection.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()}
        focus_db = sorted(r[0] for r in connection.execute(f"SELECT DISTINCT focus_iso3 FROM {FOCUS_TABLE}").fetchall())
    finally:
        connection.close()
    parquet = {}
    for name, path in files.items():
        if name.startswith("parquet/"):
            with path.open("rb") as handle:  # one open: the bytes of one release
                parquet[name.removeprefix("parquet/")] = pq.read_table(handle)
    focus_parquet = sorted(set(parquet[f"{FOCUS_TABLE}.parquet"].column("focus_iso3").to_pylist()))
    for name, path in files.items():
        if name.startswith(("report/", "docs/")):
            assert path.stat().st_size > 0, f"empty published file {name}"
    return {
        "files": sorted(files),
        "tables": tables,
        "parquet_rows": {name: table.num_rows for name, table in parquet.items()},
        "focus": {"duckdb": focus_db, "parquet": focus_parquet},
    }


def leftovers(data_dir: Path) -> list[str]:
    """Debris a killed build can leave: unfinished releases, temporary symlinks, temp raw files, extraction dirs."""
    marts = data_dir / "marts"
    found = [*marts.glob(".releases/*.partial"), *marts.glob(".*.tmp-*"), *data_dir.glob("raw/**/.*.part"),
             *data_dir.glob("raw/**/*.extracting")]
    return sorted(str(p.relative_to(data_dir)) for p in found)


@dataclass
class Baseline:
    """Two complete WDI-only builds of the same inputs, told apart by their focus country: `old` published with
    focus KOR, `new` (a copy of old, rebuilt) with focus JPN. `ref` holds each focus country's logical snapshot."""

    old: Path
    new: Path
    ref: dict[str, dict]
    build_seconds: float

    def to_json(self) -> dict:
        return {"old": str(self.old), "new": str(self.new), "ref": self.ref, "build_seconds": self.build_seconds}

    @classmethod
    def from_json(cls, made: dict) -> Baseline:
        return cls(Path(made["old"]), Path(made["new"]), made["ref"], made["build_seconds"])


def make_baseline(server: BuildServer, root: Path) -> Baseline:
    """Built in folders named like an SQL injection: any path formatted into SQL unquoted would break them."""
    old = root / "it's 'old'; DROP TABLE x; --"
    started = time.monotonic()
    code, log = server.run(old, env={"AI_READINESS_FOCUS_COUNTRY": "KOR"})
    build_seconds = time.monotonic() - started
    assert code == 0, log[-4000:]
    new = copy_data_dir(old, root / "it's 'new'; DROP TABLE x; --")
    code, log = server.run(new, env={"AI_READINESS_FOCUS_COUNTRY": "JPN"})
    assert code == 0, log[-4000:]
    ref = {"KOR": logical_snapshot(old / "marts"), "JPN": logical_snapshot(new / "marts")}
    assert ref["KOR"]["focus"] == {"duckdb": ["KOR"], "parquet": ["KOR"]}, ref["KOR"]["focus"]
    assert ref["JPN"]["focus"] == {"duckdb": ["JPN"], "parquet": ["JPN"]}, ref["JPN"]["focus"]
    return Baseline(old, new, ref, build_seconds)


# --- a reader and a publisher, each in its own process (tests/test_concurrency.py) --------------------------


def reader_loop(marts: str, stop_file: str, allowed_file: str, out_file: str) -> None:
    """Read everything users read, over and over, as a BI tool would (each Parquet file by its path, the DuckDB
    file read-only, the report), until stop_file exists; record every error and every row count not of a complete
    release. Each pass also reads one release as a whole (`current` resolved once): its DuckDB file and Parquet
    must agree."""
    import duckdb
    import pyarrow.parquet as pq

    marts_dir, allowed = Path(marts), json.loads(Path(allowed_file).read_text())
    errors, foci, passes, retried = [], set(), 0, 0

    def problem(where: str, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        errors.append({"where": where, "error": " ".join(text.split())[:300]})

    while not Path(stop_file).exists():
        for path in sorted((marts_dir / "parquet").rglob("*.parquet")):
            name = str(path.relative_to(marts_dir / "parquet"))
            try:
                with path.open("rb") as handle:  # one open: read_table(path) opens twice (schema, then data)
                    table = pq.read_table(handle)
                if table.num_rows not in allowed["parquet_rows"].get(name, []):
                    problem(name, f"{table.num_rows} rows, a complete release has {allowed['parquet_rows'].get(name)}")
                if name == f"{FOCUS_TABLE}.parquet":
                    foci.update(f"parquet:{f}" for f in table.column("focus_iso3").to_pylist())
            except Exception as exc:  # noqa: BLE001 - recorded, the test decides
                problem(name, exc)
        try:
            connection = duckdb.connect(str(marts_dir / "ai_readiness.duckdb"), read_only=True)
            try:
                for name, counts in allowed["tables"].items():
                    rows = connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                    if rows not in counts:
                        problem(f"duckdb:{name}", f"{rows} rows, a complete release has {counts}")
                foci.update(f"duckdb:{r[0]}" for r in
                            connection.execute(f"SELECT DISTINCT focus_iso3 FROM {FOCUS_TABLE}").fetchall())
            finally:
                connection.close()
        except Exception as exc:  # noqa: BLE001
            problem("duckdb", exc)
        try:
            if "report/index.html" not in allowed["files"]:
                raise StopIteration  # no report in this release layout
            report = (marts_dir / "report" / "index.html").read_bytes()
            if not report.rstrip().endswith(b"</html>"):
                problem("report/index.html", f"cut short ({len(report)} bytes)")
        except StopIteration:
            pass
        except Exception as exc:  # noqa: BLE001
            problem("report/index.html", exc)
        try:  # one release as a whole: resolve `current` once, read the DuckDB file and Parquet under it
            release = (marts_dir / "current").resolve(strict=True)
            connection = duckdb.connect(str(release / "ai_readiness.duckdb"), read_only=True)
            try:
                in_db = {r[0] for r in connection.execute(f"SELECT DISTINCT focus_iso3 FROM {FOCUS_TABLE}").fetchall()}
            finally:
                connection.close()
            with (release / "parquet" / f"{FOCUS_TABLE}.parquet").open("rb") as handle:
                in_parquet = set(pq.read_table(handle).column("focus_iso3").to_pylist())
            if in_db != in_parquet or len(in_db) != 1:
                problem(f"release {release.name}", f"DuckDB says {sorted(in_db)}, Parquet {sorted(in_parquet)}")
        except FileNotFoundError:  # the documented case: a release pruned RELEASES_KEPT publishes later
            retried += 1
        except Exception as exc:  # noqa: BLE001
            problem("pinned release", exc)
        passes += 1
    Path(out_file).write_text(json.dumps({"passes": passes, "errors": errors, "foci": sorted(foci),
                                          "retried": retried}))


def publisher_loop(marts: str, builds: str, times: str) -> None:
    """Publish the given build warehouses in turn, `times` times, each under the build lock as a build does."""
    from pipelines.base.lock import build_lock
    from pipelines.publish.release import publish

    warehouses = [Path(b) for b in builds.split(",")]
    for i in range(int(times)):
        with build_lock(Path(marts)):
            publish(warehouses[i % len(warehouses)], Path(marts))
