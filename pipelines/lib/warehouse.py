"""DuckDB connections that are always closed, and SQL read from sql/<layer>/<table>.sql."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipelines.lib.settings import SQL_DIR

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator["duckdb.DuckDBPyConnection"]:  # noqa: F821
    """Close in `finally`, also when the body raises: a leaked connection keeps the file lock and blocks the
    next process ("Conflicting lock is held"), which is what dagster-duckdb's get_connection() can do."""
    import duckdb

    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only)
    try:
        yield connection
    finally:
        connection.close()


def identifier(name: str) -> str:
    """Table names built from config (source ids) must be plain identifiers before they go into SQL."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def sql_text(layer: str, table: str) -> str:
    """The model's SQL: the file name is the table name (dbt convention)."""
    path = SQL_DIR / identifier(layer) / f"{identifier(table)}.sql"
    return path.read_text(encoding="utf-8")


def build_table(connection, layer: str, table: str) -> int:
    """(Re)create `table` from its SQL file in one transaction; return its row count."""
    connection.execute("BEGIN")
    try:
        connection.execute(f"CREATE OR REPLACE TABLE {identifier(table)} AS\n{sql_text(layer, table)}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return connection.execute(f"SELECT count(*) FROM {identifier(table)}").fetchone()[0]


def replace_table_from_frame(connection, table: str, frame) -> int:
    """Swap a table's content for a pandas frame atomically (readers of the build warehouse never see half)."""
    connection.register("_incoming_frame", frame)
    try:
        connection.execute("BEGIN")
        connection.execute(f"CREATE OR REPLACE TABLE {identifier(table)} AS SELECT * FROM _incoming_frame")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    finally:
        connection.unregister("_incoming_frame")
    return len(frame)
