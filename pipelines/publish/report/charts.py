"""Altair charts rendered to static SVG with vl-convert: the page needs no JavaScript to show them."""

from __future__ import annotations

import pandas as pd

FOCUS_COLOUR = "#d62728"
PEER_COLOUR = "#7f7f7f"


def to_svg(chart):
    """The chart as SVG markup, safe to inline (marked so the template's autoescape leaves it as is). vl-convert
    escapes every text it draws; the guard below refuses a script or embedded HTML should that ever change.
    Altair's JSON-schema validation is skipped here (0.8 s of a build for charts whose shape is fixed in this
    module); tests/test_report.py validates every chart the report draws."""
    import vl_convert
    from markupsafe import Markup

    svg = vl_convert.vegalite_to_svg(chart.to_dict(validate=False))
    lowered = svg.lower()
    if "<script" in lowered or "<foreignobject" in lowered:
        raise ValueError("refusing to inline an SVG that carries a script or foreignObject")
    return Markup(svg)


def rank_bands(frame: pd.DataFrame, title: str, facet: str | None = None, columns: int = 3):
    """Nominal rank (dot) and Monte Carlo p05–p95 rank band (line) per country; the focus country in red.
    `frame`: country, rank, rank_p05, rank_p95, is_focus (+ the `facet` column, e.g. pillar_label)."""
    import altair as alt

    colour = alt.condition("datum.is_focus", alt.value(FOCUS_COLOUR), alt.value(PEER_COLOUR))
    y = alt.Y("country:N", sort=alt.EncodingSortField("rank", order="ascending"), title=None)
    base = alt.Chart().encode(y=y, color=colour)
    band = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("rank_p05:Q", title="rank (1 = best); line = 90% band", scale=alt.Scale(zero=False)),
        x2="rank_p95:Q",
    )
    dot = base.mark_circle(size=45, opacity=1).encode(x="rank:Q")
    drawn = ["country", "rank", "rank_p05", "rank_p95", "is_focus", *([facet] if facet else [])]
    layered = alt.layer(band, dot, data=frame[drawn])  # only what is drawn: smaller specs render faster
    height = max(60, 13 * frame["country"].nunique())
    if facet is None:
        return layered.properties(width=520, height=height, title=title)
    return (
        layered.properties(width=230, height=height)
        .facet(facet=alt.Facet(f"{facet}:N", title=None), columns=columns, title=title)
        .resolve_scale(y="independent")
    )


def focus_vs_peer_median(frame: pd.DataFrame, focus_name: str, columns: int = 5):
    """Small multiples, one per peer group: the focus country's value (red) against the peers' median (grey line)
    and interquartile range (grey band). `frame`: group_label, year, focus_value, peer_median, peer_p25, peer_p75."""
    import altair as alt

    x = alt.X("year:Q", title=None, axis=alt.Axis(format="d", tickMinStep=1))
    base = alt.Chart().encode(x=x)
    iqr = base.mark_area(opacity=0.25, color=PEER_COLOUR).encode(
        y=alt.Y("peer_p25:Q", title=None), y2="peer_p75:Q")
    median = base.mark_line(color=PEER_COLOUR, point=alt.OverlayMarkDef(color=PEER_COLOUR)).encode(y="peer_median:Q")
    focus = base.mark_line(color=FOCUS_COLOUR, strokeWidth=2.5, point=alt.OverlayMarkDef(color=FOCUS_COLOUR)).encode(
        y="focus_value:Q")
    return (
        alt.layer(iqr, median, focus, data=frame[["group_label", "year", "focus_value", "peer_median", "peer_p25",
                                                  "peer_p75"]])
        .properties(width=170, height=110)
        .facet(facet=alt.Facet("group_label:N", title=None, header=alt.Header(labelLimit=175)), columns=columns,
               title=f"red: {focus_name}; grey: peer median and interquartile range")
        .resolve_scale(y="independent")
    )
