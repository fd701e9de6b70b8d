"""The facts are views in the build warehouse (written once when staged, once when published): build_view
replaces a table of the same name left by an older build, and is idempotent."""

from __future__ import annotations

import duckdb

from pipelines.lib import warehouse


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
