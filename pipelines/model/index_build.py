"""Glue between the warehouse tables and the method/benchmark libraries (plain Python, no Dagster)."""

from __future__ import annotations

import pandas as pd


def framework_tables(framework, memberships: pd.DataFrame, universe: list[str], focus: str) -> dict[str, pd.DataFrame]:
    indicators = framework.indicators.assign(reference_year=framework.reference_year)
    return {
        "ref_focus": pd.DataFrame({"focus_iso3": [focus]}),
        "ref_framework": indicators,
        "ref_pillars": framework.pillars,
        "ref_concordance": framework.concordance,
        "ref_peer_group_members": memberships,
        "ref_universe": pd.DataFrame({"iso3": universe}),
    }


def method_framework(ref_framework: pd.DataFrame, ref_pillars: pd.DataFrame):
    from pipelines.model.method.framework import Framework

    indicators = ref_framework.set_index("key")[["pillar", "direction", "weight"]].rename_axis("indicator_id")
    pillar_weights = ref_pillars.set_index("pillar")["weight"]
    pillar_weights = pillar_weights[pillar_weights.index.isin(indicators["pillar"])]
    return Framework(indicators, pillar_weights, tuple(ref_pillars["pillar"]))


def wide_latest(latest: pd.DataFrame, universe: list[str], keys: list[str], column: str = "value") -> pd.DataFrame:
    """iso3 x indicator key of the latest denominated values, for the scored universe (missing = NaN)."""
    wide = latest.pivot(index="iso3", columns="key", values=column) if len(latest) else pd.DataFrame()
    return wide.reindex(index=universe, columns=keys).astype(float)


def censored_bounds(latest: pd.DataFrame, universe: list[str], keys: list[str]) -> pd.DataFrame:
    """iso3 x key: the denominated censoring bound of each censored latest cell (NaN elsewhere)."""
    if "is_censored" not in latest.columns:
        return wide_latest(latest.iloc[0:0], universe, keys)
    censored = latest[latest["is_censored"].fillna(False).astype(bool)]
    return wide_latest(censored, universe, keys, "censored_bound")


def domains(ref_framework: pd.DataFrame) -> pd.Series:
    """key -> continuous | binary | year (framework.yaml `domain`)."""
    if "domain" not in ref_framework.columns:
        return pd.Series("continuous", index=ref_framework["key"])
    return ref_framework.set_index("key")["domain"].fillna("continuous")


# Column types of the score tables, so a run with too little data still publishes well-typed (empty) tables.
EMPTY_SCORE_TABLES = {
    "int_index_cells": {"iso3": "string", "key": "string", "pillar": "string", "raw": "float64", "treated": "float64",
                        "imputed": "bool", "imputation_method": "string", "value": "float64", "normalised": "float64"},
    "int_index_pillars": {"iso3": "string", "pillar": "string", "score": "float64", "coverage": "float64",
                          "rank": "float64"},
    "int_index_composite": {"iso3": "string", "score": "float64", "coverage": "float64", "rank": "float64"},
    "int_index_outliers": {"key": "string", "n_obs": "int64", "skew_before": "float64", "kurt_before": "float64",
                           "flagged": "bool", "treatment": "string", "n_winsorised": "int64", "win_lower": "float64",
                           "win_upper": "float64", "skew_after": "float64", "kurt_after": "float64",
                           "flagged_after": "bool"},
    "int_index_weights": {"level": "string", "id": "string", "pillar": "string", "weight": "float64"},
    "int_index_rank_bands": {"iso3": "string", "scope": "string", "nominal_rank": "float64",
                             "median_rank": "float64", "p05_rank": "float64", "p95_rank": "float64"},
    "int_index_mc_draws": {"draw": "int64", "normalisation": "string", "imputation": "bool",
                           "aggregation": "string"},
}


def _empty(columns: dict) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def settings_table(config) -> pd.DataFrame:
    """The method settings as run, one row each, the value as JSON (tuples become lists, True true)."""
    import json

    return pd.DataFrame([{"setting": k, "value": json.dumps(v, default=str)} for k, v in config.as_dict().items()],
                        columns=["setting", "value"])


def scorable(values: pd.DataFrame, framework, config, bounds: pd.DataFrame | None = None) -> tuple[bool, pd.DataFrame]:
    """Whether screening leaves something to score (a partial build, e.g. one source, may not);
    returns the screening record either way."""
    from pipelines.model.method.screening import screen_countries, screen_indicators

    known = None if bounds is None else bounds.notna() & values.isna()
    kept, dropped_indicators = screen_indicators(values, config.min_indicator_coverage, known)
    if kept.shape[1] == 0:
        return False, dropped_indicators
    kept, dropped_countries = screen_countries(kept, framework.subset(kept.columns), config.min_country_coverage,
                                               config.min_pillars, known)
    dropped = pd.concat([d for d in (dropped_indicators, dropped_countries) if len(d)] or [dropped_indicators],
                        ignore_index=True)
    return len(kept) >= 3, dropped


