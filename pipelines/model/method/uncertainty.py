"""Monte Carlo uncertainty analysis of ranks (JRC/COINr style): re-run the index many times under
alternative, equally defensible choices and report the spread of each country's rank.

Each draw samples independently and uniformly from `choices`: a normalisation, imputation on/off, an
aggregation, and weights perturbed around the nominal ones (at both levels):
  * "dirichlet": w ~ Dirichlet(k * w_nominal) within each pillar, and across pillars; mean = nominal,
    sd ~ sqrt(w(1-w)/(k+1)) (k = 50: a weight of 0.25 varies by about +-0.06);
  * "uniform": w = w_nominal * U(1 - s, 1 + s), re-scaled to sum to 1 (s = 0.25 -> +-25%);
  * "none": nominal weights.
Speed: only the discrete variants (normalisation x imputation) touch pandas, once each; the draws are then
grouped by (variant, aggregation) and scored with batched matrix products (aggregation.weighted_means),
never a pandas loop per draw. Outlier treatment is not varied: pass treated values.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from pipelines.model.method.aggregation import METHODS as AGGREGATIONS
from pipelines.model.method.aggregation import weighted_means
from pipelines.model.method.framework import as_framework, check_columns
from pipelines.model.method.imputation import impute
from pipelines.model.method.normalisation import METHODS as NORMALISATIONS
from pipelines.model.method.normalisation import normalise
from pipelines.model.method.weights import Weights, equal_weights

COMPOSITE = "composite"


@dataclass(frozen=True)
class UncertaintyChoices:
    """What the Monte Carlo may vary."""

    normalisations: tuple[str, ...] = NORMALISATIONS
    aggregations: tuple[str, ...] = AGGREGATIONS
    imputation: tuple[bool, ...] = (False, True)
    weight_perturbation: str = "dirichlet"  # dirichlet | uniform | none
    dirichlet_concentration: float = 50.0
    uniform_spread: float = 0.25

    def __post_init__(self) -> None:
        if not set(self.normalisations) <= set(NORMALISATIONS) or not self.normalisations:
            raise ValueError(f"normalisations must be a non-empty subset of {NORMALISATIONS}")
        if not set(self.aggregations) <= set(AGGREGATIONS) or not self.aggregations:
            raise ValueError(f"aggregations must be a non-empty subset of {AGGREGATIONS}")
        if self.weight_perturbation not in ("dirichlet", "uniform", "none"):
            raise ValueError(f"unknown weight perturbation {self.weight_perturbation!r}")


@dataclass(frozen=True)
class Scenario:
    """The nominal choices, against which the bands are read."""

    normalisation: str = "min_max"
    aggregation: str = "arithmetic"
    impute: bool = True


class MonteCarloResult(NamedTuple):
    bands: pd.DataFrame  # iso3, scope (composite | pillar), nominal_rank, median_rank, p05_rank, p95_rank
    draws: pd.DataFrame  # draw, normalisation, imputation, aggregation


def perturb(nominal: np.ndarray, groups: np.ndarray, n: int, rng: np.random.Generator,
            choices: UncertaintyChoices) -> np.ndarray:
    """(n, K) weight draws around `nominal` (K,), each summing to 1 within each group label in `groups`."""
    if choices.weight_perturbation == "dirichlet":
        # Dirichlet = independent gammas normalised per group (zero nominal weights stay zero)
        alpha = choices.dirichlet_concentration * nominal
        raw = rng.gamma(np.where(alpha > 0, alpha, 1.0), size=(n, len(nominal))) * (alpha > 0)
    elif choices.weight_perturbation == "uniform":
        s = choices.uniform_spread
        raw = nominal * rng.uniform(1 - s, 1 + s, size=(n, len(nominal)))
    else:
        raw = np.tile(nominal, (n, 1))
    totals = np.zeros((n, groups.max() + 1))
    np.add.at(totals.T, groups, raw.T)
    return raw / totals[:, groups]


def rank_draws(scores: np.ndarray) -> np.ndarray:
    """Rank countries (axis 1) in every draw: 1 = best, ties 'min', NaN unranked. Same result as
    scipy.stats.rankdata(-scores, method="min", axis=1, nan_policy="omit"), several times faster: sort once,
    give each run of equal values the position of its first member."""
    x = np.ascontiguousarray(np.moveaxis(scores, 1, -1))  # sorting along the last axis is fastest
    order = np.argsort(-x, axis=-1)  # NaN sorts last
    ordered = np.take_along_axis(x, order, axis=-1)
    new_run = np.ones(ordered.shape, dtype=bool)
    new_run[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    first = np.maximum.accumulate(np.where(new_run, np.arange(x.shape[-1]), 0), axis=-1)
    ranks = np.empty(x.shape)
    np.put_along_axis(ranks, order, np.where(np.isnan(ordered), np.nan, first + 1.0), axis=-1)
    return np.moveaxis(ranks, -1, 1)


def score_draws(x: np.ndarray, w_ind: np.ndarray, w_pil: np.ndarray, members: list[np.ndarray],
                method: str) -> tuple[np.ndarray, np.ndarray]:
    """Pillar scores (n, C, P) and composite scores (n, C) for one normalised matrix x (C, I) and n draws
    of indicator weights (n, I) and pillar weights (n, P)."""
    pillars = np.stack([weighted_means(x[:, idx], w_ind[:, idx], method) for idx in members], axis=-1)
    return pillars, weighted_means(pillars, w_pil, method)


def variants(values: pd.DataFrame, filled: pd.DataFrame, framework, choices: UncertaintyChoices,
             nominal: Scenario) -> dict[tuple[str, bool], np.ndarray]:
    """The normalised matrix for every (normalisation, imputation on/off) the run can use; computed once."""
    states = {False: values, True: filled}
    needed = {(n, i) for n in choices.normalisations for i in choices.imputation}
    needed.add((nominal.normalisation, nominal.impute))
    return {(n, i): normalise(states[i], framework.direction, n).to_numpy(dtype=float) for n, i in sorted(needed)}


def bands_table(ranks: np.ndarray, nominal: np.ndarray, index: pd.Index, scopes: list[str]) -> pd.DataFrame:
    """Long table of rank bands. ranks: (n, C, S) draws; nominal: (C, S)."""
    with warnings.catch_warnings():  # a country never ranked in a scope gets NaN bands, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        quantile = np.nanquantile if np.isnan(ranks).any() else np.quantile  # nanquantile is a slow 1-D loop
        q05, q50, q95 = quantile(ranks, [0.05, 0.5, 0.95], axis=0)
    frames = [
        pd.DataFrame({"iso3": index, "scope": scope, "nominal_rank": nominal[:, s], "median_rank": q50[:, s],
                      "p05_rank": q05[:, s], "p95_rank": q95[:, s]})
        for s, scope in enumerate(scopes)
    ]
    return pd.concat(frames, ignore_index=True)


def monte_carlo_ranks(
    values: pd.DataFrame,
    framework,
    n_draws: int = 1000,
    seed: int = 20261128,
    choices: UncertaintyChoices = UncertaintyChoices(),
    weights: Weights | None = None,
    nominal: Scenario = Scenario(),
    imputation_method: str = "group_median",
    groups: pd.Series | None = None,
    imputed: pd.DataFrame | None = None,
) -> MonteCarloResult:
    """Rank bands per country for the composite and every pillar (median, 5th and 95th percentile of the
    rank over `n_draws` draws) next to the nominal rank. `values`: screened, outlier-treated indicator values
    (not normalised, gaps as NaN). `weights`: nominal weights (default equal). `imputation_method` is what
    "imputation on" means; pass `imputed` (the filled values) to reuse an imputation already done.
    Same seed -> identical output."""
    framework = as_framework(framework)
    check_columns(values, framework)
    framework = framework.subset(values.columns)
    weights = weights or equal_weights(framework)
    pillars = framework.pillars
    pillar_of = framework.pillar.reindex(values.columns)
    members = [np.flatnonzero(pillar_of.to_numpy() == p) for p in pillars]
    group_of = np.array([pillars.index(p) for p in pillar_of])
    w_ind = weights.indicator.reindex(values.columns).to_numpy(dtype=float)
    w_pil = weights.pillar.reindex(pillars).to_numpy(dtype=float)
    if imputed is None and (True in choices.imputation or nominal.impute):
        imputed, _ = impute(values, imputation_method, groups, framework)
    matrices = variants(values, imputed, framework, choices, nominal)

    rng = np.random.default_rng(seed)
    norm = rng.integers(len(choices.normalisations), size=n_draws)
    imp = rng.integers(len(choices.imputation), size=n_draws)
    agg = rng.integers(len(choices.aggregations), size=n_draws)
    draws_ind = perturb(w_ind, group_of, n_draws, rng, choices)
    draws_pil = perturb(w_pil, np.zeros(len(pillars), dtype=int), n_draws, rng, choices)

    scores = np.full((n_draws, len(values), len(pillars) + 1), np.nan)  # last slot: composite
    for key in sorted(set(zip(norm, imp, agg))):
        sel = (norm == key[0]) & (imp == key[1]) & (agg == key[2])
        x = matrices[(choices.normalisations[key[0]], choices.imputation[key[1]])]
        p, c = score_draws(x, draws_ind[sel], draws_pil[sel], members, choices.aggregations[key[2]])
        scores[sel, :, :-1], scores[sel, :, -1] = p, c
    ranks = rank_draws(scores)

    x = matrices[(nominal.normalisation, nominal.impute)]
    p, c = score_draws(x, w_ind[None], w_pil[None], members, nominal.aggregation)
    nominal_ranks = rank_draws(np.concatenate([p, c[..., None]], axis=-1))[0]

    bands = bands_table(ranks, nominal_ranks, values.index, [*pillars, COMPOSITE])
    draws = pd.DataFrame({
        "draw": np.arange(n_draws),
        "normalisation": np.asarray(choices.normalisations, dtype=object)[norm],
        "imputation": np.asarray(choices.imputation)[imp],
        "aggregation": np.asarray(choices.aggregations, dtype=object)[agg],
    })
    return MonteCarloResult(bands, draws)
