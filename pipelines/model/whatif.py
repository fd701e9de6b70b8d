"""What would move the focus country: the composite rank if it reached a peer level on one indicator or pillar,
rank elasticities, named scenarios (config/scenarios.yaml) and the fewest moves to a target rank.

Re-scoring goes through the project's own method pipeline (pipelines.model.method.run_pipeline, fed exactly as
pipelines.model.index_build.score_index feeds it), never through a copy of its steps:

* Every step before aggregation is column-local for the default method (screening counts are unchanged by moving an
  observed value, and an imputed cell that becomes observed only adds to coverage; outlier treatment, group-median
  imputation and every normalisation work indicator by indicator). So a batch of moves on DIFFERENT indicators can
  be run through run_pipeline at once, and each moved indicator's treated, imputed and normalised column is what a
  run with that move alone would give. A handful of pipeline runs therefore yield the re-scored column of every
  candidate move (`MoveColumns`).
* Scores of any set of moves are then assembled from those columns with the pipeline's own aggregation core
  (aggregation.weighted_means, the function run_pipeline and the Monte Carlo use), and the Monte Carlo rank band
  with the same seed, the same method draws and the same weight draws as the published bands (common random
  numbers: a band moves only because the data moved).
* `exact_scores` re-runs run_pipeline for one scenario; `cross_check` compares it with the assembled scores, and
  the asset refuses to publish when they differ (the method changed in a way this module does not follow).
  Methods that are not column-local (pillar_regression imputation, PCA weights) are re-scored by a full run per
  scenario instead (slow, exact).

"Reached the level" (also in config/data_dictionary.yaml):
* peer statistics are over the group's members other than the focus country with a latest value, as in
  mart_japan_benchmark; they are direction-aware: p75 is the level better than 75 % of peers (the 25th percentile
  of the values when lower is better), the leader is the best peer;
* a move never makes the focus country worse: where it is already at or beyond the level, nothing moves;
* a value the fact cannot take is never targeted: 0/1 facts, years and plain counts are rounded to the nearest whole
  value (half-way: towards better), and every target stays within the indicator's valid range;
* where the focus country's value is imputed, the move replaces the imputed value (the row says so): the gain is
  measured from what the index imputed, not from a measurement; the shortest path uses observed indicators only.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

LEVELS = ("median", "p75", "leader")
WHOLE_KINDS = ("flag", "years")  # + undenominated counts: see whole_valued


# --- peer levels --------------------------------------------------------------------------------------------------

def whole_valued(kind, denominator) -> bool:
    """0/1 facts, years and plain counts take whole values only."""
    return kind in WHOLE_KINDS or (kind == "count" and denominator in (None, "none"))


def snap(value: float, direction: int, whole: bool, valid_min=None, valid_max=None) -> float:
    """A target the fact can take: within the valid range, whole where the fact is (ties towards better)."""
    if value is None or not np.isfinite(value):
        return np.nan
    if whole:
        oriented = value * direction
        value = direction * (math.floor(oriented + 0.5))  # nearest whole value, x.5 towards better
    if valid_min is not None and not pd.isna(valid_min):
        value = max(value, float(valid_min))
    if valid_max is not None and not pd.isna(valid_max):
        value = min(value, float(valid_max))
    return float(value)


def peer_levels(latest: pd.DataFrame, memberships: pd.DataFrame, focus: str, spec: pd.DataFrame) -> pd.DataFrame:
    """Per indicator x peer group x level: the peer statistic and the target a move aims at.
    `latest`: key, iso3, value; `spec`: indexed by key with direction, whole, valid_min, valid_max."""
    rows = []
    for group_id, members in memberships.groupby("group_id"):
        peers_iso3 = set(members["iso3"]) - {focus}
        for key, frame in latest[latest["iso3"].isin(peers_iso3)].groupby("key"):
            if key not in spec.index:
                continue
            s = spec.loc[key]
            values = frame["value"].dropna()
            if values.empty:
                continue
            direction = int(s["direction"])
            oriented = values.to_numpy(dtype=float) * direction
            best = int(np.argmax(oriented))  # the first of equal leaders, as mart_japan_benchmark
            stats = {"median": float(np.median(oriented)) * direction,
                     "p75": float(np.quantile(oriented, 0.75)) * direction,
                     "leader": float(oriented[best]) * direction}
            leader_iso3 = frame.loc[values.index[best], "iso3"]
            for level in LEVELS:
                rows.append({"key": key, "group_id": group_id, "level": level, "n_peers": len(values),
                             "peer_value": stats[level],
                             "target_value": snap(stats[level], direction, bool(s["whole"]), s["valid_min"],
                                                  s["valid_max"]),
                             "target_iso3": leader_iso3 if level == "leader" else None})
    return pd.DataFrame(rows, columns=["key", "group_id", "level", "n_peers", "peer_value", "target_value",
                                       "target_iso3"])


# --- re-scoring -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Move:
    """Set the focus country's latest value of `key` to `value` (in the indicator's denominated unit)."""

    key: str
    value: float
    label: str = ""  # e.g. "g7:leader"


@dataclass
class Inputs:
    """What score_index hands run_pipeline, for the scored universe."""

    values: pd.DataFrame  # iso3 x key, latest denominated values
    framework: object  # method Framework
    config: object  # MethodConfig
    groups: pd.Series  # iso3 -> imputation group
    focus: str
    bounds: pd.DataFrame | None = None  # iso3 x key: censoring bounds (index_build.censored_bounds)
    domains: pd.Series | None = None  # key -> continuous | binary | year (index_build.domains)


def pipeline_inputs(latest, ref_framework, ref_pillars, universe, groups, config, focus) -> Inputs:
    from pipelines.model.index_build import censored_bounds, domains, method_framework, wide_latest

    keys = list(ref_framework["key"])
    values = wide_latest(latest, universe, keys)
    return Inputs(values, method_framework(ref_framework, ref_pillars), config, groups.reindex(values.index), focus,
                  censored_bounds(latest, universe, keys), domains(ref_framework))


def _copies_of(frame_or_series, copies: dict):
    """Extend bounds (columns) or domains (index) with each what-if copy's original indicator."""
    if frame_or_series is None:
        return None
    if isinstance(frame_or_series, pd.Series):
        return pd.concat([frame_or_series, pd.Series({c: frame_or_series.get(k) for c, k in copies.items()})])
    return frame_or_series.assign(**{c: frame_or_series[k] for c, k in copies.items()})


