"""Imputation of missing indicator values. Observed cells are never changed; every filled cell is flagged.

Methods:
  * "none": leave gaps; aggregation then re-normalises weights over the indicators a country has.
  * "group_median": the median of the country's peer group (e.g. income group) for that indicator; if the
    group has no observed value, or the country has no group, the median of all countries.
  * "pillar_regression": for indicator j in pillar p, regress j (as given: treated, unnormalised) on m = the
    mean of the country's OTHER observed indicators of p after direction-aware min-max normalisation (so they
    share a scale and a sense). Fit by OLS on countries observing j and at least one other indicator of p;
    predict where j is missing, clipped to j's observed range (a straight line can extrapolate to impossible
    values, e.g. negative shares). Falls back to group_median for a cell when the country observes no other
    indicator of p, and for the whole indicator when the pillar has no other indicator, fewer than
    `min_fit` fitting countries, or no spread in m.
Imputation uses observed values only: an imputed value never feeds another imputation.

Domains and bounds (config/framework.yaml): a cell of a `binary` (0/1 fact) or `year` indicator is never filled,
whatever the method: a median of neighbours is no membership and no year (0.5, 2020.5). It stays unknown, the pillar
is scored from what is observed, and the cell's method says why. A censored cell (`upper_bounds`: the value is
known to lie in [0, bound)) is filled by the method and then kept inside its bound.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.model.method.framework import as_framework, check_columns
from pipelines.model.method.normalisation import min_max

METHODS = ("none", "group_median", "pillar_regression")
UNFILLABLE_DOMAINS = {"binary": "not imputed: unknown 0/1 fact", "year": "not imputed: unknown year"}
WITHIN_BOUND = " within censoring bound"


def group_median_fill(values: pd.DataFrame, groups: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-cell fill values (computed for every cell) and their label: the peer-group median where the group
    observes the indicator ('group_median'), else the median of all countries ('overall_median')."""
    overall = pd.DataFrame([values.median()] * len(values), index=values.index)
    if groups is None:
        by_group = overall * np.nan
    else:
        by_group = values.groupby(groups.reindex(values.index)).transform("median").reindex(values.index)
    label = pd.DataFrame("overall_median", index=values.index, columns=values.columns).mask(by_group.notna(), "group_median")
    return by_group.fillna(overall), label


def other_indicator_mean(normed: pd.DataFrame, pillar: pd.Series) -> pd.DataFrame:
    """For every cell (country, j): mean of the country's observed normalised indicators in j's pillar,
    excluding j itself (NaN if there are none). Vectorised: (pillar sum - own value) / (pillar count - own)."""
    x = normed.to_numpy(dtype=float)
    seen = ~np.isnan(x)
    filled = np.where(seen, x, 0.0)
    codes = pd.factorize(pillar.reindex(normed.columns))[0]
    same = (codes[:, None] == codes[None, :]).astype(float)  # indicator x indicator: same pillar
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (filled @ same - filled) / (seen @ same - seen)
    return pd.DataFrame(mean, index=normed.index, columns=normed.columns)


def regression_fill(values: pd.DataFrame, framework, min_fit: int = 5) -> pd.DataFrame:
    """Per-cell predictions from the pillar regression (NaN where it cannot predict; see module doc)."""
    m_all = other_indicator_mean(min_max(values, framework.direction), framework.pillar)
    fill = pd.DataFrame(np.nan, index=values.index, columns=values.columns)
    for code in values.columns:
        m, y = m_all[code].to_numpy(), values[code].to_numpy(dtype=float)
        fit = ~np.isnan(m) & ~np.isnan(y)
        if fit.sum() < min_fit or np.ptp(m[fit]) == 0:
            continue  # includes single-indicator pillars: m is all NaN
        slope, intercept = np.polyfit(m[fit], y[fit], 1)
        fill[code] = np.clip(intercept + slope * m, np.nanmin(y), np.nanmax(y))
    return fill


def impute_with_methods(
    values: pd.DataFrame, method: str = "group_median", groups: pd.Series | None = None, framework=None,
    min_fit: int = 5, domains: pd.Series | None = None, upper_bounds: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Like `impute`, plus a frame naming how each imputed cell was filled (None for observed cells):
    'group_median', 'overall_median' or 'pillar_regression' (+ ' within censoring bound'), or why an unknown
    cell was left unfilled ('not imputed: ...'). `domains`: indicator -> continuous | binary | year;
    `upper_bounds`: per cell, the censoring bound (NaN = none)."""
    if method not in METHODS:
        raise ValueError(f"unknown imputation {method!r}; choose from {METHODS}")
    missing = values.isna()
    how = pd.DataFrame(None, index=values.index, columns=values.columns, dtype=object)
    unfillable = pd.DataFrame(False, index=values.index, columns=values.columns)
    if domains is not None:
        for code in values.columns:
            reason = UNFILLABLE_DOMAINS.get(domains.get(code, "continuous"))
            if reason is not None:
                unfillable[code] = missing[code]
                how[code] = how[code].mask(missing[code], reason)
    if method == "none":
        return values.copy(), missing & False, how
    filled = values.copy()
    if method == "pillar_regression":
        if framework is None:
            raise ValueError("pillar_regression needs the framework")
        framework = as_framework(framework)
        check_columns(values, framework)
        predicted = regression_fill(values, framework, min_fit)
        use = missing & predicted.notna() & ~unfillable
        filled = filled.mask(use, predicted)
        how = how.mask(use, "pillar_regression")
    median, label = group_median_fill(values, groups)
    use = filled.isna() & median.notna() & ~unfillable
    filled = filled.mask(use, median)
    how = how.mask(use, label)
    if upper_bounds is not None:
        bound = upper_bounds.reindex_like(values)
        bounded = missing & bound.notna() & filled.notna()
        filled = filled.mask(bounded & (filled > bound), bound)
        how = how.mask(bounded, how.astype("string") + WITHIN_BOUND)
    return filled, missing & filled.notna(), how


def impute(
    values: pd.DataFrame, method: str = "group_median", groups: pd.Series | None = None, framework=None,
    min_fit: int = 5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill missing cells. Returns (values with gaps filled, boolean mask: True exactly where a value was
    imputed). `groups`: Series iso3 -> peer group. `framework` is needed for pillar_regression."""
    filled, mask, _ = impute_with_methods(values, method, groups, framework, min_fit)
    return filled, mask
