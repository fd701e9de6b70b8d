"""Variance-based sensitivity analysis of ranks (JRC/COINr style; Saltelli et al., Global Sensitivity Analysis,
2008): which uncertain method input drives the focus country's rank, and the rank shifts of all countries?

SALib draws the sample (scrambled Sobol sequence, Saltelli's scheme) and estimates the indices (first order:
Saltelli 2010; total order: Jansen 1999; bootstrap confidence intervals). This module only maps a sample row to
method choices and scores the index for every row.

Inputs, one SALib *group* each (so each gets one S1 and one ST however many variables it has):
  * normalisation, aggregation, imputation, outlier_treatment, screening_threshold: one U(0,1) variable each,
    mapped to one of its levels by floor(u * n_levels), so every level is equally likely. The screening
    threshold is the indicator-coverage rule (which indicators enter the index); the country rules stay nominal,
    so the runs compare the same economies wherever the indicators allow;
  * weights: one U(0,1) variable per indicator and per pillar; w_i proportional to Gamma(k * w_nominal_i).ppf(u_i),
    re-scaled to sum to 1 within each pillar and across pillars: a Dirichlet(k * w_nominal) draw, the same
    perturbation as the Monte Carlo (uncertainty.py), written as a quantile transform so SALib can drive it.
Outputs: the focus country's composite rank, and the median over countries of |rank - nominal rank| (countries
ranked both in the run and in the nominal index).

Cost: N * (G + 2) runs (G = 6 groups, no second-order indices). Screening, outlier treatment, imputation and
normalisation run once per distinct combination of the discrete inputs; the runs are then scored in batches
(uncertainty.score_draws), never a pandas loop per run.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from pipelines.model.method.aggregation import METHODS as AGGREGATIONS
from pipelines.model.method.framework import Framework, as_framework, check_columns
from pipelines.model.method.imputation import METHODS as IMPUTATIONS
from pipelines.model.method.imputation import impute_with_methods
from pipelines.model.method.normalisation import METHODS as NORMALISATIONS
from pipelines.model.method.normalisation import normalise
from pipelines.model.method.outliers import treat_bounds, treat_outliers, untreated_record
from pipelines.model.method.screening import screen_countries, screen_indicators
from pipelines.model.method.uncertainty import rank_draws, score_draws
from pipelines.model.method.weights import compute_weights

DISCRETE_INPUTS = ("normalisation", "aggregation", "imputation", "outlier_treatment", "screening_threshold")
INPUTS = (*DISCRETE_INPUTS, "weights")
OUTPUTS = ("focus_rank", "median_rank_shift")


@dataclass(frozen=True)
class SensitivityConfig:
    """What the sensitivity analysis varies and how hard it samples (config/method.yaml `sensitivity`)."""

    base_samples: int = 512  # N, a power of 2 (Sobol sequence); runs = N * (len(INPUTS) + 2)
    seed: int = 20261202
    bootstrap_resamples: int = 100  # for the confidence intervals of the indices
    conf_level: float = 0.95
    normalisations: tuple[str, ...] = NORMALISATIONS
    aggregations: tuple[str, ...] = AGGREGATIONS
    imputations: tuple[str, ...] = IMPUTATIONS
    outlier_treatment: tuple[bool, ...] = (True, False)
    screening_thresholds: tuple[float, ...] = (0.55, 0.60, 0.65, 0.70, 0.75)
    dirichlet_concentration: float = 50.0

    def __post_init__(self) -> None:
        n = self.base_samples
        if n < 2 or n & (n - 1):
            raise ValueError(f"sensitivity base_samples must be a power of 2 (Sobol sequence), not {n}")
        for name, allowed in (("normalisations", NORMALISATIONS), ("aggregations", AGGREGATIONS),
                              ("imputations", IMPUTATIONS), ("outlier_treatment", (True, False))):
            chosen = getattr(self, name)
            if not chosen or not set(chosen) <= set(allowed):
                raise ValueError(f"sensitivity {name} must be a non-empty subset of {allowed}, not {chosen}")
        if not self.screening_thresholds or not all(0 <= t <= 1 for t in self.screening_thresholds):
            raise ValueError("sensitivity screening_thresholds must be shares between 0 and 1")
        if self.dirichlet_concentration <= 0:
            raise ValueError("sensitivity dirichlet_concentration must be positive")

    def levels(self, name: str) -> tuple:
        return {"normalisation": self.normalisations, "aggregation": self.aggregations,
                "imputation": self.imputations, "outlier_treatment": self.outlier_treatment,
                "screening_threshold": self.screening_thresholds}[name]


class SensitivityResult(NamedTuple):
    indices: pd.DataFrame  # output, input, s1, s1_conf, st, st_conf
    levels: pd.DataFrame  # input, level, n_runs, focus_rank_median/p05/p95, median_rank_shift_mean
    outputs: pd.DataFrame  # output, nominal, mean, median, p05, p95, n_runs
    runs: pd.DataFrame  # one row per run: the discrete choices and both outputs


# --- SALib ----------------------------------------------------------------------------------------------------

def salib_problem(names: list[str], groups: list[str]) -> dict:
    """A SALib problem of U(0,1) variables with the given group of each."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names),
            "groups": list(groups)}


