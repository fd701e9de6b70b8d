"""Weights: indicator weights summing to 1 within each pillar, and pillar weights summing to 1.

  * "equal": every indicator of a pillar equal; pillars equal (so a pillar's weight does not grow with its
    number of indicators).
  * "expert": the framework's weights; a missing expert weight counts as 1 (neutral) before re-scaling.
  * "pca": within each pillar, the squared loadings of the first principal component of the indicators'
    correlation matrix, normalised to sum to 1 (OECD/JRC Handbook 2008, simplified to one component and no
    rotation). Computed on the complete cases of the scores passed in: pass normalised scores after imputation
    to use every country. Squaring drops the sign, so an indicator at odds with its pillar still gets weight:
    read the loadings before trusting it. A pillar with one indicator, fewer than 3 complete cases or a
    constant indicator falls back to equal weights. Pillars stay equal (PCA here only weights within pillars).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from pipelines.model.method.framework import Framework, as_framework

METHODS = ("equal", "expert", "pca")


class Weights(NamedTuple):
    indicator: pd.Series  # indicator_id -> weight, sums to 1 within each pillar
    pillar: pd.Series  # pillar -> weight, sums to 1


def within_pillar(raw: pd.Series, pillar: pd.Series) -> pd.Series:
    """Rescale raw indicator weights to sum to 1 within each pillar."""
    return raw / raw.groupby(pillar.reindex(raw.index)).transform("sum")


def _equal_pillars(framework: Framework) -> pd.Series:
    p = framework.pillars
    return pd.Series(1.0 / len(p), index=pd.Index(p, name="pillar"), name="weight")


def equal_weights(framework) -> Weights:
    framework = as_framework(framework)
    raw = pd.Series(1.0, index=framework.indicators.index, name="weight")
    return Weights(within_pillar(raw, framework.pillar), _equal_pillars(framework))


def expert_weights(framework) -> Weights:
    framework = as_framework(framework)
    raw = framework.indicators["weight"].fillna(1.0).rename("weight")
    pillar_raw = framework.pillar_weights.reindex(framework.pillars).fillna(1.0)
    pillar_raw.index.name = "pillar"
    return Weights(within_pillar(raw, framework.pillar), (pillar_raw / pillar_raw.sum()).rename("weight"))


def first_pc_weights(scores: pd.DataFrame) -> pd.Series:
    """Squared first-PC loadings of the correlation matrix of `scores` (complete cases), summing to 1."""
    complete = scores.dropna()
    if scores.shape[1] == 1 or len(complete) < 3 or (complete.std() == 0).any():
        return pd.Series(1.0 / scores.shape[1], index=scores.columns)
    eigenvalues, eigenvectors = np.linalg.eigh(np.corrcoef(complete.to_numpy(), rowvar=False))
    first = eigenvectors[:, np.argmax(eigenvalues)]
    return pd.Series(first**2 / np.sum(first**2), index=scores.columns)


def pca_weights(scores: pd.DataFrame, framework) -> Weights:
    framework = as_framework(framework)
    parts = [first_pc_weights(scores[framework.members(p)]) for p in framework.pillars]
    indicator = pd.concat(parts).reindex(framework.indicators.index).rename("weight")
    return Weights(indicator, _equal_pillars(framework))


def compute_weights(method: str, framework, scores: pd.DataFrame | None = None) -> Weights:
    """Dispatch on the method name; `scores` (normalised) is needed for pca."""
    if method == "equal":
        return equal_weights(framework)
    if method == "expert":
        return expert_weights(framework)
    if method == "pca":
        if scores is None:
            raise ValueError("pca weights need the normalised scores")
        return pca_weights(scores, framework)
    raise ValueError(f"unknown weights {method!r}; choose from {METHODS}")
