"""The coherence audit's estimators on cases with answers worked out by hand."""

import numpy as np
import pandas as pd
import pytest

from pipelines.model.method.audit import (
    AuditConfig, correlation_table, coverage_table, cronbach_alpha, first_component, pillar_summary,
)


def test_cronbach_alpha_hand_example():
    # item variances 1 and 1; item sums 2, 5, 5 have variance 3: alpha = 2/1 * (1 - 2/3) = 2/3
    items = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 3.0, 2.0]})
    assert cronbach_alpha(items) == pytest.approx(2 / 3)


def test_cronbach_alpha_parallel_items_one_uncorrelated_zero_and_incomplete_rows_left_out():
    x = pd.Series([1.0, 4.0, 2.0, 8.0])
    assert cronbach_alpha(pd.DataFrame({"a": x, "b": x + 3, "c": x - 1})) == pytest.approx(1.0)
    orthogonal = pd.DataFrame({"a": [1.0, 1.0, -1.0, -1.0], "b": [1.0, -1.0, 1.0, -1.0]})
    assert cronbach_alpha(orthogonal) == pytest.approx(0.0)
    with_gap = pd.DataFrame({"a": [1.0, 2.0, 3.0, 9.0], "b": [1.0, 3.0, 2.0, np.nan]})
    assert cronbach_alpha(with_gap) == pytest.approx(2 / 3)  # the row with a gap is not used
    assert np.isnan(cronbach_alpha(pd.DataFrame({"a": [1.0, 2.0]})))  # one item: undefined


def test_alpha_is_negative_for_items_pulling_apart():
    a = pd.Series([1.0, 2.0, 3.0, 4.0])
    assert cronbach_alpha(pd.DataFrame({"a": a, "b": -a + 0.1 * np.array([1, -1, 1, -1])})) < 0


def test_first_component_share_constructed_correlation_matrix():
    # a and b perfectly correlated, c orthogonal to both: correlation eigenvalues 2, 1, 0 -> share 2/3
    a = np.array([1.0, -1.0, 1.0, -1.0])
    items = pd.DataFrame({"a": a, "b": 2 * a + 3, "c": [1.0, 1.0, -1.0, -1.0]})
    eigenvalue, share = first_component(items)
    assert eigenvalue == pytest.approx(2.0) and share == pytest.approx(2 / 3)
    # k independent-looking items can't do better than 1/k, k identical ones give 1
    x = pd.Series([3.0, 1.0, 4.0, 1.5, 9.0])
    assert first_component(pd.DataFrame({"a": x, "b": 5 * x, "c": x - 2}))[1] == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    noise = pd.DataFrame(rng.normal(size=(400, 4)))
    assert 0.25 <= first_component(noise)[1] < 0.35
    assert np.isnan(first_component(pd.DataFrame({"a": x, "b": [1.0] * 5}))[1])  # a constant item


def _panel():
    base = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    normalised = pd.DataFrame({
        "x1": base, "x2": base * 2 + np.array([0, 0.01, 0, -0.01, 0, 0]),  # redundant with x1
        "x3": base[::-1] + np.array([0.5, -0.5, 0.5, -0.5, 0.5, -0.5]),  # pulls against x1, x2
        "y1": [3.0, 1.0, 2.0, 6.0, 5.0, 4.0], "y2": [2.0, 1.0, 3.0, 5.0, 6.0, 4.0],
    }, index=pd.Index([f"C{i}" for i in range(6)], name="iso3"))
    pillar_of = pd.Series({"x1": "P", "x2": "P", "x3": "P", "y1": "Q", "y2": "Q"})
    pillars = pd.DataFrame({"P": normalised[["x1", "x2", "x3"]].mean(axis=1),
                            "Q": normalised[["y1", "y2"]].mean(axis=1)})
    return normalised, pillars, pillars.mean(axis=1), pillar_of


def test_correlations_flag_negative_and_redundant_pairs_and_weak_indicators():
    normalised, pillars, composite, pillar_of = _panel()
    table = correlation_table(normalised, pillars, composite, pillar_of, AuditConfig())
    within = table[table["kind"] == "within_pillar"].set_index(["item_a", "item_b"])
    assert within.loc[("x1", "x2"), "flag"] == "redundant" and within.loc[("x1", "x2"), "r"] > 0.99
    assert within.loc[("x1", "x3"), "flag"] == "negative" and within.loc[("x2", "x3"), "flag"] == "negative"
    assert within.loc[("x1", "x2"), "r"] == pytest.approx(np.corrcoef(normalised["x1"], normalised["x2"])[0, 1])
    assert set(table["kind"]) == {"within_pillar", "indicator_pillar", "indicator_composite", "pillar_composite"}
    assert len(table[table["kind"] == "within_pillar"]) == 3 + 1  # pairs: 3 in P, 1 in Q
    own = table[table["kind"] == "indicator_pillar"].set_index("item_a")
    assert own.loc["x3", "flag"] == "negative"  # x3 runs against its own pillar score


def test_pillar_summary_rows_and_flags():
    normalised, pillars, composite, pillar_of = _panel()
    table = correlation_table(normalised, pillars, composite, pillar_of, AuditConfig())
    summary = pillar_summary(normalised, pillars, pillar_of, table, AuditConfig()).set_index("pillar")
    assert list(summary.index) == ["P", "Q", "composite"]
    assert summary.loc["P", "n_items"] == 3 and summary.loc["P", "n_negative_pairs"] == 2
    assert summary.loc["P", "n_redundant_pairs"] == 1
    assert summary.loc["P", "cronbach_alpha"] == pytest.approx(cronbach_alpha(normalised[["x1", "x2", "x3"]]))
    assert "negatively correlated" in summary.loc["P", "flags"] and "redundant" in summary.loc["P", "flags"]
    assert summary.loc["composite", "n_items"] == 2
    assert (summary["cronbach_alpha"].dropna() <= 1).all()


def test_coverage_counts_imputed_and_structural_zero_cells_and_tolerates_no_zero_column():
    cells = pd.DataFrame({
        "iso3": ["A", "A", "B", "B"], "key": ["k1", "k2", "k1", "k2"], "pillar": ["P", "Q", "P", "Q"],
        "value": [1.0, 0.0, 2.0, np.nan], "imputed": [False, False, True, False],
    })
    without = coverage_table(cells).set_index(["scope", "iso3", "key", "pillar"])
    assert without.loc[("country", "B", np.nan, np.nan), ["n_observed", "n_imputed", "n_missing"]].tolist() == [0, 1, 1]
    assert without["n_structural_zero"].sum() == 0
    with_zero = coverage_table(cells.assign(is_structural_zero=[False, True, False, False]))
    by_key = with_zero[with_zero["scope"] == "indicator"].set_index("key")
    assert by_key.loc["k2", "n_structural_zero"] == 1 and by_key.loc["k2", "share_structural_zero"] == 0.5
    assert by_key.loc["k1", "share_imputed"] == 0.5
    assert (with_zero["n_cells"] == with_zero[["n_observed", "n_imputed", "n_structural_zero", "n_missing"]]
            .sum(axis=1)).all()
    assert set(with_zero["scope"]) == {"country", "indicator", "country_pillar"}
