"""Aggregation: indicator scores -> pillar scores -> composite score, and ranks.

Missing values: weights are re-normalised over what a country has (a pillar score is the weighted mean of
its available indicators); `coverage` records the share of the pillar's nominal weight that was OBSERVED
(imputed cells count as available for the score but not as observed for coverage).

Geometric mean: needs strictly positive inputs, and normalised scores can be 0 (min_max, percentile) or
negative (z_score). Rule: within the block being aggregated (one pillar's indicator scores across all
countries; or all pillar scores) shift by c = max(0, 1 - min), so the lowest score becomes 1, take the
weighted geometric mean, and subtract c again. One shift per block keeps the scores' relative spacing,
keeps the result on the input scale, and guarantees geometric <= arithmetic (AM-GM).

The numpy core `weighted_means` handles many weight draws at once; the Monte Carlo uses the same function,
so its nominal run reproduces these results exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.model.method.framework import as_framework

METHODS = ("arithmetic", "geometric")


def geometric_shift(x: np.ndarray) -> np.ndarray:
    """c = max(0, 1 - min) over the last two axes (countries x items): per draw if x is (n, C, K)."""
    with np.errstate(all="ignore"):
        lo = np.nanmin(np.where(np.isnan(x), np.inf, x), axis=(-2, -1))
    return np.maximum(0.0, 1.0 - np.where(np.isfinite(lo), lo, 1.0))


def weighted_means(x: np.ndarray, w: np.ndarray, method: str = "arithmetic") -> np.ndarray:
    """Weighted means over the last axis, re-normalising weights over non-NaN entries.

    x: (C, K) shared by all draws, or (n, C, K) one matrix per draw; w: (n, K). Returns (n, C); NaN where a
    country has nothing to aggregate."""
    if method not in METHODS:
        raise ValueError(f"unknown aggregation {method!r}; choose from {METHODS}")
    available = ~np.isnan(x)
    if method == "geometric":
        c = geometric_shift(x)
        terms = np.log(np.where(available, x + c[..., None, None], 1.0))
    else:
        terms = np.where(available, x, 0.0)
    weights = w[:, :, None]  # (n, K, 1): batched matrix product over draws
    numerator = (terms @ weights)[..., 0]
    denominator = (available.astype(float) @ weights)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(denominator > 0, numerator / denominator, np.nan)
    if method == "geometric":
        mean = np.exp(mean) - np.reshape(c, (-1, 1))
    return mean


def weighted_mean(scores: pd.DataFrame, weights: pd.Series, method: str = "arithmetic",
                  observed: pd.DataFrame | None = None) -> tuple[pd.Series, pd.Series]:
    """Row-wise weighted mean of `scores` (pandas wrapper of weighted_means) and coverage: the share of the
    total weight whose cells are observed (`observed` mask, default: non-NaN)."""
    w = weights.reindex(scores.columns).to_numpy(dtype=float)
    mean = weighted_means(scores.to_numpy(dtype=float), w[None, :], method)[0]
    seen = (scores.notna() if observed is None else observed.reindex_like(scores).fillna(False)).to_numpy(float)
    coverage = np.minimum(seen @ w / w.sum(), 1.0)  # clip summation-order rounding (1 + 1e-16)
    return pd.Series(mean, index=scores.index), pd.Series(coverage, index=scores.index)


def pillar_scores(scores: pd.DataFrame, weights: pd.Series, framework, method: str = "arithmetic",
                  observed: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Country x pillar scores and coverage from normalised indicator scores and indicator weights."""
    framework = as_framework(framework).subset(scores.columns)
    out, cov = {}, {}
    for p in framework.pillars:
        cols = framework.members(p)
        out[p], cov[p] = weighted_mean(scores[cols], weights[cols], method,
                                       None if observed is None else observed[cols])
    return _frame(out, scores.index), _frame(cov, scores.index)


def composite_scores(pillars: pd.DataFrame, pillar_weights: pd.Series, method: str = "arithmetic",
                     pillar_coverage: pd.DataFrame | None = None) -> tuple[pd.Series, pd.Series]:
    """Composite score from pillar scores; coverage = pillar-weighted mean of pillar coverage (the share of
    the index's total weight that was observed)."""
    score, _ = weighted_mean(pillars, pillar_weights, method)
    if pillar_coverage is None:
        pillar_coverage = pillars.notna().astype(float)
    w = pillar_weights.reindex(pillars.columns)
    coverage = (pillar_coverage[pillars.columns].fillna(0.0) @ w / w.sum()).clip(upper=1.0)
    return score.rename("score"), coverage.rename("coverage")


def rank(scores: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Rank within each column: 1 = best (highest score), ties share the best rank ('min'), NaN unranked."""
    return scores.rank(ascending=False, method="min")


def _frame(columns: dict, index: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame(columns, index=index)
    out.columns.name = "pillar"
    return out
