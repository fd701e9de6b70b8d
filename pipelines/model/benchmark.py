"""Focus country vs peer groups: position, gaps, trends, years behind and years to catch up.

Conventions (documented in the README's method section):
- Peer statistics (median, quartiles, leader) are over the group's members *other than* the focus country;
  the focus country's rank and percentile are within the group including itself.
- Gaps are focus minus target, in the item's own units (denominated value for indicators, 0-100 score for
  pillars and the composite); `behind` is direction-aware.
- Trends: ordinary least-squares slope per year over the last `trend_years` available years (at least
  `min_trend_points`), for the focus country and for the peer median series (median over members with data in
  that year); CAGR where all values are positive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class TrendConfig:
    trend_years: int = 5
    min_trend_points: int = 3


def ols_slope(years: np.ndarray, values: np.ndarray) -> float:
    if len(years) < 2 or np.ptp(years) == 0:
        return float("nan")
    return float(np.polyfit(years.astype(float), values.astype(float), 1)[0])


def cagr(years: np.ndarray, values: np.ndarray) -> float:
    if len(years) < 2 or values[0] <= 0 or values[-1] <= 0 or years[-1] == years[0]:
        return float("nan")
    return float((values[-1] / values[0]) ** (1 / (years[-1] - years[0])) - 1)


def last_points(series: pd.Series, config: TrendConfig) -> pd.Series:
    """The last `trend_years` available observations (index = year), oldest first."""
    return series.dropna().sort_index().iloc[-config.trend_years:]


def trend(series: pd.Series, config: TrendConfig) -> dict:
    points = last_points(series, config)
    if len(points) < config.min_trend_points:
        return {"slope": np.nan, "cagr": np.nan, "first_year": None, "last_year": None, "points": len(points)}
    years, values = points.index.to_numpy(), points.to_numpy()
    return {"slope": ols_slope(years, values), "cagr": cagr(years, values), "first_year": int(years[0]),
            "last_year": int(years[-1]), "points": len(points)}


def years_behind(focus_value: float, focus_year: float, target_history: pd.Series, direction: int,
                 target: str = "the peer median") -> tuple[float, str | None]:
    """How many years ago the target stood where the focus country stands now (None + reason when not knowable).
    `target` names who is ahead in the note ("the peer median", "the leader")."""
    values, years = target_history.to_numpy(dtype=float), target_history.index.to_numpy()
    kept = ~np.isnan(values) & (years <= focus_year)
    order = np.argsort(years[kept], kind="stable")
    values, years = values[kept][order], years[kept][order]
    if not len(years):
        return np.nan, f"no history of {target} up to the focus country's latest year"
    reached = years[(values - focus_value) * direction <= 0]  # years when the target was at or below the focus level
    if not len(reached):
        return np.nan, f"{target} was ahead throughout its series (since {int(years[0])}), above the focus country's current level"
    return float(focus_year - reached[-1]), None


def years_to_catch_up(gap: float, focus_slope: float, target_slope: float, direction: int,
                      target: str = "the peer median") -> tuple[float, str | None]:
    """Gap / closing speed at current trends; None with the reason when the gap is not closing."""
    if np.isnan(focus_slope) or np.isnan(target_slope):
        return np.nan, "not enough years of data for a trend"
    closing_speed = (focus_slope - target_slope) * direction
    if closing_speed <= 0:
        return np.nan, f"diverging: {target} is improving at least as fast as the focus country"
    return float(abs(gap) / closing_speed), None


def _gap_status(behind: bool, focus_slope: float, target_slope: float, direction: int) -> str:
    if np.isnan(focus_slope) or np.isnan(target_slope):
        return "no trend data"
    relative = (focus_slope - target_slope) * direction
    if behind:
        return "behind, closing" if relative > 0 else "behind, widening"
    return "ahead, lead growing" if relative > 0 else "ahead, lead shrinking"


def benchmark_item(
    *,
    focus: str,
    members: list[str],
    current: pd.Series,
    history: pd.DataFrame | None,
    direction: int,
    config: TrendConfig,
    focus_cache: dict | None = None,
    relative_gaps: bool = True,
) -> dict | None:
    """One item (indicator, pillar or composite) for one group. `current`: iso3 -> value now; `history`: year x iso3.
    `focus_cache` (benchmark() passes one per item) keeps what does not depend on the group: the focus
    country's trend and last year are then computed once per item, not once per group."""
    if focus not in current.index or pd.isna(current.get(focus)):
        return None
    focus_value = float(current[focus])
    in_group = current.reindex(members).dropna()
    peers = in_group.drop(focus, errors="ignore")
    if peers.empty:
        return None
    # Scalar statistics on numpy arrays: the same numbers as the pandas methods (linear quantiles, mean of the
    # two middle values for the median), at a fraction of their per-call cost (items x groups calls).
    group_values, peer_values = in_group.to_numpy(dtype=float), peers.to_numpy(dtype=float)
    oriented, focus_oriented = group_values * direction, focus_value * direction
    rank = int((oriented > focus_oriented).sum() + 1)
    leader_at = int(np.argmax(peer_values * direction))  # the first of equal leaders, as idxmax
    leader, leader_value = peers.index[leader_at], float(peer_values[leader_at])
    median = float(np.median(peer_values))
    p25, p75 = (float(q) for q in np.quantile(peer_values, [0.25, 0.75]))
    row = {
        "focus_value": focus_value,
        "n_peers": len(peers),
        "peer_median": median,
        "peer_p25": p25,
        "peer_p75": p75,
        "leader_iso3": leader,
        "leader_value": leader_value,
        "gap_to_median": focus_value - median,
        # a relative gap means nothing for a year or a 0/1 fact (relative_gaps=False): absolute gaps only
        "gap_to_median_rel": (focus_value - median) / abs(median) if median and relative_gaps else np.nan,
        "gap_to_leader": focus_value - leader_value,
        "gap_to_leader_rel": (focus_value - leader_value) / abs(leader_value) if leader_value and relative_gaps
        else np.nan,
        "rank_in_group": rank,
        "n_in_group": len(in_group),
        "percentile_in_group": float((oriented < focus_oriented).sum() / max(len(in_group) - 1, 1) * 100),
        "behind_median": bool((focus_value - median) * direction < 0),
    }
    if history is None or focus not in history.columns:
        row.update({"trend_note": "no yearly history for this item"})
        return row
    cached = focus_cache if focus_cache is not None else {}
    if not cached:
        # the focus country's latest time: a year, or a fractional year on a period axis (e.g. 2026.125 = 2026-Q1)
        cached.update(trend=trend(history[focus], config), year=float(history[focus].dropna().index.max()))
    focus_trend, focus_year = cached["trend"], cached["year"]
    peer_history = history.to_numpy(dtype=float)[:, history.columns.isin(peers.index)]  # year x peer
    with_data = ~np.isnan(peer_history).all(axis=1)  # years where some peer has a value
    median_series = pd.Series(np.nanmedian(peer_history[with_data], axis=1), index=history.index[with_data])
    median_trend = trend(median_series, config)
    behind_years_median, behind_median_note = (
        years_behind(focus_value, focus_year, median_series, direction) if row["behind_median"]
        else (0.0, "not behind the peer median")
    )
    behind_leader = (focus_value - leader_value) * direction < 0
    behind_years_leader, behind_leader_note = (
        (0.0, "not behind the leader") if not behind_leader
        else years_behind(focus_value, focus_year, history[leader], direction, "the leader") if leader in history.columns
        else (np.nan, "no leader history")
    )
    catch_up, catch_up_note = (
        years_to_catch_up(row["gap_to_median"], focus_trend["slope"], median_trend["slope"], direction)
        if row["behind_median"] else (np.nan, "not behind the peer median")
    )
    row.update({
        "focus_trend_slope": focus_trend["slope"],
        "focus_trend_cagr": focus_trend["cagr"],
        "peer_median_trend_slope": median_trend["slope"],
        "peer_median_trend_cagr": median_trend["cagr"],
        "trend_first_year": focus_trend["first_year"],
        "trend_last_year": focus_trend["last_year"],
        "gap_status": _gap_status(row["behind_median"], focus_trend["slope"], median_trend["slope"], direction),
        "gap_closing": (None if not row["behind_median"] or np.isnan(focus_trend["slope"]) or np.isnan(median_trend["slope"])
                        else bool((focus_trend["slope"] - median_trend["slope"]) * direction > 0)),
        "years_behind_median": behind_years_median,
        "years_behind_median_note": behind_median_note,
        "years_behind_leader": behind_years_leader,
        "years_behind_leader_note": behind_leader_note,
        "years_to_catch_up_median": catch_up,
        "years_to_catch_up_note": catch_up_note,
        "trend_note": None,
    })
    return row


