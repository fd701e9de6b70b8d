"""Absence as data: structural zeros from exhaustive lists, censored cells, and imputation inside a fact's domain."""

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.base.warehouse import build_table
from pipelines.model.framework import load_framework
from pipelines.model.method import MethodConfig, run_pipeline
from pipelines.model.method.framework import Framework
from pipelines.model.method.imputation import impute_with_methods
from pipelines.model.method.outliers import log_transform, treat_like
from pipelines.model.method.screening import screen_indicators

NAN = np.nan


# --- method: domains, bounds, screening ---------------------------------------------------------------------------

def _policy_values() -> pd.DataFrame:
    # three countries in one income group; C's membership and strategy year are unknown
    return pd.DataFrame({"member": [1.0, 0.0, NAN], "year": [2017.0, 2024.0, NAN], "share": [10.0, 30.0, NAN]},
                        index=list("ABC"))


def test_binary_and_year_cells_are_never_imputed_and_say_why():
    groups = pd.Series("g", index=list("ABC"))
    domains = pd.Series({"member": "binary", "year": "year", "share": "continuous"})
    filled, mask, how = impute_with_methods(_policy_values(), "group_median", groups, domains=domains)
    # without domains the median would be 0.5 and 2020.5: values neither fact can take
    assert np.isnan(filled.loc["C", "member"]) and np.isnan(filled.loc["C", "year"])
    assert how.loc["C", "member"] == "not imputed: unknown 0/1 fact"
    assert how.loc["C", "year"] == "not imputed: unknown year"
    assert not mask.loc["C", "member"] and not mask.loc["C", "year"]
    assert filled.loc["C", "share"] == 20.0 and mask.loc["C", "share"]


def test_censored_cell_is_imputed_inside_its_bound():
    values = pd.DataFrame({"devs": [50.0, 70.0, NAN, NAN]}, index=list("ABCD"))
    bounds = pd.DataFrame({"devs": [NAN, NAN, 40.0, 90.0]}, index=list("ABCD"))
    filled, mask, how = impute_with_methods(values, "group_median", None, upper_bounds=bounds)
    assert filled.loc["C", "devs"] == 40.0  # median 60 is above C's bound: the bound holds
    assert filled.loc["D", "devs"] == 60.0  # below D's bound: the median stands
    assert how.loc["C", "devs"] == "overall_median within censoring bound"
    assert mask.loc[["C", "D"], "devs"].all() and not mask.loc[["A", "B"], "devs"].any()


def test_screening_counts_known_cells_as_observed():
    values = pd.DataFrame({"x": [1.0, NAN, NAN, NAN]}, index=list("ABCD"))
    known = pd.DataFrame({"x": [False, True, True, False]}, index=list("ABCD"))
    kept, dropped = screen_indicators(values, 0.65)
    assert "x" not in kept.columns and dropped["coverage"].iloc[0] == 0.25
    kept, dropped = screen_indicators(values, 0.65, known)
    assert "x" in kept.columns and dropped.empty


def test_treat_like_carries_a_bound_through_winsorising_and_log():
    observed = pd.Series([1.0, 2.0, 3.0, 100.0])
    bound = pd.Series([50.0, 0.5])
    clipped = treat_like(bound, observed, {"treatment": "winsorised", "win_lower": NAN, "win_upper": 3.0})
    assert clipped.tolist() == [3.0, 0.5]
    logged = treat_like(bound, observed, {"treatment": "log"})
    x = observed.to_numpy()
    assert logged.iloc[0] == pytest.approx(np.log(50.0 - 1.0 + 0.99))
    assert logged.iloc[1] == pytest.approx(log_transform(x).min())  # below the observed minimum: becomes it
    assert treat_like(bound, observed, {"treatment": "none"}).tolist() == bound.tolist()


def test_pipeline_scores_a_pillar_from_what_is_observed_when_a_fact_is_unknown():
    fw = Framework.from_dict({"indicators": {"member": {"pillar": "gov"}, "share": {"pillar": "gov"},
                                             "other": {"pillar": "use"}}})
    values = pd.DataFrame({"member": [1.0, 0.0, 1.0, NAN], "share": [10.0, 30.0, 20.0, 40.0],
                           "other": [1.0, 2.0, 3.0, 4.0]}, index=list("ABCD"))
    config = MethodConfig(min_indicator_coverage=0.5, min_country_coverage=0.5, treat_outliers=False, mc_draws=0)
    result = run_pipeline(values, fw, config, domains=pd.Series({"member": "binary"}))
    cell = result.cells.set_index(["iso3", "indicator_id"]).loc[("D", "member")]
    assert np.isnan(cell["value"]) and cell["imputation_method"] == "not imputed: unknown 0/1 fact"
    d_gov = result.pillars.set_index(["iso3", "pillar"]).loc[("D", "gov"), "score"]
    assert d_gov == pytest.approx(100.0)  # scored from `share` alone, the highest (40 -> 100 after min-max)
    assert set(result.imputed["member"].dropna()) <= {0.0, 1.0}


