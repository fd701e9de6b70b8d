"""Composite-indicator method, COINr-style: each step a small pure function on pandas objects, every choice
a field of MethodConfig. No I/O here: the Dagster assets feed in values and write out the returned tables.

Order in run_pipeline (and why):
  1. screen indicators, then countries (screening.py);
  2. treat outliers on OBSERVED values only (outliers.py), so the treatment record never depends on
     imputed values and regression imputation is not driven by outliers;
  3. impute (imputation.py); imputed cells are flagged all the way to the cell table;
  4. normalise, direction-aware (normalisation.py);
  5. weights (weights.py) -> pillar scores -> composite (aggregation.py), with ranks;
  6. Monte Carlo rank bands around that nominal result (uncertainty.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from pipelines.model.method import aggregation, imputation, normalisation, weights
from pipelines.model.method.aggregation import composite_scores, pillar_scores, rank
from pipelines.model.method.framework import Framework, as_framework, check_columns
from pipelines.model.method.imputation import impute_with_methods
from pipelines.model.method.normalisation import normalise
from pipelines.model.method.outliers import treat_bounds, treat_outliers, untreated_record
from pipelines.model.method.screening import screen_countries, screen_indicators
from pipelines.model.method.uncertainty import MonteCarloResult, Scenario, UncertaintyChoices, monte_carlo_ranks
from pipelines.model.method.weights import Weights, compute_weights

__all__ = ["Framework", "MethodConfig", "PipelineResult", "UncertaintyChoices", "run_pipeline"]


@dataclass(frozen=True)
class MethodConfig:
    """Every methodological choice of the index, with its default."""

    min_indicator_coverage: float = 0.65  # share of countries an indicator must cover
    min_country_coverage: float = 0.65  # share of indicators a country must cover
    min_pillars: int | None = None  # pillars a country must observe; None = all
    imputation: str = "group_median"  # none | group_median | pillar_regression
    treat_outliers: bool = True
    skew_threshold: float = 2.0
    kurtosis_threshold: float = 3.5  # excess kurtosis, as COINr
    winsorise_max: int = 5
    outlier_fallback: str | None = "log"  # if winsorising fails; None keeps the winsorised values
    normalisation: str = "min_max"  # min_max | z_score | percentile_rank | distance_to_frontier
    weights: str = "equal"  # equal | expert | pca
    aggregation: str = "arithmetic"  # arithmetic | geometric
    mc_draws: int = 1000  # 0 skips the Monte Carlo
    mc_seed: int = 20261128
    mc_choices: UncertaintyChoices = field(default_factory=UncertaintyChoices)

    def __post_init__(self) -> None:
        for name, allowed in (("imputation", imputation.METHODS), ("normalisation", normalisation.METHODS),
                              ("weights", weights.METHODS), ("aggregation", aggregation.METHODS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PipelineResult:
    """Every intermediate. Wide frames are iso3 x indicator_id (or pillar); tidy tables feed the marts."""

    config: MethodConfig
    framework: Framework  # after screening
    dropped: pd.DataFrame  # entity, kind, rule, coverage, n_pillars, threshold, reason
    raw: pd.DataFrame  # screened input values
    treated: pd.DataFrame  # after outlier treatment
    treatment: pd.DataFrame  # per-indicator outlier record
    imputed: pd.DataFrame  # treated + imputed cells: the values that are normalised
    imputed_mask: pd.DataFrame  # True exactly where a cell was imputed
    normalised: pd.DataFrame
    weights: Weights
    pillar_scores: pd.DataFrame
    pillar_coverage: pd.DataFrame
    cells: pd.DataFrame  # iso3, indicator_id, pillar, raw, treated, imputed, imputation_method, value, normalised
    pillars: pd.DataFrame  # iso3, pillar, score, coverage, rank
    composite: pd.DataFrame  # iso3, score, coverage, rank
    weights_table: pd.DataFrame  # level (indicator|pillar), id, pillar, weight
    uncertainty: MonteCarloResult | None  # .bands: iso3, scope, nominal/median/p05/p95 rank; .draws


def _long(frame: pd.DataFrame, name: str, columns: str) -> pd.Series:
    return frame.rename_axis(index="iso3", columns=columns).stack().rename(name)


def cell_table(raw, treated, imputed, mask, how, normalised, framework: Framework) -> pd.DataFrame:
    """One row per country x indicator: raw, treated, imputed flag (+ how), value used, normalised score."""
    cells = pd.concat(
        [_long(raw, "raw", "indicator_id"), _long(treated, "treated", "indicator_id"),
         _long(mask, "imputed", "indicator_id"), _long(how, "imputation_method", "indicator_id"),
         _long(imputed, "value", "indicator_id"), _long(normalised, "normalised", "indicator_id")], axis=1,
    ).reset_index()
    cells.insert(2, "pillar", cells["indicator_id"].map(framework.pillar))
    return cells


def weights_table(w: Weights, framework: Framework) -> pd.DataFrame:
    indicator = pd.DataFrame({"level": "indicator", "id": w.indicator.index,
                              "pillar": framework.pillar.reindex(w.indicator.index).to_numpy(),
                              "weight": w.indicator.to_numpy()})
    pillar = pd.DataFrame({"level": "pillar", "id": w.pillar.index, "pillar": w.pillar.index,
                           "weight": w.pillar.to_numpy()})
    return pd.concat([indicator, pillar], ignore_index=True)


def run_pipeline(values: pd.DataFrame, framework, config: MethodConfig = MethodConfig(),
                 groups: pd.Series | None = None, upper_bounds: pd.DataFrame | None = None,
                 domains: pd.Series | None = None) -> PipelineResult:
    """Chain every step on `values` (iso3 x indicator_id, latest denominated values, NaN = missing).
    `groups`: iso3 -> peer group for group-median imputation (optional). `upper_bounds`: censored cells (no
    value, known to lie below the bound): they count as observed for screening and are imputed inside the bound.
    `domains`: indicator -> continuous | binary | year (binary and year cells are never imputed)."""
    fw = as_framework(framework)
    check_columns(values, fw)
    known = None if upper_bounds is None else upper_bounds.reindex_like(values).notna() & values.isna()

    kept, dropped_ind = screen_indicators(values, config.min_indicator_coverage, known)
    fw = fw.subset(kept.columns)
    kept, dropped_cty = screen_countries(kept, fw, config.min_country_coverage, config.min_pillars, known)
    dropped = pd.concat([d for d in (dropped_ind, dropped_cty) if len(d)] or [dropped_ind], ignore_index=True)

    if config.treat_outliers:
        treated, treatment = treat_outliers(kept, config.skew_threshold, config.kurtosis_threshold,
                                            config.winsorise_max, config.outlier_fallback)
    else:
        treated, treatment = kept.astype(float), untreated_record(kept)
    bounds = None
    if upper_bounds is not None:
        raw_bounds = upper_bounds.reindex_like(kept).where(kept.isna())
        bounds = treat_bounds(raw_bounds, kept, treatment) if config.treat_outliers else raw_bounds

    filled, mask, how = impute_with_methods(treated, config.imputation, groups, fw, domains=domains,
                                            upper_bounds=bounds)
    normalised = normalise(filled, fw.direction, config.normalisation)
    w = compute_weights(config.weights, fw, normalised)

    observed = kept.notna()
    p_scores, p_cov = pillar_scores(normalised, w.indicator, fw, config.aggregation, observed)
    c_score, c_cov = composite_scores(p_scores, w.pillar, config.aggregation, p_cov)

    pillars_long = pd.concat([_long(p_scores, "score", "pillar"), _long(p_cov, "coverage", "pillar"),
                              _long(rank(p_scores), "rank", "pillar")], axis=1).reset_index()
    composite = pd.DataFrame({"score": c_score, "coverage": c_cov, "rank": rank(c_score)}).rename_axis("iso3")

    mc = None
    if config.mc_draws > 0:
        mc = monte_carlo_ranks(
            treated, fw, config.mc_draws, config.mc_seed, config.mc_choices, w,
            Scenario(config.normalisation, config.aggregation, config.imputation != "none"),
            config.imputation if config.imputation != "none" else "group_median", groups,
            # "imputation on" in a draw obeys the same domains and bounds as the nominal run
            imputed=filled if config.imputation != "none" else impute_with_methods(
                treated, "group_median", groups, fw, domains=domains, upper_bounds=bounds)[0],
        )

    return PipelineResult(
        config=config, framework=fw, dropped=dropped, raw=kept, treated=treated, treatment=treatment,
        imputed=filled, imputed_mask=mask, normalised=normalised, weights=w, pillar_scores=p_scores,
        pillar_coverage=p_cov, cells=cell_table(kept, treated, filled, mask, how, normalised, fw),
        pillars=pillars_long, composite=composite.reset_index(), weights_table=weights_table(w, fw),
        uncertainty=mc,
    )