def score_index(latest, ref_framework, ref_pillars, universe, groups, config) -> dict[str, pd.DataFrame]:
    """Run the method pipeline; return the tidy tables the marts are built from."""
    from pipelines.model.method import run_pipeline

    framework = method_framework(ref_framework, ref_pillars)
    keys = list(ref_framework["key"])
    values, bounds = wide_latest(latest, universe, keys), censored_bounds(latest, universe, keys)
    ok, dropped = scorable(values, framework, config, bounds)
    if not ok:
        return {
            **{name: _empty(columns) for name, columns in EMPTY_SCORE_TABLES.items()},
            "int_index_dropped": dropped.astype({"entity": "string"}),
            "int_index_settings": settings_table(config),
        }
    result = run_pipeline(values, framework, config, groups=groups.reindex(values.index), upper_bounds=bounds,
                          domains=domains(ref_framework))
    bands = result.uncertainty.bands if result.uncertainty is not None else pd.DataFrame(
        columns=["iso3", "scope", "nominal_rank", "median_rank", "p05_rank", "p95_rank"])
    draws = result.uncertainty.draws if result.uncertainty is not None else pd.DataFrame()
    treatment = result.treatment.rename(columns={"indicator_id": "key"})
    return {
        "int_index_cells": result.cells.rename(columns={"indicator_id": "key"}),
        "int_index_pillars": result.pillars,
        "int_index_composite": result.composite.reset_index(),
        "int_index_dropped": result.dropped.astype({"entity": "string"}),
        "int_index_outliers": treatment,
        "int_index_weights": result.weights_table,
        "int_index_rank_bands": bands,
        "int_index_mc_draws": draws,
        "int_index_settings": settings_table(config),
    }


def focus_benchmark(*, focus, memberships, ref_framework, latest, history, pillars, composite, trend_config,
                    score_history=None, period_history=None):
    """Benchmark rows for every framework indicator, pillar and the composite, for every peer group.
    `period_history` (int_indicator_periods: key, iso3, time, value): where an indicator has one, its trend uses
    every published period on a time axis in years instead of one value per year."""
    from pipelines.model.benchmark import benchmark

    items = []
    domain_of = domains(ref_framework)
    for row in ref_framework.itertuples():
        current = latest.loc[latest["key"] == row.key].set_index("iso3")["value"].dropna()
        periods = None if period_history is None else period_history.loc[
            (period_history["key"] == row.key) & period_history["value"].notna()]
        if periods is not None and len(periods):
            wide = periods.pivot_table(index="time", columns="iso3", values="value", aggfunc="last")
            items.append({"level": "indicator", "item": row.key, "direction": int(row.direction), "current": current,
                          "history": wide, "domain": domain_of[row.key]})
            continue
        series = history.loc[history["key"] == row.key]
        wide = series.pivot_table(index="year", columns="iso3", values="value", aggfunc="last") if len(series) else None
        items.append({"level": "indicator", "item": row.key, "direction": int(row.direction), "current": current,
                      "history": wide, "domain": domain_of[row.key]})

    def scope_history(scope):
        if score_history is None:
            return None
        frame = score_history[score_history["scope"] == scope]
        return frame.pivot(index="year", columns="iso3", values="score") if len(frame) else None

    for pillar, frame in pillars.groupby("pillar"):
        items.append({"level": "pillar", "item": pillar, "direction": 1,
                      "current": frame.set_index("iso3")["score"], "history": scope_history(pillar)})
    items.append({"level": "composite", "item": "composite", "direction": 1,
                  "current": composite.set_index("iso3")["score"], "history": scope_history("composite")})
    return benchmark(focus=focus, memberships=memberships, items=items, config=trend_config)