# --- SQL: structural zeros and censored cells in the annual view ---------------------------------------------------

def _warehouse(framework_rows: list[dict], facts: list[tuple], universe: list[str]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    facts_frame = pd.DataFrame(facts, columns=["source_id", "indicator_id", "source_code", "iso3", "year", "period",
                                               "value", "raw_file", "raw_row"])
    ref = pd.DataFrame(framework_rows)
    connection.register("facts_in", facts_frame)
    connection.register("ref_in", ref)
    connection.execute("CREATE TABLE fct_indicator_values AS SELECT * FROM facts_in")
    connection.execute("CREATE TABLE ref_framework AS SELECT * FROM ref_in")
    connection.execute("CREATE TABLE ref_universe AS SELECT unnest(?) AS iso3", [universe])
    return connection


def _spec(key, source_id, indicator_id, absence, censored_below=None):
    return {"key": key, "source_id": source_id, "indicator_id": indicator_id, "absence": absence,
            "censored_below": censored_below}


def test_lists_emit_structural_zeros_per_period_and_censored_cells():
    top = "top500/raw/TOP500_202411.csv"
    facts = [
        # TOP500: JPN in both lists of 2024, USA only in June: absent from the November list -> zero in November
        ("top500", "rmax", "Rmax", "JPN", 2024, "2024-H1", 5.0, "top500/raw/TOP500_202406.csv", "3"),
        ("top500", "rmax", "Rmax", "USA", 2024, "2024-H1", 9.0, "top500/raw/TOP500_202406.csv", "2"),
        ("top500", "rmax", "Rmax", "JPN", 2024, "2024-H2", 6.0, top, "4"),
        # Epoch (annual): records in 2021 and 2023 only; 2022 is inside the list's span
        ("epoch", "models", "models", "USA", 2021, "2021", 3.0, "epoch/raw/models.csv", "7"),
        ("epoch", "models", "models", "USA", 2023, "2023", 1.0, "epoch/raw/models.csv", "9"),
        # GitHub: DEU withheld (< 100)
        ("github", "devs", "devs", "USA", 2025, "2025-Q3", 500.0, "github/raw/topics.csv", "11"),
        # a missing-means-missing series: no rows emitted for absent countries
        ("wdi", "share", "share", "USA", 2024, "2024", 50.0, "wdi/raw/x.csv", "1"),
    ]
    connection = _warehouse(
        [_spec("rmax", "top500", "rmax", "zero"), _spec("models", "epoch", "models", "zero"),
         _spec("devs", "github", "devs", "censored", 100.0), _spec("share", "wdi", "share", "missing")],
        facts, ["JPN", "USA", "DEU"])
    build_table(connection, "intermediate", "int_indicator_values_annual")
    rows = connection.execute(
        "SELECT indicator_id, iso3, year, period, value, raw_file, raw_row, is_structural_zero, is_censored, "
        "censored_below FROM int_indicator_values_annual").df().set_index(["indicator_id", "iso3", "year"])
    usa = rows.loc[("rmax", "USA", 2024)]
    assert usa["period"] == "2024-H2" and usa["value"] == 0.0 and usa["is_structural_zero"]
    assert usa["raw_file"] == top and pd.isna(usa["raw_row"])  # lineage: the list it is absent from
    assert not rows.loc[("rmax", "JPN", 2024), "is_structural_zero"]
    assert rows.loc[("rmax", "DEU", 2024), "value"] == 0.0
    for iso3 in ("JPN", "USA", "DEU"):  # 2022: inside the span, nobody listed
        assert rows.loc[("models", iso3, 2022), "is_structural_zero"]
    assert rows.loc[("models", "USA", 2021), "value"] == 3.0
    assert ("models", "JPN", 2020) not in rows.index  # before the list's first year: not covered
    deu = rows.loc[("devs", "DEU", 2025)]
    assert deu["is_censored"] and pd.isna(deu["value"]) and deu["censored_below"] == 100.0
    assert not deu["is_structural_zero"]
    assert ("share", "DEU", 2024) not in rows.index and ("share", "JPN", 2024) not in rows.index


def test_framework_declares_absence_for_every_exhaustive_list():
    indicators = load_framework().indicators.set_index("key")
    for key in ("top500_rmax_per_million", "ai_compute_h100e_per_million", "notable_ai_models",
                "ai_safety_institute_network"):
        assert indicators.loc[key, "absence"] == "zero" and indicators.loc[key, "absence_basis"]
    assert indicators.loc["ai_developers_per_million", "absence"] == "censored"
    assert indicators.loc["ai_developers_per_million", "censored_below"] == 100
    assert indicators.loc["national_ai_strategy_year", "domain"] == "year"
    for key in ("gpai_member", "comprehensive_ai_law", "ai_safety_institute_network"):
        assert indicators.loc[key, "domain"] == "binary"


def test_framework_refuses_an_inconsistent_absence(tmp_path):
    text = (load_framework.__globals__["FRAMEWORK_FILE"]).read_text(encoding="utf-8")
    bad = text.replace("    absence: censored\n    censored_below: 100\n", "    absence: censored\n", 1)
    path = tmp_path / "framework.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ValueError, match="censored_below"):
        load_framework(path)


# --- the real build ------------------------------------------------------------------------------------------------

def test_build_keeps_exhaustive_lists_and_counts_compute_for_japan(published_db):
    dropped = {r[0] for r in published_db.execute(
        "SELECT entity FROM mart_screening WHERE kind = 'indicator'").fetchall()}
    exhaustive = {k for k, a in load_framework().indicators.set_index("key")["absence"].items() if a == "zero"}
    assert not dropped & exhaustive
    compute = published_db.execute(
        "SELECT indicator_key, weight_in_pillar FROM mart_indicator_scores WHERE iso3 = 'JPN' "
        "AND indicator_key IN ('top500_rmax_per_million', 'ai_compute_h100e_per_million')").fetchall()
    assert len(compute) == 2 and all(w > 0 for _, w in compute)


def test_build_flags_structural_zeros_with_list_lineage(published_db):
    rows = published_db.execute(
        "SELECT raw_file, raw_row, value_used, denominated_value, lineage_note, cell_status FROM mart_indicator_scores "
        "WHERE is_structural_zero").fetchall()
    assert rows
    for raw_file, raw_row, _, denominated, note, status in rows:
        assert raw_file and raw_row is None and denominated == 0.0
        assert note.startswith("not in list") and status == "structural zero"


def test_build_imputes_no_policy_fact_outside_its_domain(published_db):
    bad = published_db.execute(
        "SELECT indicator_key, iso3, value_used FROM mart_indicator_scores "
        "WHERE indicator_key IN ('gpai_member', 'comprehensive_ai_law', 'ai_safety_institute_network') "
        "AND value_used NOT IN (0, 1) "
        "UNION ALL SELECT indicator_key, iso3, value_used FROM mart_indicator_scores "
        "WHERE indicator_key = 'national_ai_strategy_year' AND value_used <> round(value_used) "
        "AND outlier_treatment NOT IN ('log')").fetchall()
    assert bad == []
    unknown = published_db.execute(
        "SELECT count(*) FROM mart_indicator_scores WHERE cell_status = 'unknown, not imputed' AND imputed").fetchone()
    assert unknown[0] == 0


def test_build_censored_github_cells_stay_inside_their_bound(published_db):
    rows = published_db.execute(
        "SELECT denominated_value, censored_bound, imputed, imputation_method, treated_value, value_used, "
        "outlier_treatment FROM mart_indicator_scores WHERE is_censored").fetchall()
    assert rows
    for denominated, bound, imputed, method, _, used, treatment in rows:
        assert denominated is None and bound > 0 and imputed and method.endswith("within censoring bound")
        if treatment in ("none", "categorical", "insufficient_data"):
            assert used <= bound + 1e-9


def test_screening_names_taiwans_missing_denominators(published_db):
    row = published_db.execute(
        "SELECT missing_denominators FROM mart_screening WHERE entity = 'TWN' LIMIT 1").fetchone()
    assert row is not None and "population (worldbank_wdi SP.POP.TOTL)" in row[0]
    assert "GDP (worldbank_wdi NY.GDP.MKTP.CD)" in row[0]
