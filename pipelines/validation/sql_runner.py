"""Run a suite on a table inside DuckDB (the large-table path): the SQL compiled from the suite's own expectations
(compiler.py) counts each rule's failing rows and fetches only samples of them, so memory does not grow with the
table. The result is the same Outcome the GX path gives (runner.py's helpers build both: rules, severities,
counts, messages, samples with lineage, reviewed exceptions); tests/test_validation_sql.py holds them equal.

Queries per table: one scan counting every row-level rule; per uniqueness rule one GROUP BY on a 64-bit hash of
the key (exact: equal keys hash equal; only when some hashes repeat does an exact GROUP BY on the key run); per
failing rule one query for its first max_samples failing rows (in table order, as GX reports them) plus every
failing row a reviewed exception covers (config/validation.yaml known_exceptions; they are accepted, not counted).

Data Docs: GX still renders the suite, run on a bounded frame — the first `gx_sample_rows` rows
(config/validation.yaml), every failing sample row and, for a failing uniqueness rule, the rows sharing those
keys (up to 10 x max_samples) — so the docs show each failing rule with real failing rows. The table-level row
count rule is left out there (a bounded frame has a different count); each rule's description, and the suite's
notes, give the whole-table result from DuckDB, which is the one the check reports.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.base.warehouse import identifier
from pipelines.validation.compiler import CompiledExpectation, Params, column, columns_read, compile_expectation
from pipelines.validation.config import ValidationConfig, load_config
from pipelines.validation.outcome import Outcome
from pipelines.validation.runner import (
    describe,
    excepted_cell_columns,
    failing_columns,
    merge_failures,
    not_evaluated,
    row_failure,
    run_suite,
    table_failure,
)
from pipelines.validation.suites import SuiteSpec

ROW, EXCEPTED = "__row", "__excepted"  # helper columns of the sample queries (not in any suite's table)
PARTNERS_PER_SAMPLE = 10  # Data Docs: rows sharing a failing key, per sampled row


def table_columns(connection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type, in table order."""
    return {row[0]: row[1] for row in connection.execute(f"DESCRIBE {identifier(table)}").fetchall()}


def numbered(connection, table: str) -> str:
    """The table with its row number (ROW, from 0) in the order `SELECT *` returns rows, which is the order GX
    reports failing rows in: a base table's rowid; for a view (the build warehouse's facts are views over the
    staged tables) row_number() over the view's own order, which DuckDB keeps (preserve_insertion_order)."""
    name = identifier(table)
    is_table = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = ?", [table]).fetchone()[0]
    number = "rowid" if is_table else "row_number() OVER () - 1"
    return f"(SELECT {number} AS {ROW}, * FROM {name})"


def run_suite_sql(spec: SuiteSpec, connection, table: str, *, config: ValidationConfig | None = None,
                  docs_dir: Path | None = None, run_name: str | None = None, defer_docs: bool = False) -> Outcome:
    """Validate `table` (in `connection`'s database) against `spec` in SQL; GX Data Docs of a bounded frame go to
    docs_dir when given."""
    import duckdb

    config = config or load_config()
    name = identifier(table)
    types = table_columns(connection, table)
    rows = connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    expectations = list(spec.suite.expectations)
    compiled = [compile_expectation(e, types, f"p{i}") for i, e in enumerate(expectations)]  # unknown: raises
    outcome = Outcome(suite=spec.name, rows=rows, rules_checked=len(expectations), validated_by="duckdb_sql")
    missing = [[c for c in columns_read(e) if c not in types] for e in expectations]
    counts = _row_rule_counts(connection, name, compiled, missing)
    source = numbered(connection, table)
    failures, statuses, sample_rows = [], [], set()
    for i, (expectation, rule) in enumerate(zip(expectations, compiled)):
        try:
            failure, status = _evaluate(connection, name, source, spec, config, outcome, expectation, rule, types,
                                        rows, missing[i], counts.get(i), sample_rows)
        except duckdb.Error as exc:
            failure = not_evaluated(spec, config, expectation, _first_line(exc))
            status = f"could not be evaluated ({_first_line(exc)})"
        failures.append(failure)
        statuses.append(status)
    outcome.failures = merge_failures(failures)
    if docs_dir is not None:
        _data_docs(spec, connection, name, source, outcome, compiled, statuses, sample_rows, config, docs_dir,
                   run_name, defer_docs)
    return outcome


