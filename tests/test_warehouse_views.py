"""The facts are views in the build warehouse (written once when staged, once when published): build_view
replaces a table of the same name left by an older build, and is idempotent."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.base import warehouse


def test_build_view_replaces_a_table_left_by_an_older_build(tmp_path, monkeypatch):
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "fct_example.sql").write_text("SELECT a * 10 AS a FROM stg_example WHERE a > 1",
                                                       encoding="utf-8")
    monkeypatch.setattr(warehouse, "SQL_DIR", tmp_path)
    connection = duckdb.connect(str(tmp_path / "build.duckdb"))
    try:
        connection.execute("CREATE TABLE stg_example AS SELECT * FROM range(5) AS t(a)")
        connection.execute("CREATE TABLE fct_example AS SELECT 42 AS a")  # what an older build left

        assert warehouse.build_view(connection, "marts", "fct_example") == 3
        assert warehouse.build_view(connection, "marts", "fct_example") == 3  # again: replaces the view
        kinds = connection.execute("SELECT table_type FROM information_schema.tables "
                                   "WHERE table_name = 'fct_example'").fetchall()
        assert kinds == [("VIEW",)]
        connection.execute("INSERT INTO stg_example VALUES (7)")  # a view follows what it reads: nothing copied
        assert sorted(r[0] for r in connection.execute("SELECT a FROM fct_example").fetchall()) == [20, 30, 40, 70]
    finally:
        connection.close()


def test_a_held_warehouse_is_one_instance_for_the_run_and_released_for_attaching(tmp_path):
    """warehouse.held(): a run's steps share one read-write instance (connect() hands out its cursors); released()
    closes it for code that attaches the file to an instance of its own, and reopens it; afterwards it is closed."""
    path = tmp_path / "build.duckdb"
    with warehouse.held(path):
        with warehouse.connect(path) as first:
            first.execute("CREATE TABLE t AS SELECT 1 AS x")
        with warehouse.connect(path, read_only=True) as second:  # a cursor of the held instance, not a new one
            assert second.execute("SELECT x FROM t").fetchall() == [(1,)]
            with pytest.raises(duckdb.ConnectionException):  # a second, read-only instance: DuckDB refuses it
                duckdb.connect(str(path), read_only=True)
        with warehouse.held(path), warehouse.connect(path) as nested:  # re-entrant: the outer block owns it
            nested.execute("INSERT INTO t VALUES (2)")
        with warehouse.released(path):
            other = duckdb.connect()
            try:
                other.execute("ATTACH ? AS build (READ_ONLY)", [str(path)])
                assert other.execute("SELECT count(*) FROM build.t").fetchone() == (2,)
            finally:
                other.close()
        with warehouse.connect(path) as reopened:
            reopened.execute("INSERT INTO t VALUES (3)")
    after = duckdb.connect(str(path), read_only=True)  # closed with the block: any instance may open it
    try:
        assert sorted(r[0] for r in after.execute("SELECT x FROM t").fetchall()) == [1, 2, 3]
    finally:
        after.close()