def _run(inputs: Inputs, values: pd.DataFrame, mc: bool = False):
    """run_pipeline fed exactly as index_build.score_index feeds it (censoring bounds and domains included)."""
    from pipelines.model.method import run_pipeline

    config = inputs.config if mc else replace(inputs.config, mc_draws=0)
    return run_pipeline(values, inputs.framework, config, groups=inputs.groups, upper_bounds=inputs.bounds,
                        domains=inputs.domains)


def _with_moves(values: pd.DataFrame, focus: str, moves) -> pd.DataFrame:
    moved = values.copy()
    for move in moves:
        moved.loc[focus, move.key] = move.value
    return moved


def column_local(config) -> bool:
    """Whether every step before aggregation works indicator by indicator (see the module doc)."""
    return config.imputation != "pillar_regression" and config.weights != "pca"


@dataclass
class Rescorer:
    """Composite scores and the focus country's rank band for any set of moves (one per indicator)."""

    inputs: Inputs
    baseline: object = None  # PipelineResult without Monte Carlo
    exact: bool = False  # re-run the pipeline per scenario (methods that are not column-local)
    _columns: dict = field(default_factory=dict)  # (key, value) -> {"nominal": col, variant: col}

    def __post_init__(self) -> None:
        from pipelines.model.method.uncertainty import Scenario

        self.baseline = _run(self.inputs, self.inputs.values)
        self.exact = self.exact or not column_local(self.inputs.config)
        fw, config = self.baseline.framework, self.inputs.config
        self.keys = list(self.baseline.normalised.columns)
        self.countries = self.baseline.normalised.index
        self.focus_at = int(self.countries.get_loc(self.inputs.focus))
        self.members = [np.flatnonzero(fw.pillar.reindex(self.keys).to_numpy() == p) for p in fw.pillars]
        self.pillar_of = {k: fw.pillars.index(fw.pillar[k]) for k in self.keys}
        self.w_ind = self.baseline.weights.indicator.reindex(self.keys).to_numpy(dtype=float)
        self.w_pil = self.baseline.weights.pillar.reindex(fw.pillars).to_numpy(dtype=float)
        self.nominal_x = self.baseline.normalised.to_numpy(dtype=float)
        self.scenario = Scenario(config.normalisation, config.aggregation, config.imputation != "none")
        self._draws()
        self._variants = self._variant_matrices(self.baseline)  # baseline pillars first: prepare() adds columns
        self._base_pillars = self._mc_pillars({})

    # Monte Carlo draws exactly as uncertainty.monte_carlo_ranks makes them (same seed, same order of draws)
    def _draws(self) -> None:
        from pipelines.model.method.uncertainty import perturb

        config, fw = self.inputs.config, self.baseline.framework
        choices, n = config.mc_choices, config.mc_draws
        self.n_draws = n
        if n <= 0:
            return
        rng = np.random.default_rng(config.mc_seed)
        self.norm = rng.integers(len(choices.normalisations), size=n)
        self.imp = rng.integers(len(choices.imputation), size=n)
        self.agg = rng.integers(len(choices.aggregations), size=n)
        group_of = np.array([fw.pillars.index(fw.pillar[k]) for k in self.keys])
        self.draws_ind = perturb(self.w_ind, group_of, n, rng, choices)
        self.draws_pil = perturb(self.w_pil, np.zeros(len(fw.pillars), dtype=int), n, rng, choices)
        self._variant_order = sorted({(choices.normalisations[a], choices.imputation[b])
                                      for a, b in zip(self.norm, self.imp)})
        self._variant_of = np.array([self._variant_order.index((choices.normalisations[a], choices.imputation[b]))
                                     for a, b in zip(self.norm, self.imp)])
        self._by_method = [(choices.aggregations[c], self.agg == c) for c in sorted(set(self.agg))]

    def _variant_matrices(self, result, inputs: Inputs | None = None) -> dict:
        """The normalised matrix of every Monte Carlo variant, from a pipeline result (uncertainty.variants)."""
        from pipelines.model.method.uncertainty import variants

        if self.n_draws <= 0:
            return {}
        inputs = inputs or self.inputs
        config = inputs.config
        imputed = result.imputed
        if config.imputation == "none":
            from pipelines.model.method.imputation import impute_with_methods

            imputed = impute_with_methods(result.treated, "group_median", inputs.groups, result.framework,
                                          domains=inputs.domains)[0]
        return variants(result.treated, imputed, result.framework, config.mc_choices, self.scenario)

    # re-scored columns of candidate moves: all of them in one pipeline run
    def prepare(self, moves) -> None:
        """Run the pipeline once on the scored countries with one extra column per not-yet-prepared move: a copy
        of the moved indicator (same framework row) with the focus country's value replaced. Every step before
        aggregation being column-local, each copy comes out treated, imputed and normalised exactly as in a run
        with that move alone. Screening thresholds are off in that run: its rows and columns are those the
        baseline run kept."""
        todo = list({(m.key, m.value): m for m in moves
                     if m.key in self.keys and (m.key, m.value) not in self._columns}.values())
        if not todo:
            return
        base = self.inputs.values.loc[self.countries, self.keys]
        names = [f"{m.key}@whatif{i}" for i, m in enumerate(todo)]
        copies = pd.DataFrame({name: base[m.key] for name, m in zip(names, todo)}, index=base.index)
        for name, move in zip(names, todo):
            copies.loc[self.inputs.focus, name] = move.value
        wide = pd.concat([base, copies], axis=1)
        fw = self.baseline.framework
        rows = fw.indicators.loc[[m.key for m in todo]].set_axis(pd.Index(names, name=fw.indicators.index.name))
        framework = replace(fw, indicators=pd.concat([fw.indicators, rows]))
        copied = {name: m.key for name, m in zip(names, todo)}
        bounds = _copies_of(self.inputs.bounds, copied)
        if bounds is not None:
            bounds = bounds.reindex(base.index)
            bounds.loc[self.inputs.focus, list(copied)] = np.nan  # the moved value is observed
        inputs = replace(self.inputs, framework=framework, groups=self.inputs.groups.reindex(base.index),
                         bounds=bounds, domains=_copies_of(self.inputs.domains, copied),
                         config=replace(self.inputs.config, min_indicator_coverage=0.0, min_country_coverage=0.0,
                                        min_pillars=0))
        result = _run(inputs, wide)
        variants = self._variant_matrices(result, inputs)
        at = {name: i for i, name in enumerate(result.treated.columns)}
        for name, move in zip(names, todo):
            self._columns[(move.key, move.value)] = {
                "nominal": result.normalised[name].reindex(self.countries).to_numpy(dtype=float),
                **{v: matrix[:, at[name]] for v, matrix in variants.items()},
            }

    def _matrix(self, base: np.ndarray, moves, variant) -> np.ndarray:
        x = base.copy() if moves else base
        for move in moves:
            x[:, self.keys.index(move.key)] = self._columns[(move.key, move.value)][variant]
        return x

    def _scored(self, moves) -> list:
        moves = [m for m in moves if m.key in self.keys]
        if len({m.key for m in moves}) != len(moves):
            raise ValueError("one move per indicator")
        if not self.exact:
            self.prepare(moves)
        return moves

    def scores(self, moves=()) -> np.ndarray:
        """Nominal composite score of every country (order: self.countries)."""
        from pipelines.model.method.aggregation import weighted_means

        moves = self._scored(moves)
        if self.exact:
            return exact_scores(self.inputs, moves)
        x = self._matrix(self.nominal_x, moves, "nominal")
        method = self.inputs.config.aggregation
        pillars = np.stack([weighted_means(x[:, idx], self.w_ind[None, idx], method)[0] for idx in self.members],
                           axis=-1)
        return weighted_means(pillars, self.w_pil[None], method)[0]

    def _mc_pillars(self, moves) -> np.ndarray:
        """(draws, countries, pillars) scores; only the pillars a move touches are re-aggregated. Each draw
        aggregates its own variant's matrix (weighted_means on a stack of matrices, one per draw)."""
        from pipelines.model.method.aggregation import weighted_means

        if self.n_draws <= 0:
            return np.empty(0)
        touched = {self.pillar_of[m.key] for m in moves}
        out = self._base_pillars.copy() if moves else np.full((self.n_draws, len(self.countries),
                                                                len(self.members)), np.nan)
        stacked = np.stack([self._matrix(self._variants[v], moves, v) for v in self._variant_order])
        for p, idx in enumerate(self.members):
            if moves and p not in touched:
                continue
            block = stacked[:, :, idx]
            for method, sel in self._by_method:
                out[sel, :, p] = weighted_means(block[self._variant_of[sel]], self.draws_ind[sel][:, idx], method)
        return out

    def band(self, moves=()) -> tuple[float, float, float]:
        """The focus country's composite rank over the Monte Carlo draws: (p05, median, p95)."""
        from pipelines.model.method.aggregation import weighted_means

        if self.n_draws <= 0:
            return (np.nan, np.nan, np.nan)
        moves = self._scored(moves)
        if self.exact:
            return exact_band(self.inputs, moves)
        pillars = self._mc_pillars(moves)
        composite = np.empty((self.n_draws, len(self.countries)))
        for method, sel in self._by_method:
            composite[sel] = weighted_means(pillars[sel], self.draws_pil[sel], method)
        own = composite[:, self.focus_at]
        ranks = (composite > own[:, None]).sum(axis=1) + 1.0  # 'min' ties, NaN never ahead: as rank_draws
        q05, q50, q95 = np.quantile(ranks, [0.05, 0.5, 0.95])
        return float(q05), float(q50), float(q95)


