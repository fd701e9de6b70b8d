"""Asset checks. Every check is blocking: a failure with severity ERROR stops everything downstream, including
`published_marts`; rules config/validation.yaml marks `warn` fail with severity WARN and let the build publish.

- `gx_suite` on every `stg_<source_id>` and every mart: the Great Expectations suites of pipelines.validation,
  run by GX on the table in pandas, or, above `gx_max_rows` (config/validation.yaml), compiled to SQL and run in
  DuckDB so that only counts and failing samples are read (metadata `validated_by`: gx or duckdb_sql);
- `release_coverage`, `release_focus_country`, `release_value_moves` on fct_indicator_values: this build against
  the last published warehouse;
- `duplicate_keys`, `unknown_iso3` on fct_indicator_values: SQL in sql/checks/;
- on every intermediate and mart asset, its tables' invariants from config/validation.yaml `model_checks`: a
  `gx_suite` per table (named `gx_suite__<table>` when the asset writes several) and each `sql` rule of it
  (sql/checks/<table>__<rule>.sql). Their outcomes are audited as '<table>:<check>', so rewriting a table
  invalidates exactly its own checks.

Metadata of a failed check carries the failures (rule, source, file, rows, values) as JSON and one line each in
`failure_lines`, which `ai-readiness build` prints.
"""

from __future__ import annotations

import dagster as dg

from pipelines.base.faults import crash_point
from pipelines.defs.resources import ProjectPaths
from pipelines.sources.registry import load_registry

MARTS = ("fct_indicator_values", "fct_aggregate_values", "dim_indicators", "dim_sources", "dim_countries")
RELEASE_CHECKS = {
    "release_coverage": "Countries per source and per indicator, and indicators per source, do not shrink beyond "
    "the tolerance in config/validation.yaml versus the last published warehouse.",
    "release_focus_country": "The focus country (config/validation.yaml, Japan) loses no (source, indicator, period) "
    "cell it had in the last published warehouse.",
    "release_value_moves": "No cell moved by config/validation.yaml's value_move_factor (x10) or more since the "
    "last release, a unit error's mark (smaller moves of value_move_warn_factor or more warn; near zero and "
    "0 <-> non-zero do not count; a vintage accepted with `ai-readiness vintages accept` warns), with both "
    "values and rows.",
}


def _result(outcome) -> dg.AssetCheckResult:
    """An Outcome as a check result: ERROR when a blocking rule failed, WARN when only soft rules did."""
    from pipelines.validation.outcome import ERROR

    severity = dg.AssetCheckSeverity.ERROR if outcome.severity == ERROR else dg.AssetCheckSeverity.WARN
    metadata = {
        "rows_validated": outcome.rows,
        "rules_checked": outcome.rules_checked,
        "failed_rules": len(outcome.failures),
        "summary": dg.MetadataValue.md(outcome.summary_markdown()),
        "failures": dg.MetadataValue.json([f.as_dict() for f in outcome.failures]),
        "failure_lines": dg.MetadataValue.text("\n".join(outcome.lines())),
    }
    if outcome.accepted:
        metadata["accepted_known_exceptions"] = dg.MetadataValue.json(outcome.accepted)
    if outcome.data_docs:
        metadata["data_docs"] = dg.MetadataValue.path(outcome.data_docs)
    if outcome.note:
        metadata["note"] = outcome.note
    if outcome.validated_by:
        metadata["validated_by"] = outcome.validated_by
        metadata["gx_rows"] = outcome.gx_rows or 0
    return dg.AssetCheckResult(passed=not outcome.failures, severity=severity, metadata=metadata)


def _audited(project: ProjectPaths, asset: str, name: str, evaluate, *, run_id: str | None = None
             ) -> dg.AssetCheckResult:
    """Run a check and remember its outcome in the build warehouse (pipelines.base.audit.record_check): publish
    refuses while a blocking check failed, or raised, more recently than it passed, also in a later run that
    does not run the checks (`ai-readiness build --select published_marts`, or the UI)."""
    from pipelines.base.audit import record_check

    passed, reasons = False, [f"check {asset}:{name} raised (see the run log)"]
    try:
        result = evaluate()
        passed = result.passed or result.severity == dg.AssetCheckSeverity.WARN
        reported = result.metadata.get("failure_lines")
        lines = str(getattr(reported, "value", reported) or "").splitlines()
        reasons = [f"check {asset}:{name} {line}" for line in lines if line.strip()] or reasons
        return result
    finally:
        with project.build_warehouse() as connection:
            record_check(connection, f"{asset}:{name}", passed)
        if not passed:
            _hold_vintages(project, reasons, run_id)


