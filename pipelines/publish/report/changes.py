"""The report section "What changed since the last release", from mart_release_diff (numbers read, never typed)."""

from __future__ import annotations

import pandas as pd

LABELS = {"data_revision": "data revisions", "new_period": "new periods", "coverage": "coverage",
          "method_config": "method or configuration", "relative": "other countries' data (normalisation)",
          "unattributed": "not attributed to a cell (screening, re-weighting)"}
TOP_CELLS = 10


def num(value) -> str:
    """As the rest of the report prints numbers (report.build.num), kept here so neither imports the other."""
    if value is None or pd.isna(value):
        return "–"
    value = float(value)
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def rank(value) -> str:
    return "–" if value is None or pd.isna(value) else str(int(round(float(value))))


def _points(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):+.2f}"


def _rank_split(r) -> str:
    """The rank move split as the score is: data first (under the last release's configuration), then method."""
    from pipelines.publish.release_diff import config_moved_rank

    if not config_moved_rank(r):
        return ""
    return (f"rank {rank(r.old_rank)} → {rank(r.old_config_rank)} from the data, "
            f"{rank(r.old_config_rank)} → {rank(r.new_rank)} from the configuration")


def _names(marts: dict[str, pd.DataFrame], table: str, key: str, label: str) -> dict:
    """{key: label} from a mart of this release, so readers see "Research & innovation" and "Belgium", not ids."""
    frame = marts.get(table)
    if frame is None or key not in frame or label not in frame:
        return {}
    return frame.dropna(subset=[key, label]).drop_duplicates(key).set_index(key)[label].astype(str).to_dict()


def _lineage(cell) -> str:
    """The raw file and row of the cell's new value (its old one when the cell was lost)."""
    new = isinstance(cell.new_raw_file, str) and cell.new_raw_file
    raw_file, raw_row = (cell.new_raw_file, cell.new_raw_row) if new else (cell.old_raw_file, cell.old_raw_row)
    return f"{raw_file} row {rank(raw_row)}"


def release_diff_context(marts: dict[str, pd.DataFrame]) -> dict:
    diff = marts.get("mart_release_diff")
    if diff is None or diff.empty:
        return {"old_release": None, "scores": [], "cells": [], "peers": [], "config": []}
    levels = {"composite": "Composite index", **_names(marts, "mart_pillar_scores", "pillar", "pillar_label")}
    countries = _names(marts, "dim_countries", "iso3", "name")
    parts = diff[diff["row_kind"] == "attribution"]
    scores = []
    for r in diff[diff["row_kind"] == "score"].itertuples():
        moved = parts[(parts["level"] == r.level) & (parts["contribution"].abs() >= 0.005)]
        scores.append({
            "level": levels.get(r.level, r.level), "old": num(r.old_score), "new": num(r.new_score), "delta": _points(r.score_delta),
            "rank": f"{rank(r.old_rank)} → {rank(r.new_rank)}",
            "why": "; ".join(f"{LABELS.get(a.change_type, a.change_type)} {_points(a.contribution)}"
                             for a in moved.itertuples()) or "no change",
            "rank_split": _rank_split(r),
        })
    cells = diff[diff["row_kind"] == "cell"].sort_values("contribution_rank").head(TOP_CELLS)
    return {
        "old_release": str(diff["old_release"].dropna().iloc[0]) if diff["old_release"].notna().any() else None,
        "scores": scores,
        "cells": [{
            "indicator": c.indicator_label or c.indicator_key, "pillar": levels.get(c.level, c.level),
            "change": LABELS.get(c.change_type, c.change_type),
            "old": f"{num(c.old_value)} ({c.old_period or '–'})", "new": f"{num(c.new_value)} ({c.new_period or '–'})",
            "contribution": _points(c.contribution),
            "lineage": _lineage(c),
        } for c in cells.itertuples()],
        "n_cells": int((diff["row_kind"] == "cell").sum()),
        "config": [{"key": c.config_key, "old": c.old_config_value or "–", "new": c.new_config_value or "–",
                    "rescored": "yes" if c.rescored else "no (shapes the values, or the last release stored none)"}
                   for c in diff[diff["row_kind"] == "config"].itertuples()],
        "peers": [{"country": countries.get(p.iso3, p.iso3), "level": levels.get(p.level, p.level), "rank": f"{rank(p.old_rank)} → {rank(p.new_rank)}",
                   "move": p.peer_move} for p in diff[diff["row_kind"] == "peer"].itertuples()],
    }
