"""The report's first screen: the five questions answered for the focus country in plain words, every figure
read from the marts (mart_composite_index, mart_pillar_scores, mart_japan_benchmark, mart_indicator_scores,
mart_deployment_evidence, mart_screening)."""

from __future__ import annotations

import math

import pandas as pd

# mart_japan_benchmark.gap_status -> plain words; `{who}` is the peer median named ("the G7 median")
STATUS_WORDS = {
    "behind, closing": "behind {who}, closing",
    "behind, widening": "behind {who}, widening",
    "ahead, lead growing": "ahead of {who}, lead growing",
    "ahead, lead shrinking": "ahead of {who}, lead shrinking",
    "no trend data": "no trend: too few periods",
}
# mart_indicator_scores.cell_status -> the evidence class counted per pillar
EVIDENCE = {"observed": "observed", "cited absence": "observed", "structural zero": "structural zero",
            "imputed": "imputed", "censored, imputed within bound": "imputed",
            "unknown, not imputed": "unknown"}


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def ordinal(value) -> str:
    n = int(round(float(value)))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _band(low, high) -> str:
    return "–" if _missing(low) or _missing(high) else f"{int(round(low))}–{int(round(high))}"


def points(value) -> str:
    """A gap in score points (0-100 scale), signed."""
    return "–" if _missing(value) else f"{float(value):+.1f} points".replace("-", "−")


def above_below(value) -> str:
    """A gap in words: '13.2 points below' / '0.3 points above'."""
    if _missing(value):
        return "–"
    return f"{abs(float(value)):.1f} points {'below' if float(value) < 0 else 'above'}"


def _status(row, who: str) -> str:
    if row is None or _missing(row.get("gap_status")):
        return "–"
    words = STATUS_WORDS.get(str(row["gap_status"]), str(row["gap_status"])).format(who=who)
    first, last = row.get("trend_first_year"), row.get("trend_last_year")
    if not _missing(first) and not _missing(last) and row["gap_status"] != "no trend data":
        words += f" ({int(first)}–{int(last)})"
    return words


def _evidence(cells: pd.DataFrame) -> dict:
    counts = cells["cell_status"].map(EVIDENCE).value_counts()
    parts = {kind: int(counts.get(kind, 0)) for kind in ("observed", "structural zero", "imputed", "unknown")}
    text = ", ".join(f"{n} {kind}" for kind, n in parts.items() if n or kind == "observed")
    return {**{k.replace(" ", "_"): v for k, v in parts.items()}, "n": int(len(cells)), "text": text}


def answer_first(marts: dict[str, pd.DataFrame], focus: str, focus_name: str, config: dict) -> dict | None:
    """The first screen's content, or None when the focus country has no composite score."""
    composite = marts["mart_composite_index"].dropna(subset=["rank"])
    own = composite[composite["iso3"] == focus]
    if own.empty:
        return None
    me = own.iloc[0]
    groups = list(config.get("answer_groups", ["g7", "asia_pacific_advanced"]))
    benchmark = marts["mart_japan_benchmark"]
    labels = benchmark.drop_duplicates("group_id").set_index("group_id")["group_label"].to_dict()
    who = {g: f"the {labels.get(g, g)} median" for g in groups}

    def bench(level: str, item: str, group: str):
        rows = benchmark[(benchmark["level"] == level) & (benchmark["item"] == item) & (benchmark["group_id"] == group)]
        return None if rows.empty else rows.iloc[0].to_dict()

    pillars = marts["mart_pillar_scores"]
    mine = pillars[(pillars["iso3"] == focus)].dropna(subset=["rank"]).sort_values("rank")
    cells = marts["mart_indicator_scores"]
    cells = cells[cells["iso3"] == focus]
    rows = []
    for p in mine.itertuples():
        row = {"pillar": p.pillar_label, "rank": ordinal(p.rank), "band": _band(p.rank_p05, p.rank_p95),
               "evidence": _evidence(cells[cells["pillar"] == p.pillar]), "gaps": [], "trends": []}
        for g in groups:
            b = bench("pillar", p.pillar, g)
            row["gaps"].append(points(None if b is None else b["gap_to_median"]))
            row["trends"].append(_status(b, who[g]))
        rows.append(row)

    def named(p) -> str:
        return f"{p.pillar_label} ({ordinal(p.rank)}, band {_band(p.rank_p05, p.rank_p95)})"

    strongest = [named(p) for p in mine.head(2).itertuples()]
    weakest = [named(p) for p in mine.tail(2).iloc[::-1].itertuples()] if len(mine) > 2 else []

    composite_gaps = []
    for g in groups:
        b = bench("composite", "composite", g)
        if b is not None:
            composite_gaps.append({"who": who[g], "median": f"{float(b['peer_median']):.1f}",
                                   "gap": above_below(b["gap_to_median"]), "status": _status(b, who[g])})

    behind, closing = {g: [] for g in groups}, {g: [] for g in groups}
    for p in mine.itertuples():
        for g in groups:
            b = bench("pillar", p.pillar, g)
            if b is not None and bool(b.get("behind_median")):
                behind[g].append(p.pillar_label)
                if b.get("gap_status") == "behind, closing":
                    closing[g].append(p.pillar_label)

    width = int(round(me["rank_p95"] - me["rank_p05"])) if not _missing(me["rank_p95"]) else None
    return {
        "rank": ordinal(me["rank"]), "n_scored": len(composite), "score": f"{float(me['score']):.1f}",
        "band": _band(me["rank_p05"], me["rank_p95"]), "band_width": width,
        "strongest": strongest, "weakest": weakest,
        "composite_gaps": composite_gaps,
        "group_names": [labels.get(g, g) for g in groups],
        "closing": [{"who": who[g], "behind": behind[g], "closing": closing[g]} for g in groups],
        "rows": rows,
        "deployment": _deployment(marts, focus_name),
        "unranked": _unranked(marts),
    }


def _deployment(marts, focus_name: str) -> dict:
    evidence = marts["mart_deployment_evidence"]
    scored = evidence[evidence["is_scored"] & (evidence["n_focus_periods"] > 0)]
    cross = evidence[~evidence["is_scored"] & (evidence["n_focus_periods"] > 0)]
    without = evidence[evidence["n_focus_periods"] == 0]
    return {
        "scored": [{"name": r.indicator_name, "unit": _unit(r.unit), "periods": r.focus_periods}
                   for r in scored.itertuples()],
        "cross_checks": [{"name": r.indicator_name, "unit": _unit(r.unit), "periods": r.focus_periods,
                          "others": r.every_economy_latest if isinstance(r.every_economy_latest, str) else None}
                         for r in cross.itertuples()],
        "n_series": len(evidence), "n_without_focus": len(without),
        "without_focus": sorted({str(r.source_id) for r in without.itertuples()}),
    }


def _unit(unit) -> str | None:
    """The series' unit as its registry entry gives it, so "16.7" reads as a share (None when none is given)."""
    return unit if isinstance(unit, str) and unit.strip() else None


def _unranked(marts) -> list[dict]:
    screening = marts["mart_screening"]
    if "missing_denominators" not in screening.columns:
        return []
    rows = screening[(screening["kind"] == "country") & screening["missing_denominators"].notna()]
    return [{"name": r.label or r.entity, "why": r.missing_denominators}
            for r in rows.drop_duplicates("entity").itertuples()]
