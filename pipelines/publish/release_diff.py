"""The release diff: what changed for the focus country since the last published release, and why.

sql/marts/mart_release_diff.sql compares two warehouses (`__old__`, `__new__`): at each build the last published
release (attached read-only) with the build warehouse, rebuilt into `mart_release_diff` before publish; and for
`ai-readiness diff OLD NEW` any two kept releases. A third catalog, `__old_config__`, holds the new data scored with
the last release's configuration (its dim_method_settings and dim_framework) and the configuration keys that differ.

The decomposition is path-dependent; this one moves the data first, then the configuration:
  old score (old data, old config) -> score(new data, old config) -> new score (new data, new config)
  data part   = score(new data, old config) - old score, split per cell of the focus country (data revision, new
                period, coverage, relative move of other countries' values) with the remainder (screening,
                re-weighting) `unattributed`;
  method part = new score - score(new data, old config)  (`method_config`).
The parts sum exactly to the change; ranks split the same way (old_config_rank). When the configurations are
equal nothing is re-scored and the method part is exactly 0. Only the scoring configuration is re-applied (method
settings; each indicator's pillar, direction, expert weight and domain; pillar weights; which indicators are in the
framework). Windows, denominators, scales and the reference year shape the values themselves and are not re-applied:
their keys are listed as not re-scored and the cells whose value and period did not change are labelled
`method_config`, as are all such cells when the last release stored no re-scorable configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OLD, NEW, OLD_CONFIG = "__old__", "__new__", "__old_config__"
TABLE = "mart_release_diff"
OLD_CONFIG_CATALOG = "_old_config"  # attached in memory for one diff
# The marts of a score, as the diff reads them; rebuilt from their own SQL on the re-scored tables.
SCORE_MARTS = ("mart_indicator_scores", "mart_pillar_scores", "mart_composite_index", "dim_framework")
# dim_framework columns that are configuration: re-applied by the re-score, or (PREPARATION) shaping the values.
SCORING_FIELDS = ("pillar", "direction", "expert_weight", "domain")
PREPARATION_FIELDS = ("source_id", "source_code", "denominator", "scale", "window_years", "last_year", "absence",
                      "censored_below")


def diff_sql(old_catalog: str, new_catalog: str, old_config_catalog: str = OLD_CONFIG_CATALOG) -> str:
    from pipelines.base.warehouse import identifier, sql_text

    text = sql_text("marts", TABLE)
    for placeholder, catalog in ((OLD, old_catalog), (NEW, new_catalog), (OLD_CONFIG, old_config_catalog)):
        text = text.replace(f"{placeholder}.", f"{identifier(catalog)}.")
    return text


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
    publish), the method part re-scored with the published release's configuration; its checks' recorded outcomes
    are marked not passed in the same transaction."""
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
        old = "_last_release" if published is not None else new
        with old_config_catalog(connection, old, new, rescore=published is not None):
            if published is not None:
                select = f"SELECT CAST(? AS VARCHAR) AS old_release, * FROM ({diff_sql(old, new)})"
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


@contextmanager
def old_config_catalog(connection, old: str, new: str, *, rescore: bool) -> Iterator[bool]:
    """OLD_CONFIG_CATALOG attached in memory for one diff: `config_changes` (config_changes() of the two
    catalogs) and the SCORE_MARTS of the new data under the old configuration. Those are re-scored when `rescore`,
    a scoring key differs and the old configuration can be read (yields True); otherwise they are copies of the
    new ones, so the method part is exactly 0 (yields False)."""
    from pipelines.base.warehouse import identifier, registered

    connection.execute(f"ATTACH ':memory:' AS {OLD_CONFIG_CATALOG}")
    try:
        changes = config_changes(*(_read(connection, side, table) for side in (old, new)
                                   for table in ("dim_method_settings", "dim_framework")))
        tables = _rescored_tables(connection, old, new) if rescore and changes["scoring"].any() else None
        if tables is not None:
            _build_score_marts(connection, new, tables)
        else:
            for mart in SCORE_MARTS:
                connection.execute(f"CREATE TABLE {OLD_CONFIG_CATALOG}.main.{mart} AS "
                                   f"SELECT * FROM {identifier(new)}.main.{mart}")
        changes = changes.assign(rescored=changes["scoring"] & (tables is not None))
        with registered(connection, changes) as incoming:
            connection.execute(f"CREATE TABLE {OLD_CONFIG_CATALOG}.main.config_changes AS SELECT "
                               "CAST(config_key AS VARCHAR) AS config_key, CAST(old_value AS VARCHAR) AS old_value, "
                               "CAST(new_value AS VARCHAR) AS new_value, CAST(rescored AS BOOLEAN) AS rescored "
                               f"FROM {incoming}")
        yield tables is not None
    finally:
        connection.execute(f"DETACH {OLD_CONFIG_CATALOG}")


