"""Outlier treatment, following COINr's default Treat() process.

Statistics (as COINr's skew()/kurt(), copied from e1071 type 2 = Excel SKEW/KURT):
  * skewness: sample-adjusted Fisher-Pearson G1 = g1 * sqrt(n(n-1)) / (n-2);
  * kurtosis: bias-corrected EXCESS kurtosis G2 = ((n+1) g2 + 6)(n-1) / ((n-2)(n-3)), where g2 = m4/m2^2 - 3,
    so a normal distribution scores ~0, not 3. The 3.5 threshold is therefore on excess kurtosis.
Rule (COINr check_SkewKurt): an indicator fails iff |skew| >= 2 AND kurtosis >= 3.5.
Process per indicator (observed values only):
  1. if it passes, leave it;
  2. else winsorise one extreme at a time: the maximum if current skew >= 0, else the minimum, is set to the
     next value in (ties move together), until the rule passes or `winmax` points have been changed;
  3. if it still fails, discard the winsorisation and log-transform the ORIGINAL values instead (COINr's
     default f2 = log_CT, combine_treat = FALSE): log(x - min + 0.01 (max - min)).
     Deviation from COINr: a negatively skewed indicator gets the mirrored transform
     -log(max - x + 0.01 (max - min)); plain log_CT would worsen a left skew. Both keep the order of values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RECORD_COLUMNS = [
    "indicator_id", "n_obs", "skew_before", "kurt_before", "flagged", "treatment", "n_winsorised",
    "win_lower", "win_upper", "skew_after", "kurt_after", "flagged_after",
]


def skewness(x: np.ndarray) -> float:
    """Sample-adjusted skewness G1 (e1071 type 2, Excel SKEW); NaN below 3 points or for a constant series."""
    n = len(x)
    if n < 3:
        return np.nan
    d = x - x.mean()
    m2 = np.mean(d**2)
    if m2 == 0:
        return np.nan
    g1 = np.mean(d**3) / m2**1.5
    return g1 * np.sqrt(n * (n - 1)) / (n - 2)


def kurtosis(x: np.ndarray) -> float:
    """Bias-corrected EXCESS kurtosis G2 (e1071 type 2, Excel KURT); NaN below 4 points or if constant."""
    n = len(x)
    if n < 4:
        return np.nan
    d = x - x.mean()
    m2 = np.mean(d**2)
    if m2 == 0:
        return np.nan
    g2 = np.mean(d**4) / m2**2 - 3
    return ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3))


def has_outliers(x: np.ndarray, skew_thresh: float = 2.0, kurt_thresh: float = 3.5) -> bool:
    """COINr's check: fails iff |skew| >= skew_thresh and kurtosis >= kurt_thresh (NaN stats pass)."""
    return bool(abs(skewness(x)) >= skew_thresh and kurtosis(x) >= kurt_thresh)


def winsorise(
    x: np.ndarray, skew_thresh: float = 2.0, kurt_thresh: float = 3.5, winmax: int = 5
) -> tuple[np.ndarray, int]:
    """Winsorise extremes one at a time from the skewed side until the rule passes or `winmax` points changed.
    Returns (winsorised copy, number of points changed)."""
    original, x = x, x.copy()
    n_win = 0
    while has_outliers(x, skew_thresh, kurt_thresh) and n_win < winmax:
        extreme = x == (x.max() if skewness(x) >= 0 else x.min())
        if extreme.all():
            break
        x[extreme] = x[~extreme].max() if skewness(x) >= 0 else x[~extreme].min()
        n_win = int((x != original).sum())  # tied extremes move together, so count changed cells
    return x, n_win


def log_transform(x: np.ndarray) -> np.ndarray:
    """COINr log_CT, mirrored for a negative skew (see module doc); order of values is preserved."""
    lo, hi = x.min(), x.max()
    a = 0.01 * (hi - lo)
    if skewness(x) >= 0:
        return np.log(x - lo + a)
    return -np.log(hi - x + a)


MAX_CATEGORICAL_LEVELS = 3