def latest_as_of(denominated: pd.DataFrame, ref_framework: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """What int_indicator_latest would have held with reference year `as_of` (same windows and last years)."""
    spec = ref_framework.set_index("key")
    censored = denominated["is_censored"].fillna(False).astype(bool) & denominated["censored_bound"].notna() \
        if "is_censored" in denominated.columns else False
    frame = denominated[denominated["value"].notna() | censored].copy()
    last = frame["key"].map(spec["last_year"]).clip(upper=as_of)
    first = last - frame["key"].map(spec["window_years"]) + 1
    frame = frame[(frame["year"] >= first) & (frame["year"] <= last)]
    columns = ["key", "iso3", "value"] + [c for c in ("is_censored", "censored_bound") if c in frame.columns]
    # .tail(1), not .last(): last() skips NaN, and a censored latest cell has no value
    return frame.sort_values("year").groupby(["key", "iso3"], as_index=False).tail(1)[columns]


def yearly_scores(denominated, ref_framework, ref_pillars, universe, groups, config, years,
                  periods: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pillar and composite scores re-computed as of each past reference year (nominal method, no Monte Carlo):
    the series behind pillar and composite trends. Scores are relative to each year's cross-section.

    `periods` (int_indicator_periods: key, iso3, year, time, value): a pillar holding a sub-annual series gets one
    point per published period, so its trend uses every period a source publishes (deployment: H1 2025, H2 2025,
    Q1 2026): the year's point moves to the time of the year's last period, and each earlier period of the year adds
    a point scored with that series as of the period. Other pillars and the composite keep one point per year."""
    from dataclasses import replace

    from pipelines.model.method import run_pipeline

    framework = method_framework(ref_framework, ref_pillars)
    nominal = replace(config, mc_draws=0)
    frames = []
    keys = list(ref_framework["key"])
    pillar_of = ref_framework.set_index("key")["pillar"]

    def scored(latest: pd.DataFrame) -> pd.DataFrame | None:
        values, bounds = wide_latest(latest, universe, keys), censored_bounds(latest, universe, keys)
        if not scorable(values, framework, nominal, bounds)[0]:
            return None
        result = run_pipeline(values, framework, nominal, groups=groups.reindex(values.index), upper_bounds=bounds,
                              domains=domains(ref_framework))
        pillars = result.pillars.rename(columns={"pillar": "scope"})[["iso3", "scope", "score"]]
        composite = result.composite.reset_index().assign(scope="composite")[["iso3", "scope", "score"]]
        return pd.concat([pillars, composite])

    for year in years:
        latest = latest_as_of(denominated, ref_framework, year)
        rows = scored(latest)
        if rows is None:
            continue
        rows = rows.assign(year=float(year))
        in_year = periods[(periods["year"] == year) & periods["value"].notna()] if periods is not None else None
        if in_year is not None and len(in_year):
            times = sorted(in_year["time"].unique())
            period_pillars = set(pillar_of.reindex(in_year["key"].unique()).dropna())
            rows.loc[rows["scope"].isin(period_pillars), "year"] = float(times[-1])
            for time in times[:-1]:
                upto = periods[(periods["time"] <= time) & periods["value"].notna()].sort_values("time")
                as_of = upto.groupby(["key", "iso3"], as_index=False).tail(1)[["key", "iso3", "value"]]
                others = latest[~latest["key"].isin(set(in_year["key"]))]
                earlier = scored(pd.concat([others, as_of], ignore_index=True))
                if earlier is not None:
                    frames.append(earlier[earlier["scope"].isin(period_pillars)].assign(year=float(time)))
        frames.append(rows)
    if not frames:
        return _empty({"iso3": "string", "scope": "string", "score": "float64", "year": "float64"})
    return pd.concat(frames, ignore_index=True).dropna(subset=["score"]).sort_values(["year", "scope", "iso3"],
                                                                                     ignore_index=True)


def income_groups(countries: pd.DataFrame) -> pd.Series:
    """iso3 -> World Bank income group, the groups of group-median imputation (dim_countries)."""
    return countries.set_index("iso3")["wb_income_group"].fillna("unclassified")


def score_nominal(latest, ref_framework, ref_pillars, universe, groups, config) -> dict[str, pd.DataFrame]:
    """score_index without the Monte Carlo: the nominal scores of `latest` under `config` and the framework given.
    The release diff re-scores the new data with the last release's configuration this way."""
    from dataclasses import replace

    return score_index(latest, ref_framework, ref_pillars, universe, groups, replace(config, mc_draws=0))


def framework_from_dim(dim_framework: pd.DataFrame, order_framework: pd.DataFrame | None = None,
                       order_pillars: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ref_framework, ref_pillars) a release was scored with, from its dim_framework. Rows follow the order of
    `order_framework` / `order_pillars` (this build's) where they share keys, so that an unchanged framework
    scores bit-identically (the method sums in framework order); the rest keep their published order. Needs
    dim_framework's pillar_expert_weight (releases before it stored no pillar weights: KeyError)."""
    columns = {"indicator_key": "key", "indicator_label": "label", "expert_weight": "weight"}
    ref_framework = dim_framework.rename(columns=columns).drop(
        columns=["pillar_label", "pillar_expert_weight", "weight_in_pillar", "pillar_weight", "is_scored"])
    ref_pillars = (dim_framework[["pillar", "pillar_label", "pillar_expert_weight"]].drop_duplicates("pillar")
                   .rename(columns={"pillar_label": "label", "pillar_expert_weight": "weight"}))

    def ordered(frame: pd.DataFrame, key: str, like: pd.DataFrame | None) -> pd.DataFrame:
        position = {k: i for i, k in enumerate([] if like is None else like[key])}
        rank = frame[key].map(lambda k: position.get(k, len(position)))
        return frame.assign(_order=rank).sort_values("_order", kind="stable").drop(columns="_order") \
            .reset_index(drop=True)

    return ordered(ref_framework, "key", order_framework), ordered(ref_pillars, "pillar", order_pillars)
