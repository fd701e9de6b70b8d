"""The large-table path: suites compiled to DuckDB SQL (pipelines/validation/compiler.py, sql_runner.py) must give
the same Outcome as GX on the same table read into pandas — rules, severities, counts, messages, sample rows with
their lineage, reviewed exceptions — on the real staged tables and marts of a build, and on corrupted tables that
break every rule. Both paths read the same DuckDB table, as the checks do.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.validation.config import ValidationConfig, current_year
from tests.test_validation import WDI_FILE, _config, _frame, _row

ENGINE_FIELDS = ("data_docs", "validated_by", "gx_rows", "note")  # which engine ran, not what it found


def _comparable(outcome) -> dict:
    found = outcome.as_dict()
    for key in ENGINE_FIELDS:
        found.pop(key)
    return found


def _both(spec, connection, table: str, config: ValidationConfig):
    """(GX outcome, SQL outcome) of one warehouse table."""
    from pipelines.validation.runner import run_suite
    from pipelines.validation.sql_runner import run_suite_sql

    frame = connection.execute(f"SELECT * FROM {table}").df()
    return run_suite(spec, frame, config=config), run_suite_sql(spec, connection, table, config=config)


def _table(frame: pd.DataFrame, name: str, nan_rows: tuple[str, ...] = (), view: bool = False):
    """An in-memory warehouse holding `frame` as `name`; `nan_rows` (raw_row) get value NaN (not NULL: pandas
    NaN would arrive as NULL). view=True: `name` is a view over two tables holding the halves of the frame, as the
    build warehouse's facts are views over the staged tables."""
    connection = duckdb.connect()
    halves = {f"{name}_a": frame.iloc[: len(frame) // 2], f"{name}_b": frame.iloc[len(frame) // 2:]} if view \
        else {name: frame}
    for table, part in halves.items():
        connection.register("incoming", part)
        connection.execute(f"CREATE TABLE {table} AS SELECT * FROM incoming")
        connection.unregister("incoming")
        for raw_row in nan_rows:
            connection.execute(f"UPDATE {table} SET value = 'nan'::DOUBLE WHERE raw_row = ?", [raw_row])
    if view:
        connection.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_a UNION ALL BY NAME SELECT * FROM {name}_b")
    return connection


@pytest.fixture(scope="module")
def wdi_only():
    mp = pytest.MonkeyPatch()
    mp.setenv("AI_READINESS_SOURCES", "worldbank_wdi")
    mp.delenv("AI_READINESS_REGISTRY_DIR", raising=False)
    mp.delenv("AI_READINESS_GX_MAX_ROWS", raising=False)
    yield
    mp.undo()


def _wdi_spec(config: ValidationConfig):
    from pipelines.sources.registry import load_registry
    from pipelines.staging import reference
    from pipelines.validation.suites import staged_suite

    source = load_registry()["worldbank_wdi"]
    return staged_suite(source, indicators=reference.ref_indicators({"worldbank_wdi": source}),
                        country_codes=sorted(reference.ref_countries()["iso3"]), config=config)


def _assert_same(gx_outcome, sql_outcome):
    assert sql_outcome.validated_by == "duckdb_sql" and gx_outcome.validated_by == "gx"
    assert _comparable(sql_outcome) == _comparable(gx_outcome)


# --- (a) the real build ------------------------------------------------------------------------------------------


def test_sql_path_equals_gx_on_every_table_of_a_real_build(built):
    from pipelines.base.settings import Paths
    from pipelines.validation import suite_for
    from pipelines.validation.config import load_config
    from pipelines.validation.suites import MARTS

    config = load_config()
    connection = duckdb.connect(str(Paths(built).build_warehouse), read_only=True)
    try:
        tables = [r[0] for r in connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'stg\\_%' ESCAPE '\\' ORDER BY 1").fetchall()]
        assert len(tables) >= 19
        accepted = 0
        for table in [*tables, *MARTS]:
            gx_outcome, sql_outcome = _both(suite_for(table, config), connection, table, config)
            assert _comparable(sql_outcome) == _comparable(gx_outcome), table
            assert sql_outcome.rows == connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
            accepted += len(sql_outcome.accepted)
    finally:
        connection.close()
    assert accepted >= 2  # WDI's reviewed exceptions (config/validation.yaml) were found and accepted by both


def test_sql_path_equals_gx_on_every_model_table_of_a_real_build(built):
    """The intermediate and mart invariants (config/validation.yaml model_checks) pass on a real build, alike."""
    from pipelines.base.settings import Paths
    from pipelines.validation import suite_for
    from pipelines.validation.config import load_config

    config = load_config()
    connection = duckdb.connect(str(Paths(built).build_warehouse), read_only=True)
    try:
        for table in config.model_tables():
            gx_outcome, sql_outcome = _both(suite_for(table, config), connection, table, config)
            assert _comparable(sql_outcome) == _comparable(gx_outcome), table
            assert not sql_outcome.failures, (table, sql_outcome.lines())
    finally:
        connection.close()


def test_sql_path_equals_gx_on_a_mart_breaking_every_model_rule():
    """Keys, bounds, known values and ordered pairs (with NULL and NaN on either side, which both engines skip)."""
    from pipelines.validation.suites import model_suite

    rules = {"unique": [["iso3"]], "not_null": ["rank"], "between": {"score": [0, 100], "rank": [1, None]},
             "in_set": {"kind": ["a", "b"]}, "ordered": [["rank_p05", "rank_median"], ["rank_median", "rank_p95"]],
             "rows": [1, 4]}
    config = ValidationConfig(model_checks={"mart_x": {"mart_x": rules}})
    nan = float("nan")
    frame = pd.DataFrame({
        "iso3": ["JPN", "JPN", "USA", "KOR", "FRA", "DEU"],
        "kind": ["a", "a", "c", None, "b", "b"],
        "score": [50.0, 100.0 + 1e-6, -1.0, nan, 20.0, 10.0],
        "rank": [1.0, 2.0, 0.0, None, 3.0, 4.0],
        "rank_p05": [1.0, 3.0, None, nan, 2.0, 5.0],
        "rank_median": [2.0, 2.0, 4.0, 1.0, None, 4.0],
        "rank_p95": [3.0, 1.0, 2.0, 5.0, 1.0, 4.0],
    })
    spec = model_suite("mart_x", config)
    gx_outcome, sql_outcome = _both(spec, _table(frame, "mart_x"), "mart_x", config)
    _assert_same(gx_outcome, sql_outcome)
    failed = {(f.rule, f.message): f.count for f in sql_outcome.failures}
    assert failed[("ordered", "rank_p05 <= rank_median where both are present")] == 2  # JPN#2 and DEU
    assert failed[("ordered", "rank_median <= rank_p95 where both are present")] == 2  # JPN#2 and USA (DEU: equal)
    assert failed[("within_bounds", "score within [0, 100] (up to float rounding)")] == 2
    assert failed[("within_bounds", "rank within [1, ∞] (up to float rounding)")] == 1
    assert failed[("known_values", "kind is one of ['a', 'b']")] == 1
    assert failed[("not_null", "every row has rank")] == 1
    assert failed[("unique_keys", "one row per iso3")] == 2
    assert ("row_count", "mart_x has between 1 and 4 rows (config/validation.yaml); got 6") in failed


# --- (b) corrupted tables, every rule ------------------------------------------------------------------------------


def test_sql_path_equals_gx_on_a_staged_table_breaking_every_rule(wdi_only):
    this_year = current_year()
    rows = [_row(2), _row(3)]  # duplicate country key
    rows += [_row(4, iso3="XXX", period="2019"), _row(5, iso3=None, entity_code="ZZZ", period="2018"),
             _row(6, period=str(this_year + 3), value=50.0), _row(7, period="1950", value=1.0),
             _row(8, period="2017", value=None), _row(9, period="2016", value=150.0),
             _row(10, indicator="sp_pop_totl", period="2016", value=-3.0),
             _row(11, indicator="not_in_registry", period="2016", value=1.0),
             _row(12, period="2015", value=np.nan)]
    rows += [_row(20 + i, period=str(1990 + i), value=200.0 + i) for i in range(14)]  # > max_samples failing
    rows += [_row(40, indicator="bx_gsr_royl_cd", iso3="BTN", period="2024", value=-8581.4),  # reviewed exception
             _row(41, indicator="bx_gsr_royl_cd", iso3="BTN", period="2023", value=-1.0)]
    rows += [_row(50, iso3=None, entity_code="WLD", aggregate=True, value=60.0),  # duplicate aggregate key
             _row(51, iso3=None, entity_code="WLD", aggregate=True, value=61.0)]
    frame = _frame(rows)
    frame.loc[frame["raw_row"] == "2", "raw_sha256"] = None  # lineage missing
    frame.loc[frame["raw_row"] == "4", "period"] = None  # key missing
    config = _config()
    connection = _table(frame, "stg_worldbank_wdi", nan_rows=("12",))
    gx_outcome, sql_outcome = _both(_wdi_spec(config), connection, "stg_worldbank_wdi", config)
    _assert_same(gx_outcome, sql_outcome)
    failed = {f.rule: f for f in sql_outcome.failures}
    assert {"unique_keys", "iso3_known", "iso3_not_null", "year_not_in_future", "year_in_range", "value_not_null",
            "value_in_valid_range", "indicator_registered", "keys_not_null", "lineage_present"} <= set(failed)
    assert failed["value_not_null"].count == 2  # NULL and NaN alike
    assert [s["raw_row"] for s in sql_outcome.accepted] == ["40"]
    in_range = [f for f in sql_outcome.failures if f.rule == "value_in_valid_range" and "[0, 100]" in f.message][0]
    assert in_range.count == 15 and len(in_range.samples) == 10 and in_range.samples[0]["raw_row"] == "9"
    assert in_range.samples[0]["row"] == f"{WDI_FILE}:9"


def test_sql_path_equals_gx_on_table_level_failures(wdi_only):
    config = _config(row_counts={"default": {"min": 5, "max": 10}})
    spec = _wdi_spec(config)
    base = _frame([_row(2), _row(3, period="2021")])
    cases = {
        "missing columns": base.drop(columns=["note", "raw_sha256"]),
        "extra column": base.assign(footnote="x"),
        "columns out of order": base[[*base.columns[1:], base.columns[0]]],
        "a key column missing": base.drop(columns=["period"]),
    }
    for case, frame in cases.items():
        connection = _table(frame, "stg_worldbank_wdi")
        gx_outcome, sql_outcome = _both(spec, connection, "stg_worldbank_wdi", config)
        _assert_same(gx_outcome, sql_outcome)
        rules = {f.rule: f for f in sql_outcome.failures}
        assert "got 2" in rules["row_count"].message, case
        assert rules["expected_columns"].blocking, case
    missing = {f.rule: f.message for f in sql_outcome.failures}
    assert "could not be evaluated (no column ['period'] in stg_worldbank_wdi)" in missing["keys_not_null"]


@pytest.mark.parametrize("table", ["fct_indicator_values", "fct_aggregate_values", "dim_countries", "dim_sources",
                                   "dim_indicators"])
def test_sql_path_equals_gx_on_broken_marts(wdi_only, table):
    from pipelines.staging.reference import ref_countries
    from pipelines.validation.suites import AGGREGATE_COLUMNS, FACT_COLUMNS, mart_suite

    fact = {c: v for c, v in _frame([_row(2)]).iloc[0].to_dict().items() if c in FACT_COLUMNS}
    if table == "fct_indicator_values":
        frame = pd.DataFrame([fact, {**fact, "raw_row": "3"}, {**fact, "raw_row": "4", "iso3": "ATL"},
                              {**fact, "raw_row": "5", "iso3": None, "period": "2001"},
                              {**fact, "raw_row": "6", "source_id": "nowhere", "period": "2002"},
                              {**fact, "raw_row": "7", "value": None, "period": "2003"},
                              {**fact, "raw_row": "8", "year": current_year() + 1, "period": "2004"},
                              {**fact, "raw_row": "9", "raw_file": None, "period": "2005"},
                              {**fact, "raw_row": "10", "period": "2006"}])
        nan_rows = ("10",)
    elif table == "fct_aggregate_values":
        aggregate = {c: fact.get(c) for c in AGGREGATE_COLUMNS} | {"entity_code": "WLD", "entity_name": None,
                                                                     "recognised_by": "x", "iso3": None}
        frame = pd.DataFrame([aggregate, {**aggregate, "raw_row": "3"}, {**aggregate, "raw_row": "4", "value": None,
                                                                         "period": "2001"},
                              {**aggregate, "raw_row": "5", **{c: None for c in ("source_id", "indicator_id",
                                                               "entity_code", "entity_name", "period")}},
                              {**aggregate, "raw_row": "6", **{c: None for c in ("source_id", "indicator_id",
                                                               "entity_code", "entity_name", "period")}}])
        nan_rows = ()
    elif table == "dim_countries":
        frame = pd.DataFrame({"iso3": ["JPN", "JPN", "jp", "USA1", None], "name": ["Japan", "Japan", "x", None, "y"],
                              "wb_region": "r", "wb_income_group": "g"})
        nan_rows = ()
    elif table == "dim_sources":
        frame = pd.DataFrame({"source_id": ["a", "a", "b", "c"], "publisher": ["p", "p", None, "q"],
                              "licence": "l", "vintage": ["2024", "2024", "2025", None],
                              "n_country_values": [3, 3, 0, None]})
        nan_rows = ()
    else:
        frame = pd.DataFrame({"source_id": ["s", "s", "s", "t"], "indicator_id": ["a", "a", "b", "c"],
                              "kind": ["share_pct", "share_pct", "colour", None], "valid_min": 0.0,
                              "valid_max": [100.0, 100.0, None, None]})
        nan_rows = ()
    config = _config(row_counts={"default": {"min": 1, "max": 3}})
    spec = mart_suite(table, country_codes=sorted(ref_countries()["iso3"]), source_ids=["worldbank_wdi"],
                      config=config)
    view = table.startswith("fct_")  # as in the build warehouse
    gx_outcome, sql_outcome = _both(spec, _table(frame, table, nan_rows, view=view), table, config)
    _assert_same(gx_outcome, sql_outcome)
    assert {"unique_keys", "row_count"} <= {f.rule for f in sql_outcome.failures}
    unique = next(f for f in sql_outcome.failures if f.rule == "unique_keys")
    assert unique.count == 2  # the all-missing keys of fct_aggregate_values rows 5 and 6 are ignored, as in GX


def test_a_reviewed_exception_beyond_the_samples_is_still_accepted(wdi_only):
    """The SQL path fetches every failing row an exception covers, not only the first max_samples."""
    rows = [_row(100 + i, indicator="bx_gsr_royl_cd", iso3="BTN", period=str(1990 + i), value=-1.0)
            for i in range(20)]
    rows.append(_row(200, indicator="bx_gsr_royl_cd", iso3="GIN", period="2013", value=-5.0))
    config = _config()
    gx_outcome, sql_outcome = _both(_wdi_spec(config), _table(_frame(rows), "stg_worldbank_wdi"),
                                    "stg_worldbank_wdi", config)
    _assert_same(gx_outcome, sql_outcome)
    (failure,) = sql_outcome.failures
    assert failure.count == 20 and [s["raw_row"] for s in sql_outcome.accepted] == ["200"]


# --- what the compiler refuses -------------------------------------------------------------------------------


def test_an_expectation_the_compiler_does_not_know_raises(wdi_only):
    import great_expectations as gx
    from great_expectations import expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    from pipelines.validation.compiler import UnsupportedExpectation, compile_expectation
    from pipelines.validation.sql_runner import run_suite_sql
    from pipelines.validation.suites import SuiteSpec

    types = {"year": "BIGINT", "iso3": "VARCHAR", "value": "DOUBLE"}
    refused = [
        gxe.ExpectColumnValuesToBeIncreasing(column="year"),
        gxe.ExpectColumnValuesToNotBeNull(column="iso3", mostly=0.9),
        gxe.ExpectColumnValuesToNotBeNull(column="iso3", row_condition=Column("year") != 2020),
        gxe.ExpectColumnValuesToMatchRegex(column="year", regex="^2"),
    ]
    for expectation in refused:
        with pytest.raises(UnsupportedExpectation):
            compile_expectation(expectation, types)
    compiled = compile_expectation(gxe.ExpectColumnValuesToBeBetween(column="value", min_value=0,
                                                                     row_condition=Column("iso3").is_in(["JPN"])),
                                   types)
    assert compiled.kind == "rows" and "isnan" in compiled.failing and len(compiled.params) == 2

    connection = _table(_frame([_row(2)]), "stg_worldbank_wdi")
    spec = SuiteSpec("stg_worldbank_wdi", gx.ExpectationSuite(name="stg_worldbank_wdi", expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="iso3"), gxe.ExpectColumnValuesToBeIncreasing(column="year")]),
        ["raw_file", "raw_row"], "worldbank_wdi")
    with pytest.raises(UnsupportedExpectation, match="expect_column_values_to_be_increasing"):
        run_suite_sql(spec, connection, "stg_worldbank_wdi", config=_config())


# --- choosing the path, Data Docs and check metadata ------------------------------------------------------------------


def test_the_path_is_chosen_by_row_count(wdi_only, tmp_path, monkeypatch):
    from pipelines.defs.validation import _result
    from pipelines.validation import validate_table
    from pipelines.validation.config import load_config

    assert load_config().gx_max_rows == 250_000  # config/validation.yaml
    connection = _table(_frame([_row(2), _row(3, period="2021"), _row(4, period="2022", value=150.0)]),
                        "stg_worldbank_wdi")
    monkeypatch.setenv("AI_READINESS_GX_MAX_ROWS", "3")  # not more than 3 rows: GX on pandas
    small = validate_table(connection, "stg_worldbank_wdi", docs_dir=tmp_path / "gx", run_name="small")
    monkeypatch.setenv("AI_READINESS_GX_MAX_ROWS", "2")  # more than 2 rows: SQL in DuckDB
    large = validate_table(connection, "stg_worldbank_wdi", docs_dir=tmp_path / "sql", run_name="large")
    assert (small.validated_by, small.gx_rows) == ("gx", 3) and large.validated_by == "duckdb_sql"
    assert _comparable(small) == _comparable(large) and not large.passed
    metadata = {k: getattr(v, "value", v) for k, v in _result(large).metadata.items()}
    assert metadata["validated_by"] == "duckdb_sql" and metadata["rows_validated"] == 3
    monkeypatch.setenv("AI_READINESS_GX_MAX_ROWS", "many")
    with pytest.raises(ValueError, match="AI_READINESS_GX_MAX_ROWS"):
        validate_table(connection, "stg_worldbank_wdi")


def test_data_docs_of_the_sql_path_show_the_failing_rows_of_a_bounded_frame(wdi_only, tmp_path):
    from dataclasses import replace

    from pipelines.validation.sql_runner import run_suite_sql

    rows = [_row(2 + i, period=str(1961 + i), value=float(i)) for i in range(50)]  # 1961-2010
    rows += [_row(100, period="2019", value=150.0), _row(101, period="1999"), _row(102, period="1999")]
    config = replace(_config(), gx_sample_rows=5)
    connection = _table(_frame(rows), "stg_worldbank_wdi")
    outcome = run_suite_sql(_wdi_spec(config), connection, "stg_worldbank_wdi", config=config,
                            docs_dir=tmp_path / "docs", run_name="docs")
    assert {f.rule for f in outcome.failures} == {"value_in_valid_range", "unique_keys"}
    assert outcome.gx_rows == 5 + 3 + 1  # the first 5 rows, the 3 failing rows, the duplicate of 1999 (row 40)
    assert (tmp_path / "docs" / "index.html").is_file()
    page = "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "docs" / "validations").rglob("*.html"))
    assert "whole table (53 rows) in DuckDB SQL: 1 failing row" in page  # value_in_valid_range [0, 100]
    assert "150.0" in page  # GX's own report of the failing value, from the bounded frame
