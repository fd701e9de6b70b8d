"""The report's "How sure are we" section, from the statistical-audit marts: which indicators drive the focus
country's rank, which method choices move it, and what the audit flags, in words. Every number is read from
mart_statistical_audit*; the words only name what the numbers mean."""

from __future__ import annotations

import math

import pandas as pd

MARTS = (
    "mart_statistical_audit", "mart_statistical_audit_correlations", "mart_statistical_audit_coverage",
    "mart_statistical_audit_sobol", "mart_statistical_audit_choices", "mart_statistical_audit_removal",
)

INPUT_WORDS = {
    "normalisation": "how indicators are put on a common scale (normalisation)",
    "weights": "the weights of indicators and pillars",
    "aggregation": "how scores are combined (arithmetic or geometric mean)",
    "imputation": "how missing values are filled in (imputation)",
    "outlier_treatment": "whether extreme values are tamed (outlier treatment)",
    "screening_threshold": "how much data an indicator needs to be included (screening threshold)",
}
LEVEL_WORDS = {
    ("normalisation", "min_max"): "min–max, 0 to 100", ("normalisation", "z_score"): "z-scores",
    ("normalisation", "percentile_rank"): "percentile ranks",
    ("normalisation", "distance_to_frontier"): "distance to the leader",
    ("aggregation", "arithmetic"): "arithmetic mean", ("aggregation", "geometric"): "geometric mean",
    ("imputation", "none"): "no imputation", ("imputation", "group_median"): "income-group median",
    ("imputation", "pillar_regression"): "regression on the pillar's other indicators",
    ("outlier_treatment", "True"): "treated", ("outlier_treatment", "False"): "not treated",
}


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _rank(value) -> str:
    return "–" if _missing(value) else str(int(round(float(value))))


def _share(value) -> str:
    """An index as a share of variance, for reading: small negative estimates are sampling noise, shown as 0 %."""
    return "–" if _missing(value) else f"{max(float(value), 0.0) * 100:.0f}%"


def _r(value) -> str:
    return "–" if _missing(value) else f"{float(value):.2f}"


def _level(input_name: str, level: str) -> str:
    if input_name == "screening_threshold":
        return f"indicators need {float(level) * 100:.0f}% coverage"
    return LEVEL_WORDS.get((input_name, level), level)


def _places(n: int) -> str:
    return f"{n} place{'s' if n != 1 else ''}"


def _drivers(sobol: pd.DataFrame, output: str) -> list[dict]:
    rows = sobol[sobol["output"] == output].sort_values("st", ascending=False)
    return [{"input": r.input, "words": INPUT_WORDS.get(r.input, r.input), "st": _share(r.st), "s1": _share(r.s1),
             "width": f"{max(0.0, min(float(r.st), 1.0)) * 100:.0f}" if not _missing(r.st) else "0"}
            for r in rows.itertuples()]


def _choices(choices: pd.DataFrame, drivers: list[dict]) -> list[dict]:
    order = [d["input"] for d in drivers if d["input"] in set(choices["input"])]
    groups = []
    for name in order:
        rows = choices[choices["input"] == name]
        groups.append({"input": name, "words": INPUT_WORDS.get(name, name), "levels": [
            {"level": _level(name, r.level), "median": _rank(r.focus_rank_median),
             "band": f"{_rank(r.focus_rank_p05)}–{_rank(r.focus_rank_p95)}", "runs": f"{int(r.n_runs):,}"}
            for r in rows.itertuples()]})
    return groups


def _removal(removal: pd.DataFrame, focus_name: str, pillar_labels: dict) -> list[dict]:
    rows = []
    for r in removal.itertuples():
        change = int(round(float(r.rank_change)))
        if change > 0:
            effect = f"lifts {focus_name}: without it, {_places(change)} lower"
        elif change < 0:
            effect = f"holds {focus_name} back: without it, {_places(-change)} higher"
        else:
            effect = "no effect on the rank"
        rows.append({"indicator": r.indicator_label or r.key, "pillar": pillar_labels.get(r.pillar, r.pillar),
                     "rank_without": _rank(r.rank_without), "places": _places(abs(change)),
                     "change": f"{change:+d}" if change else "0", "effect": effect, "moves": change != 0})
    return rows


