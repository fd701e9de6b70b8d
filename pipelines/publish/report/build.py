"""Assemble the report from the published marts: every number shown is read here, none is typed in."""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from pipelines.base.settings import CONFIG_DIR
from pipelines.publish.report.how_sure import MARTS as HOW_SURE_MARTS
from pipelines.publish.report.how_sure import how_sure_section

TEMPLATES = Path(__file__).parent / "templates"
MARTS = (
    "mart_japan_benchmark", "mart_pillar_scores", "mart_composite_index", "mart_concordance", "mart_screening",
    "mart_focus_trends", "dim_country_groups", "dim_countries", "dim_sources",
    "mart_indicator_scores",
    "mart_deployment_evidence",
    "dim_framework",
    *HOW_SURE_MARTS,
    "mart_focus_what_if",
    "mart_focus_path",
    "mart_scenarios",
    "mart_release_diff",
)


# --- formatting: numbers become strings here; the template only prints (and escapes) them ---------------------

def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def num(value) -> str:
    """A readable number: magnitudes differ by indicator (shares, per-million counts, US$ ratios)."""
    if _missing(value):
        return "–"
    value = float(value)
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    if abs(value) >= 100:  # no thousands separator: years (2019) read as years
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def rank(value) -> str:
    return "–" if _missing(value) else str(int(round(float(value))))


def band(low, high) -> str:
    return "–" if _missing(low) or _missing(high) else f"{rank(low)}–{rank(high)}"


def percent(value) -> str:
    return "–" if _missing(value) else f"{float(value) * 100:+.0f}%"


def years(value, note) -> str:
    text = "" if _missing(value) else f"{float(value):.1f} y"
    note = "" if _missing(note) else str(note)
    return "; ".join(t for t in (text, note) if t) or "–"


def _text(value) -> str:
    return "" if _missing(value) else str(value)


def _http_url(value) -> str | None:
    """Only http(s) links from config reach an href (a `javascript:` URL must not)."""
    text = _text(value).strip()
    return text if text.startswith(("https://", "http://")) else None


# --- data ---------------------------------------------------------------------------------------------------

def load_marts(warehouse: Path) -> dict[str, pd.DataFrame]:
    from pipelines.base.warehouse import connect

    with connect(warehouse, read_only=True) as connection:
        return read_marts(connection)


def read_marts(connection, catalog: str | None = None) -> dict[str, pd.DataFrame]:
    """The MARTS tables as frames, from the connection's own database or the attached `catalog`."""
    from pipelines.base.warehouse import identifier

    prefix = f"{identifier(catalog)}." if catalog else ""
    return {name: connection.execute(f"SELECT * FROM {prefix}{identifier(name)}").df() for name in MARTS}


def focus_country(marts: dict[str, pd.DataFrame]) -> str:
    for table in ("mart_japan_benchmark", "mart_focus_trends"):
        values = marts[table]["focus_iso3"].dropna().unique()
        if len(values):
            return str(values[0])
    raise ValueError("the marts name no focus country (mart_japan_benchmark and mart_focus_trends are empty)")


def load_report_config(path: Path = CONFIG_DIR / "report.yaml") -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- sections -----------------------------------------------------------------------------------------------

def _composite(marts, focus: str) -> dict:
    from pipelines.publish.report import charts

    frame = marts["mart_composite_index"].dropna(subset=["rank"]).copy()
    frame["is_focus"] = frame["iso3"] == focus
    own = frame[frame["is_focus"]]
    section = {
        "n_scored": len(frame),
        "focus": None,
        "rows": [{"rank": rank(r.rank), "country": _text(r.country) or r.iso3, "score": num(r.score),
                  "band": band(r.rank_p05, r.rank_p95), "coverage": percent(r.coverage).lstrip("+"),
                  "is_focus": bool(r.is_focus)} for r in frame.itertuples()],
        "chart": None,
    }
    if len(own):
        r = own.iloc[0]
        section["focus"] = {"rank": rank(r["rank"]), "score": f"{float(r['score']):.1f}",
                            "band": band(r["rank_p05"], r["rank_p95"]), "median": rank(r["rank_median"])}
    if len(frame):
        section["chart"] = charts.to_svg(charts.rank_bands(
            frame, f"Composite index: rank and 90% Monte Carlo band, {len(frame)} countries"))
    return section