def exact_scores(inputs: Inputs, moves) -> np.ndarray:
    """The reference: a full pipeline run with the moves applied."""
    result = _run(inputs, _with_moves(inputs.values, inputs.focus, moves))
    return result.composite.set_index("iso3")["score"].to_numpy(dtype=float)


def exact_band(inputs: Inputs, moves) -> tuple[float, float, float]:
    result = _run(inputs, _with_moves(inputs.values, inputs.focus, moves), mc=True)
    bands = result.uncertainty.bands
    row = bands[(bands["iso3"] == inputs.focus) & (bands["scope"] == "composite")].iloc[0]
    return float(row["p05_rank"]), float(row["median_rank"]), float(row["p95_rank"])


def rank_of(scores: np.ndarray, at: int, among: np.ndarray | None = None) -> float:
    """Rank of country `at` (1 = best, ties share the best rank) among all scored countries or a subset mask."""
    own = scores[at]
    if np.isnan(own):
        return np.nan
    ahead = scores > own
    if among is not None:
        ahead &= among
    return float(ahead.sum() + 1)


def cross_check(rescorer: Rescorer, moves, tolerance: float = 1e-9) -> float:
    """Largest difference between assembled and fully re-run composite scores for `moves` (0 when exact)."""
    assembled = rescorer.scores(moves)
    reference = exact_scores(rescorer.inputs, [m for m in moves if m.key in rescorer.keys])
    return float(np.nanmax(np.abs(assembled - reference))) if len(reference) else 0.0


