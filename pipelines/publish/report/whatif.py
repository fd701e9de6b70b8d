"""The report section "What would move Japan": rank gains by indicator (chart with bands), the shortest path to
the top 10, paths to first place in each peer group, and the named scenarios. Every number is read from
mart_focus_what_if, mart_focus_path and mart_scenarios."""

from __future__ import annotations

import pandas as pd

REPORT_TARGET_RANK = 10  # the universe target the report shows (config/scenarios.yaml may store more)


def _best_per_item(what_if: pd.DataFrame, scope: str) -> pd.DataFrame:
    """Each item at the peer level with the largest gain (ties: the better rank, then the less ambitious level)."""
    order = {"median": 0, "p75": 1, "leader": 2}
    rows = what_if[(what_if["scope"] == scope) & (what_if["group_id"] != "universe")]
    rows = rows.assign(level_order=rows["level"].map(order))
    rows = rows.sort_values(["rank_gain", "rank", "level_order"], ascending=[False, True, True])
    return rows.drop_duplicates("item").reset_index(drop=True)


def gain_chart(best: pd.DataFrame, focus_name: str):
    """Rank after reaching the best peer level on each indicator (dot) and its 90% Monte Carlo band (line),
    sorted by gain; today's rank (red rule) and band (grey area)."""
    import altair as alt

    from pipelines.publish.report.charts import FOCUS_COLOUR, PEER_COLOUR

    frame = best.assign(label=best["item_label"].str.slice(0, 58) + " → " + best["group_id"] + ":" + best["level"],
                        order=range(len(best)))
    today = frame.iloc[[0]][["baseline_rank", "baseline_rank_p05", "baseline_rank_p95"]]
    y = alt.Y("label:N", sort=alt.EncodingSortField("order", order="ascending"), title=None,
              axis=alt.Axis(labelLimit=420))
    x = alt.X("rank_p05:Q", title="composite rank after the move (1 = best); line = 90% band",
              scale=alt.Scale(zero=False, reverse=True))
    data = frame[["label", "order", "rank", "rank_p05", "rank_p95", "rank_gain"]]
    band = alt.Chart(data).mark_rule(strokeWidth=2, color=PEER_COLOUR).encode(y=y, x=x, x2="rank_p95:Q")
    dot = alt.Chart(data).mark_circle(size=55, opacity=1, color="#1f77b4").encode(y=y, x="rank:Q")
    gain = alt.Chart(data).mark_text(align="left", dx=8, fontSize=10).encode(
        y=y, x="rank:Q", text=alt.Text("rank_gain:Q", format="+d"))
    today_band = alt.Chart(today).mark_rect(opacity=0.12, color=PEER_COLOUR).encode(
        x="baseline_rank_p05:Q", x2="baseline_rank_p95:Q")
    today_rule = alt.Chart(today).mark_rule(color=FOCUS_COLOUR, strokeDash=[4, 3]).encode(x="baseline_rank:Q")
    return alt.layer(today_band, today_rule, band, dot, gain).properties(
        width=460, height=max(80, 16 * len(frame)),
        title=f"{focus_name}: composite rank if it reached the best peer level on one indicator "
              "(red dashes: today; grey area: today's 90% band)")


_FORMATS: dict = {}  # num, rank, band, text: report.build's formatters, handed over by whatif_section's caller


def _text(value) -> str:
    return _FORMATS["text"](value)


def _rank(value) -> str:
    return _FORMATS["rank"](value)


def _num(value) -> str:
    return _FORMATS["num"](value)


def whatif_section(marts: dict[str, pd.DataFrame], focus: str, focus_name: str, formats: dict) -> dict | None:
    """`formats`: the report's num, rank, band and text formatters (passed in: report.build imports this module)."""
    from pipelines.publish.report import charts

    _FORMATS.update(formats)
    band = formats["band"]

    what_if = marts["mart_focus_what_if"]
    what_if = what_if[what_if["focus_iso3"] == focus]
    if what_if.empty:
        return None
    first = what_if.iloc[0]
    best = _best_per_item(what_if, "indicator")
    gain_rows = [{
        "item": r.item_label, "level": f"{r.group_label} {r.level}" + (f" ({r.target_iso3})" if _text(r.target_iso3) else ""),
        "today": "imputed" if r.focus_value_imputed else _num(r.focus_value), "target": _num(r.target_value),
        "rank": _rank(r.rank), "band": band(r.rank_p05, r.rank_p95), "gain": f"{r.rank_gain:+.0f}",
        "survives": "yes" if r.survives_uncertainty is True else "no", "per_sd": _rank(r.rank_gain_per_sd),
        "per_10pct": _rank(r.rank_gain_per_10pct)} for r in best.itertuples()]
    pillars = _best_per_item(what_if, "pillar")
    pillar_rows = [{"item": r.item_label, "level": f"{r.group_label} {r.level}", "moved": int(r.n_moved),
                    "rank": _rank(r.rank), "band": band(r.rank_p05, r.rank_p95), "gain": f"{r.rank_gain:+.0f}",
                    "survives": "yes" if r.survives_uncertainty is True else "no"} for r in pillars.itertuples()]
    paths = marts["mart_focus_path"]
    paths = paths[paths["focus_iso3"] == focus]
    top = paths[(paths["target_scope"] == "universe") & (paths["target_rank"] == REPORT_TARGET_RANK)].sort_values("step")
    path = None
    if len(top):
        head = top.iloc[0]
        path = {"target": REPORT_TARGET_RANK, "reached": bool(head.reached), "algorithm": head.algorithm,
                "n_moves": _rank(head.n_moves),
                "steps": [{"step": int(r.step), "indicator": _text(r.indicator_label) or "today", "move": r.move,
                           "from": _num(r.from_value), "to": _num(r.to_value), "score": f"{float(r.score):.1f}",
                           "rank": _rank(r.rank), "band": band(r.rank_p05, r.rank_p95)} for r in top.itertuples()]}
    groups = []
    for scope, frame in paths[paths["target_scope"] != "universe"].groupby("target_scope"):
        frame = frame.sort_values("step")
        head = frame.iloc[0]
        groups.append({"group": head.target_scope_label, "today": _rank(head.rank_in_scope),
                       "n_moves": _rank(head.n_moves) if bool(head.reached) else "out of reach",
                       "algorithm": head.algorithm,
                       "moves": "; ".join(f"{r.indicator_label} → {r.move}" for r in frame.iloc[1:].itertuples())})
    groups.sort(key=lambda g: (g["n_moves"] == "out of reach", g["n_moves"]))
    scenarios = marts["mart_scenarios"]
    scenarios = scenarios[scenarios["focus_iso3"] == focus]
    scenario_rows = [{"label": r.label, "moves": _text(r.moves) or "nothing moves", "rank": _rank(r.rank),
                      "band": band(r.rank_p05, r.rank_p95), "gain": f"{r.rank_gain:+.0f}",
                      "survives": "yes" if r.survives_uncertainty is True else "no", "note": _text(r.note)}
                     for r in scenarios.itertuples()]
    return {
        "today": {"rank": _rank(first.baseline_rank), "band": band(first.baseline_rank_p05, first.baseline_rank_p95),
                  "score": f"{float(first.baseline_score):.1f}"},
        "top": gain_rows[:5],
        "chart": charts.to_svg(gain_chart(best, focus_name)) if len(best) else None,
        "gain_rows": gain_rows, "pillar_rows": pillar_rows, "path": path, "groups": groups,
        "scenarios": scenario_rows,
    }