def treat_series(
    series: pd.Series, skew_thresh: float = 2.0, kurt_thresh: float = 3.5, winmax: int = 5, fallback: str | None = "log"
) -> tuple[pd.Series, dict]:
    """Treat one indicator (NaN untouched). Returns (treated series, record dict with RECORD_COLUMNS)."""
    observed = series.dropna()
    x = observed.to_numpy(dtype=float)
    sk, ku = skewness(x), kurtosis(x)
    record = dict(indicator_id=series.name, n_obs=len(x), skew_before=sk, kurt_before=ku, treatment="none",
                  n_winsorised=0, win_lower=np.nan, win_upper=np.nan)
    flagged = has_outliers(x, skew_thresh, kurt_thresh)
    if np.isnan(sk) or np.isnan(ku):
        record["treatment"] = "insufficient_data"
    elif len(np.unique(x)) <= MAX_CATEGORICAL_LEVELS:
        # A 0/1 flag (or 3-level code) is skewed whenever one level is rare: winsorising would erase the rare
        # level, so categorical indicators are never treated.
        flagged, record["treatment"] = False, "categorical"
    treated = x
    if flagged:
        winsorised, n_win = winsorise(x, skew_thresh, kurt_thresh, winmax)
        if not has_outliers(winsorised, skew_thresh, kurt_thresh) or fallback is None:
            treated = winsorised
            record.update(treatment="winsorised", n_winsorised=n_win)
            if (winsorised > x).any():
                record["win_lower"] = winsorised.min()
            if (winsorised < x).any():
                record["win_upper"] = winsorised.max()
        elif fallback == "log":
            treated = log_transform(x)
            record["treatment"] = "log"
        else:
            raise ValueError(f"unknown fallback {fallback!r}")
    record.update(flagged=flagged, skew_after=skewness(treated), kurt_after=kurtosis(treated),
                  flagged_after=has_outliers(treated, skew_thresh, kurt_thresh))
    out = series.astype(float).copy()
    out.loc[observed.index] = treated
    return out, record


def treat_outliers(
    values: pd.DataFrame, skew_thresh: float = 2.0, kurt_thresh: float = 3.5, winmax: int = 5, fallback: str | None = "log"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Treat every indicator column. Returns (treated values, per-indicator record table)."""
    columns, records = {}, []
    for code in values.columns:
        columns[code], record = treat_series(values[code], skew_thresh, kurt_thresh, winmax, fallback)
        records.append(record)
    treated = pd.DataFrame(columns, index=values.index)
    treated.columns.name = values.columns.name
    return treated, pd.DataFrame(records, columns=RECORD_COLUMNS)


def untreated_record(values: pd.DataFrame) -> pd.DataFrame:
    """The record when treatment is switched off: statistics only, treatment 'off'."""
    rows = []
    for code in values.columns:
        x = values[code].dropna().to_numpy(dtype=float)
        sk, ku = skewness(x), kurtosis(x)
        flagged = has_outliers(x)
        rows.append(dict(indicator_id=code, n_obs=len(x), skew_before=sk, kurt_before=ku, flagged=flagged,
                         treatment="off", n_winsorised=0, win_lower=np.nan, win_upper=np.nan,
                         skew_after=sk, kurt_after=ku, flagged_after=flagged))
    return pd.DataFrame(rows, columns=RECORD_COLUMNS)


def treat_like(new: pd.Series, observed: pd.Series, record: dict) -> pd.Series:
    """Values outside the observed set (e.g. a censoring bound) carried through the treatment `record` gave the
    `observed` values, so they stay comparable with them: winsorising clips to the same limits; the log
    transform uses the observed minimum, maximum and skew (a value below the observed minimum becomes it)."""
    treatment = record.get("treatment")
    out = new.astype(float)
    if treatment == "winsorised":
        lower = record.get("win_lower")
        upper = record.get("win_upper")
        return out.clip(lower=None if pd.isna(lower) else lower, upper=None if pd.isna(upper) else upper)
    if treatment == "log":
        x = observed.dropna().to_numpy(dtype=float)
        lo, hi = x.min(), x.max()
        a = 0.01 * (hi - lo)
        if skewness(x) >= 0:
            return np.log(out.clip(lower=lo) - lo + a)
        return -np.log(hi - out.clip(upper=hi) + a)
    return out


def treat_bounds(bounds: pd.DataFrame, observed: pd.DataFrame, record: pd.DataFrame) -> pd.DataFrame:
    """`treat_like` for every indicator column of `bounds` (NaN where a cell has no bound)."""
    by_indicator = record.set_index("indicator_id").to_dict("index")
    out = bounds.astype(float).copy()
    for code in bounds.columns:
        if code in by_indicator and bounds[code].notna().any():
            out[code] = treat_like(bounds[code], observed[code], by_indicator[code]).where(bounds[code].notna())
    return out