# --- moves --------------------------------------------------------------------------------------------------------

def improving(current: float, target: float, direction: int) -> bool:
    return not np.isnan(target) and (np.isnan(current) or (target - current) * direction > 0)


def level_moves(levels: pd.DataFrame, current: pd.Series, directions: pd.Series) -> pd.DataFrame:
    """levels + `move_value`: the target where it improves on the focus country's value, else its own value."""
    out = levels.copy()
    cur = out["key"].map(current)
    direction = out["key"].map(directions)
    better = [improving(c, t, d) for c, t, d in zip(cur, out["target_value"], direction)]
    out["moves"] = better
    out["move_value"] = np.where(better, out["target_value"], cur)
    return out


def elasticity_moves(rescorer: Rescorer, spec: pd.DataFrame, current: pd.Series) -> dict[str, dict[str, Move]]:
    """Per indicator: a move of one standard deviation (of the scored countries' observed values) and of 10 %,
    both in the better direction and snapped like peer levels; missing where it means nothing (a 0/1 fact; 10 %
    of a year or of zero)."""
    raw = rescorer.baseline.raw
    out = {}
    for key in rescorer.keys:
        s = spec.loc[key]
        now, direction = current.get(key, np.nan), int(s["direction"])
        moves = {}
        if s["kind"] != "flag" and not np.isnan(now):
            sd = float(raw[key].std(ddof=1))
            for name, target in (("one_sd", now + direction * sd),
                                 ("ten_percent", now * (1 + 0.1 * direction) if s["kind"] != "years" else np.nan)):
                value = snap(target, direction, bool(s["whole"]), s["valid_min"], s["valid_max"])
                if improving(now, value, direction):
                    moves[name] = Move(key, value, name)
        out[key] = moves
    return out


# --- shortest path ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PathResult:
    moves: tuple  # Move per step, in order
    ranks: tuple  # rank in the target scope after each step (step 0 = today first)
    reached: bool
    algorithm: str  # exact | greedy | unreachable


