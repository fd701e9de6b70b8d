import numpy as np
import pandas as pd
import pytest

from pipelines.model.method.framework import Framework
from pipelines.model.method.weights import compute_weights, equal_weights, expert_weights, pca_weights

FW = Framework.from_dict({
    "indicators": {"a": {"pillar": "P1", "weight": 2}, "b": {"pillar": "P1", "weight": 1}, "c": {"pillar": "P1"},
                   "d": {"pillar": "P2", "weight": 5}},
    "pillars": {"P1": 3, "P2": 1},
})


def _sums_to_one(w):
    sums = w.indicator.groupby(FW.pillar).sum()
    assert np.allclose(sums, 1) and w.pillar.sum() == pytest.approx(1)


def test_equal():
    w = equal_weights(FW)
    _sums_to_one(w)
    assert w.indicator.to_dict() == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3, "d": 1})
    assert w.pillar.to_dict() == {"P1": 0.5, "P2": 0.5}


def test_expert_missing_weight_counts_as_one():
    w = expert_weights(FW)
    _sums_to_one(w)
    assert w.indicator.to_dict() == pytest.approx({"a": 0.5, "b": 0.25, "c": 0.25, "d": 1})
    assert w.pillar.to_dict() == {"P1": 0.75, "P2": 0.25}


def test_pca_two_indicators_split_evenly_and_noise_gets_least():
    rng = np.random.default_rng(0)
    f = rng.normal(size=100)
    scores = pd.DataFrame({"a": f + 0.1 * rng.normal(size=100), "b": f + 0.1 * rng.normal(size=100),
                           "c": rng.normal(size=100), "d": rng.normal(size=100)})
    w = pca_weights(scores, FW)
    _sums_to_one(w)
    assert w.indicator["c"] < 0.1 < w.indicator["a"]
    assert w.indicator["d"] == 1  # single-indicator pillar
    two = pca_weights(scores[["a", "c", "d"]], FW.subset(["a", "c", "d"]))
    assert two.indicator[["a", "c"]].tolist() == pytest.approx([0.5, 0.5])  # 2x2 correlation: PC1 = (1,1)/sqrt 2


def test_pca_needs_scores_and_unknown_method():
    with pytest.raises(ValueError):
        compute_weights("pca", FW)
    with pytest.raises(ValueError):
        compute_weights("magic", FW)
