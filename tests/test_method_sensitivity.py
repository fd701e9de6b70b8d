"""Sobol sensitivity of ranks: SALib's estimators on the Ishigami function (analytic indices), the weight
transform against the Dirichlet it stands for, and the index runs against run_pipeline."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipelines.model.method import MethodConfig, run_pipeline
from pipelines.model.method.sensitivity import (
    INPUTS, SensitivityConfig, dirichlet_weights, indicator_removal, salib_problem, sobol_indices, sobol_sample,
    sobol_rank_sensitivity,
)
from pipelines.model.method.synthetic import synthetic_panel

# Ishigami, a = 7, b = 0.1 (Ishigami & Homma 1990; Saltelli et al. 2008): V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2,
# V1 = (1 + b pi^4/5)^2 / 2, V2 = a^2/8, V13 = b^2 pi^8 (1/18 - 1/50), V3 = 0.
A, B = 7.0, 0.1
V1 = (1 + B * np.pi**4 / 5) ** 2 / 2
V2 = A**2 / 8
V13 = B**2 * np.pi**8 * (1 / 18 - 1 / 50)
V = V1 + V2 + V13


def ishigami(u: np.ndarray) -> np.ndarray:
    x = -np.pi + 2 * np.pi * u  # SALib samples U(0,1); the function's inputs are U(-pi, pi)
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_estimators_recover_ishigami_analytic_indices():
    problem = salib_problem(["x1", "x2", "x3"], ["x1", "x2", "x3"])
    u = sobol_sample(problem, 2**13, seed=7)
    assert u.shape == (2**13 * 5, 3)
    got = sobol_indices(problem, ishigami(u), resamples=50, seed=7).set_index("input")
    expected_s1 = {"x1": V1 / V, "x2": V2 / V, "x3": 0.0}  # 0.314, 0.442, 0
    expected_st = {"x1": (V1 + V13) / V, "x2": V2 / V, "x3": V13 / V}  # 0.558, 0.442, 0.244
    for name in ("x1", "x2", "x3"):
        assert got.loc[name, "s1"] == pytest.approx(expected_s1[name], abs=0.03)
        assert got.loc[name, "st"] == pytest.approx(expected_st[name], abs=0.03)
        assert 0 < got.loc[name, "st_conf"] < 0.05


def test_grouped_inputs_get_the_group_index():
    # x1 and x3 as one group: its S1 = S1 + S3 + S13 = its ST = 1 - S2 (x2 does not interact)
    problem = salib_problem(["x1", "x2", "x3"], ["g13", "x2", "g13"])
    u = sobol_sample(problem, 2**13, seed=3)
    assert u.shape == (2**13 * 4, 3)
    got = sobol_indices(problem, ishigami(u), resamples=50, seed=3).set_index("input")
    assert list(got.index) == ["g13", "x2"]
    assert got.loc["g13", "s1"] == pytest.approx((V1 + V13) / V, abs=0.03)
    assert got.loc["g13", "st"] == pytest.approx((V1 + V13) / V, abs=0.03)
    assert got.loc["x2", "s1"] == pytest.approx(V2 / V, abs=0.03)


def test_constant_output_has_no_indices():
    problem = salib_problem(["x1", "x2"], ["x1", "x2"])
    got = sobol_indices(problem, np.ones(len(sobol_sample(problem, 64, seed=1))))
    assert got[["s1", "st"]].isna().all().all()


def test_quantile_weights_are_dirichlet_draws_around_the_nominal_weights():
    rng = np.random.default_rng(5)
    nominal = np.array([0.5, 0.3, 0.2, 0.6, 0.4])
    groups = np.array([0, 0, 0, 1, 1])
    k = 50.0
    w = dirichlet_weights(rng.random((20000, 5)), nominal, groups, k)
    assert np.allclose(w[:, :3].sum(axis=1), 1) and np.allclose(w[:, 3:].sum(axis=1), 1)
    assert w.mean(axis=0) == pytest.approx(nominal, abs=0.005)
    # Dirichlet(k * w) within a group: var = w (1 - w) / (k + 1)
    assert w.var(axis=0) == pytest.approx(nominal * (1 - nominal) / (k + 1), rel=0.08)


@pytest.fixture(scope="module")
def panel():
    values, fw, groups = synthetic_panel(40, 12, 4, missing=0.1, seed=3)
    values = values.copy()
    values.loc[values.index[:5], "ind07"] = np.nan  # 67.5 % coverage: kept at 0.6 and 0.65, not at 0.7
    return values, fw, groups


SMALL = SensitivityConfig(base_samples=64, screening_thresholds=(0.6, 0.65, 0.7))


@pytest.mark.parametrize("config", [
    MethodConfig(mc_draws=0),
    MethodConfig(mc_draws=0, imputation="pillar_regression", normalisation="z_score", aggregation="geometric",
                 treat_outliers=False),
])
def test_nominal_run_reproduces_the_index(panel, config):
    values, fw, groups = panel
    result = sobol_rank_sensitivity(values, fw, config, "C005", groups, SMALL)
    published = run_pipeline(values, fw, config, groups).composite.set_index("iso3")["rank"]
    nominal = result.outputs.set_index("output").loc["focus_rank", "nominal"]
    assert nominal == published["C005"]
    assert set(result.indices["input"]) == set(INPUTS) and len(result.runs) == 64 * (len(INPUTS) + 2)
    levels = result.levels.groupby("input")["n_runs"].sum()
    assert (levels == len(result.runs)).all()  # each input's levels split the runs


def test_only_the_varied_choice_explains_the_variance(panel):
    values, fw, groups = panel
    # every input fixed but normalisation (weights all but fixed by a huge concentration): S1 = ST = 1 for it
    settings = SensitivityConfig(base_samples=128, aggregations=("arithmetic",), imputations=("group_median",),
                                 outlier_treatment=(True,), screening_thresholds=(0.65,),
                                 dirichlet_concentration=1e9)
    config = MethodConfig(mc_draws=0)
    focus = _a_country_whose_rank_moves(values, fw, config, groups)
    result = sobol_rank_sensitivity(values, fw, config, focus, groups, settings)
    got = result.indices[result.indices["output"] == "focus_rank"].set_index("input")
    assert got.loc["normalisation", "s1"] == pytest.approx(1.0, abs=0.05)
    assert got.loc["normalisation", "st"] == pytest.approx(1.0, abs=0.05)
    for name in ("aggregation", "imputation", "outlier_treatment", "screening_threshold", "weights"):
        assert abs(got.loc[name, "st"]) < 0.02


def _a_country_whose_rank_moves(values, fw, config, groups):
    ranks = pd.DataFrame({n: run_pipeline(values, fw, replace(config, normalisation=n), groups)
                          .composite.set_index("iso3")["rank"] for n in ("min_max", "percentile_rank", "z_score")})
    return str((ranks.max(axis=1) - ranks.min(axis=1)).idxmax())


def test_same_seed_same_indices(panel):
    values, fw, groups = panel
    a = sobol_rank_sensitivity(values, fw, MethodConfig(mc_draws=0), "C010", groups, SMALL)
    b = sobol_rank_sensitivity(values, fw, MethodConfig(mc_draws=0), "C010", groups, SMALL)
    pd.testing.assert_frame_equal(a.indices, b.indices)


@pytest.mark.parametrize("imputation", ["group_median", "pillar_regression"])
def test_indicator_removal_is_the_index_without_that_indicator(panel, imputation):
    values, fw, groups = panel
    config = MethodConfig(mc_draws=0, imputation=imputation)
    table = indicator_removal(values, fw, config, "C003", groups).set_index("key")
    base = run_pipeline(values, fw, config, groups)
    assert set(table.index) == set(base.raw.columns)
    fixed = replace(config, min_indicator_coverage=0, min_country_coverage=0, min_pillars=0)
    for key in ("ind00", "ind03"):
        rest = base.raw.drop(columns=key)
        expected = run_pipeline(rest, fw.subset(rest.columns), fixed, groups.reindex(rest.index)).composite
        expected = expected.set_index("iso3")
        assert table.loc[key, "rank_without"] == expected.loc["C003", "rank"]
        assert table.loc[key, "score_without"] == pytest.approx(expected.loc["C003", "score"])
    assert (table["nominal_rank"] == base.composite.set_index("iso3").loc["C003", "rank"]).all()


def test_config_is_validated():
    with pytest.raises(ValueError, match="power of 2"):
        SensitivityConfig(base_samples=500)
    with pytest.raises(ValueError, match="normalisations"):
        SensitivityConfig(normalisations=("magic",))


def test_screening_threshold_changes_the_indicators_scored(panel):
    from pipelines.model.method.sensitivity import Preprocessor

    values, fw, groups = panel
    pre = Preprocessor(values, fw, MethodConfig(mc_draws=0), groups)
    assert "ind07" in pre.screened(0.65)[1] and "ind07" not in pre.screened(0.7)[1]
    result = sobol_rank_sensitivity(values, fw, MethodConfig(mc_draws=0), "C010", groups, SMALL)
    at = result.runs.groupby("screening_threshold")["focus_rank"].nunique()
    assert list(at.index) == [0.6, 0.65, 0.7]