def greedy_path(rank_after, candidates: dict[str, list[Move]], target: int, start_rank: float) -> PathResult:
    """Each step takes, among indicators not yet moved, the move giving the best rank (ties: highest score), until
    the rank is at or better than `target`. `rank_after(moves) -> (rank, score)`. Each indicator is moved at most
    once, to one of its candidate levels."""
    chosen, ranks = [], [start_rank]
    while ranks[-1] > target:
        best, best_key = None, None
        for key, moves in candidates.items():
            if any(m.key == key for m in chosen):
                continue
            for move in moves:
                rank, score = rank_after([*chosen, move])
                if best is None or (rank, -score) < best[0]:
                    best, best_key = ((rank, -score), move), key
        if best is None:
            return PathResult(tuple(chosen), tuple(ranks), False, "unreachable")
        chosen.append(best[1])
        ranks.append(best[0][0])
        del best_key
    return PathResult(tuple(chosen), tuple(ranks), True, "greedy")


def exhaustive_minimum(rank_after, candidates: dict[str, list[Move]], target: int, max_size: int):
    """The smallest set of moves (one level per indicator) reaching `target`, trying every combination of up to
    `max_size` indicators and every level of each; None if none does. The test oracle of the greedy search."""
    keys = list(candidates)
    for size in range(1, max_size + 1):
        best = None
        for subset in itertools.combinations(keys, size):
            for combo in itertools.product(*(candidates[k] for k in subset)):
                rank, score = rank_after(list(combo))
                if rank <= target and (best is None or (rank, -score) < best[0]):
                    best = ((rank, -score), combo)
        if best is not None:
            return best[1]
    return None


def _ordered(rank_after, moves, start_rank: float) -> PathResult:
    """A set of moves as a path: greedily ordered (each step the move giving the best rank next)."""
    left, chosen, ranks = list(moves), [], [start_rank]
    while left:
        step = min(left, key=lambda m: (rank_after([*chosen, m])[0], -rank_after([*chosen, m])[1]))
        left.remove(step)
        chosen.append(step)
        ranks.append(rank_after(chosen)[0])
    return PathResult(tuple(chosen), tuple(ranks), True, "exact")


def relaxed(rank_after, path: PathResult, candidates: dict[str, list[Move]], target: int) -> PathResult:
    """The same indicators, each moved only as far as needed: every move is replaced by its least ambitious
    candidate level (smallest single-move gain) with which the whole set still reaches the target."""
    moves = list(path.moves)
    for i, move in enumerate(moves):
        gentler = sorted(candidates.get(move.key, []), key=lambda m: (-rank_after([m])[0], rank_after([m])[1]))
        for candidate in gentler:
            trial = [*moves[:i], candidate, *moves[i + 1:]]
            if rank_after(trial)[0] <= target:
                moves[i] = candidate
                break
    if moves == list(path.moves):
        return path
    return replace(_ordered(rank_after, moves, path.ranks[0]), algorithm=path.algorithm)


def shortest_path(rank_after, candidates: dict[str, list[Move]], target: int, start_rank: float,
                  budget: int = 400) -> PathResult:
    """Fewest moves to `target`. First the greedy path; then, when every smaller combination of the indicators'
    most ambitious levels (best single-move rank) fits in `budget` evaluations, those are tried by increasing size:
    the first that reaches the target is the minimum ("exact"); none reaching it proves the greedy path minimal.
    Trying only the most ambitious level per indicator is enough when the rank never worsens as a value improves
    (checked on the marts: the leader is never worse than the median). Beyond the budget the path is "greedy"."""
    if start_rank <= target:
        return PathResult((), (start_rank,), True, "exact")
    path = greedy_path(rank_after, candidates, target, start_rank)
    if not path.reached:
        return path
    return relaxed(rank_after, _fewest(rank_after, candidates, target, start_rank, budget, path), candidates, target)


def _fewest(rank_after, candidates, target, start_rank, budget, path) -> PathResult:
    best_of = [min(v, key=lambda m: (rank_after([m])[0], -rank_after([m])[1])) for v in candidates.values() if v]
    smaller = len(path.moves) - 1
    if sum(math.comb(len(best_of), s) for s in range(1, smaller + 1)) > budget:
        return path
    for size in range(1, smaller + 1):
        for subset in itertools.combinations(best_of, size):
            if rank_after(list(subset))[0] <= target:
                return _ordered(rank_after, subset, start_rank)
    return replace(path, algorithm="exact")


# --- scenarios (config/scenarios.yaml) ----------------------------------------------------------------------------

def load_scenarios(path=None) -> dict:
    import yaml

    from pipelines.base.settings import CONFIG_DIR

    path = path or CONFIG_DIR / "scenarios.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems = []
    for i, scenario in enumerate(doc.get("scenarios", [])):
        for field_name in ("id", "label", "targets"):
            if not scenario.get(field_name):
                problems.append(f"scenario {i + 1}: missing {field_name!r}")
        for target in scenario.get("targets") or []:
            if set(target) != {"indicator", "to"}:
                problems.append(f"scenario {scenario.get('id')!r}: a target is {{indicator: KEY, to: GROUP:LEVEL "
                                f"or ISO3}}, not {target}")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return doc


