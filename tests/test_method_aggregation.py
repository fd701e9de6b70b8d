import numpy as np
import pandas as pd
import pytest

from pipelines.model.method.aggregation import composite_scores, pillar_scores, rank, weighted_mean, weighted_means
from pipelines.model.method.framework import Framework

NAN = np.nan
FW = Framework.from_dict({"indicators": {"a": {"pillar": "P1"}, "b": {"pillar": "P1"}, "c": {"pillar": "P2"}}})


def test_arithmetic_renormalises_over_available_and_records_coverage():
    scores = pd.DataFrame({"a": [0, 60.0], "b": [100, NAN], "c": [50, 40.0]}, index=["X", "Y"])
    w = pd.Series({"a": 0.75, "b": 0.25, "c": 1.0})
    p, cov = pillar_scores(scores, w, FW)
    assert p.loc["X"].tolist() == [25, 50]
    assert p.loc["Y", "P1"] == 60  # only a observed: weight renormalised to 1
    assert cov.loc["Y", "P1"] == 0.75 and cov.loc["X", "P1"] == 1
    comp, comp_cov = composite_scores(p, pd.Series({"P1": 0.5, "P2": 0.5}), pillar_coverage=cov)
    assert comp.tolist() == [37.5, 50] and comp_cov.tolist() == [1, 0.875]


def test_coverage_counts_observed_not_imputed():
    scores = pd.DataFrame({"a": [10.0], "b": [20.0]})
    observed = pd.DataFrame({"a": [True], "b": [False]})
    _, cov = weighted_mean(scores, pd.Series({"a": 0.5, "b": 0.5}), observed=observed)
    assert cov.tolist() == [0.5]


def test_geometric_hand_example_and_bound():
    scores = pd.DataFrame({"a": [0.0, 100.0], "b": [100.0, 100.0]})
    geo, _ = weighted_mean(scores, pd.Series({"a": 0.5, "b": 0.5}), "geometric")
    assert geo.tolist() == pytest.approx([np.sqrt(1 * 101) - 1, 100])  # shift +1, mean, shift back
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal(size=(30, 5)))  # z-scores: negative values
    w = pd.Series(rng.random(5))
    assert (weighted_mean(x, w, "geometric")[0] <= weighted_mean(x, w)[0] + 1e-12).all()


def test_batched_core_matches_one_draw_at_a_time():
    rng = np.random.default_rng(2)
    x = rng.random((20, 4)) * 100
    x[rng.random(x.shape) < 0.2] = NAN
    w = rng.random((3, 4))
    for method in ("arithmetic", "geometric"):
        batched = weighted_means(x, w, method)
        for d in range(3):
            single = weighted_mean(pd.DataFrame(x), pd.Series(w[d]), method)[0].to_numpy()
            np.testing.assert_allclose(batched[d], single)


def test_rank_best_is_one_ties_min():
    assert rank(pd.Series([10, 30, 30, 20, NAN])).tolist()[:4] == [4, 1, 1, 3]
    assert np.isnan(rank(pd.Series([1.0, NAN])).iloc[1])