def config_changes(old_settings, old_framework, new_settings, new_framework):
    """Every configuration key whose value differs between two releases, from their dim_method_settings and
    dim_framework: `method.<setting>`, `framework.<indicator>.<field>` (`.pillar` empty: not in that framework),
    `framework.pillar_weight.<pillar>` and `framework.reference_year`; values as text; `scoring` says whether the
    re-score re-applies the key (SCORING_FIELDS and the method settings) or it shapes the values themselves."""
    import pandas as pd

    rows = []

    def add(key: str, old, new, scoring: bool) -> None:
        if old != new:
            rows.append({"config_key": key, "old_value": old, "new_value": new, "scoring": scoring})

    old_s, new_s = _settings(old_settings), _settings(new_settings)
    for name in sorted(set(old_s) | set(new_s)):
        add(f"method.{name}", old_s.get(name), new_s.get(name), True)
    old_f, new_f = old_framework.set_index("indicator_key"), new_framework.set_index("indicator_key")
    fields = [f for f in (*SCORING_FIELDS, *PREPARATION_FIELDS) if f in old_f.columns and f in new_f.columns]
    for key in [*new_f.index, *(k for k in old_f.index if k not in new_f.index)]:
        if key not in old_f.index or key not in new_f.index:
            add(f"framework.{key}.pillar", _cell(old_f, key, "pillar"), _cell(new_f, key, "pillar"), True)
            continue
        for field in fields:
            add(f"framework.{key}.{field}", _cell(old_f, key, field), _cell(new_f, key, field),
                field in SCORING_FIELDS)
    if "pillar_expert_weight" in old_f.columns and "pillar_expert_weight" in new_f.columns:
        old_p, new_p = (f.drop_duplicates("pillar").set_index("pillar") for f in (old_f, new_f))
        for pillar in [*new_p.index, *(p for p in old_p.index if p not in new_p.index)]:
            add(f"framework.pillar_weight.{pillar}", _cell(old_p, pillar, "pillar_expert_weight"),
                _cell(new_p, pillar, "pillar_expert_weight"), True)
    add("framework.reference_year", _first(old_f, "reference_year"), _first(new_f, "reference_year"), False)
    # object columns: a missing value stays None (pandas 3 would make a str column of NaN)
    return pd.DataFrame(rows, columns=["config_key", "old_value", "new_value", "scoring"], dtype=object).astype(
        {"scoring": bool})


def _settings(frame) -> dict[str, str]:
    """setting -> its value as canonical JSON text (a string shown bare), so formatting never counts as a change."""
    import json

    def canonical(value: str) -> str:
        try:
            parsed = json.loads(value)
        except (TypeError, json.JSONDecodeError):
            return str(value)
        return parsed if isinstance(parsed, str) else json.dumps(parsed, sort_keys=True)

    return {row.setting: canonical(row.value) for row in frame.itertuples()}


def _cell(frame, key: str, column: str) -> str | None:
    return _text(frame.at[key, column]) if key in frame.index else None


def _first(frame, column: str) -> str | None:
    return _text(frame[column].iloc[0]) if column in frame.columns and len(frame) else None


def _text(value) -> str | None:
    """A configuration value as text: none for missing, integral numbers without a decimal point."""
    import numpy as np
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return format(value, ".10g") if isinstance(value, float) else str(value)


