"""Release sanity checks (OWID-style): this build's facts against the LAST PUBLISHED warehouse.

- coverage:       countries per source and per (source, indicator), and indicators per source, must not shrink
                  beyond config/validation.yaml `release` tolerances (blocking);
- focus country:  the focus country (Japan) never silently loses a cell (blocking, lists indicator/periods);
- value moves:    a cell moving by `value_move_factor` or more (x10: a unit error) stops the publish, by
                  `value_move_warn_factor` or more is flagged (WARN), both with both values and rows; a move from a
                  snapshot a person accepted (`ai-readiness vintages accept`) is flagged, not blocking.

The SQL is in sql/checks/release__*.sql; both warehouses are attached read-only to a throwaway in-memory DuckDB,
so the published file is never written. Without a published warehouse every check passes ("first release").
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from pipelines.validation.config import ValidationConfig, load_config
from pipelines.validation.outcome import Failure, Outcome

CHECKS = ("release_coverage", "release_focus_country", "release_value_moves")
# A x10 written as decimal text can parse to a ratio of 9.999999999999998: it is still x10.
RATIO_TOLERANCE = 1e-9


def _split(row: str | None) -> tuple[str | None, str | None]:
    if not row:
        return None, None
    raw_file, _, raw_row = row.rpartition(":")
    return raw_file, raw_row


def _sample(row: str | None, **values) -> dict:
    raw_file, raw_row = _split(row)
    return {"row": row, "raw_file": raw_file, "raw_row": raw_row, "values": values}


@contextmanager
def _attached(build_warehouse: Path, published_warehouse: Path):
    from pipelines.base.warehouse import attached_read_only

    with attached_read_only(build_warehouse, spill_dir=build_warehouse.parent / "release_checks.tmp") as connection:
        connection.execute("ATTACH ? AS published (READ_ONLY)", [str(published_warehouse)])
        yield connection


def _has_facts(connection) -> bool:
    return bool(connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = 'published' "
        "AND table_name = 'fct_indicator_values'").fetchone()[0])


def _query(connection, name: str, params: dict):
    from pipelines.base.warehouse import sql_text

    sql = sql_text("checks", f"release__{name}")
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    return connection.execute(sql, used).df()


def release_checks(build_warehouse: Path, published_warehouse: Path, source_ids: list[str],
                   config: ValidationConfig | None = None, only: str | None = None,
                   snapshot_files: list[dict] | None = None) -> dict[str, Outcome]:
    """The release outcomes keyed by check name (CHECKS; just `only` when given). `snapshot_files`
    (pipelines.sources.vintages.snapshot_files): the files of new vintages, to name the vintage a moved value
    comes from and let through the moves of an accepted one."""
    config = config or load_config()
    outcomes = {name: Outcome(suite=name, rows=0) for name in CHECKS if only in (None, name)}
    if not Path(published_warehouse).is_file():
        for outcome in outcomes.values():
            outcome.note = "no published warehouse yet: first release, nothing to compare"
        return outcomes
    factor = float(config.release_setting("value_move_factor", 10))
    params = {"sources": sorted(source_ids), "focus": config.focus_country, "factor": factor,
              "warn_factor": min(float(config.release_setting("value_move_warn_factor", 3)), factor),
              "min_change_share": float(config.release_setting("value_move_min_change_share", 0.1)),
              "ratio_tolerance": RATIO_TOLERANCE, "snapshot_files": snapshot_files or []}
    with _attached(build_warehouse, published_warehouse) as connection:
        if not _has_facts(connection):
            for outcome in outcomes.values():
                outcome.note = "the published warehouse has no fct_indicator_values: nothing to compare"
            return outcomes
        run = {"release_coverage": _coverage, "release_focus_country": _focus_country,
               "release_value_moves": _value_moves}
        for name in outcomes:
            outcomes[name] = run[name](connection, params, config)
        facts = connection.execute("SELECT count(*) FROM build.fct_indicator_values").fetchone()[0]
    for name, outcome in outcomes.items():
        outcome.rows = facts
        outcome.rules_checked = {"release_coverage": 3, "release_value_moves": 2}.get(name, 1)
    return outcomes


def _coverage(connection, params: dict, config: ValidationConfig) -> Outcome:
    outcome = Outcome(suite="release_coverage", rows=0)
    max_drop = float(config.release_setting("max_country_coverage_drop", 0.05))
    listed = int(config.release_setting("max_listed", 20))
    for row in _query(connection, "coverage", params).itertuples(index=False):
        share = row.lost_countries / row.last_countries
        if share <= max_drop:
            continue
        scope = f"{row.source_id}/{row.indicator_id}" if row.indicator_id else f"{row.source_id} (all indicators)"
        lost = list(row.lost)
        outcome.failures.append(Failure(
            "release_coverage_countries", config.is_blocking("release_coverage_countries"),
            f"{scope} covered {row.last_countries} countries in the last release and lost {row.lost_countries} "
            f"({share:.0%} > {max_drop:.0%} allowed): {', '.join(lost[:listed])}"
            f"{' ...' if len(lost) > listed else ''} (rows named are the last release's)",
            int(row.lost_countries), "iso3", row.source_id,
            [_sample(r, source_id=row.source_id, indicator_id=row.indicator_id, iso3=c)
             for c, r in list(zip(lost, row.lost_rows))[: config.max_samples]],
        ))
    allowed = int(config.release_setting("max_indicators_lost", 0))
    lost_indicators = _query(connection, "lost_indicators", params)
    for source_id, group in lost_indicators.groupby("source_id", sort=True):
        if len(group) <= allowed:
            continue
        outcome.failures.append(Failure(
            "release_coverage_indicators", config.is_blocking("release_coverage_indicators"),
            f"{source_id} lost {len(group)} indicator(s) since the last release (allowed {allowed}): "
            f"{', '.join(group['indicator_id'])} (rows named are the last release's)",
            len(group), "indicator_id", source_id,
            [_sample(r.last_row, source_id=source_id, indicator_id=r.indicator_id, last_values=int(r.last_values))
             for r in group.head(config.max_samples).itertuples(index=False)],
        ))
    not_built = _query(connection, "sources_not_built", params)
    for row in not_built.itertuples(index=False):
        outcome.failures.append(Failure(
            "release_source_not_built", config.is_blocking("release_source_not_built"),
            f"{row.source_id} is in the last release ({row.last_values} values, {row.last_countries} countries) "
            "but was not built in this run: publishing this build drops it", int(row.last_values), None,
            row.source_id,
        ))
    return outcome


def _focus_country(connection, params: dict, config: ValidationConfig) -> Outcome:
    outcome = Outcome(suite="release_focus_country", rows=0)
    lost = _query(connection, "focus_country", params)
    if lost.empty:
        return outcome
    focus = params["focus"]
    for source_id, group in lost.groupby("source_id", sort=True):
        cells = "; ".join(f"{indicator} {', '.join(g['period'])}"
                          for indicator, g in group.groupby("indicator_id", sort=True))
        outcome.failures.append(Failure(
            "release_focus_country", config.is_blocking("release_focus_country"),
            f"{focus} lost {len(group)} value(s) of {source_id} since the last release: {cells} "
            "(rows named are the last release's)",
            len(group), "iso3", source_id,
            [_sample(f"{r.raw_file}:{r.raw_row}", source_id=source_id, indicator_id=r.indicator_id, iso3=r.iso3,
                     period=r.period, last_value=float(r.last_value))
             for r in group.head(config.max_samples).itertuples(index=False)],
        ))
    return outcome


def _value_moves(connection, params: dict, config: ValidationConfig) -> Outcome:
    """Moves of `factor` or more block (rule release_value_moved), smaller ones of `warn_factor` or more warn
    (release_value_moved_warn), and moves whose new value comes from an accepted snapshot are reported as
    release_value_moved_accepted (WARN): one failure per source and tier, each sample with both values and rows."""
    outcome = Outcome(suite="release_value_moves", rows=0)
    moved = _query(connection, "value_moves", params)
    if moved.empty:
        return outcome
    snapshot_of = {(f["source_id"], f["sha256"]): f for f in params["snapshot_files"]}
    factor, warn_factor = params["factor"], params["warn_factor"]
    tiers: dict[tuple[str, str], list] = {}
    for r in moved.itertuples(index=False):
        snapshot = snapshot_of.get((r.source_id, r.raw_sha256))
        if snapshot is not None and snapshot.get("accepted"):
            rule = "release_value_moved_accepted"
        elif r.factor >= factor * (1 - RATIO_TOLERANCE):
            rule = "release_value_moved"
        else:
            rule = "release_value_moved_warn"
        tiers.setdefault((r.source_id, rule), []).append((r, snapshot))
    for (source_id, rule), rows in sorted(tiers.items()):
        outcome.failures.append(Failure(
            rule, config.is_blocking(rule), _move_message(rule, source_id, rows, factor, warn_factor),
            len(rows), "value", source_id,
            [{**_sample(f"{r.raw_file}:{r.raw_row}", source_id=source_id, indicator_id=r.indicator_id, iso3=r.iso3,
                        period=r.period, value=float(r.value), last_value=float(r.last_value),
                        factor=round(float(r.factor), 2)), "last_row": r.last_row,
              "vintage": snapshot["vintage"] if snapshot else None}
             for r, snapshot in rows[: config.max_samples]],
        ))
    return outcome


def _move_message(rule: str, source_id: str, rows: list, factor: float, warn_factor: float) -> str:
    """What moved, by how much, and what a person can do about it."""
    vintages = sorted({snapshot["vintage"] for _, snapshot in rows if snapshot})
    counted = f"{len(rows)} {source_id} value(s)"
    both = "(value = this build, last_value = last release)"
    if rule == "release_value_moved_accepted":
        return (f"{counted} moved by x{warn_factor:g} or more since the last release, from vintage "
                f"{', '.join(vintages)}, accepted as true revisions {both}")
    if rule == "release_value_moved_warn":
        return f"{counted} moved by x{warn_factor:g} or more (below x{factor:g}) since the last release {both}"
    if vintages:
        remedy = (f"vintage {', '.join(vintages)}; if the publisher really revised these values, release them "
                  f"with `ai-readiness vintages accept {source_id} {vintages[0]}`")
    else:
        remedy = ("from the registered file: a parser, unit or registry change moved them; if that is intended, "
                  "set release_value_moved: warn in config/validation.yaml for one build")
    return (f"{counted} moved by x{factor:g} or more since the last release, as a unit error would {both}; "
            f"{remedy}")
