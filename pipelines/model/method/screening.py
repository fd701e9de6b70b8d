"""Data-availability screening: drop indicators, then countries, with too little data, and say why.

Order (JRC/COINr convention): indicators are screened on all countries first, then countries on the kept
indicators, so a country is not penalised for indicators that will be dropped anyway.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.model.method.framework import Framework, as_framework, check_columns

DROPPED_COLUMNS = ["entity", "kind", "rule", "coverage", "n_pillars", "threshold", "reason"]


def empty_dropped() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("coverage", "n_pillars", "threshold") else object) for c in DROPPED_COLUMNS})


def known_cells(values: pd.DataFrame, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cells that count as observed for screening: a value (structural zeros and cited absences are values), or
    `known` (e.g. a censored cell: not a value, but known to lie below the publisher's threshold)."""
    seen = values.notna()
    return seen if known is None else seen | known.reindex_like(values).fillna(False).astype(bool)


def indicator_coverage(values: pd.DataFrame, known: pd.DataFrame | None = None) -> pd.Series:
    """Share of countries with an observed value, per indicator."""
    return known_cells(values, known).mean(axis=0)


def country_coverage(values: pd.DataFrame, known: pd.DataFrame | None = None) -> pd.Series:
    """Share of indicators observed, per country."""
    return known_cells(values, known).mean(axis=1)


def pillars_observed(values: pd.DataFrame, framework: Framework, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Boolean country x pillar: at least one indicator of the pillar observed."""
    pillar = framework.pillar.reindex(values.columns)
    return known_cells(values, known).T.groupby(pillar, sort=False).any().T.reindex(columns=framework.pillars,
                                                                                    fill_value=False)


def screen_indicators(values: pd.DataFrame, min_coverage: float = 0.65,
                      known: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep indicators observed for at least `min_coverage` of countries. Returns (kept values, dropped table).
    `known`: cells that count as observed without a value (censored cells)."""
    coverage = indicator_coverage(values, known)
    low = coverage[coverage < min_coverage]
    dropped = pd.DataFrame(
        {
            "entity": low.index,
            "kind": "indicator",
            "rule": "min_coverage",
            "coverage": low.to_numpy(),
            "n_pillars": np.nan,
            "threshold": float(min_coverage),
            "reason": [f"observed for {c:.0%} of countries, below {min_coverage:.0%}" for c in low],
        }
    )
    return values.drop(columns=low.index), dropped if len(dropped) else empty_dropped()


def screen_countries(
    values: pd.DataFrame, framework, min_coverage: float = 0.65, min_pillars: int | None = None,
    known: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep countries observing at least `min_coverage` of the indicators AND at least `min_pillars` pillars
    (a pillar counts if one of its indicators is observed; default: every pillar, since a composite with a
    whole pillar missing would compare unlike things). A country failing both rules gets two rows."""
    framework = as_framework(framework)
    check_columns(values, framework)
    framework = framework.subset(values.columns)
    n_total = len(framework.pillars)
    need = n_total if min_pillars is None else int(min_pillars)
    coverage = country_coverage(values, known)
    n_pillars = pillars_observed(values, framework, known).sum(axis=1)

    rows = []
    for iso3 in values.index:
        if coverage[iso3] < min_coverage:
            rows.append((iso3, "country", "min_coverage", coverage[iso3], float(n_pillars[iso3]), float(min_coverage),
                         f"observes {coverage[iso3]:.0%} of indicators, below {min_coverage:.0%}"))
        if n_pillars[iso3] < need:
            rows.append((iso3, "country", "min_pillars", coverage[iso3], float(n_pillars[iso3]), float(need),
                         f"observes {n_pillars[iso3]} of {n_total} pillars, fewer than {need}"))
    dropped = pd.DataFrame(rows, columns=DROPPED_COLUMNS) if rows else empty_dropped()
    return values.drop(index=pd.unique(dropped["entity"])), dropped
