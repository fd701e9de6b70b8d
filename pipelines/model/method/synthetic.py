"""Synthetic data for tests and the benchmark: countries driven by one latent 'readiness' factor, so the
index has a true ranking to recover, with skewed indicators, lower-is-better indicators and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.model.method.framework import Framework


def synthetic_panel(
    n_countries: int = 200, n_indicators: int = 40, n_pillars: int = 6, missing: float = 0.1, seed: int = 0
) -> tuple[pd.DataFrame, Framework, pd.Series]:
    """(values iso3 x indicator, framework, groups iso3 -> peer group). Every 5th indicator is lower-is-better,
    every 7th log-normal (skewed); `missing` is the share of cells blanked at random."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n_countries)
    codes = [f"ind{j:02d}" for j in range(n_indicators)]
    direction = np.where(np.arange(n_indicators) % 5 == 4, -1, 1)
    x = latent[:, None] * direction + rng.normal(scale=0.8, size=(n_countries, n_indicators))
    skewed = np.arange(n_indicators) % 7 == 3
    x[:, skewed] = np.exp(1.5 * x[:, skewed])
    x[rng.random(x.shape) < missing] = np.nan
    iso3 = [f"C{i:03d}" for i in range(n_countries)]
    values = pd.DataFrame(x, index=pd.Index(iso3, name="iso3"), columns=pd.Index(codes, name="indicator_id"))
    framework = Framework.from_dict(
        {"indicators": {c: {"pillar": f"P{j % n_pillars + 1}", "direction": int(direction[j])} for j, c in enumerate(codes)}}
    )
    groups = pd.Series(np.digitize(latent + rng.normal(scale=0.5, size=n_countries), [-1, 0, 1]), index=values.index)
    return values, framework, groups.map({0: "low", 1: "lower_middle", 2: "upper_middle", 3: "high"})