def parse_level(text: str) -> tuple[str, str]:
    """'g7:median' -> ('g7', 'median'); 'KOR' -> ('country', 'KOR')."""
    text = str(text).strip()
    if ":" in text:
        group, level = text.split(":", 1)
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {level!r} (in {text!r})")
        return group, level
    if len(text) == 3 and text.isalpha() and text.isupper():
        return "country", text
    raise ValueError(f"a target is GROUP:median|p75|leader or a country's ISO3, not {text!r}")


# --- the tables -----------------------------------------------------------------------------------------------------

WHAT_IF_COLUMNS = [
    "focus_iso3", "scope", "item", "pillar", "group_id", "level", "focus_value", "focus_value_imputed",
    "peer_value", "target_value", "target_iso3", "n_moved", "baseline_score", "baseline_rank", "baseline_rank_p05",
    "baseline_rank_p95", "score", "rank", "rank_p05", "rank_median", "rank_p95", "rank_gain",
    "rank_gain_per_sd", "rank_gain_per_10pct", "survives_uncertainty", "note",
]
PATH_COLUMNS = [
    "focus_iso3", "target_scope", "target_rank", "algorithm", "reached", "n_moves", "step", "key", "move",
    "from_value", "to_value", "score", "rank_in_scope", "rank", "rank_p05", "rank_p95",
]
SCENARIO_COLUMNS = [
    "focus_iso3", "scenario_id", "label", "n_targets", "n_moved", "moves", "baseline_score", "baseline_rank",
    "baseline_rank_p05", "baseline_rank_p95", "score", "rank", "rank_p05", "rank_median", "rank_p95", "rank_gain",
    "survives_uncertainty", "note",
]


def indicator_spec(ref_framework: pd.DataFrame, dim_indicators: pd.DataFrame) -> pd.DataFrame:
    """Per framework key: direction, pillar, registry kind, valid range, and whether it takes whole values only."""
    kinds = dim_indicators[["source_id", "indicator_id", "kind", "valid_min", "valid_max"]]
    spec = ref_framework[["key", "pillar", "direction", "denominator", "source_id", "indicator_id"]].merge(
        kinds, on=["source_id", "indicator_id"], how="left").set_index("key")
    spec["whole"] = [whole_valued(k, d) for k, d in zip(spec["kind"], spec["denominator"])]
    return spec


_TEXT = {"focus_iso3", "scope", "item", "pillar", "group_id", "level", "target_iso3", "note", "target_scope",
         "algorithm", "key", "move", "scenario_id", "label", "moves"}
_FLAGS = {"focus_value_imputed", "survives_uncertainty", "reached"}
_COUNTS = {"n_moved", "target_rank", "n_moves", "step", "n_targets"}


def empty_tables() -> dict:
    """Well-typed empty what-if tables (a build that scores no index still publishes them)."""
    def empty(columns):
        return pd.DataFrame({c: pd.Series(dtype="string" if c in _TEXT else "boolean" if c in _FLAGS
                                          else "Int64" if c in _COUNTS else "float64") for c in columns})

    return {"int_focus_what_if": empty(WHAT_IF_COLUMNS), "int_focus_path": empty(PATH_COLUMNS),
            "int_scenarios": empty(SCENARIO_COLUMNS), "cross_check": 0.0}


class _Evaluator:
    """Memoised scores and bands of move sets, with ranks in any scope."""

    def __init__(self, rescorer: Rescorer, scopes: dict[str, np.ndarray]):
        self.rescorer, self.scopes = rescorer, scopes
        self._scores, self._bands = {}, {}

    @staticmethod
    def _key(moves):
        return frozenset((m.key, m.value) for m in moves)

    def scores(self, moves) -> np.ndarray:
        key = self._key(moves)
        if key not in self._scores:
            self._scores[key] = self.rescorer.scores(list(moves))
        return self._scores[key]

    def band(self, moves):
        key = self._key(moves)
        if key not in self._bands:
            self._bands[key] = self.rescorer.band(list(moves))
        return self._bands[key]

    def outcome(self, moves) -> dict:
        scores = self.scores(moves)
        at = self.rescorer.focus_at
        p05, p50, p95 = self.band(moves)
        return {"score": float(scores[at]), "rank": rank_of(scores, at), "rank_p05": p05, "rank_median": p50,
                "rank_p95": p95}

    def rank_after(self, scope: str):
        mask = self.scopes.get(scope)

        def evaluate(moves):
            scores = self.scores(moves)
            at = self.rescorer.focus_at
            return rank_of(scores, at, mask), float(scores[at])

        return evaluate


def _with_gain(row: dict, base: dict) -> dict:
    row["rank_gain"] = base["rank"] - row["rank"]
    row["survives_uncertainty"] = bool(row["rank_p95"] < base["rank_p05"]) if not np.isnan(row["rank_p95"]) else None
    return row


