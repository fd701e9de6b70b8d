"""The audit of write-audit-publish, across runs: the latest outcome of every blocking check, kept in the build
warehouse (table `_audit_checks`, never published). Plain Python, no Dagster.

- a check records its outcome when it runs (`record_check`);
- a table (re)written in the build warehouse marks its checks' rows not passed in the same transaction
  (`mark_rebuilt`): a run killed after rebuilding a table and before its checks ran leaves nothing that says
  "passed" about the new content;
- publish refuses while a check is failing, was not re-run since its table was rebuilt, or never ran
  (`unaudited`), also in a later run that does not run the checks (`ai-readiness build --select
  published_marts`, the UI).
"""

from __future__ import annotations

AUDIT_TABLE = "_audit_checks"


def _ensure_table(connection) -> None:
    connection.execute(f"CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (check_key VARCHAR PRIMARY KEY, "
                       "passed BOOLEAN NOT NULL, checked_at TIMESTAMP NOT NULL)")


def record_check(connection, check: str, passed: bool) -> None:
    """Remember a check's latest outcome (blocking failures and checks that raised count as not passed).
    `check` is '<table>:<check name>'."""
    _ensure_table(connection)
    connection.execute(f"INSERT OR REPLACE INTO {AUDIT_TABLE} VALUES (?, ?, now())", [check, passed])


def mark_rebuilt(connection, table: str) -> None:
    """Call inside the transaction that (re)writes `table`: every recorded outcome of its checks now describes
    content that is gone, so none of them may count as passed until the checks run again."""
    _ensure_table(connection)
    stale = [table]
    if table.startswith("stg_"):  # the facts are views over the staged tables: their content changed with it
        stale += [r[0] for r in connection.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
        ).fetchall()]
    for name in stale:
        connection.execute(f"UPDATE {AUDIT_TABLE} SET passed = false, checked_at = now() "
                           "WHERE starts_with(check_key, ?) AND passed", [f"{name}:"])


def unaudited(connection, required: list[str] | tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(checks recorded as not passed, required checks never recorded) in the build warehouse, attached as
    `build` to `connection` (warehouse.attached_read_only). Given `required` (the checks of this code location),
    rows of other checks (a source no longer selected by $AI_READINESS_SOURCES) do not count."""
    if not connection.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'build' AND "
                              "table_name = ?", [AUDIT_TABLE]).fetchone()[0]:
        return [], sorted(set(required))
    recorded = dict(connection.execute(f"SELECT check_key, passed FROM build.{AUDIT_TABLE}").fetchall())
    failing = sorted(k for k, passed in recorded.items() if not passed and (not required or k in required))
    # A check on a table the build warehouse does not hold guards nothing that could be published (a run of the
    # core layers only, `--select 'group:core or ...'`, never builds the index marts): it cannot be missing.
    held = {r[0] for r in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'build'").fetchall()}
    return failing, sorted(k for k in set(required) - set(recorded) if k.partition(":")[0] in held)