def sobol_sample(problem: dict, base_samples: int, seed: int) -> np.ndarray:
    """Saltelli's sample for first- and total-order indices, N * (groups + 2) rows (SALib)."""
    from SALib.sample import sobol

    return sobol.sample(problem, base_samples, calc_second_order=False, scramble=True, seed=seed)


def sobol_indices(problem: dict, y: np.ndarray, resamples: int = 100, conf_level: float = 0.95,
                  seed: int = 0) -> pd.DataFrame:
    """First-order and total Sobol indices of `y` for each group of `problem` (SALib's estimators), with the
    half-width of their bootstrap confidence intervals. An output with no variance (or with gaps) has no
    indices: NaN."""
    from SALib.analyze import sobol

    names = list(dict.fromkeys(problem.get("groups") or problem["names"]))
    y = np.asarray(y, dtype=float)
    if not np.isfinite(y).all() or np.var(y) == 0:
        nan = np.full(len(names), np.nan)
        return pd.DataFrame({"input": names, "s1": nan, "s1_conf": nan, "st": nan, "st_conf": nan})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sobol.analyze(problem, y, calc_second_order=False, num_resamples=resamples,
                               conf_level=conf_level, print_to_console=False, seed=seed)
    return pd.DataFrame({"input": names, "s1": result["S1"], "s1_conf": result["S1_conf"],
                         "st": result["ST"], "st_conf": result["ST_conf"]})


# --- the index under one set of discrete choices ----------------------------------------------------------------

class Variant(NamedTuple):
    countries: np.ndarray  # positions of the scored countries in the full country index
    indicators: np.ndarray  # positions of the kept indicators in the full indicator index
    x: np.ndarray  # normalised values, scored countries x kept indicators
    w_indicator: np.ndarray  # nominal indicator weights (kept indicators)
    w_pillar: np.ndarray  # nominal pillar weights (pillars of the kept indicators)
    members: list[np.ndarray]  # per pillar: positions of its indicators within the kept ones
    pillar_of: np.ndarray  # per kept indicator: its pillar's position within the variant's pillars
    pillar_ids: np.ndarray  # per variant pillar: its position in the full pillar list


# Steps that work column by column (an indicator's result does not depend on which other indicators are kept):
# their results are computed once per country set on every indicator and then sliced. Pillar regression
# imputation reads the pillar's other indicators, so it is computed per indicator set.
COLUMNWISE_IMPUTATIONS = ("none", "group_median")


