"""The BI hand-off as an analyst meets it: the published warehouse opens in DuckDB 1.x (the DuckDB BI drivers
ship), through SQLAlchemy + duckdb-engine with the README's read-only URI while another reader holds the file,
and the README's Japan-vs-G7 query gives the same answer there as on the Parquet exports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT

READERS_DIR = PROJECT_ROOT / ".venv" / "duckdb-readers"
README = PROJECT_ROOT / "README.md"

_READER = r"""
import json, sys
import duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
tables = [r[0] for r in connection.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
print(json.dumps({
    "version": duckdb.__version__,
    "rows": {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables},
    "described_columns": connection.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE comment IS NOT NULL AND comment <> ''").fetchone()[0],
    "answer": connection.execute(sys.argv[2]).fetchall(),
}, default=str))
"""


def _readme_block(heading: str, language: str) -> str:
    """The first ```<language> block after `heading` in the README: the test runs what the README says."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1).strip()


def readme_query() -> str:
    return _readme_block("## Use it from a BI tool", "sql")


def _readers() -> list:
    """The DuckDB 1.x installs of `make duckdb-readers` (part of `make install`); installed here if missing."""
    if not (READERS_DIR / ".installed").exists():
        subprocess.run(["make", "duckdb-readers"], cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=600)
    return sorted(p for p in READERS_DIR.iterdir() if p.is_dir())


def test_duckdb_1x_readers_open_the_published_warehouse(built, published_db):
    warehouse = str(built / "marts" / "ai_readiness.duckdb")
    expected_rows = {t: published_db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                     for (t,) in published_db.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()}
    expected_answer = [list(map(str, row)) for row in published_db.execute(readme_query()).fetchall()]
    described = published_db.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE comment IS NOT NULL AND comment <> ''").fetchone()[0]
    readers = _readers()
    assert {p.name for p in readers} >= {"1.4.0", "1.5.6"}
    for reader in readers:
        result = subprocess.run([sys.executable, "-c", _READER, warehouse, readme_query()], capture_output=True,
                                text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(reader)})
        assert result.returncode == 0, result.stderr[-2000:]
        found = json.loads(result.stdout)
        assert found["version"] == reader.name  # really that DuckDB, not the venv's 2.x
        assert found["rows"] == expected_rows
        assert found["described_columns"] == described > 0  # the comments survive the older format
        assert [list(map(str, row)) for row in found["answer"]] == expected_answer and expected_answer


def test_the_release_declares_the_storage_version_of_duckdb_1(published_db):
    from pipelines.publish.exports import RELEASE_STORAGE_VERSION

    (tags,) = published_db.execute(
        "SELECT tags FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    assert RELEASE_STORAGE_VERSION == "v1.4.0" and tags["storage_version"] == "v1.4.0+"
    assert f"STORAGE_VERSION '{RELEASE_STORAGE_VERSION}'" in README.read_text(encoding="utf-8")


def _readme_uri(prefix: str) -> str:
    text = README.read_text(encoding="utf-8")
    return re.search(rf"`({re.escape(prefix)}[^`]*)`", text).group(1)


def _holding_reader(path: str) -> subprocess.Popen:
    """Another process with the file open read-only (as a second dashboard or a DuckDB CLI would), until stdin
    closes."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); "
         "c.execute('SELECT count(*) FROM dim_release').fetchall(); print('open', flush=True); sys.stdin.read()",
         path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    return holder


def test_superset_uri_reads_while_another_reader_holds_the_file(built):
    """The README's duckdb-engine URI, registered as Superset does (SQLAlchemy create_engine), while another
    process holds the file: it connects and answers the README's query; the plain URI cannot. (No other
    connection to the file in this process: DuckDB refuses a second one with another configuration.)"""
    import sqlalchemy

    warehouse = str(built / "marts" / "ai_readiness.duckdb")
    with duckdb.connect(warehouse, read_only=True) as reference:
        expected = reference.execute(readme_query()).fetchall()
    uri = _readme_uri("duckdb:////")
    assert uri.endswith("?access_mode=read_only")
    uri = uri.replace("/absolute/path/to/data/marts/ai_readiness.duckdb", warehouse)
    holder = _holding_reader(warehouse)
    try:
        engine = sqlalchemy.create_engine(uri)
        try:
            with engine.connect() as connection:
                rows = [tuple(r) for r in connection.execute(sqlalchemy.text(readme_query())).fetchall()]
                tables = sqlalchemy.inspect(connection).get_table_names()
        finally:
            engine.dispose()
        assert rows == expected and len(rows) == 7  # the composite and six pillars
        assert {"mart_japan_benchmark", "dim_columns", "dim_release"} <= set(tables)

        plain = sqlalchemy.create_engine(uri.removesuffix("?access_mode=read_only"))
        try:
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="lock"):
                with plain.connect():
                    pass
        finally:
            plain.dispose()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_readme_query_gives_the_same_answer_on_parquet(built, published_db):
    parquet = built / "marts" / "parquet" / "mart_japan_benchmark.parquet"
    on_parquet = readme_query().replace("FROM mart_japan_benchmark", f"FROM read_parquet('{parquet}')")
    assert on_parquet != readme_query()
    assert duckdb.connect().execute(on_parquet).fetchall() == published_db.execute(readme_query()).fetchall()


def test_no_parquet_name_is_both_a_file_and_a_folder_and_a_glob_counts_each_row_once(built, published_db):
    current = (built / "marts" / "current").resolve()
    for folder in ("parquet", "parquet_by_source"):
        names = [p.name for p in (current / folder).rglob("*")]
        stems = {n.removesuffix(".parquet") for n in names if n.endswith(".parquet")}
        folders = {p.name for p in (current / folder).rglob("*") if p.is_dir()}
        assert not stems & folders, (folder, stems & folders)
    assert all(p.is_file() and p.suffix == ".parquet" for p in (current / "parquet").iterdir())
    tables = [t for (t,) in published_db.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    rows = sum(published_db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
    fresh = duckdb.connect()
    globbed = fresh.execute("SELECT count(*) FROM read_parquet(?, union_by_name = true)",
                            [str(built / "marts" / "parquet" / "**" / "*.parquet")]).fetchone()[0]
    assert globbed == rows
    facts = published_db.execute("SELECT count(*) FROM fct_indicator_values").fetchone()[0]
    partitioned = fresh.execute("SELECT count(*) FROM read_parquet(?, hive_partitioning = true)", [
        str(built / "marts" / "parquet_by_source" / "fct_indicator_values" / "*" / "*.parquet")]).fetchone()[0]
    assert partitioned == facts > 100_000


def test_dim_columns_describes_every_published_column(published_db):
    from pipelines.publish.exports import load_dictionary

    described = {(t, c): (ty, d, u) for t, c, ty, d, u in published_db.execute(
        "SELECT table_name, column_name, data_type, description, unit FROM dim_columns").fetchall()}
    actual = {(t, c): (ty, comment) for t, c, ty, comment in published_db.execute(
        "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
        "WHERE database_name = current_database()").fetchall()}
    assert set(described) == set(actual)
    for key, (data_type, description, _) in described.items():
        assert actual[key] == (data_type, description), key  # the same words as the DuckDB comments
    dictionary = load_dictionary()
    assert described[("mart_composite_index", "score")][2] == dictionary["mart_composite_index"].units["score"]
    assert described[("mart_composite_index", "iso3")][2] is None
    ordinal = published_db.execute("SELECT list(column_name ORDER BY ordinal_position) FROM dim_columns "
                                   "WHERE table_name = 'fct_indicator_values'").fetchone()[0]
    assert ordinal == list(dictionary["fct_indicator_values"].columns)


def test_dim_release_says_which_release_code_and_vintages(built, published_db):
    from pipelines.publish.catalog import code_version

    release = published_db.execute("SELECT DISTINCT release_id, built_at, package_version, code_sha256, "
                                   "storage_version FROM dim_release").fetchall()
    assert len(release) == 1
    release_id, built_at, package_version, code_sha256, storage_version = release[0]
    assert release_id == (built / "marts" / "current").resolve().name
    assert built_at.strftime("%Y%m%dT%H%M") == release_id[:13]  # the id is the build time, UTC
    assert package_version == "0.1.0" and len(code_sha256) == 64 and storage_version == "v1.4.0"
    assert code_sha256 == code_version()["code_sha256"]  # this checkout built it (tests do not edit code)
    vintages = published_db.execute("SELECT source_id, vintage FROM dim_release ORDER BY 1").fetchall()
    assert vintages == published_db.execute("SELECT source_id, vintage FROM dim_sources ORDER BY 1").fetchall()
    assert len(vintages) >= 19


def test_period_start_and_end_are_dates_of_the_period(published_db):
    for table in ("fct_indicator_values", "fct_aggregate_values"):
        bad = published_db.execute(
            f"SELECT count(*) FROM {table} WHERE period_start IS NULL OR period_end < period_start "
            "OR year(period_start) <> year OR year(period_end) <> year").fetchone()[0]
        assert bad == 0, table
    spans = dict(published_db.execute(
        "SELECT regexp_replace(period, '[0-9]', 'd', 'g'), "
        "list(DISTINCT date_diff('month', period_start, period_end + 1)) FROM fct_indicator_values GROUP BY 1"
    ).fetchall())
    assert spans == {"dddd": [12], "dddd-Qd": [3], "dddd-Hd": [6]}
    second_quarter = published_db.execute("SELECT period_start, period_end FROM fct_indicator_values "
                                          "WHERE period LIKE '%-Q2' LIMIT 1").fetchone()
    assert (second_quarter[0].month, second_quarter[0].day, second_quarter[1].month, second_quarter[1].day) == \
        (4, 1, 6, 30)
    assert published_db.execute("SELECT count(*) FROM mart_focus_trends WHERE period_start <> make_date(year, 1, 1) "
                                "OR period_end <> make_date(year, 12, 31)").fetchone()[0] == 0


def test_method_settings_are_json(published_db):
    settings = {k: json.loads(v) for k, v in published_db.execute(
        "SELECT setting, value FROM dim_method_settings").fetchall()}
    assert settings["normalisation"] == "min_max" and settings["treat_outliers"] is True
    assert settings["mc_choices"]["imputation"] == [False, True]
    assert isinstance(settings["mc_draws"], int)
