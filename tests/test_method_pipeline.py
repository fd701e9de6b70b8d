import numpy as np
import pandas as pd
import pytest

from pipelines.model.method import MethodConfig, run_pipeline
from pipelines.model.method.synthetic import synthetic_panel


@pytest.fixture(scope="module")
def panel():
    values, fw, groups = synthetic_panel(80, 24, 6, missing=0.1, seed=11)
    values = values.copy()
    values.loc[values.index[:40], "ind05"] = np.nan  # 50% coverage: screened out
    return values, fw, groups


@pytest.fixture(scope="module")
def result(panel):
    values, fw, groups = panel
    return run_pipeline(values, fw, MethodConfig(mc_draws=200), groups)


def test_defaults():
    c = MethodConfig()
    assert (c.min_indicator_coverage, c.imputation, c.treat_outliers, c.normalisation, c.weights, c.aggregation,
            c.mc_draws, c.mc_seed) == (0.65, "group_median", True, "min_max", "equal", "arithmetic", 1000, 20261128)
    with pytest.raises(ValueError):
        MethodConfig(normalisation="magic")


def test_screening_and_treatment_tables(result):
    assert "ind05" in set(result.dropped["entity"]) and "ind05" not in result.raw.columns
    assert set(result.treatment["indicator_id"]) == set(result.raw.columns)
    assert (result.treatment["treatment"] != "none").any()  # the log-normal indicators get treated


def test_cells_flag_imputed_and_keep_observed(result):
    cells = result.cells
    assert len(cells) == result.raw.size
    observed = cells["treated"].notna()
    assert (cells["imputed"] == ~observed).all()  # group_median fills every gap here
    assert (cells.loc[observed, "value"] == cells.loc[observed, "treated"]).all()
    assert cells.loc[cells["imputed"], "imputation_method"].notna().all()


def test_scores_ranks_and_uncertainty_agree(result):
    comp = result.composite.set_index("iso3")
    assert comp["rank"].min() == 1 and comp["score"].between(0, 100).all()
    assert (comp["coverage"] <= 1).all() and (comp["coverage"] < 1).any()
    assert set(result.pillars["pillar"]) == set(result.framework.pillars)
    w = result.weights_table
    assert np.isclose(w.loc[w["level"] == "pillar", "weight"].sum(), 1)
    bands = result.uncertainty.bands
    nominal = bands[bands["scope"] == "composite"].set_index("iso3")["nominal_rank"]
    pd.testing.assert_series_equal(nominal, comp["rank"], check_names=False)  # MC nominal == pipeline
    pillar_nominal = bands[bands["scope"] == "P2"].set_index("iso3")["nominal_rank"]
    pd.testing.assert_series_equal(pillar_nominal, result.pillars.query("pillar == 'P2'").set_index("iso3")["rank"],
                                   check_names=False)


@pytest.mark.parametrize("normalisation", ["z_score", "percentile_rank", "distance_to_frontier"])
@pytest.mark.parametrize("weights", ["expert", "pca"])
@pytest.mark.parametrize("aggregation", ["geometric"])
def test_every_choice_runs(panel, normalisation, weights, aggregation):
    values, fw, groups = panel
    out = run_pipeline(values, fw, MethodConfig(normalisation=normalisation, weights=weights,
                                                aggregation=aggregation, imputation="pillar_regression",
                                                mc_draws=0), groups)
    assert out.uncertainty is None
    assert out.composite["score"].notna().all()


def test_no_imputation_no_treatment(panel):
    values, fw, groups = panel
    out = run_pipeline(values, fw, MethodConfig(imputation="none", treat_outliers=False, mc_draws=50), groups)
    assert not out.imputed_mask.any().any()
    assert (out.treatment["treatment"] == "off").all()
    bands = out.uncertainty.bands
    nominal = bands[bands["scope"] == "composite"].set_index("iso3")["nominal_rank"]
    pd.testing.assert_series_equal(nominal, out.composite.set_index("iso3")["rank"], check_names=False)
