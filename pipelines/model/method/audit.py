"""Statistical coherence audit of the index, as the JRC's Competence Centre on Composite Indicators (COIN) audits
a composite (and COINr's get_cronbach, get_PCA, get_corr): is each pillar internally consistent, does one
dimension dominate it, do indicators agree with their pillar, and how much of the data is imputed?

All statistics are computed on the NOMINAL index's normalised indicator scores (after imputation, oriented so
that higher is better), pillar scores and composite scores, over complete cases. Pearson correlations and
p-values come from scipy.stats.pearsonr, eigenvalues from numpy.linalg.eigvalsh. Cronbach's alpha is the textbook
formula (three pandas variances; no light, well-kept library provides it: pingouin pulls in statsmodels and
scikit-learn for one line): alpha = k / (k - 1) * (1 - sum of item variances / variance of the item sum).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

COMPOSITE = "composite"


@dataclass(frozen=True)
class AuditConfig:
    """Thresholds of the audit's flags (config/method.yaml `audit`)."""

    redundant_abs_r: float = 0.92  # |r| above: two indicators measure the same thing (JRC COIN)
    weak_r: float = 0.3  # indicator-to-pillar r below: the indicator hardly reflects its pillar
    min_alpha: float = 0.7  # Cronbach's alpha below: the pillar is not internally consistent (Nunnally)

    def __post_init__(self) -> None:
        if not 0 < self.redundant_abs_r <= 1 or not -1 <= self.weak_r <= 1 or not self.min_alpha <= 1:
            raise ValueError(f"audit thresholds out of range: {self}")


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of the columns of `items` over complete rows (sample variances, ddof = 1); NaN with fewer
    than 2 items or 2 complete rows, or when the item sum does not vary."""
    complete = items.dropna()
    k = items.shape[1]
    if k < 2 or len(complete) < 2:
        return float("nan")
    total = complete.sum(axis=1).var(ddof=1)
    if not total > 0:
        return float("nan")
    return float(k / (k - 1) * (1 - complete.var(ddof=1).sum() / total))


def first_component(items: pd.DataFrame) -> tuple[float, float]:
    """(eigenvalue, share of the total variance) of the first principal component of the correlation matrix of
    `items` (complete rows, i.e. standardised indicators); NaN with fewer than 2 items or 3 rows, or a constant
    item."""
    complete = items.dropna()
    if items.shape[1] < 2 or len(complete) < 3 or (complete.std(ddof=1) == 0).any():
        return float("nan"), float("nan")
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(complete.to_numpy(dtype=float), rowvar=False))
    return float(eigenvalues[-1]), float(eigenvalues[-1] / eigenvalues.sum())


def pearson(a: pd.Series, b: pd.Series) -> tuple[float, float, int]:
    """(r, two-sided p-value, n) over the rows where both are present (scipy.stats.pearsonr); NaN with fewer than
    3 pairs or a constant side."""
    from scipy.stats import pearsonr

    both = pd.concat([a, b], axis=1).dropna()
    n = len(both)
    if n < 3 or (both.std(ddof=1) == 0).any():
        return float("nan"), float("nan"), n
    result = pearsonr(both.iloc[:, 0], both.iloc[:, 1])
    return float(result.statistic), float(result.pvalue), n


CORRELATION_COLUMNS = ["kind", "pillar", "item_a", "item_b", "r", "p_value", "n", "flag"]


def correlation_table(normalised: pd.DataFrame, pillar_scores: pd.DataFrame, composite: pd.Series,
                      pillar_of: pd.Series, config: AuditConfig = AuditConfig()) -> pd.DataFrame:
    """Long table of correlations: `within_pillar` (every pair of indicators of a pillar, flagged `negative` or
    `redundant`), `indicator_pillar` (indicator vs its pillar score, flagged `weak` or `negative`),
    `indicator_composite` and `pillar_composite`. Rows are countries in every argument."""
    rows = []
    pillars = list(dict.fromkeys(pillar_of.reindex(normalised.columns)))
    for pillar in pillars:
        members = [c for c in normalised.columns if pillar_of[c] == pillar]
        for pair in pair_correlations(normalised[members], config).itertuples(index=False):
            rows.append(("within_pillar", pillar, pair.item_a, pair.item_b, pair.r, pair.p_value, pair.n, pair.flag))
        for a in members:
            r, p, n = pearson(normalised[a], pillar_scores[pillar])
            flag = "negative" if r < 0 else "weak" if r < config.weak_r else None
            rows.append(("indicator_pillar", pillar, a, pillar, r, p, n, flag))
    for a in normalised.columns:
        r, p, n = pearson(normalised[a], composite)
        rows.append(("indicator_composite", pillar_of[a], a, COMPOSITE, r, p, n, "negative" if r < 0 else None))
    for pillar in pillar_scores.columns:
        r, p, n = pearson(pillar_scores[pillar], composite)
        rows.append(("pillar_composite", pillar, pillar, COMPOSITE, r, p, n, "negative" if r < 0 else None))
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


def pair_correlations(items: pd.DataFrame, config: AuditConfig = AuditConfig()) -> pd.DataFrame:
    """r of every pair of columns of `items`, flagged `negative` or `redundant` (|r| above the threshold)."""
    pairs = pd.DataFrame([(a, b, *pearson(items[a], items[b])) for a, b in combinations(items.columns, 2)],
                         columns=["item_a", "item_b", "r", "p_value", "n"])
    pairs["flag"] = [("negative" if r < 0 else "redundant" if abs(r) > config.redundant_abs_r else None)
                     for r in pairs["r"]]
    return pairs


def pillar_summary(normalised: pd.DataFrame, pillar_scores: pd.DataFrame, pillar_of: pd.Series,
                   correlations: pd.DataFrame, config: AuditConfig = AuditConfig()) -> pd.DataFrame:
    """One row per pillar, and one for the composite (its items are the pillar scores): number of items, complete
    rows, Cronbach's alpha, first principal component (eigenvalue, share of variance), range of the pairwise
    correlations and counts of flagged pairs, weakest indicator-to-pillar r, pillar-to-composite r, and the flags
    in words. `correlations`: correlation_table's output."""
    blocks = [(p, normalised[[c for c in normalised.columns if pillar_of[c] == p]]) for p in pillar_scores.columns]
    rows = []
    for name, items in [*blocks, (COMPOSITE, pillar_scores)]:
        pairs = pair_correlations(items, config)
        own = correlations[(correlations["kind"] == "indicator_pillar") & (correlations["pillar"] == name)]
        to_composite = correlations[(correlations["kind"] == "pillar_composite") & (correlations["item_a"] == name)]
        eigenvalue, share = first_component(items)
        row = {
            "pillar": name, "n_items": items.shape[1], "n_complete": int(len(items.dropna())),
            "cronbach_alpha": cronbach_alpha(items), "first_pc_eigenvalue": eigenvalue, "first_pc_share": share,
            "min_r": float(pairs["r"].min()) if len(pairs) else np.nan,
            "max_r": float(pairs["r"].max()) if len(pairs) else np.nan,
            "n_negative_pairs": int((pairs["flag"] == "negative").sum()),
            "n_redundant_pairs": int((pairs["flag"] == "redundant").sum()),
            "min_indicator_pillar_r": float(own["r"].min()) if len(own) else np.nan,
            "pillar_composite_r": float(to_composite["r"].iloc[0]) if len(to_composite) else np.nan,
        }
        row["flags"] = "; ".join(_pillar_flags(row, own, config)) or None
        rows.append(row)
    return pd.DataFrame(rows)