def _display(marts) -> dict[str, tuple[float, str]]:
    """indicator key -> (factor, unit) for values the report shows in another unit (ratios to GDP as % of GDP)."""
    framework = marts.get("dim_framework")
    if framework is None or "display_unit" not in framework.columns:
        return {}
    shown = framework.dropna(subset=["display_unit"])
    return {r.indicator_key: (float(r.display_factor), str(r.display_unit)) for r in shown.itertuples()}


def _gap_rows(rows: pd.DataFrame, display: dict | None = None) -> list[dict]:
    """Largest gaps first: items where the focus country is behind the peer median, by relative gap size.
    `display`: key -> (factor, unit) to show a value in the unit people read (e.g. % of GDP)."""
    display = display or {}
    rows = rows.assign(behind_flag=rows["behind_median"].fillna(False).astype(bool),
                       gap_size=rows["gap_to_median_rel"].abs())
    rows = rows.sort_values(["behind_flag", "gap_size"], ascending=[False, False], na_position="last")

    def shown(key, value) -> str:
        if key not in display or _missing(value):
            return num(value)
        factor, unit = display[key]
        return f"{num(float(value) * factor)} {unit}"

    return [{
        "key": r.item,
        "item": (_text(r.item_label).rsplit(", ", 1)[0] + ", " + display[r.item][1]) if r.item in display
        else r.item_label,
        "focus": shown(r.item, r.focus_value),
        "median": shown(r.item, r.peer_median), "n_peers": rank(r.n_peers),
        "leader": f"{_text(r.leader_name) or _text(r.leader_iso3)} ({shown(r.item, r.leader_value)})",
        # no relative gap for a year or a 0/1 fact (the mart leaves it null): the absolute gap instead
        "gap": percent(r.gap_to_median_rel) if not _missing(r.gap_to_median_rel)
        else (f"{num(r.gap_to_median)} (absolute)" if not _missing(r.gap_to_median) else "–"),
        "rank": f"{rank(r.rank_in_group)} of {rank(r.n_in_group)}",
        "status": _text(r.gap_status) or _text(r.trend_note) or "–", "behind": r.behind_flag,
        "years_behind": years(r.years_behind_median, r.years_behind_median_note),
        "catch_up": years(r.years_to_catch_up_median, r.years_to_catch_up_note),
    } for r in rows.itertuples()]


def _global_ranks(marts, focus: str) -> dict[str, str]:
    """The focus country's rank and band among all scored countries, per pillar and for the composite."""
    pillars = marts["mart_pillar_scores"]
    composite = marts["mart_composite_index"].assign(pillar="composite")
    both = pd.concat([pillars, composite], ignore_index=True)
    return {r.pillar: f"{rank(r.rank)} ({band(r.rank_p05, r.rank_p95)})"
            for r in both[both["iso3"] == focus].itertuples()}


def _groups(marts, focus: str, focus_name: str) -> list[dict]:
    from pipelines.publish.report import charts

    members = marts["dim_country_groups"]
    names = marts["dim_countries"].set_index("iso3")["name"].to_dict()
    benchmark = marts["mart_japan_benchmark"]
    pillars = marts["mart_pillar_scores"]
    global_ranks = _global_ranks(marts, focus)
    sizes = members.groupby(["group_id", "group_label"]).size().reset_index(name="n").sort_values(["n", "group_id"])
    groups = []
    for group in sizes.itertuples():  # smallest (closest) peer groups first
        iso3s = set(members.loc[members["group_id"] == group.group_id, "iso3"])
        rows = benchmark[benchmark["group_id"] == group.group_id]
        summary = _gap_rows(rows[rows["level"].isin(["composite", "pillar"])])
        for row in summary:
            row["global_rank"] = global_ranks.get(row["key"], "–")
        scored = pillars[pillars["iso3"].isin(iso3s | {focus})].dropna(subset=["rank"])
        chart = charts.rank_bands(
            scored.assign(is_focus=scored["iso3"] == focus),
            f"{focus_name} and {group.group_label}: pillar ranks among all scored countries", facet="pillar_label")
        groups.append({
            "id": group.group_id,
            "label": group.group_label,
            "focus_is_member": focus in iso3s,
            "members": ", ".join(sorted(_text(names.get(i)) or i for i in iso3s)),
            "n_members": group.n,
            "n_scored": int(scored["iso3"].nunique()),
            "pillar_chart": charts.to_svg(chart) if len(scored) else None,
            "pillar_rows": summary,
            "gap_rows": _gap_rows(rows[rows["level"] == "indicator"], _display(marts)),
        })
    return groups