# The warehouse tables the re-score reads from the new side (the data as this build prepared it).
RESCORE_INPUTS = ("int_indicator_latest", "ref_framework", "ref_pillars", "ref_universe", "dim_countries")
RESCORED_TABLES = ("int_index_cells", "int_index_pillars", "int_index_composite", "int_index_weights",
                   "int_index_outliers", "int_index_rank_bands")


def _rescored_tables(connection, old: str, new: str) -> dict | None:
    """The new data scored with `old`'s configuration (pipelines.model.index_build.score_nominal, the build's own
    method), with the framework tables it used; None when `old` stored no readable configuration (a release
    from before dim_framework.pillar_expert_weight, or another method version) or `new` lacks the inputs."""
    from pipelines.model.framework import method_config_from_settings
    from pipelines.model.index_build import framework_from_dim, income_groups, score_nominal

    held = _tables_of(connection, new)
    if not set(RESCORE_INPUTS) <= held:
        return None
    try:
        config = method_config_from_settings(_read(connection, old, "dim_method_settings"))
        ref_framework, ref_pillars = framework_from_dim(
            _read(connection, old, "dim_framework"), _read(connection, new, "ref_framework"),
            _read(connection, new, "ref_pillars"))
    except (KeyError, ValueError):
        return None
    scored = score_nominal(_read(connection, new, "int_indicator_latest"), ref_framework, ref_pillars,
                           _read(connection, new, "ref_universe")["iso3"].tolist(),
                           income_groups(_read(connection, new, "dim_countries")), config)
    return {**{name: scored[name] for name in RESCORED_TABLES}, "ref_framework": ref_framework,
            "ref_pillars": ref_pillars}


def _build_score_marts(connection, new: str, tables: dict) -> None:
    """SCORE_MARTS in OLD_CONFIG_CATALOG from their own SQL files over the re-scored tables (and the new side's
    latest values and countries, which they join for lineage and names)."""
    from pipelines.base.warehouse import identifier, registered, sql_text

    for name, frame in tables.items():
        with registered(connection, frame) as incoming:
            connection.execute(f"CREATE TABLE {OLD_CONFIG_CATALOG}.main.{identifier(name)} AS SELECT * FROM {incoming}")
    for name in ("int_indicator_latest", "dim_countries"):
        connection.execute(f"CREATE TABLE {OLD_CONFIG_CATALOG}.main.{name} AS "
                           f"SELECT * FROM {identifier(new)}.main.{name}")
    connection.execute(f"USE {OLD_CONFIG_CATALOG}")  # the marts' SQL names its tables unqualified
    try:
        for mart in SCORE_MARTS:
            connection.execute(f"CREATE TABLE {mart} AS\n{sql_text('marts', mart)}")
    finally:
        connection.execute(f"USE {identifier(new)}")


def _read(connection, catalog: str, table: str):
    from pipelines.base.warehouse import identifier

    return connection.execute(f"SELECT * FROM {identifier(catalog)}.main.{identifier(table)}").df()