def _pillar_flags(row: dict, own: pd.DataFrame, config: AuditConfig) -> list[str]:
    flags = []
    if row["n_items"] < 2:
        flags.append("single indicator: consistency cannot be assessed")
    elif row["cronbach_alpha"] < config.min_alpha:
        flags.append(f"Cronbach's alpha {row['cronbach_alpha']:.2f} below {config.min_alpha:g}")
    if row["n_negative_pairs"]:
        flags.append(f"{row['n_negative_pairs']} negatively correlated pair(s)")
    if row["n_redundant_pairs"]:
        flags.append(f"{row['n_redundant_pairs']} redundant pair(s) (|r| > {config.redundant_abs_r:g})")
    weak = own[own["flag"].isin(["weak", "negative"])]
    if len(weak):
        flags.append(f"{len(weak)} indicator(s) weakly related to the pillar (r < {config.weak_r:g})")
    return flags


CELL_FLAGS = ("imputed", "is_structural_zero")


def cell_status(cells: pd.DataFrame) -> pd.DataFrame:
    """cells (iso3, key, pillar, value, imputed[, is_structural_zero]) with one `status` per cell: imputed,
    structural_zero, missing (no value used) or observed. A table without `is_structural_zero` (built before
    structural zeros existed) has none."""
    frame = cells.copy()
    zero = frame["is_structural_zero"] if "is_structural_zero" in frame else pd.Series(False, index=frame.index)
    imputed = frame["imputed"].astype("boolean").fillna(False).astype(bool)
    zero = zero.astype("boolean").fillna(False).astype(bool)
    frame["status"] = np.select([imputed, zero, frame["value"].isna()], ["imputed", "structural_zero", "missing"],
                                "observed")
    return frame


COVERAGE_SCOPES = {"country": ["iso3"], "indicator": ["key", "pillar"], "country_pillar": ["iso3", "pillar"]}


def coverage_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Counts and shares of observed, imputed, structural-zero and missing cells per country, per indicator and
    per country x pillar (scope), from the nominal index's cells."""
    frame = cell_status(cells)
    counts = pd.get_dummies(frame["status"]).reindex(
        columns=["observed", "imputed", "structural_zero", "missing"], fill_value=False).astype(int)
    frame = pd.concat([frame[["iso3", "key", "pillar"]], counts], axis=1)
    parts = []
    for scope, keys in COVERAGE_SCOPES.items():
        grouped = frame.groupby(keys, sort=True)[list(counts.columns)].sum().reset_index()
        grouped.insert(0, "scope", scope)
        parts.append(grouped)
    table = pd.concat(parts, ignore_index=True).reindex(
        columns=["scope", "iso3", "key", "pillar", "observed", "imputed", "structural_zero", "missing"])
    table = table.rename(columns={c: f"n_{c}" for c in ("observed", "imputed", "structural_zero", "missing")})
    table["n_cells"] = table[["n_observed", "n_imputed", "n_structural_zero", "n_missing"]].sum(axis=1)
    table["share_imputed"] = table["n_imputed"] / table["n_cells"]
    table["share_structural_zero"] = table["n_structural_zero"] / table["n_cells"]
    return table