def _evaluate(connection, name, source, spec, config, outcome, expectation, rule, types, rows, missing, count,
              sample_rows: set) -> tuple:
    """(Failure or None, the whole-table result in words) of one expectation; failing rowids go to sample_rows."""
    if missing:
        reason = f"no column {missing} in {spec.name}"
        return not_evaluated(spec, config, expectation, reason), f"could not be evaluated ({reason})"
    if rule.kind in ("columns", "row_count"):
        passed = _columns_match(rule, list(types)) if rule.kind == "columns" else _count_within(rule, rows)
        if passed:
            return None, "passed"
        failure = table_failure(spec, config, expectation, list(types) if rule.kind == "columns" else rows,
                                list(types))
        return failure, f"failed ({failure.message})"
    if rule.kind == "unique":
        count = _unique_count(connection, name, rule)
    if isinstance(count, Exception):
        raise count
    if not count:
        return None, "passed"
    failing = _failing_rows(connection, name, source, spec, config, expectation, rule, types)
    sample_rows.update(int(r) for r in failing[ROW])
    if rule.kind == "unique":
        sample_rows.update(_partners(connection, name, source, rule, failing[ROW], config))
    accepted_before = len(outcome.accepted)
    failure = row_failure(spec, config, outcome, expectation, count,
                          failing.drop(columns=[ROW, EXCEPTED]).reset_index(drop=True))
    accepted = len(outcome.accepted) - accepted_before
    status = f"{count - accepted:,} failing row{'s' * (count - accepted != 1)}" if failure else "passed"
    return failure, status + (f" ({accepted} accepted as reviewed exceptions)" if accepted else "")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _columns_match(rule: CompiledExpectation, columns: list[str]) -> bool:
    if rule.type == "expect_table_columns_to_match_ordered_list":
        return columns == list(rule.kwargs["column_list"])
    expected = set(rule.kwargs["column_set"])
    exact = rule.kwargs.get("exact_match")
    return expected == set(columns) if exact in (None, True) else expected <= set(columns)


def _count_within(rule: CompiledExpectation, rows: int) -> bool:
    low, high = rule.kwargs.get("min_value"), rule.kwargs.get("max_value")
    above = low is None or (rows > low if rule.kwargs.get("strict_min") else rows >= low)
    below = high is None or (rows < high if rule.kwargs.get("strict_max") else rows <= high)
    return above and below


def _row_rule_counts(connection, name: str, compiled, missing) -> dict[int, int | Exception]:
    """Failing rows of every row-level rule in one scan; a rule whose SQL fails is retried alone, so one bad rule
    (e.g. a type mismatch) is reported as not evaluable without hiding the others."""
    import duckdb

    rules = {i: rule for i, rule in enumerate(compiled) if rule.kind == "rows" and not missing[i]}
    if not rules:
        return {}

    def count(selected: dict[int, CompiledExpectation]) -> dict[int, int]:
        columns = ", ".join(f"count_if({rule.failing}) AS c{i}" for i, rule in selected.items())
        params = {k: v for rule in selected.values() for k, v in rule.params.items()}
        values = connection.execute(f"SELECT {columns} FROM {name} AS t", params).fetchone()
        return dict(zip(selected, (int(v or 0) for v in values)))  # count_if over no rows is NULL

    try:
        return count(rules)
    except duckdb.Error:
        results: dict[int, int | Exception] = {}
        for i, rule in rules.items():
            try:
                results.update(count({i: rule}))
            except duckdb.Error as exc:
                results[i] = exc
        return results


def _keys(rule: CompiledExpectation) -> str:
    return ", ".join(column(k) for k in rule.keys)


def _unique_count(connection, name: str, rule: CompiledExpectation) -> int:
    """Rows whose key two or more rows of the rule's domain share (GX: every one of them fails)."""
    repeated_hashes = connection.execute(
        f"SELECT count(*) FROM (SELECT hash({_keys(rule)}) AS h FROM {name} AS t WHERE {rule.domain} "
        "GROUP BY h HAVING count(*) > 1)", rule.params).fetchone()[0]
    if not repeated_hashes:
        return 0
    return int(connection.execute(
        f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {name} AS t WHERE {rule.domain} "
        f"GROUP BY {_keys(rule)} HAVING count(*) > 1)", rule.params).fetchone()[0])


def _key_join(rule: CompiledExpectation, alias: str) -> tuple[str, str]:
    """(the rule's key columns selected as k0, k1, ..., the join of table `t` to them under `alias`): missing
    values match, as in GROUP BY."""
    keys = ", ".join(f"{column(k)} AS k{j}" for j, k in enumerate(rule.keys))
    on = " AND ".join(f"{column(k)} IS NOT DISTINCT FROM {alias}.k{j}" for j, k in enumerate(rule.keys))
    return keys, on


def _failing_rows(connection, name: str, source: str, spec: SuiteSpec, config: ValidationConfig, expectation,
                  rule: CompiledExpectation, types: dict[str, str]) -> pd.DataFrame:
    """The first max_samples failing rows that no reviewed exception covers, and all that one does cover, in table
    order, with the columns the GX path reports (runner.failing_columns) plus ROW and EXCEPTED."""
    rule_name, rule_column, _ = describe(expectation)
    params = Params("x")
    params.values.update(rule.params)
    columns = failing_columns(spec, rule_column, types)
    selected = ", ".join([f"t.{ROW} AS {ROW}", f"coalesce({_excepted(spec, config, rule_name, columns, params)}, "
                          f"FALSE) AS {EXCEPTED}", *(f"{column(c)} AS {identifier(c)}" for c in columns)])
    if rule.kind == "rows":
        failing = f"SELECT {selected} FROM {source} AS t WHERE {rule.failing}"
    else:
        keys, on = _key_join(rule, "d")
        failing = (f"SELECT {selected} FROM {source} AS t JOIN (SELECT {keys} FROM {name} AS t WHERE {rule.domain} "
                   f"GROUP BY ALL HAVING count(*) > 1) AS d ON {on} WHERE {rule.domain}")
    limit = int(config.max_samples)
    query = (f"WITH failing AS ({failing}) SELECT * FROM (SELECT * FROM failing WHERE NOT {EXCEPTED} "
             f"ORDER BY {ROW} LIMIT {limit}) UNION ALL SELECT * FROM failing WHERE {EXCEPTED} ORDER BY {ROW}")
    return connection.execute(query, params.values).df()