def _hold_vintages(project: ProjectPaths, reasons: list[str], run_id: str | None) -> None:
    """A blocking failure: this run publishes nothing, so the new vintages it parsed are held with the reasons,
    in every run (schedule, sensor, UI), not only `ai-readiness build` (which holds them again with every
    failure of the run once it ends)."""
    from pipelines.sources.vintages import mark_held

    try:
        mark_held(load_registry(), project.paths().raw_dir, reasons, run_id)
    except (OSError, ValueError):  # the check's own outcome is what matters; the CLI tries again at the end
        pass


def _audited_suite(context, project: ProjectPaths, table: str) -> dg.AssetCheckResult:
    """The table's suite as an audited check of this run."""
    run_id = context.run.run_id
    return _audited(project, table, "gx_suite", lambda: _result(_validate(project, table, run_id)), run_id=run_id)


def _validate(project: ProjectPaths, table: str, run_name: str):
    """The table's suite, by the path its size calls for (pipelines.validation.validate_table): a large table
    is never read into pandas. Data Docs are rendered once per run, after the last check (the project
    resource's teardown, pipelines/defs/resources.py)."""
    from pipelines.validation import validate_table

    crash_point(f"check:{table}")
    with project.build_warehouse(read_only=True) as connection:
        return validate_table(connection, table, docs_dir=_docs_dir(project), run_name=run_name, defer_docs=True)


def _docs_dir(project: ProjectPaths):
    from pipelines.validation import DATA_DOCS_DIR

    return project.paths().marts_dir / DATA_DOCS_DIR


def staged_gx_check(source_id: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=f"stg_{source_id}", name="gx_suite", blocking=True,
        description=f"Great Expectations suite of stg_{source_id}: exact columns, unique keys, known ISO3 codes, "
        "years within the documented range and not in the future, values present and within each indicator's "
        "valid range, row count within bounds.",
    )
    def _check(context, project: ProjectPaths) -> dg.AssetCheckResult:
        return _audited_suite(context, project, f"stg_{source_id}")

    return _check


def mart_gx_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=table, name="gx_suite", blocking=True,
                    description=f"Great Expectations suite of {table} (pipelines/validation/suites.py).")
    def _check(context, project: ProjectPaths) -> dg.AssetCheckResult:
        return _audited_suite(context, project, table)

    return _check


def release_check(name: str, description: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset="fct_indicator_values", name=name, blocking=True, description=description)
    def _check(context, project: ProjectPaths) -> dg.AssetCheckResult:
        from pipelines.sources.vintages import snapshot_files
        from pipelines.validation.release import release_checks

        paths, registry = project.paths(), load_registry()
        return _audited(project, "fct_indicator_values", name, lambda: _result(release_checks(
            paths.build_warehouse, paths.published_warehouse, sorted(registry), only=name,
            snapshot_files=snapshot_files(registry, paths.raw_dir))[name]), run_id=context.run.run_id)

    return _check


def _violations_check(asset: str, rule: str, description: str, *, table: str | None = None,
                      name: str | None = None) -> dg.AssetChecksDefinition:
    """A blocking check on `asset` that passes when sql/checks/<table>__<rule>.sql returns no rows (`table`
    defaults to the asset's own name)."""
    table = table or asset

    @dg.asset_check(asset=asset, name=name or rule, blocking=True, description=description)
    def _check(context, project: ProjectPaths) -> dg.AssetCheckResult:
        from pipelines.base.warehouse import sql_text

        def evaluate() -> dg.AssetCheckResult:
            with project.build_warehouse(read_only=True) as connection:
                violations = connection.execute(sql_text("checks", f"{table}__{rule}")).df()
            lines = [f"{table}: {rule}: " + ", ".join(f"{k}={v}" for k, v in row.items())
                     for row in violations.head(10).to_dict("records")]
            return dg.AssetCheckResult(
                passed=violations.empty,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "rule": rule,
                    "violations_shown": len(violations),
                    "violations": dg.MetadataValue.md(
                        violations.to_markdown(index=False) if len(violations) else "none"),
                    "failure_lines": dg.MetadataValue.text("\n".join(lines)),
                },
            )

        return _audited(project, table, rule, evaluate, run_id=context.run.run_id)

    return _check


def model_gx_check(asset: str, table: str) -> dg.AssetChecksDefinition:
    """The suite of `table` (config/validation.yaml model_checks) on the asset that writes it."""

    @dg.asset_check(asset=asset, name="gx_suite" if table == asset else f"gx_suite__{table}", blocking=True,
                    description=f"Invariants of {table} (config/validation.yaml model_checks): "
                    f"{_rules_in_words(table)}.")
    def _check(context, project: ProjectPaths) -> dg.AssetCheckResult:
        return _audited_suite(context, project, table)

    return _check


