"""Publish (the last step of write-audit-publish): copy audited tables out of the build warehouse into
data/marts/ without a reader ever seeing a half-written file or a mix of two releases.

Each publish writes a complete release folder data/marts/.releases/<id>/ (ai_readiness.duckdb, parquet/, ...),
then flips ONE symlink, data/marts/current -> .releases/<id>, with an atomic rename. The paths users open are
fixed symlinks through it: data/marts/ai_readiness.duckdb -> current/ai_readiness.duckdb and
data/marts/parquet -> current/parquet (and parquet_by_source, report, docs), so the warehouse and every Parquet file
change together or not at all.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from pipelines.base.audit import unaudited
from pipelines.base.faults import crash_point
from pipelines.base.warehouse import attached_read_only, identifier
from pipelines.publish.exports import RELEASE_STORAGE_VERSION

PUBLISHED_PREFIXES = ("fct_", "dim_", "mart_")
RELEASES_KEPT = 3


class UnauditedBuild(Exception):
    """The build warehouse holds tables a blocking check refused, or that no check has passed since they were
    (re)built: publishing them would skip the audit."""


def _refuse_unaudited(build_warehouse: Path, required_checks) -> None:
    """Dagster skips publishing after a failed blocking check only within that run; a later run of just the
    publish step (`--select published_marts`, the UI) must not publish what the checks refused, nor a table
    rebuilt by a run that was killed before its checks ran (pipelines.base.audit). A check on a table the build
    warehouse does not hold is not required (a build of the core layers only never makes the marts)."""
    with attached_read_only(build_warehouse) as connection:
        failing, missing = unaudited(connection, tuple(required_checks))
    problems = []
    if failing:
        problems.append(f"blocking checks failed, or were not re-run since their table was rebuilt "
                        f"({', '.join(failing)})")
    if missing:
        shown = ", ".join(missing[:10]) + (f" (+{len(missing) - 10} more)" if len(missing) > 10 else "")
        problems.append(f"blocking checks never ran on this build warehouse ({shown})")
    if problems:
        raise UnauditedBuild(f"not publishing: {'; '.join(problems)}; fix the input and run a build that "
                             "re-runs them (e.g. `ai-readiness build`)")


def published_tables(connection) -> list[str]:
    names = [r[0] for r in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'build' "
        "AND table_schema = 'main' ORDER BY table_name"  # tables and views (the facts): both become tables
    ).fetchall()]
    return [n for n in names if n.startswith(PUBLISHED_PREFIXES)]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_release(build_warehouse: Path, release_dir: Path) -> tuple[Path, dict[str, int]]:
    """A complete release in release_dir: the published tables cast to their contract (config/data_dictionary.yaml)
    in a fresh DuckDB file, Parquet exports, report/index.html and docs/data_dictionary.md. Any failure here (an
    undescribed column, a report that cannot render) fails the publish before anything flips."""
    from concurrent.futures import ThreadPoolExecutor

    from pipelines.publish import exports, report
    from pipelines.publish.catalog import write_catalog_tables
    from pipelines.publish.data_dictionary import write_data_dictionary
    from pipelines.publish.report.build import MARTS as REPORT_MARTS
    from pipelines.publish.report.build import read_marts

    release_id = release_dir.name.removesuffix(".partial")
    built_at = datetime.now(timezone.utc)
    parquet_dir = release_dir / "parquet"
    parquet_dir.mkdir(parents=True)
    (release_dir / "parquet_by_source").mkdir()
    database = release_dir / "ai_readiness.duckdb"
    counts = {}
    # The report is rendered on a second thread from the small tables it reads, while the facts are copied and
    # exported: rendering holds the GIL (vl-convert, Jinja), the copy and the Parquet writer mostly do not.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report") as reporting:
        rendered = None
        # in memory: the build file attached read-only, the release read-write; 20 M facts: never all in RAM
        with attached_read_only(build_warehouse, spill_dir=build_warehouse.parent / "publish.tmp") as connection:
            connection.execute(f"ATTACH ? AS release (STORAGE_VERSION '{RELEASE_STORAGE_VERSION}')", [str(database)])
            specs = [exports.contract_for(connection, "build", table) for table in published_tables(connection)]
            specs.sort(key=lambda spec: spec.name not in REPORT_MARTS)  # the report's tables first (stable)
            reported = set(REPORT_MARTS) <= {spec.name for spec in specs}  # --select of core layers: no report
            for spec in specs:
                name = identifier(spec.name)
                connection.execute(f"CREATE TABLE release.{name} AS {exports.typed_select('build', spec)}")
                counts[spec.name] = connection.execute(f"SELECT count(*) FROM release.{name}").fetchone()[0]
                crash_point(f"export:{spec.name}")  # the release DuckDB file half written
                if reported and rendered is None and set(REPORT_MARTS) <= set(counts):
                    rendered = reporting.submit(report.write_report, read_marts(connection, "release"),
                                                release_dir / "report", database.name)
            specs += write_catalog_tables(connection, "release", specs, release_id, built_at,
                                          RELEASE_STORAGE_VERSION)
            exports.comment_tables(connection, "release", specs)
            connection.execute("DETACH build")
            exports.write_parquet_exports(connection, "release", parquet_dir, specs, release_id,
                                          release_dir / "parquet_by_source")
            connection.execute("DETACH release")
        crash_point("export:parquet_written")
        if rendered is not None:
            rendered.result()  # its error, if any, fails the publish here, before anything flips
    write_data_dictionary(database, release_dir / "docs", release_id)
    for folder, _, files in os.walk(release_dir):  # durable before the rename that publishes them
        for file in files:
            with open(os.path.join(folder, file), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(Path(folder))
    return database, counts


def _swap_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` in one rename. A real directory left by an older layout is moved aside first
    (os.replace cannot replace a non-empty directory with a symlink)."""
    if link.is_dir() and not link.is_symlink():
        link.rename(link.with_name(f".{link.name}.legacy-{time.time_ns()}"))
    tmp_link = link.with_name(f".{link.name}.tmp-{time.time_ns()}")
    os.symlink(os.path.relpath(target, link.parent), tmp_link)
    os.replace(tmp_link, link)


