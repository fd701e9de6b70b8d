"""DuckDB connections that are always closed, and SQL read from sql/<layer>/<table>.sql."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipelines.base.audit import mark_rebuilt
from pipelines.base.settings import SQL_DIR

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


# The build warehouse held open for a whole Dagster run (held()): ~100 connections a 1x build opened and closed
# one after another cost ~4 s, most of it DuckDB starting an instance (~17 ms) and checkpointing on close.
_HELD: dict[Path, "duckdb.DuckDBPyConnection"] = {}  # noqa: F821


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Keep one read-write instance of `path` open while the block runs; connect() then hands out its cursors.
    Only for a process that is the file's single writer anyway (a run under the build lock)."""
    key = Path(path).resolve()
    if key in _HELD:  # re-entrant: the outer block owns it
        yield
        return
    key.parent.mkdir(parents=True, exist_ok=True)
    _hold(key)
    try:
        yield
    finally:
        connection = _HELD.pop(key, None)  # None: released() failed to reopen it (that error is the one raised)
        if connection is not None:
            connection.close()


def _hold(key: Path) -> None:
    import duckdb

    _HELD[key] = duckdb.connect(str(key))
    limit_memory(_HELD[key])


@contextmanager
def released(path: Path) -> Iterator[None]:
    """Close a held instance of `path` while the block runs, for code that attaches the file to an instance of
    its own (DuckDB refuses a second instance on a file this process has open); reopened afterwards."""
    key = Path(path).resolve()
    connection = _HELD.pop(key, None)
    if connection is None:
        yield
        return
    connection.close()
    try:
        yield
    finally:
        _hold(key)


@contextmanager
def attached_read_only(path: Path, *,
                       spill_dir: Path | None = None) -> Iterator["duckdb.DuckDBPyConnection"]:  # noqa: F821
    """An in-memory DuckDB instance with `path` attached read-only as `build` (a held instance of it released
    meanwhile), for reading it beside other files; with `spill_dir`, under memory_limit() and spilling there."""
    import duckdb

    with released(path):
        connection = duckdb.connect()
        try:
            if spill_dir is not None:
                limit_memory(connection, spill_dir=spill_dir)
            connection.execute("ATTACH ? AS build (READ_ONLY)", [str(path)])
            yield connection
        finally:
            connection.close()


@contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator["duckdb.DuckDBPyConnection"]:  # noqa: F821
    """Close in `finally`, also when the body raises: a leaked connection keeps the file lock and blocks the
    next process ("Conflicting lock is held"), which is what dagster-duckdb's get_connection() can do.
    While held() keeps the file open, a cursor of that instance (read-write: one instance per file)."""
    import duckdb

    held_connection = _HELD.get(Path(path).resolve())
    if held_connection is not None:
        cursor = held_connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        return
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only)
    try:
        limit_memory(connection)
        yield connection
    finally:
        connection.close()


MEMORY_LIMIT_ENV = "AI_READINESS_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"  # DuckDB spills sorts, joins and aggregates beyond this to <warehouse>.tmp/


def memory_limit() -> str:
    """DuckDB's memory limit for warehouse connections: 1 GB, or $AI_READINESS_DUCKDB_MEMORY_LIMIT. A build over
    100x the data then stays within ~2 GB of RAM; DuckDB's own default (80% of RAM) lets one sort take most of the
    machine. (Set after connecting, not as connect config: a second connection to the same file in one process
    with a different config would be refused.)"""
    import os

    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT
    if not re.fullmatch(r"[0-9.]+\s*[KMGT]?i?B", limit, re.IGNORECASE):
        raise ValueError(f"{MEMORY_LIMIT_ENV}={limit!r} is not a size such as 1GB or 512MiB")
    return limit


def limit_memory(connection, spill_dir: Path | None = None) -> None:
    """memory_limit() on a connection; an in-memory instance also needs a spill folder (DuckDB's default for one
    is `.tmp` in the working directory, i.e. wherever the command was started)."""
    connection.execute(f"SET memory_limit = '{memory_limit()}'")
    if spill_dir is not None:
        connection.execute(f"SET temp_directory = '{str(spill_dir).replace(chr(39), chr(39) * 2)}'")


def identifier(name: str) -> str:
    """Table names built from config (source ids) must be plain identifiers before they go into SQL."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def sql_text(layer: str, table: str) -> str:
    """The model's SQL: the file name is the table name (dbt convention)."""
    path = SQL_DIR / identifier(layer) / f"{identifier(table)}.sql"
    return path.read_text(encoding="utf-8")


@contextmanager
def transaction(connection) -> Iterator[None]:
    """BEGIN ... COMMIT, or ROLLBACK when the body raises (also on KeyboardInterrupt)."""
    connection.execute("BEGIN")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def build_table(connection, layer: str, table: str) -> int:
    """(Re)create `table` from its SQL file in one transaction, which also marks its checks' recorded outcomes
    not passed (pipelines.base.audit.mark_rebuilt); return its row count."""
    with transaction(connection):
        connection.execute(f"CREATE OR REPLACE TABLE {identifier(table)} AS\n{sql_text(layer, table)}")
        mark_rebuilt(connection, table)
    return connection.execute(f"SELECT count(*) FROM {identifier(table)}").fetchone()[0]


def build_view(connection, layer: str, view: str) -> int:
    """(Re)create `view` from its SQL file (replacing a table of that name left by an older build), its checks'
    recorded outcomes marked not passed; return its row count. For relations that only filter and rename
    another's rows: a view copies nothing."""
    name = identifier(view)
    with transaction(connection):
        if connection.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                              "AND schema_name = 'main' AND table_name = ?", [view]).fetchone()[0]:
            connection.execute(f"DROP TABLE {name}")
        connection.execute(f"CREATE OR REPLACE VIEW {name} AS\n{sql_text(layer, view)}")
        mark_rebuilt(connection, view)
    return connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]


def replace_table_from_frame(connection, table: str, frame) -> int:
    """Swap a table's content for a pandas frame atomically (readers of the build warehouse never see half); its
    checks' recorded outcomes are marked not passed in the same transaction (pipelines.base.audit.mark_rebuilt)."""
    with registered(connection, frame) as incoming, transaction(connection):
        connection.execute(f"CREATE OR REPLACE TABLE {identifier(table)} AS SELECT * FROM {incoming}")
        mark_rebuilt(connection, table)
    return len(frame)


@contextmanager
def registered(connection, frame, name: str = "_incoming_frame") -> Iterator[str]:
    """`frame` visible to SQL as `name` for the block (copy it into a table there: a statement that joins a
    registered frame reads it through Python while it runs)."""
    connection.register(name, frame)
    try:
        yield name
    finally:
        connection.unregister(name)