BENCHMARK_COLUMNS = [
    "focus_iso3", "level", "item", "group_id", "focus_value", "n_peers", "peer_median", "peer_p25", "peer_p75",
    "leader_iso3", "leader_value", "gap_to_median", "gap_to_median_rel", "gap_to_leader", "gap_to_leader_rel",
    "rank_in_group", "n_in_group", "percentile_in_group", "behind_median", "focus_trend_slope", "focus_trend_cagr",
    "peer_median_trend_slope", "peer_median_trend_cagr", "trend_first_year", "trend_last_year", "gap_status",
    "gap_closing", "years_behind_median", "years_behind_median_note", "years_behind_leader",
    "years_behind_leader_note", "years_to_catch_up_median", "years_to_catch_up_note", "trend_note",
]


def benchmark(
    *,
    focus: str,
    memberships: pd.DataFrame,
    items: list[dict],
    config: TrendConfig = TrendConfig(),
) -> pd.DataFrame:
    """`items`: dicts with level, item, direction, current (Series iso3 -> value), history (DataFrame year x iso3 or
    None), and optionally domain (continuous | binary | year: only continuous items get relative gaps)."""
    rows = []
    focus_caches = [{} for _ in items]  # per item, filled by its first group
    for group_id, group in memberships.groupby("group_id"):
        members = sorted(set(group["iso3"]) | {focus})
        for item, cache in zip(items, focus_caches):
            row = benchmark_item(focus=focus, members=members, current=item["current"], history=item["history"],
                                 direction=item["direction"], config=config, focus_cache=cache,
                                 relative_gaps=item.get("domain", "continuous") == "continuous")
            if row is not None:
                rows.append({"focus_iso3": focus, "level": item["level"], "item": item["item"], "group_id": group_id, **row})
    frame = pd.DataFrame(rows)
    for column in BENCHMARK_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    return frame[BENCHMARK_COLUMNS]
