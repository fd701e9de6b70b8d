"""Parquet exports for BI: typed, described, complete, Hive-partitioned by source; read back with pyarrow and with a
fresh DuckDB connection and compared with the published warehouse. Plus the data dictionary and the contract."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pipelines.publish.exports import PARTITIONED, contract_for, load_dictionary

ARROW = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
         "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us")}
# Text by design although their values can look like numbers: periods ("2024", "2025-H1"), raw-row locators
# ("52", "AIPI!3", "7781,7790") and the text value of a method setting.
NUMERIC_LOOKING_TEXT = {"period", "index_period", "period_used", "raw_row", "value"}


@pytest.fixture(scope="module")
def marts(built):
    return built / "marts"


@pytest.fixture(scope="module")
def tables(built) -> dict[str, int]:
    connection = duckdb.connect(str(built / "marts" / "ai_readiness.duckdb"), read_only=True)
    try:
        names = [r[0] for r in connection.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {n: connection.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}
    finally:
        connection.close()


@pytest.fixture()
def fresh():
    connection = duckdb.connect()  # a BI tool's view: nothing but the files
    try:
        yield connection
    finally:
        connection.close()


def test_every_published_table_is_exported_and_described(marts, tables):
    assert set(tables) == {p.stem for p in (marts / "parquet").glob("*.parquet")}
    assert set(tables) <= set(load_dictionary())
    assert {"fct_indicator_values", "dim_framework", "mart_indicator_scores"} <= set(tables)


def test_parquet_schemas_are_the_contract_with_descriptions(marts, tables):
    release_id = (marts / "current").resolve().name
    for table in tables:
        spec = load_dictionary()[table]
        schema = pq.read_schema(marts / "parquet" / f"{table}.parquet")
        assert schema.names == list(spec.columns), table
        for field in schema:
            declared, description = spec.columns[field.name]
            assert field.type == ARROW[declared], f"{table}.{field.name}: {field.type} != {declared}"
            assert field.metadata[b"description"].decode() == description and description
        meta = {k.decode(): v.decode() for k, v in schema.metadata.items()}
        assert meta["table"] == table and meta["description"] == spec.description
        assert meta["release_id"] == release_id
        assert meta["source"] and meta["licence"]


def test_typed_columns_years_ints_flags_bools(marts):
    schema = pq.read_schema(marts / "parquet" / "fct_indicator_values.parquet")
    assert schema.field("year").type == pa.int64() and schema.field("value").type == pa.float64()
    assert schema.field("is_provisional").type == pa.bool_()
    bench = pq.read_schema(marts / "parquet" / "mart_japan_benchmark.parquet")
    assert bench.field("trend_first_year").type == pa.int64()  # a float64 upstream
    assert bench.field("trend_note").type == pa.string()  # all-null upstream: DuckDB type NULL
    assert pq.read_schema(marts / "parquet" / "mart_pillar_scores.parquet").field("rank").type == pa.int64()


def test_no_numbers_hide_in_text_columns(marts, tables, fresh):
    for table in tables:
        path = str(marts / "parquet" / f"{table}.parquet")
        for name, kind, *_ in fresh.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall():
            if kind != "VARCHAR" or name in NUMERIC_LOOKING_TEXT:
                continue
            values, numeric = fresh.execute(
                f'SELECT count("{name}"), count(TRY_CAST("{name}" AS DOUBLE)) FROM read_parquet(?)', [path]).fetchone()
            assert not (values and values == numeric), f"{table}.{name} holds only numbers but is text"


def test_row_counts_and_types_match_the_warehouse(marts, tables, published_db, fresh):
    for table, rows in tables.items():
        path = marts / "parquet" / f"{table}.parquet"
        assert pq.ParquetFile(path).metadata.num_rows == rows, table
        assert fresh.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0] == rows, table
        in_file = fresh.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        in_warehouse = published_db.execute(f"DESCRIBE {table}").fetchall()
        assert [r[:2] for r in in_file] == [r[:2] for r in in_warehouse], table
    assert tables["fct_indicator_values"] > 100_000


def test_facts_are_hive_partitioned_by_source(marts, published_db, fresh):
    base = marts / "parquet_by_source" / "fct_indicator_values"
    expected = dict(published_db.execute(
        "SELECT source_id, count(*) FROM fct_indicator_values GROUP BY 1").fetchall())
    assert {p.name for p in base.iterdir()} == {f"source_id={s}" for s in expected}
    assert PARTITIONED == {"fct_indicator_values": "source_id"}

    dataset = ds.dataset(base, format="parquet", partitioning="hive")
    assert dataset.count_rows() == sum(expected.values())
    for source_id in ("worldbank_wdi", "oecd_ai_vc"):
        assert dataset.count_rows(filter=ds.field("source_id") == source_id) == expected[source_id]
    got = dict(fresh.execute("SELECT source_id, count(*) FROM read_parquet(?, hive_partitioning = true) GROUP BY 1",
                             [str(base / "*" / "*.parquet")]).fetchall())
    assert got == expected

    part = pq.read_schema(base / "source_id=oecd_ai_vc" / "part-0.parquet")
    assert "source_id" not in part.names and part.field("value").type == pa.float64()
    meta = {k.decode(): v.decode() for k, v in part.metadata.items()}
    assert meta["partition"] == "source_id=oecd_ai_vc" and meta["source"].startswith("oecd_ai_vc: ")
    assert "Preqin" in meta["licence"] and "PROPRIETARY" in meta["restrictions"]  # the licence note travels along


def test_release_warehouse_carries_the_descriptions(published_db):
    missing = published_db.execute(
        "SELECT table_name || '.' || column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND (comment IS NULL OR comment = '')").fetchall()
    assert not missing
    assert published_db.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                                "AND comment IS NULL").fetchone()[0] == 0


def test_data_dictionary_lists_every_table_column_indicator_and_source(marts, tables, published_db):
    text = (marts / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert (marts / "current").resolve().name in text
    for table in tables:
        assert f"### `{table}`" in text
        assert all(f"| `{column}` |" in text for column in load_dictionary()[table].columns)
    for (key,) in published_db.execute("SELECT indicator_key FROM dim_framework").fetchall():
        assert f"| {key} |" in text
    for source_id, licence in published_db.execute("SELECT source_id, licence FROM dim_sources").fetchall():
        assert f"### `{source_id}`" in text and licence.replace("|", "\\|") in text
    for (indicator_id,) in published_db.execute("SELECT indicator_id FROM dim_indicators").fetchall():
        assert f"| {indicator_id} |" in text


def test_report_is_published_with_the_release(marts):
    assert (marts / "report").resolve() == (marts / "current" / "report").resolve()
    assert "<html" in (marts / "report" / "index.html").read_text(encoding="utf-8")[:500].lower()


def test_contract_refuses_an_undescribed_or_missing_column():
    connection = duckdb.connect()
    try:
        connection.execute("CREATE TABLE dim_method_settings AS SELECT 'a' AS setting, 'b' AS value, 1 AS extra")
        with pytest.raises(ValueError, match=r"not described \['extra'\]"):
            contract_for(connection, "memory", "dim_method_settings")
        connection.execute("CREATE OR REPLACE TABLE dim_method_settings AS SELECT 'a' AS setting")
        with pytest.raises(ValueError, match=r"described but not built \['value'\]"):
            contract_for(connection, "memory", "dim_method_settings")
        connection.execute("CREATE TABLE mart_unknown AS SELECT 1 AS x")
        with pytest.raises(ValueError, match="not in config/data_dictionary.yaml"):
            contract_for(connection, "memory", "mart_unknown")
    finally:
        connection.close()


def test_a_failing_report_fails_the_publish_and_nothing_flips(tmp_path, monkeypatch):
    """The report is part of the release: if it cannot render, the previous release stays current, report included."""
    from pipelines.publish.release import publish
    from pipelines.publish.report.build import MARTS

    build = tmp_path / "build.duckdb"
    connection = duckdb.connect(str(build))
    for table in MARTS:  # empty tables with the contract's columns: enough for the export and the dictionary
        columns = ", ".join(f'"{c}" {t}' for c, (t, _) in load_dictionary()[table].columns.items())
        connection.execute(f"CREATE TABLE {table} ({columns})")
    connection.close()

    def good(_, out, __):
        out.mkdir()
        (out / "index.html").write_text("first", encoding="utf-8")

    def broken(*_):
        raise RuntimeError("chart failed")

    marts = tmp_path / "marts"
    monkeypatch.setattr("pipelines.publish.report.write_report", good)
    publish(build, marts)
    first = (marts / "current").resolve()
    monkeypatch.setattr("pipelines.publish.report.write_report", broken)
    with pytest.raises(RuntimeError, match="chart failed"):
        publish(build, marts)
    assert (marts / "current").resolve() == first
    assert (marts / "report" / "index.html").read_text(encoding="utf-8") == "first"
    assert len(list((marts / ".releases").glob("*"))) == 2  # the first release and the unpublished .partial
