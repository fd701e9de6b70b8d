"""Peer groups from config/peer_groups.yaml, resolved against the country dimension."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.base.settings import CONFIG_DIR

PEER_GROUPS_FILE = CONFIG_DIR / "peer_groups.yaml"


@dataclass(frozen=True)
class PeerConfig:
    focus_country: str
    universe: tuple[str, ...]
    groups: dict  # group_id -> {"label", "rule" | "members"}


def load_peer_config(path: Path = PEER_GROUPS_FILE) -> PeerConfig:
    import os

    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    focus = os.environ.get("AI_READINESS_FOCUS_COUNTRY", doc["focus_country"]).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", focus):  # checked against dim_countries in group_memberships
        raise ValueError(f"focus country {focus!r} (AI_READINESS_FOCUS_COUNTRY or {path.name}) is not an ISO3 code")
    bad_ids = [g for g in doc["groups"] if not re.fullmatch(r"[a-z][a-z0-9_]*", str(g))]
    if bad_ids:
        raise ValueError(f"{path}: peer-group ids must be lower-case identifiers: {bad_ids}")
    unknown = set(doc["universe"]) - set(doc["groups"])
    if unknown:
        raise ValueError(f"{path}: universe names unknown groups {sorted(unknown)}")
    return PeerConfig(focus, tuple(doc["universe"]), dict(doc["groups"]))


def _matches(countries: pd.DataFrame, rule: dict) -> pd.Series:
    column = countries[rule["column"]]
    if "equals" in rule:
        return column == rule["equals"]
    if rule.get("not_null"):
        return column.notna()
    raise ValueError(f"peer-group rule {rule} needs `equals` or `not_null`")


def group_memberships(countries: pd.DataFrame, config: PeerConfig) -> pd.DataFrame:
    """Long table (group_id, label, iso3). Explicit members must exist in the country dimension."""
    known = set(countries["iso3"])
    if config.focus_country not in known:
        raise ValueError(f"focus country {config.focus_country!r} is not in dim_countries")
    resolved: dict[str, list[str]] = {}

    def members_of(group_id: str) -> list[str]:
        if group_id in resolved:
            return resolved[group_id]
        spec = config.groups[group_id]
        if "members" in spec:
            missing = sorted(set(spec["members"]) - known)
            if missing:
                raise ValueError(f"peer group {group_id!r} lists unknown ISO3 codes {missing}")
            members = list(spec["members"])
        elif "subset_of" in spec:
            # e.g. smaller advanced economies: members of another group under a population ceiling (latest WDI)
            population = countries.set_index("iso3")["population"]
            members = [m for m in members_of(spec["subset_of"])
                       if pd.notna(population.get(m)) and population[m] < float(spec["max_population"])]
        else:
            members = countries.loc[_matches(countries, spec["rule"]).fillna(False).astype(bool), "iso3"].tolist()
        resolved[group_id] = sorted(members)
        return resolved[group_id]

    rows = [
        {"group_id": group_id, "label": spec["label"], "iso3": iso3}
        for group_id, spec in config.groups.items() for iso3 in members_of(group_id)
    ]
    return pd.DataFrame(rows)


def universe(memberships: pd.DataFrame, config: PeerConfig) -> list[str]:
    """Countries scored: the union of the universe groups, always including the focus country."""
    members = set(memberships.loc[memberships["group_id"].isin(config.universe), "iso3"])
    return sorted(members | {config.focus_country})
