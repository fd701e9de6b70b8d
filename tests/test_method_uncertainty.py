import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from pipelines.model.method.synthetic import synthetic_panel
from pipelines.model.method.uncertainty import (
    Scenario,
    UncertaintyChoices,
    monte_carlo_ranks,
    perturb,
    rank_draws,
)


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel(60, 18, 3, missing=0.1, seed=5)


@pytest.fixture(scope="module")
def result(panel):
    values, fw, groups = panel
    return monte_carlo_ranks(values, fw, n_draws=300, seed=7, groups=groups)


def test_same_seed_same_output_other_seed_differs(panel, result):
    values, fw, groups = panel
    again = monte_carlo_ranks(values, fw, n_draws=300, seed=7, groups=groups)
    pd.testing.assert_frame_equal(result.bands, again.bands)
    pd.testing.assert_frame_equal(result.draws, again.draws)
    other = monte_carlo_ranks(values, fw, n_draws=300, seed=8, groups=groups)
    assert not other.bands.equals(result.bands)


def test_bands_shape_and_nominal_inside_band(panel, result):
    values, fw, _ = panel
    bands = result.bands
    assert set(bands["scope"]) == {"P1", "P2", "P3", "composite"}
    assert len(bands) == len(values) * 4
    assert (bands["p05_rank"] <= bands["median_rank"]).all() and (bands["median_rank"] <= bands["p95_rank"]).all()
    inside = (bands["nominal_rank"] >= bands["p05_rank"]) & (bands["nominal_rank"] <= bands["p95_rank"])
    assert inside.mean() > 0.9


def test_draws_sample_every_choice(result):
    draws = result.draws
    assert len(draws) == 300
    assert set(draws["normalisation"]) == {"min_max", "z_score", "percentile_rank", "distance_to_frontier"}
    assert set(draws["aggregation"]) == {"arithmetic", "geometric"} and set(draws["imputation"]) == {True, False}


def test_no_variation_means_bands_collapse_on_nominal(panel):
    values, fw, groups = panel
    fixed = UncertaintyChoices(normalisations=("z_score",), aggregations=("geometric",), imputation=(True,),
                               weight_perturbation="none")
    out = monte_carlo_ranks(values, fw, n_draws=20, choices=fixed, groups=groups,
                            nominal=Scenario("z_score", "geometric", True)).bands
    assert (out["p05_rank"] == out["nominal_rank"]).all() and (out["p95_rank"] == out["nominal_rank"]).all()


@pytest.mark.parametrize("kind", ["dirichlet", "uniform"])
def test_perturbed_weights_sum_to_one_per_group_around_nominal(kind):
    nominal = np.array([0.5, 0.25, 0.25, 1.0])
    groups = np.array([0, 0, 0, 1])
    w = perturb(nominal, groups, 4000, np.random.default_rng(0), UncertaintyChoices(weight_perturbation=kind))
    assert np.allclose(w[:, :3].sum(axis=1), 1) and np.allclose(w[:, 3], 1)
    assert np.allclose(w.mean(axis=0), nominal, atol=0.01)
    assert w[:, 0].std() > 0.01


def test_rank_draws_matches_scipy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 15, (40, 50, 3)).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    expected = rankdata(-x, method="min", axis=1, nan_policy="omit")
    np.testing.assert_array_equal(rank_draws(x), expected)


def test_bad_choices_rejected():
    with pytest.raises(ValueError):
        UncertaintyChoices(normalisations=("magic",))