def _remove_partial_releases(releases: Path) -> None:
    """A build killed mid-publish leaves a `.partial` folder: never published, safe to delete (one build at a time)."""
    for partial in releases.glob("*.partial"):
        shutil.rmtree(partial, ignore_errors=True)


def _remove_stale_links(marts_dir: Path) -> None:
    """Temporary symlinks (`.<name>.tmp-*`) of a build killed between creating and renaming them."""
    for stale in marts_dir.glob(".*.tmp-*"):
        if stale.is_symlink():
            stale.unlink()


def _prune_releases(releases: Path, keep: Path) -> None:
    """Keep the newest RELEASES_KEPT releases (a reader may still be reading one it resolved a moment ago), and
    never the one `current` points to or the one just published."""
    current = (releases.parent / "current").resolve()
    existing = sorted((p for p in releases.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
                      key=lambda p: p.name)
    for old in existing[:-RELEASES_KEPT]:
        if old.resolve() not in (keep.resolve(), current):
            shutil.rmtree(old, ignore_errors=True)


PUBLISHED_ENTRIES = ("ai_readiness.duckdb", "parquet", "parquet_by_source", "report", "docs")


def _ensure_entry_links(marts_dir: Path) -> None:
    """data/marts/<entry> -> current/<entry>, created once; a real file or folder left by an older layout is
    moved aside (never deleted) in the same rename."""
    for entry in PUBLISHED_ENTRIES:
        link = marts_dir / entry
        if link.is_symlink() and os.readlink(link) == f"current/{entry}":
            continue
        _swap_symlink(link, marts_dir / "current" / entry)


def publish(build_warehouse: Path, marts_dir: Path, required_checks=()) -> dict[str, int]:
    """Publish every fct_/dim_/mart_ table; returns row counts per table. Refuses (UnauditedBuild) while a
    recorded check is not passed or one of `required_checks` ('<table>:<check>') was never recorded."""
    _refuse_unaudited(build_warehouse, required_checks)
    releases = marts_dir / ".releases"
    releases.mkdir(parents=True, exist_ok=True)
    _remove_partial_releases(releases)
    _remove_stale_links(marts_dir)
    # UTC, so names sort in time order (pruning keeps the newest) whatever the local clock does
    release_dir = releases / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{time.time_ns() % 10**9:09d}"
    partial = release_dir.with_name(release_dir.name + ".partial")
    _, counts = _write_release(build_warehouse, partial)
    crash_point("publish:release_written")
    partial.rename(release_dir)  # a release folder without ".partial" is complete
    _fsync_dir(releases)
    crash_point("publish:release_renamed")
    _swap_symlink(marts_dir / "current", release_dir)  # the one atomic step: readers see old or new, never a mix
    crash_point("publish:current_swapped")
    _ensure_entry_links(marts_dir)
    _fsync_dir(marts_dir)
    _prune_releases(releases, release_dir)
    crash_point("publish:done")  # published, but the build is killed before it can report success
    return counts
