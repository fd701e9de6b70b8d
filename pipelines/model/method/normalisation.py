"""Normalisation: put indicators on a common scale, oriented so that higher is always better.

Each method works column-wise on a country x indicator frame; NaN stays NaN. `direction` is a Series
indicator_id -> +1/-1. A constant indicator carries no information: it gets the scale's midpoint rather than
a division by zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METHODS = ("min_max", "z_score", "percentile_rank", "distance_to_frontier")


def orient(values: pd.DataFrame, direction: pd.Series) -> pd.DataFrame:
    """Multiply by the direction so that higher is better (a -1 indicator is mirrored)."""
    return values * direction.reindex(values.columns).to_numpy()


def min_max(values: pd.DataFrame, direction: pd.Series) -> pd.DataFrame:
    """100 * (x - min) / (max - min), on the oriented values: worst observed = 0, best = 100."""
    x = orient(values, direction)
    lo, span = x.min(), x.max() - x.min()
    out = 100 * (x - lo) / span.where(span > 0)
    return out.where(~(span == 0) | x.isna(), 50.0)


def z_score(values: pd.DataFrame, direction: pd.Series) -> pd.DataFrame:
    """(x - mean) / sd on the oriented values, sd with n-1 (as R's sd(), used by COINr)."""
    x = orient(values, direction)
    sd = x.std(ddof=1)
    out = (x - x.mean()) / sd.where(sd > 0)
    return out.where(~(sd == 0) | x.isna(), 0.0)


def percentile_rank(values: pd.DataFrame, direction: pd.Series) -> pd.DataFrame:
    """100 * (rank - 1) / (n - 1) with average ranks for ties: worst = 0, best = 100, median country ~ 50."""
    x = orient(values, direction)
    n = x.count()
    out = 100 * (x.rank(method="average") - 1) / (n - 1).where(n > 1)
    return out.where(~(n == 1) | x.isna(), 50.0)


def distance_to_frontier(values: pd.DataFrame, direction: pd.Series) -> pd.DataFrame:
    """Proportional distance to the best performer: 100 * x / max for +1 indicators, 100 * min / x for -1.

    The ratio only means something on a ratio scale with a positive frontier, so an indicator whose values do
    not allow it (+1 with any x < 0 or max <= 0; -1 with any x <= 0, e.g. after a log transform) falls back to
    min_max, which is the Doing-Business-style distance to frontier with the worst observed as the floor."""
    d = direction.reindex(values.columns).to_numpy()
    lo, hi = values.min().to_numpy(), values.max().to_numpy()
    ratio_ok = np.where(d > 0, (lo >= 0) & (hi > 0), lo > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(d > 0, values / hi, lo / values) * 100
    out = np.where(ratio_ok, ratio, min_max(values, direction).to_numpy())
    return pd.DataFrame(out, index=values.index, columns=values.columns)


_METHODS = {f.__name__: f for f in (min_max, z_score, percentile_rank, distance_to_frontier)}


def normalise(values: pd.DataFrame, direction: pd.Series, method: str = "min_max") -> pd.DataFrame:
    """Apply the named method (one of METHODS)."""
    if method not in _METHODS:
        raise ValueError(f"unknown normalisation {method!r}; choose from {METHODS}")
    return _METHODS[method](values, direction)