def _excepted(spec: SuiteSpec, config: ValidationConfig, rule: str, columns: list[str], params: Params) -> str:
    """SQL true for a row one of the rule's reviewed exceptions covers; runner.row_failure makes the final call
    on the rows fetched (this only has to include every row it will accept)."""
    cells = config.excepted_cells(rule, spec.source_id)
    if not cells:
        return "FALSE"
    named = excepted_cell_columns(spec, columns)
    source = f"CAST({column(named[0])} AS VARCHAR)" if named[0] else params.add(spec.source_id)
    exprs = [source, *(f"CAST({column(c)} AS VARCHAR)" if c else "NULL" for c in named[1:])]
    alternatives = [" AND ".join(f"{e} = {params.add(v)}" for e, v in zip(exprs, cell)) for cell in sorted(cells)]
    return "(" + " OR ".join(f"({a})" for a in alternatives) + ")"


def _partners(connection, name: str, source: str, rule: CompiledExpectation, rows, config: ValidationConfig
              ) -> set[int]:
    """Data Docs: rows sharing a key with the sampled failing rows, so GX sees the duplicates too."""
    keys, on = _key_join(rule, "s")
    params = {**rule.params, "sampled": [int(r) for r in rows]}
    limit = PARTNERS_PER_SAMPLE * int(config.max_samples)
    found = connection.execute(
        f"SELECT t.{ROW} FROM {source} AS t JOIN (SELECT DISTINCT {keys} FROM {source} AS t WHERE t.{ROW} IN "
        f"(SELECT unnest(CAST($sampled AS BIGINT[])))) AS s ON {on} WHERE {rule.domain} ORDER BY t.{ROW} "
        f"LIMIT {limit}", params).fetchall()
    return {int(r[0]) for r in found}


def _data_docs(spec: SuiteSpec, connection, name: str, source: str, outcome: Outcome, compiled, statuses, sample_rows,
               config: ValidationConfig, docs_dir: Path, run_name: str | None, defer_docs: bool) -> None:
    """GX over a bounded frame, with the whole-table result in every rule's description (module docstring)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    head = int(config.gx_sample_rows)
    frame = connection.execute(f"SELECT * FROM {name} LIMIT {head}").df()  # the first rows: stops early
    later = sorted(r for r in sample_rows if r >= len(frame))
    if later:  # numbering a view's rows takes a pass over all of them: only when failing rows lie beyond the head
        frame = pd.concat([frame, connection.execute(
            f"SELECT * EXCLUDE ({ROW}) FROM {source} AS t WHERE t.{ROW} IN (SELECT unnest(CAST($later AS BIGINT[]))) "
            f"ORDER BY t.{ROW}", {"later": later}).df()], ignore_index=True)
    scope = f"whole table ({outcome.rows:,} rows) in DuckDB SQL"
    expectations, row_count = [], []
    for expectation, rule, status in zip(spec.suite.expectations, compiled, statuses):
        configured = expectation.configuration
        rule_name, _, message = describe(configured)
        if rule.kind == "row_count":
            row_count.append(f"{rule_name}: {message}: {status}")
            continue
        expectations.append(ExpectationConfiguration(
            type=configured.type, kwargs=dict(configured.kwargs), meta=dict(configured.meta or {}),
            description=f"**{rule_name}**: {message} — {scope}: {status}").to_domain_obj())
    notes = [f"{spec.name} has {outcome.rows:,} rows: more than gx_max_rows (config/validation.yaml), so the check "
             f"ran this suite as DuckDB SQL compiled from it (pipelines/validation/compiler.py). These results are "
             f"GX on a bounded frame of {len(frame):,} rows (the first {head:,} rows and the failing sample rows); "
             "each rule's description gives the whole-table result.", *row_count]
    docs_spec = SuiteSpec(spec.name, gx.ExpectationSuite(name=spec.name, expectations=expectations,
                                                         meta=dict(spec.suite.meta or {}), notes=notes),
                          spec.index_columns, spec.source_id)
    shown = run_suite(docs_spec, frame, config=config, docs_dir=docs_dir, run_name=run_name, defer_docs=defer_docs)
    outcome.data_docs, outcome.gx_rows = shown.data_docs, len(frame)