def _trends(marts, focus_name: str, config: dict) -> list[dict]:
    from pipelines.publish.report import charts

    trends = marts["mart_focus_trends"]
    sections = []
    for key in config["trend_indicators"]:
        series = trends[trends["indicator_key"] == key]
        if series.empty:
            sections.append({"key": key, "label": key, "chart": None})
            continue
        series = series[series["year"] > series["year"].max() - int(config["trend_years"])]
        label = str(series["indicator_label"].iloc[0])
        chart = charts.focus_vs_peer_median(series, focus_name)
        sections.append({"key": key, "label": label, "chart": charts.to_svg(chart),
                         "years": f"{int(series['year'].min())}–{int(series['year'].max())}"})
    return sections


def _records(frame: pd.DataFrame, formats: dict) -> list[dict]:
    return [{column: formats.get(column, _text)(value) for column, value in row.items()}
            for row in frame.to_dict("records")]


def _sources(marts) -> list[dict]:
    rows = []
    for r in marts["dim_sources"].to_dict("records"):
        rows.append({
            **{k: _text(r.get(k)) for k in ("source_id", "publisher", "dataset", "licence", "terms", "restrictions",
                                             "vintage", "live_status", "live_endpoint", "live_reason")},
            "homepage": _http_url(r.get("homepage")),
            "cadence": rank(r.get("update_cadence_days")),
            "years": f"{rank(r.get('first_year'))}–{rank(r.get('last_year'))}",
            "n_values": rank(r.get("n_country_values")),
            "caveats": [line for line in _text(r.get("caveats")).splitlines() if line.strip()],
        })
    return rows


def report_context(marts: dict[str, pd.DataFrame], config: dict) -> dict:
    from pipelines.publish.report.answer import answer_first

    focus = focus_country(marts)
    focus_name = _text(marts["dim_countries"].set_index("iso3")["name"].get(focus)) or focus
    return {
        "focus": {"iso3": focus, "name": focus_name},
        "composite": _composite(marts, focus),
        "groups": _groups(marts, focus, focus_name),
        "trends": _trends(marts, focus_name, config),
        "concordance": _records(marts["mart_concordance"], {
            "spearman_rho": lambda v: "–" if _missing(v) else f"{float(v):.2f}", "n_common_countries": rank,
            "focus_our_rank": rank, "focus_their_rank": rank, "index_period": rank}),
        "screening": _records(marts["mart_screening"], {"coverage": lambda v: percent(v).lstrip("+"),
                                                        "threshold": num, "n_pillars": rank}),
        "sources": _sources(marts),
        "answer": answer_first(marts, focus, focus_name, config),
        "how_sure": how_sure_section(marts, focus, focus_name),
        "whatif": _whatif(marts, focus, focus_name),
        "release_diff": _release_diff(marts),
    }


def _whatif(marts, focus: str, focus_name: str):
    from pipelines.publish.report.whatif import whatif_section

    return whatif_section(marts, focus, focus_name, {"num": num, "rank": rank, "band": band, "text": _text})


def _release_diff(marts) -> dict:
    from pipelines.publish.report.changes import release_diff_context

    return release_diff_context(marts)


def render(context: dict) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    # autoescape: every name, label and caveat came from a source file or config; charts are passed as Markup.
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("index.html.j2").render(**context)


def build_report(warehouse: Path, out_dir: Path) -> Path:
    """Write out_dir/index.html from the published warehouse (opened read-only); returns the file's path.
    The file is self-contained (inline CSS and SVG, no scripts) and replaces the previous one atomically."""
    return write_report(load_marts(Path(warehouse)), out_dir, Path(warehouse).name)


def write_report(marts: dict[str, pd.DataFrame], out_dir: Path, warehouse_name: str) -> Path:
    """build_report from the MARTS tables already read (publish reads them from the release it is writing)."""
    context = report_context(marts, load_report_config())
    context["generated"] = time.strftime("%Y-%m-%d %H:%M %Z")
    context["warehouse"] = warehouse_name
    html = render(context)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "index.html"
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".index.", suffix=".html")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the report is for everyone who can read data/marts
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