def _rules_in_words(table: str) -> str:
    from pipelines.validation.config import load_config

    return "; ".join(f"{kind} {value}" for kind, value in load_config().table_rules(table).items() if kind != "sql")


def _sql_rule_description(table: str, rule: str) -> str:
    """The rule's own words: the leading comment of its SQL file."""
    from pipelines.base.warehouse import sql_text

    comment = [line.removeprefix("--").strip() for line in sql_text("checks", f"{table}__{rule}").splitlines()
               if line.startswith("--")]
    return " ".join(comment) or f"sql/checks/{table}__{rule}.sql returns no rows"


def model_checks() -> list[tuple[str, dg.AssetChecksDefinition]]:
    """(audit key '<table>:<check>', check) for every table in config/validation.yaml model_checks."""
    from pipelines.validation.config import load_config

    checks = []
    for asset, tables in load_config().model_checks.items():
        for table, rules in tables.items():
            checks.append((f"{table}:gx_suite", model_gx_check(asset, table)))
            for rule in rules.get("sql") or []:
                checks.append((f"{table}:{rule}", _violations_check(
                    asset, rule, _sql_rule_description(table, rule), table=table,
                    name=rule if table == asset else f"{rule}__{table}")))
    return checks


fct_keys_unique = _violations_check(
    "fct_indicator_values", "duplicate_keys", "(source_id, indicator_id, iso3, period) is unique."
)
fct_iso3_known = _violations_check(
    "fct_indicator_values", "unknown_iso3", "Every iso3 is in the country dimension."
)
# The statistical audit's invariants (sql/checks/mart_statistical_audit*__<rule>.sql).
AUDIT_RULES = {
    "mart_statistical_audit": ("invariants", "One row per pillar and the composite, every scored pillar audited, "
                               "Cronbach's alpha <= 1, first principal component's share in [1/k, 1]."),
    "mart_statistical_audit_correlations": ("in_range", "Correlations in [-1, 1], p-values in [0, 1], keys unique."),
    "mart_statistical_audit_coverage": ("consistent", "Cell counts add up, shares in [0, 1], keys unique."),
    "mart_statistical_audit_sobol": ("indices_valid", "Sobol indices in [0, 1] and S1 <= ST within sampling error; "
                                     "keys unique; the nominal run reproduces the published rank."),
    "mart_statistical_audit_choices": ("partition", "Each input's levels split the runs; keys unique."),
    "mart_statistical_audit_removal": ("valid", "One row per indicator of the index, ranks in range, nominal rank "
                                       "as published."),
}
audit_checks = [_violations_check(table, rule, description) for table, (rule, description) in AUDIT_RULES.items()]
# What would move the focus country (pipelines/model/whatif.py): invariants of the re-scoring, sql/checks/.
WHATIF_CHECKS = {
    ("mart_focus_what_if", "leader_not_worse_than_median"): "Moving to a peer group's leader never gives a worse "
    "composite rank than moving to its median (indicators and pillars).",
    ("mart_focus_what_if", "no_move_no_change"): "A move on an indicator the focus country already leads (or is "
    "beyond the level on), re-scored with its own value, gives today's score, rank and band.",
    ("mart_focus_what_if", "scores_in_range"): "Scores within 0-100, ranks within the scored countries, bands ordered.",
    ("mart_focus_path", "scores_in_range"): "Scores within 0-100, ranks within the scored countries, bands ordered.",
    ("mart_scenarios", "scores_in_range"): "Scores within 0-100, ranks within the scored countries, bands ordered.",
}
whatif_checks = [_violations_check(asset, rule, description) for (asset, rule), description in WHATIF_CHECKS.items()]

staged_gx_checks = [staged_gx_check(source_id) for source_id in load_registry()]
mart_gx_checks = [mart_gx_check(table) for table in MARTS]
release_checks = [release_check(name, description) for name, description in RELEASE_CHECKS.items()]
_model_checks = model_checks()
model_asset_checks = [check for _, check in _model_checks]
AUDITED_CHECKS = [*staged_gx_checks, *mart_gx_checks, *release_checks, fct_keys_unique, fct_iso3_known,
                  *model_asset_checks, *audit_checks, *whatif_checks]


def audited_check_keys() -> list[str]:
    """'<table>:<check>' of every check above (each records its outcome through _audited): publishing requires
    each to have passed since its table was last (re)built."""
    core = [*staged_gx_checks, *mart_gx_checks, *release_checks, fct_keys_unique, fct_iso3_known, *audit_checks,
            *whatif_checks]
    return sorted([f"{key.asset_key.to_user_string()}:{key.name}" for checks in core for key in checks.check_keys]
                  + [key for key, _ in _model_checks])