def focus_what_if(*, latest, ref_framework, ref_pillars, universe, groups, config, focus, memberships,
                  dim_indicators, scenarios: dict, path_groups: bool = True) -> dict[str, pd.DataFrame]:
    """The what-if tables for the focus country: int_focus_what_if, int_focus_path, int_scenarios, and the largest
    difference found between assembled and fully re-run scores (`cross_check`)."""
    from pipelines.model.index_build import scorable

    inputs = pipeline_inputs(latest, ref_framework, ref_pillars, universe, groups, config, focus)
    if focus not in inputs.values.index or not scorable(inputs.values, inputs.framework, config, inputs.bounds)[0]:
        return empty_tables()  # a partial build (e.g. one source) scores no index: nothing to move
    rescorer = Rescorer(inputs)
    if focus not in rescorer.countries:
        return empty_tables()  # the focus country was screened out of the index (mart_screening says why)
    spec = indicator_spec(ref_framework, dim_indicators).loc[rescorer.keys]
    current = inputs.values.loc[focus, rescorer.keys].astype(float)
    imputed = rescorer.baseline.imputed_mask.loc[focus, rescorer.keys].astype(bool)
    scored = rescorer.countries
    scopes = {"universe": None}
    for group_id, members in memberships.groupby("group_id"):
        scopes[group_id] = np.asarray(scored.isin(set(members["iso3"]) | {focus}))
    evaluator = _Evaluator(rescorer, scopes)

    levels = peer_levels(latest, memberships, focus, spec)
    levels = level_moves(levels[levels["key"].isin(rescorer.keys)], current, spec["direction"])
    moves_of = {r.Index: Move(r.key, float(r.move_value), _label(r)) for r in levels.itertuples() if r.moves}
    # where nothing moves, re-score with the focus country's own value: the no-change invariant is then a real test
    own_of = {r.Index: Move(r.key, float(current[r.key]), "own value") for r in levels.itertuples()
              if not r.moves and not np.isnan(current[r.key])}
    elastic = elasticity_moves(rescorer, spec, current)
    rescorer.prepare([*moves_of.values(), *own_of.values(), *(m for d in elastic.values() for m in d.values())])

    base = evaluator.outcome(())
    baseline = {"focus_iso3": focus, "baseline_score": base["score"], "baseline_rank": base["rank"],
                "baseline_rank_p05": base["rank_p05"], "baseline_rank_p95": base["rank_p95"]}
    gains = {}
    for key, moves in elastic.items():
        gains[key] = {name: base["rank"] - evaluator.outcome([m])["rank"] for name, m in moves.items()}

    rows = []
    for r in levels.itertuples():
        move = moves_of.get(r.Index)
        applied = move or own_of.get(r.Index)
        outcome = evaluator.outcome([applied] if applied else [])
        note = None if move else "already at or beyond this level: nothing moves"
        if bool(imputed[r.key]):
            note = "the focus country's value is imputed: the move replaces the imputed value"
        rows.append(_with_gain({
            **baseline, "scope": "indicator", "item": r.key, "pillar": spec.loc[r.key, "pillar"],
            "group_id": r.group_id, "level": r.level, "focus_value": current[r.key],
            "focus_value_imputed": bool(imputed[r.key]), "peer_value": r.peer_value, "target_value": r.target_value,
            "target_iso3": r.target_iso3, "n_moved": int(move is not None), **outcome,
            "rank_gain_per_sd": gains[r.key].get("one_sd", 0.0) if r.key in gains else np.nan,
            "rank_gain_per_10pct": gains[r.key].get("ten_percent", np.nan), "note": note}, base))
    for key, moves in elastic.items():
        for name, move in moves.items():
            rows.append(_with_gain({
                **baseline, "scope": "indicator", "item": key, "pillar": spec.loc[key, "pillar"],
                "group_id": "universe", "level": name, "focus_value": current[key],
                "focus_value_imputed": bool(imputed[key]), "peer_value": np.nan, "target_value": move.value,
                "target_iso3": None, "n_moved": 1, **evaluator.outcome([move]),
                "rank_gain_per_sd": gains[key].get("one_sd", 0.0), "rank_gain_per_10pct": gains[key].get("ten_percent", np.nan),
                "note": None}, base))
    # a pillar: each of its indicators moved to that group's level (where that improves on today)
    for (pillar, group_id, level), frame in levels.assign(pillar=levels["key"].map(spec["pillar"])).groupby(
            ["pillar", "group_id", "level"]):
        moves = [moves_of[i] for i in frame.index if i in moves_of]
        pillar_keys = [k for k in rescorer.keys if spec.loc[k, "pillar"] == pillar]
        per_sd = [elastic[k]["one_sd"] for k in pillar_keys if "one_sd" in elastic[k]]
        per_10 = [elastic[k]["ten_percent"] for k in pillar_keys if "ten_percent" in elastic[k]]
        rows.append(_with_gain({
            **baseline, "scope": "pillar", "item": pillar, "pillar": pillar, "group_id": group_id, "level": level,
            "focus_value": np.nan, "focus_value_imputed": bool(imputed[frame["key"]].any()), "peer_value": np.nan,
            "target_value": np.nan, "target_iso3": None, "n_moved": len(moves), **evaluator.outcome(moves),
            "rank_gain_per_sd": base["rank"] - evaluator.outcome(per_sd)["rank"] if per_sd else 0.0,
            "rank_gain_per_10pct": base["rank"] - evaluator.outcome(per_10)["rank"] if per_10 else np.nan,
            "note": f"{len(moves)} of {len(frame)} indicators with a peer value move"}, base))
    what_if = pd.DataFrame(rows, columns=WHAT_IF_COLUMNS)

    # shortest paths: observed indicators only, each to one of its named peer levels
    candidates = {}
    for move in moves_of.values():
        if not bool(imputed[move.key]):
            candidates.setdefault(move.key, {}).setdefault(move.value, move)  # one per value (first label kept)
    candidates = {k: list(v.values()) for k, v in candidates.items()}
    path_rows = []
    path_config = scenarios.get("shortest_path", {})
    ranks = sorted({int(n) for n in path_config.get("target_ranks", [10])})
    targets = [("universe", n) for n in ranks]
    if path_groups and path_config.get("first_in_each_group", True):
        targets += [(g, 1) for g in sorted(scopes) if g != "universe"]
    for scope, target in targets:
        rank_after = evaluator.rank_after(scope)
        start = rank_after([])[0]
        path = shortest_path(rank_after, candidates, target, start)
        steps = [None, *path.moves]
        for step, move in enumerate(steps):
            applied = list(path.moves[:step])
            outcome = evaluator.outcome(applied)
            path_rows.append({
                "focus_iso3": focus, "target_scope": scope, "target_rank": target, "algorithm": path.algorithm,
                "reached": path.reached, "n_moves": len(path.moves) if path.reached else None, "step": step,
                "key": move.key if move else None, "move": move.label if move else "today",
                "from_value": current[move.key] if move else np.nan, "to_value": move.value if move else np.nan,
                "score": outcome["score"], "rank_in_scope": path.ranks[step], "rank": outcome["rank"],
                "rank_p05": outcome["rank_p05"], "rank_p95": outcome["rank_p95"]})
    path_table = pd.DataFrame(path_rows, columns=PATH_COLUMNS)

    scenario_rows = []
    for scenario in scenarios.get("scenarios", []):
        moves, notes, described = [], [], []
        for target in scenario["targets"]:
            key = target["indicator"]
            if key not in rescorer.keys:
                notes.append(f"{key} is not a scored indicator in this build")
                continue
            group, level = parse_level(target["to"])
            if group == "country":
                value = latest[(latest["key"] == key) & (latest["iso3"] == level)]["value"]
                s = spec.loc[key]
                value = snap(float(value.iloc[0]), int(s["direction"]), bool(s["whole"]), s["valid_min"],
                             s["valid_max"]) if len(value) else np.nan
            else:
                found = levels[(levels["key"] == key) & (levels["group_id"] == group) & (levels["level"] == level)]
                value = float(found["target_value"].iloc[0]) if len(found) else np.nan
            if np.isnan(value):
                notes.append(f"{key}: no value for {target['to']}")
            elif improving(current[key] if not imputed[key] else np.nan, value, int(spec.loc[key, "direction"])):
                moves.append(Move(key, value, str(target["to"])))
                described.append(f"{key} {_fmt(current[key])} -> {_fmt(value)} ({target['to']})")
            else:
                notes.append(f"{key}: already at or beyond {target['to']}")
        scenario_rows.append(_with_gain({
            **baseline, "scenario_id": scenario["id"], "label": scenario["label"],
            "n_targets": len(scenario["targets"]), "n_moved": len(moves), "moves": "; ".join(described) or None,
            **evaluator.outcome(moves), "note": "; ".join(notes) or None}, base))
    scenario_table = pd.DataFrame(scenario_rows, columns=SCENARIO_COLUMNS)

    # the assembled scores against full pipeline runs: the largest single gain and every indicator to its leader
    top = what_if[(what_if["scope"] == "indicator") & (what_if["n_moved"] > 0)].nlargest(1, "rank_gain")
    checks = [[m] for i, m in moves_of.items() if levels.loc[i, "key"] in set(top["item"])][:1]
    checks.append(list({m.key: m for m in moves_of.values() if ":leader" in m.label}.values()))
    difference = max(cross_check(rescorer, moves) for moves in checks) if not rescorer.exact else 0.0
    return {"int_focus_what_if": what_if, "int_focus_path": path_table, "int_scenarios": scenario_table,
            "cross_check": difference}


def _label(level_row) -> str:
    """'g7:median', or 'g7:leader (USA)'."""
    text = f"{level_row.group_id}:{level_row.level}"
    return f"{text} ({level_row.target_iso3})" if level_row.level == "leader" and level_row.target_iso3 else text


def _fmt(value) -> str:
    return "imputed" if value is None or pd.isna(value) else f"{value:.4g}"