def _pillars(audit: pd.DataFrame, coverage: pd.DataFrame, focus: str) -> list[dict]:
    own = coverage[(coverage["scope"] == "country_pillar") & (coverage["iso3"] == focus)].set_index("pillar")
    rows = []
    for r in audit.itertuples():
        counts = own.loc[r.pillar] if r.pillar in own.index else None
        rows.append({
            "pillar": r.pillar_label, "is_composite": r.pillar == "composite", "n_items": int(r.n_items),
            "observed": "" if counts is None else int(counts["n_observed"]),
            "imputed": "" if counts is None else int(counts["n_imputed"]),
            "zeros": "" if counts is None else int(counts["n_structural_zero"]),
            "alpha": _r(r.cronbach_alpha), "pc_share": _share(r.first_pc_share),
            "pillar_composite_r": _r(r.pillar_composite_r),
            "flags": r.flags if isinstance(r.flags, str) and r.flags else "none",
        })
    return rows


def _flagged_pairs(correlations: pd.DataFrame) -> list[dict]:
    """Flagged correlations as sentences: pairs that pull apart or duplicate each other, indicators at odds with
    their pillar."""
    rows = []
    for r in correlations[correlations["flag"].notna()].itertuples():
        if r.kind == "within_pillar":
            words = "move in opposite directions" if r.flag == "negative" else "nearly duplicate each other"
            rows.append({"text": f"{r.item_a_label} and {r.item_b_label} {words}", "r": _r(r.r)})
        elif r.kind == "indicator_pillar":
            words = "runs against" if r.flag == "negative" else "hardly reflects"
            rows.append({"text": f"{r.item_a_label} {words} its pillar, {r.item_b_label}", "r": _r(r.r)})
        else:
            rows.append({"text": f"{r.item_a_label} runs against the {r.item_b_label.lower()}", "r": _r(r.r)})
    return rows


def how_sure_section(marts: dict[str, pd.DataFrame], focus: str, focus_name: str) -> dict:
    """The section's context; `available` is False when the build has no sensitivity results for the focus."""
    sobol = marts["mart_statistical_audit_sobol"]
    sobol = sobol[sobol["focus_iso3"] == focus]
    removal = marts["mart_statistical_audit_removal"]
    removal = removal[removal["focus_iso3"] == focus]
    choices = marts["mart_statistical_audit_choices"]
    choices = choices[choices["focus_iso3"] == focus]
    audit = marts["mart_statistical_audit"]
    section = {"available": not sobol.empty, "pillars": _pillars(audit, marts["mart_statistical_audit_coverage"],
                                                                  focus),
               "flagged_pairs": _flagged_pairs(marts["mart_statistical_audit_correlations"])}
    if sobol.empty:
        return section
    rank_row = sobol[sobol["output"] == "focus_rank"].iloc[0]
    shift_row = sobol[sobol["output"] == "median_rank_shift"].iloc[0]
    drivers = _drivers(sobol, "focus_rank")
    moving = [d for d in drivers if not _missing(d["st"]) and d["st"] != "–"]
    labels = dict(zip(audit["pillar"], audit["pillar_label"]))
    lifts = removal[removal["rank_change"] > 0].sort_values("rank_change", ascending=False)
    holds = removal[removal["rank_change"] < 0].sort_values("rank_change")
    section.update({
        "nominal_rank": _rank(rank_row.output_nominal), "median_rank": _rank(rank_row.output_median),
        "band": f"{_rank(rank_row.output_p05)}–{_rank(rank_row.output_p95)}", "n_runs": f"{int(rank_row.n_runs):,}",
        "top_driver": moving[0] if moving else None, "second_driver": moving[1] if len(moving) > 1 else None,
        "least_drivers": [d["words"] for d in moving[-2:]][::-1] if len(moving) > 3 else [],
        "drivers": drivers, "shift_drivers": _drivers(sobol, "median_rank_shift"),
        "shift_median": _rank(shift_row.output_median),
        "shift_band": f"{_rank(shift_row.output_p05)}–{_rank(shift_row.output_p95)}",
        "choices": _choices(choices, drivers),
        "removal": _removal(removal, focus_name, labels),
        "top_lift": _removal(lifts.head(1), focus_name, labels)[0] if len(lifts) else None,
        "top_hold": _removal(holds.head(1), focus_name, labels)[0] if len(holds) else None,
        "n_no_effect": int((removal["rank_change"] == 0).sum()), "n_indicators": len(removal),
    })
    return section
