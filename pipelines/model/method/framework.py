"""The index framework as data: each indicator's pillar, direction and optional expert weight; pillar weights.

Every method step reads the framework rather than hard-coding indicator lists, so a change of structure is a
config change (as in COINr's iMeta table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Framework:
    """`indicators`: index indicator_id; columns pillar (str), direction (+1 higher is better, -1 lower is
    better), weight (expert weight, NaN = none given). `pillar_weights`: index pillar, expert weight (NaN = none).
    `pillar_order`: how pillars are listed (default: order of first appearance in `indicators`); kept by
    `subset`, so dropping an indicator never reorders the pillars."""

    indicators: pd.DataFrame
    pillar_weights: pd.Series
    pillar_order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        missing = {"pillar", "direction", "weight"} - set(self.indicators.columns)
        if missing:
            raise ValueError(f"framework indicators lack columns {sorted(missing)}")
        if self.indicators.index.has_duplicates:
            raise ValueError("framework lists an indicator twice")
        bad = self.indicators.index[~self.indicators["direction"].isin([1, -1])]
        if len(bad):
            raise ValueError(f"direction must be +1 or -1; bad for {list(bad)}")
        unknown = set(self.pillar_weights.index) - set(self.indicators["pillar"])
        if unknown:
            raise ValueError(f"pillar weights given for pillars without indicators: {sorted(unknown)}")

    @property
    def pillar(self) -> pd.Series:
        """indicator_id -> pillar."""
        return self.indicators["pillar"]

    @property
    def direction(self) -> pd.Series:
        """indicator_id -> +1/-1."""
        return self.indicators["direction"].astype(int)

    @property
    def pillars(self) -> list[str]:
        present = list(pd.unique(self.indicators["pillar"]))
        return [p for p in self.pillar_order if p in present] + [p for p in present if p not in self.pillar_order]

    def members(self, pillar: str) -> list[str]:
        return list(self.indicators.index[self.indicators["pillar"] == pillar])

    def subset(self, indicator_ids: Iterable[str]) -> Framework:
        """The framework restricted to `indicator_ids` (e.g. after screening), in framework order."""
        keep = set(indicator_ids)
        unknown = keep - set(self.indicators.index)
        if unknown:
            raise ValueError(f"indicators not in the framework: {sorted(unknown)}")
        indicators = self.indicators[self.indicators.index.isin(keep)]
        pillar_weights = self.pillar_weights[self.pillar_weights.index.isin(indicators["pillar"])]
        return Framework(indicators, pillar_weights, tuple(self.pillars))

    @classmethod
    def from_dict(cls, spec: Mapping) -> Framework:
        """{"indicators": {id: {"pillar": p, "direction": 1, "weight": 2.0}}, "pillars": {p: weight or {"weight": w}}}."""
        rows = {
            code: {"pillar": d["pillar"], "direction": int(d.get("direction", 1)), "weight": d.get("weight", np.nan)}
            for code, d in spec["indicators"].items()
        }
        indicators = pd.DataFrame.from_dict(rows, orient="index")
        indicators.index.name = "indicator_id"
        indicators["weight"] = indicators["weight"].astype(float)
        pillars = {p: (w.get("weight", np.nan) if isinstance(w, Mapping) else w) for p, w in spec.get("pillars", {}).items()}
        pillar_weights = pd.Series(pillars, dtype=float, name="weight")
        pillar_weights.index.name = "pillar"
        return cls(indicators, pillar_weights, tuple(pillars))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, pillar_weights: Mapping | pd.Series | None = None) -> Framework:
        """A table with columns indicator_id, pillar, direction and optionally weight."""
        indicators = frame.set_index("indicator_id")[[c for c in ("pillar", "direction", "weight") if c in frame]].copy()
        if "weight" not in indicators:
            indicators["weight"] = np.nan
        indicators["weight"] = indicators["weight"].astype(float)
        indicators["direction"] = indicators["direction"].astype(int)
        return cls(indicators, pd.Series(dict(pillar_weights or {}), dtype=float, name="weight"))


def as_framework(obj: Framework | Mapping | pd.DataFrame) -> Framework:
    """Accept a Framework, a dict spec (see Framework.from_dict) or an indicator table (Framework.from_frame)."""
    if isinstance(obj, Framework):
        return obj
    if isinstance(obj, pd.DataFrame):
        return Framework.from_frame(obj)
    if isinstance(obj, Mapping):
        return Framework.from_dict(obj)
    raise TypeError(f"cannot read a framework from {type(obj).__name__}")


def check_columns(values: pd.DataFrame, framework: Framework) -> None:
    """Every indicator column must be described by the framework (a silent drop would hide a config error)."""
    unknown = set(values.columns) - set(framework.indicators.index)
    if unknown:
        raise ValueError(f"value columns not in the framework: {sorted(unknown)}")