class Preprocessor:
    """The index's steps before weighting (run_pipeline's order: screen, treat outliers, impute, normalise),
    memoised per distinct choice so that each is computed once however many runs use it. Outlier treatment,
    group-median imputation and every normalisation work column by column, so they are computed once per
    country set for all indicators; the indicator set only selects columns."""

    def __init__(self, values: pd.DataFrame, framework: Framework, config, groups: pd.Series | None,
                 upper_bounds: pd.DataFrame | None = None, domains: pd.Series | None = None):
        self.values, self.framework, self.config, self.groups = values, framework, config, groups
        # censored cells and fact domains, as run_pipeline takes them: screening counts a censored cell as
        # observed, imputation keeps it inside its bound and never fills a 0/1 fact or a year
        self.bounds = None if upper_bounds is None else upper_bounds.reindex_like(values)
        self.known = None if self.bounds is None else self.bounds.notna() & values.isna()
        self.domains = domains
        self.pillars = framework.pillars
        self._memo: dict = {}

    def _cached(self, key, compute):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def subset(self, indicators) -> Framework:
        key = tuple(indicators)
        return self._cached(("framework", key), lambda: self.framework.subset(key))

    def screened(self, threshold: float) -> tuple[tuple, tuple]:
        """(countries, indicators) kept at this indicator-coverage threshold (country rules nominal)."""
        def compute():
            kept, _ = screen_indicators(self.values, threshold, self.known)
            kept, _ = screen_countries(kept, self.subset(kept.columns), self.config.min_country_coverage,
                                       self.config.min_pillars, self.known)
            return tuple(kept.index), tuple(kept.columns)
        return self._cached(("screened", threshold), compute)

    def treated(self, countries: tuple, outliers: bool) -> pd.DataFrame:
        """Every indicator for these countries, outliers treated or not (treatment is per indicator)."""
        return self._treated_and_record(countries, outliers)[0]

    def _treated_and_record(self, countries: tuple, outliers: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
        def compute():
            frame = self.values.loc[list(countries)]
            if not outliers:
                return frame.astype(float), untreated_record(frame)
            c = self.config
            return treat_outliers(frame, c.skew_threshold, c.kurtosis_threshold, c.winsorise_max,
                                  c.outlier_fallback)
        return self._cached(("treated", countries, outliers), compute)

    def bounds_of(self, countries: tuple, outliers: bool) -> pd.DataFrame | None:
        """The censoring bounds of these countries' censored cells, on the treated scale (as run_pipeline)."""
        if self.bounds is None:
            return None

        def compute():
            raw = self.values.loc[list(countries)]
            treated, record = self._treated_and_record(countries, outliers)
            bounds = self.bounds.loc[list(countries)].where(raw.isna())
            return treat_bounds(bounds, raw, record) if outliers else bounds
        return self._cached(("bounds", countries, outliers), compute)

    def normalised(self, countries: tuple, indicators: tuple, outliers: bool, imputation: str,
                   normalisation: str) -> pd.DataFrame:
        columnwise = imputation in COLUMNWISE_IMPUTATIONS
        scope = None if columnwise else indicators  # None: all indicators, sliced below

        def filled():
            treated = self.treated(countries, outliers)
            cols = list(treated.columns if scope is None else scope)
            groups = None if self.groups is None else self.groups.reindex(treated.index)
            bounds = self.bounds_of(countries, outliers)
            return impute_with_methods(treated[cols], imputation, groups, self.subset(cols), domains=self.domains,
                                       upper_bounds=None if bounds is None else bounds[cols])[0]

        def compute():
            frame = self._cached(("filled", countries, scope, outliers, imputation), filled)
            return normalise(frame, self.subset(frame.columns).direction, normalisation)

        full = self._cached(("normalised", countries, scope, outliers, imputation, normalisation), compute)
        return full[list(indicators)]

    def variant(self, threshold: float, outliers: bool, imputation: str, normalisation: str) -> Variant:
        """The index's inputs after screening at `threshold` (indicator coverage) and the given choices."""
        countries, indicators = self.screened(threshold)
        return self.variant_of(countries, indicators, outliers, imputation, normalisation)

    def variant_of(self, countries: tuple, indicators: tuple, outliers: bool, imputation: str,
                   normalisation: str) -> Variant:
        """The same for a given set of countries and indicators (e.g. one indicator left out)."""
        def compute():
            normalised = self.normalised(countries, indicators, outliers, imputation, normalisation)
            fw = self.subset(indicators)
            if self.config.weights == "pca":  # PCA weights depend on the normalised values
                w = compute_weights("pca", fw, normalised)
            else:
                w = self._cached(("weights", indicators), lambda: compute_weights(self.config.weights, fw))
            pillars = fw.pillars
            pillar_of = fw.pillar.reindex(normalised.columns).to_numpy()
            return Variant(
                countries=self.values.index.get_indexer(normalised.index),
                indicators=self.values.columns.get_indexer(normalised.columns),
                x=normalised.to_numpy(dtype=float),
                w_indicator=w.indicator.reindex(normalised.columns).to_numpy(dtype=float),
                w_pillar=w.pillar.reindex(pillars).to_numpy(dtype=float),
                members=[np.flatnonzero(pillar_of == p) for p in pillars],
                pillar_of=np.array([pillars.index(p) for p in pillar_of], dtype=int),
                pillar_ids=np.array([self.pillars.index(p) for p in pillars], dtype=int),
            )
        return self._cached(("variant", countries, indicators, outliers, imputation, normalisation), compute)

    def scores(self, v: Variant, aggregation: str, w_indicator: np.ndarray, w_pillar: np.ndarray) -> np.ndarray:
        """(n, all countries) composite scores of variant `v` for n weight draws; NaN for countries not scored."""
        _, composite = score_draws(v.x, w_indicator, w_pillar, v.members, aggregation)
        out = np.full((len(w_indicator), len(self.values.index)), np.nan)
        out[:, v.countries] = composite
        return out


def dirichlet_weights(u: np.ndarray, nominal: np.ndarray, groups: np.ndarray, concentration: float) -> np.ndarray:
    """(n, K) weights from uniforms u (n, K): Gamma(concentration * nominal).ppf(u), re-scaled to sum to 1 within
    each group label (for independent uniforms, a Dirichlet(concentration * nominal) draw per group)."""
    from scipy.stats import gamma

    alpha = concentration * nominal
    raw = gamma.ppf(np.clip(u, 1e-12, 1 - 1e-12), np.where(alpha > 0, alpha, 1.0)) * (alpha > 0)
    totals = np.zeros((len(u), groups.max() + 1))
    np.add.at(totals.T, groups, raw.T)
    return raw / totals[:, groups]


def composite_ranks(pre: Preprocessor, choices: pd.DataFrame, u_indicator: np.ndarray, u_pillar: np.ndarray,
                    concentration: float | None) -> np.ndarray:
    """(runs, countries) composite ranks, one run per row of `choices` (threshold, outliers, imputation,
    normalisation, aggregation); weights perturbed by the uniforms u_indicator (runs, all indicators) and u_pillar
    (runs, all pillars); concentration None = nominal weights. NaN: not scored in that run."""
    n = len(choices)
    composite = np.full((n, len(pre.values.index)), np.nan)
    keys = ["screening_threshold", "outlier_treatment", "imputation", "normalisation", "aggregation"]
    groups = [(pre.variant(*key[:4]), key[4], rows) for key, rows in choices.groupby(keys, sort=True).indices.items()]
    # Weight draws for each set of nominal weights, computed once for all the runs that use it (the gamma quantile
    # function is the costliest step of the scoring).
    users: dict = {}
    for v, _, rows in groups:
        users.setdefault((v.indicators.tobytes(), v.w_indicator.tobytes(), v.w_pillar.tobytes()), (v, []))[1].append(rows)
    drawn = {}
    for key, (v, parts) in users.items():
        rows = np.sort(np.concatenate(parts))
        if concentration is None:
            w_ind, w_pil = np.tile(v.w_indicator, (len(rows), 1)), np.tile(v.w_pillar, (len(rows), 1))
        else:
            w_ind = dirichlet_weights(u_indicator[np.ix_(rows, v.indicators)], v.w_indicator, v.pillar_of,
                                      concentration)
            w_pil = dirichlet_weights(u_pillar[np.ix_(rows, v.pillar_ids)], v.w_pillar,
                                      np.zeros(len(v.w_pillar), dtype=int), concentration)
        position = np.full(n, -1)
        position[rows] = np.arange(len(rows))
        drawn[key] = (w_ind, w_pil, position)
    for v, aggregation, rows in groups:
        w_ind, w_pil, position = drawn[(v.indicators.tobytes(), v.w_indicator.tobytes(), v.w_pillar.tobytes())]
        composite[rows] = pre.scores(v, aggregation, w_ind[position[rows]], w_pil[position[rows]])
    return rank_draws(composite[..., None])[..., 0]


def nominal_choices(config) -> pd.DataFrame:
    """The nominal method as one row of choices (the index as published)."""
    return pd.DataFrame([{
        "screening_threshold": float(config.min_indicator_coverage), "outlier_treatment": bool(config.treat_outliers),
        "imputation": config.imputation, "normalisation": config.normalisation, "aggregation": config.aggregation}])


def median_rank_shift(ranks: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    """Per run, the median over countries of |rank - nominal rank| (countries ranked in both)."""
    shift = np.abs(ranks - nominal[None, :])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(shift, axis=1)


def _level_index(u: np.ndarray, n_levels: int) -> np.ndarray:
    return np.minimum((u * n_levels).astype(int), n_levels - 1)


def _quantiles(y: np.ndarray) -> dict:
    ok = y[np.isfinite(y)]
    if not len(ok):
        return {"mean": np.nan, "median": np.nan, "p05": np.nan, "p95": np.nan}
    p05, p50, p95 = np.quantile(ok, [0.05, 0.5, 0.95])
    return {"mean": float(ok.mean()), "median": float(p50), "p05": float(p05), "p95": float(p95)}


def sobol_rank_sensitivity(values: pd.DataFrame, framework, config, focus: str, groups: pd.Series | None = None,
                           settings: SensitivityConfig = SensitivityConfig(), upper_bounds: pd.DataFrame | None = None,
                           domains: pd.Series | None = None) -> SensitivityResult:
    """Sobol indices of the focus country's composite rank and of the median absolute rank shift of all
    countries, with respect to each input in INPUTS. `values`: iso3 x indicator, latest denominated values
    BEFORE screening (the input of run_pipeline); `config`: the nominal MethodConfig."""
    fw = as_framework(framework)
    check_columns(values, fw)
    fw = fw.subset(values.columns)
    if focus not in values.index:
        raise ValueError(f"focus country {focus} is not among the countries scored")
    pre = Preprocessor(values.astype(float), fw, config, groups, upper_bounds, domains)
    names = [*DISCRETE_INPUTS, *(f"weight:{i}" for i in values.columns), *(f"weight:{p}" for p in pre.pillars)]
    problem = salib_problem(names, [*DISCRETE_INPUTS, *["weights"] * (len(names) - len(DISCRETE_INPUTS))])
    sample = sobol_sample(problem, settings.base_samples, settings.seed)

    choices = pd.DataFrame({
        name: np.asarray(settings.levels(name), dtype=object)[_level_index(sample[:, j], len(settings.levels(name)))]
        for j, name in enumerate(DISCRETE_INPUTS)})
    choices = choices.astype({"screening_threshold": float, "outlier_treatment": bool})
    k = len(DISCRETE_INPUTS)
    u_indicator, u_pillar = sample[:, k:k + values.shape[1]], sample[:, k + values.shape[1]:]
    ranks = composite_ranks(pre, choices, u_indicator, u_pillar, settings.dirichlet_concentration)
    nominal = composite_ranks(pre, nominal_choices(config), u_indicator[:1], u_pillar[:1], None)[0]

    focus_at = values.index.get_loc(focus)
    outputs = {"focus_rank": ranks[:, focus_at], "median_rank_shift": median_rank_shift(ranks, nominal)}
    nominal_out = {"focus_rank": nominal[focus_at], "median_rank_shift": 0.0}
    indices = pd.concat(
        [sobol_indices(problem, y, settings.bootstrap_resamples, settings.conf_level, settings.seed)
         .assign(output=name) for name, y in outputs.items()], ignore_index=True)
    summary = pd.DataFrame([{"output": name, "nominal": float(nominal_out[name]), **_quantiles(y),
                             "n_runs": len(y), "n_missing": int((~np.isfinite(y)).sum())}
                            for name, y in outputs.items()])
    runs = choices.assign(focus_rank=outputs["focus_rank"], median_rank_shift=outputs["median_rank_shift"])
    return SensitivityResult(indices[["output", "input", "s1", "s1_conf", "st", "st_conf"]],
                             level_table(runs, settings), summary, runs)


def level_table(runs: pd.DataFrame, settings: SensitivityConfig) -> pd.DataFrame:
    """For each discrete input and level: the focus country's rank over the runs that used it (whatever the
    other inputs), so a reader sees which way a choice moves the rank, not only how much variance it explains."""
    rows = []
    for name in DISCRETE_INPUTS:
        for level in settings.levels(name):
            sel = runs[runs[name] == level]
            q = _quantiles(sel["focus_rank"].to_numpy(dtype=float))
            rows.append({"input": name, "level": str(level), "n_runs": len(sel), "focus_rank_median": q["median"],
                         "focus_rank_p05": q["p05"], "focus_rank_p95": q["p95"],
                         "median_rank_shift_mean": float(sel["median_rank_shift"].mean()) if len(sel) else np.nan})
    return pd.DataFrame(rows)


# --- one indicator left out at a time --------------------------------------------------------------------------

def indicator_removal(values: pd.DataFrame, framework, config, focus: str, groups: pd.Series | None = None,
                      upper_bounds: pd.DataFrame | None = None, domains: pd.Series | None = None) -> pd.DataFrame:
    """The focus country's composite rank and score with each indicator of the (screened) index removed in turn,
    the rest of the method nominal: what run_pipeline gives on the nominal index's countries without that
    indicator. The countries stay those the nominal index scores (screening is not redone, so a rank moves because
    of the indicator, not because the universe changed); removing a pillar's only indicator removes the pillar.
    Also the median absolute rank shift of all countries."""
    fw = as_framework(framework)
    check_columns(values, fw)
    pre = Preprocessor(values.astype(float), fw.subset(values.columns), config, groups, upper_bounds, domains)
    countries, indicators = pre.screened(float(config.min_indicator_coverage))
    if focus not in countries:
        raise ValueError(f"focus country {focus} is not scored by the nominal index")
    choice = (bool(config.treat_outliers), config.imputation, config.normalisation)
    sets = [indicators, *(tuple(i for i in indicators if i != key) for key in indicators)]
    scores = []
    for subset in sets:
        v = pre.variant_of(countries, subset, *choice)
        scores.append(pre.scores(v, config.aggregation, v.w_indicator[None], v.w_pillar[None])[0])
    scores = np.stack(scores)
    ranks = rank_draws(scores[..., None])[..., 0]
    at = values.index.get_loc(focus)
    frame = pd.DataFrame({
        "key": list(indicators), "pillar": fw.pillar.reindex(list(indicators)).to_numpy(),
        "nominal_rank": ranks[0, at], "rank_without": ranks[1:, at],
        "nominal_score": scores[0, at], "score_without": scores[1:, at],
        "median_abs_rank_shift": median_rank_shift(ranks[1:], ranks[0]),
    })
    frame["rank_change"] = frame["rank_without"] - frame["nominal_rank"]
    return frame
