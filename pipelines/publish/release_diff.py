"""The release diff: what changed for the focus country since the last published release, and why.

sql/marts/mart_release_diff.sql compares two warehouses (`__old__`, `__new__`): at each build the last published
release (attached read-only) with the build warehouse, rebuilt into `mart_release_diff` before publish; and for
`ai-readiness diff OLD NEW` any two kept releases. Attribution is per cell of the focus country: each changed cell's
contribution (its weighted score change) is labelled by why it changed (data revision, new period, coverage, method
or configuration, or a relative move caused by other countries' values); what the cells do not explain (screening,
re-weighting) is `unattributed`. Re-scoring the new data with the old configuration is not done: a method or
configuration change is detected from dim_method_settings and dim_framework and labels the cells it may have moved.
"""

from __future__ import annotations

from pathlib import Path

OLD, NEW = "__old__", "__new__"
TABLE = "mart_release_diff"


def diff_sql(old_catalog: str, new_catalog: str) -> str:
    from pipelines.base.warehouse import identifier, sql_text

    text = sql_text("marts", TABLE)
    return text.replace(f"{OLD}.", f"{identifier(old_catalog)}.").replace(f"{NEW}.", f"{identifier(new_catalog)}.")


def published_release(marts_dir: Path) -> tuple[str, Path] | None:
    """(release id, its DuckDB file) of what data/marts/current points to, or None before the first publish."""
    current = Path(marts_dir) / "current"
    if not current.exists():
        return None
    target = current.resolve()
    database = target / "ai_readiness.duckdb"
    return (target.name, database) if database.is_file() else None


def kept_releases(marts_dir: Path) -> list[str]:
    """The complete releases on disk, oldest first."""
    releases = Path(marts_dir) / ".releases"
    if not releases.is_dir():
        return []
    return sorted(p.name for p in releases.iterdir()
                  if p.is_dir() and not p.name.endswith(".partial") and (p / "ai_readiness.duckdb").is_file())


def build_release_diff(connection, marts_dir: Path, focus: str) -> int:
    """(Re)build mart_release_diff in the build warehouse against the published release (empty before the first
    publish); its checks' recorded outcomes are marked not passed in the same transaction."""
    from pipelines.base.audit import mark_rebuilt
    from pipelines.base.warehouse import transaction

    new = connection.execute("SELECT current_database()").fetchone()[0]
    if _missing_tables(connection, new):
        # a build of the core layers only (`--select`) makes no index marts: nothing to compare, no diff to publish
        with transaction(connection):
            connection.execute(f"DROP TABLE IF EXISTS {TABLE}")
        return 0
    published = published_release(marts_dir)
    attached = False
    try:
        if published is not None:
            connection.execute(f"ATTACH '{_quoted(published[1])}' AS _last_release (READ_ONLY)")
            attached = True
            if _missing_tables(connection, "_last_release"):
                published = None  # the last release has no index marts (a core-only publish): compare with nothing
        if published is not None:
            select = f"SELECT CAST(? AS VARCHAR) AS old_release, * FROM ({diff_sql('_last_release', new)})"
            params = [published[0]]
        else:  # nothing (comparable) published yet: the table, with its columns, and no rows
            select = f"SELECT CAST(? AS VARCHAR) AS old_release, * FROM ({diff_sql(new, new)}) LIMIT 0"
            params = [None]
        with transaction(connection):
            connection.execute(f"CREATE OR REPLACE TABLE {TABLE} AS {select.replace('$focus', '?')}",
                               [*params, focus])
            mark_rebuilt(connection, TABLE)
    finally:
        if attached:
            connection.execute("DETACH _last_release")
    return connection.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]


def tables_read() -> set[str]:
    """The tables sql/marts/mart_release_diff.sql reads from each side."""
    import re

    from pipelines.base.warehouse import sql_text

    return set(re.findall(rf"{NEW}\.(\w+)", sql_text("marts", TABLE)))


def _missing_tables(connection, catalog: str) -> set[str]:
    """Tables the diff reads that the attached `catalog` does not hold."""
    held = {r[0] for r in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?", [catalog]).fetchall()}
    return tables_read() - held


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def diff_releases(marts_dir: Path, old: str | None, new: str | None, focus: str | None = None):
    """The diff between two kept releases (default: the two newest), as a pandas frame; (frame, old, new)."""
    import duckdb

    releases = kept_releases(marts_dir)
    if new is None:
        published = published_release(marts_dir)
        new = published[0] if published else (releases[-1] if releases else None)
    if old is None and new in releases and releases.index(new) > 0:
        old = releases[releases.index(new) - 1]
    for name, value in (("OLD", old), ("NEW", new)):
        if value is None or value not in releases:
            raise ValueError(f"release {name} {value!r} is not one of the kept releases {releases} "
                             f"(data/marts/.releases/)")
    root = Path(marts_dir) / ".releases"
    connection = duckdb.connect(":memory:")
    try:
        connection.execute(f"ATTACH '{_quoted(root / old / 'ai_readiness.duckdb')}' AS old_release (READ_ONLY)")
        connection.execute(f"ATTACH '{_quoted(root / new / 'ai_readiness.duckdb')}' AS new_release (READ_ONLY)")
        if focus is None:
            focus = connection.execute("SELECT iso3 FROM new_release.mart_release_diff LIMIT 1").fetchone()
            focus = focus[0] if focus else _focus_of(connection)
        frame = connection.execute(diff_sql("old_release", "new_release").replace("$focus", "?"), [focus]).df()
    finally:
        connection.close()
    return frame, old, new


def _focus_of(connection) -> str:
    row = connection.execute("SELECT DISTINCT focus_iso3 FROM new_release.mart_japan_benchmark LIMIT 1").fetchone()
    return row[0] if row else "JPN"


def summary_lines(frame, old: str | None, new: str | None) -> list[str]:
    """The diff in words: each score's move with its attribution, the top cells with lineage, the peers' moves."""
    if frame.empty:
        return [f"no previous release to compare with{f' ({new})' if new else ''}"]
    lines = [f"release diff {old} -> {new} for {frame['iso3'].iloc[0]}"]
    scores = frame[frame["row_kind"] == "score"]
    parts = frame[frame["row_kind"] == "attribution"]
    for row in scores.itertuples():
        moved = [f"{a.change_type} {a.contribution:+.2f}" for a in parts[parts["level"] == row.level].itertuples()
                 if abs(a.contribution) >= 0.005]
        rank = "" if row.rank_delta is None or row.rank_delta != row.rank_delta else \
            f", rank {int(row.old_rank)} -> {int(row.new_rank)}"
        lines.append(f"{row.level}: {_num(row.old_score)} -> {_num(row.new_score)} ({_num(row.score_delta, '+')}"
                     f"{rank}){': ' + ', '.join(moved) if moved else ''}")
    for row in frame[frame["row_kind"] == "cell"].head(10).itertuples():
        lines.append(f"  cell {row.indicator_key} [{row.change_type}] {_num(row.old_value)} ({row.old_period}) -> "
                     f"{_num(row.new_value)} ({row.new_period}); composite {row.contribution:+.3f}; "
                     f"{row.new_raw_file or row.old_raw_file} row {row.new_raw_row or row.old_raw_row}")
    for row in frame[frame["row_kind"] == "peer"].itertuples():
        lines.append(f"  peer {row.iso3} {row.level}: rank {int(row.old_rank)} -> {int(row.new_rank)} "
                     f"({row.peer_move})")
    return lines


def _num(value, sign: str = "") -> str:
    if value is None or value != value:
        return "none"
    return f"{value:{sign}.4g}"