def _tables_of(connection, catalog: str) -> set[str]:
    return {r[0] for r in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?", [catalog]).fetchall()}


def tables_read() -> set[str]:
    """The tables sql/marts/mart_release_diff.sql reads from each side."""
    import re

    from pipelines.base.warehouse import sql_text

    return set(re.findall(rf"{NEW}\.(\w+)", sql_text("marts", TABLE)))


def _missing_tables(connection, catalog: str) -> set[str]:
    """Tables the diff reads that the attached `catalog` does not hold."""
    return tables_read() - _tables_of(connection, catalog)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def diff_releases(marts_dir: Path, old: str | None, new: str | None, focus: str | None = None):
    """The diff between two kept releases (default: the two newest), as a pandas frame; (frame, old, new).
    When NEW's own mart_release_diff compares it with OLD (the default pair), that table is returned: its method
    part was re-scored at build time. Any other pair is compared from the two releases alone, which hold no
    inputs to re-score with: configuration changes are listed and label the cells, the method part is not
    re-scored (rescored false)."""
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
        stored = connection.execute("SELECT * FROM new_release.mart_release_diff WHERE old_release = ?",
                                    [old]).df()
        if focus is None:
            focus = connection.execute("SELECT iso3 FROM new_release.mart_release_diff LIMIT 1").fetchone()
            focus = focus[0] if focus else _focus_of(connection)
        if len(stored) and set(stored["iso3"][stored["row_kind"] != "peer"]) == {focus}:
            frame = stored.drop(columns="old_release")
        else:
            with old_config_catalog(connection, "old_release", "new_release", rescore=False):
                frame = connection.execute(diff_sql("old_release", "new_release").replace("$focus", "?"),
                                           [focus]).df()
    finally:
        connection.close()
    return frame, old, new


def _focus_of(connection) -> str:
    row = connection.execute("SELECT DISTINCT focus_iso3 FROM new_release.mart_japan_benchmark LIMIT 1").fetchone()
    return row[0] if row else "JPN"


def summary_lines(frame, old: str | None, new: str | None) -> list[str]:
    """The diff in words: each score's move with its attribution (the method part re-scored with the old
    configuration, and the rank split the same way), the configuration keys that differ, the top cells with
    lineage, the peers' moves."""
    if frame.empty:
        return [f"no previous release to compare with{f' ({new})' if new else ''}"]
    lines = [f"release diff {old} -> {new} for {frame['iso3'].iloc[0]}"]
    scores = frame[frame["row_kind"] == "score"]
    parts = frame[frame["row_kind"] == "attribution"]
    for row in scores.itertuples():
        moved = [f"{a.change_type} {a.contribution:+.2f}" for a in parts[parts["level"] == row.level].itertuples()
                 if abs(a.contribution) >= 0.005]
        rank = "" if _missing(row.rank_delta) else f", rank {int(row.old_rank)} -> {int(row.new_rank)}"
        lines.append(f"{row.level}: {_num(row.old_score)} -> {_num(row.new_score)} ({_num(row.score_delta, '+')}"
                     f"{rank}){': ' + ', '.join(moved) if moved else ''}{rank_split(row)}")
    configs = frame[frame["row_kind"] == "config"]
    if len(configs):
        lines.append("configuration changed (method_config above: the new data re-scored with the old one):")
    for row in configs.itertuples():
        lines.append(f"  config {config_change_text(row)}")
    for row in frame[frame["row_kind"] == "cell"].head(10).itertuples():
        lines.append(f"  cell {row.indicator_key} [{row.change_type}] {_num(row.old_value)} ({row.old_period}) -> "
                     f"{_num(row.new_value)} ({row.new_period}); composite {row.contribution:+.3f}; "
                     f"{row.new_raw_file or row.old_raw_file} row {row.new_raw_row or row.old_raw_row}")
    for row in frame[frame["row_kind"] == "peer"].itertuples():
        lines.append(f"  peer {row.iso3} {row.level}: rank {int(row.old_rank)} -> {int(row.new_rank)} "
                     f"({row.peer_move})")
    return lines


def config_moved_rank(row) -> bool:
    """Whether a re-scored score row's configuration part moved its rank (old_config_rank is not the new rank)."""
    columns = ("old_rank", "new_rank", "old_config_rank")
    return bool(getattr(row, "rescored", False)) and not any(_missing(getattr(row, c, None)) for c in columns) \
        and row.old_config_rank != row.new_rank


def rank_split(row) -> str:
    """"; rank: data 20 -> 16, method_config 16 -> 20" for a score row whose configuration part moved the rank."""
    if not config_moved_rank(row):
        return ""
    return (f"; rank: data {int(row.old_rank)} -> {int(row.old_config_rank)}, method_config "
            f"{int(row.old_config_rank)} -> {int(row.new_rank)}")


def config_change_text(row) -> str:
    """"method.weights equal -> pca (re-scored)" for a config row."""
    how = "re-scored" if row.rescored else "not re-scored: shapes the values, or no stored configuration"
    return f"{row.config_key} {row.old_config_value or 'none'} -> {row.new_config_value or 'none'} ({how})"


def _missing(value) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def _num(value, sign: str = "") -> str:
    if _missing(value):
        return "none"
    return f"{value:{sign}.4g}"
