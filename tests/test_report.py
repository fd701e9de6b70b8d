"""The HTML report: read from the published marts, self-contained, and every string from a source escaped."""

from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser

import duckdb
import pytest

from pipelines.publish.report import build_report


class _Resources(HTMLParser):
    """What a browser would load or run: script/link/iframe/object/embed tags, src/srcset/xlink:href and
    non-anchor href attributes pointing off the page, url(...)/@import in styles."""

    def __init__(self):
        super().__init__()
        self.found, self._in_style = [], False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link", "iframe", "object", "embed", "base"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            loads = name in ("src", "srcset", "xlink:href", "data") or (name == "href" and tag != "a")
            if (loads and value and not value.startswith(("#", "data:"))) or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value}>")
            if name == "style" and value and re.search(r"url\(|@import", value):
                self.found.append(f"<{tag} style={value}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style and re.search(r"url\(|@import", data):
            self.found.append("url()/@import in <style>")


def external_resources(page: str) -> list[str]:
    parser = _Resources()
    parser.feed(page)
    return parser.found


@pytest.fixture(scope="module")
def report(report_file) -> str:
    assert report_file.name == "index.html"
    return report_file.read_text(encoding="utf-8")


def _focus(connection) -> str:
    return connection.execute("SELECT DISTINCT focus_iso3 FROM mart_japan_benchmark").fetchone()[0]


def test_headline_is_the_focus_countrys_composite_rank_and_score(report, published_db):
    name, score, rank, p05, p95 = published_db.execute(
        "SELECT country, score, rank, rank_p05, rank_p95 FROM mart_composite_index WHERE iso3 = ?",
        [_focus(published_db)]).fetchone()
    headline = re.search(r'id="composite-headline">(.*?)</p>', report, re.S).group(1)
    assert html.escape(name) in headline
    assert f"<strong>{int(rank)}</strong>" in headline and f"<strong>{score:.1f}</strong>" in headline
    assert f"{int(p05)}–{int(p95)}" in headline


def test_every_peer_group_trend_and_source_has_its_section(report, published_db):
    groups = published_db.execute("SELECT DISTINCT group_id, group_label FROM dim_country_groups").fetchall()
    assert groups
    for group_id, label in groups:
        assert f'id="group-{group_id}"' in report and html.escape(label) in report
    for (source_id,) in published_db.execute("SELECT source_id FROM dim_sources").fetchall():
        assert f'id="source-{source_id}"' in report
    from pipelines.publish.report.build import load_report_config

    for key in load_report_config()["trend_indicators"]:
        assert f'id="trend-{key}"' in report
    for heading in ("Composite ranking", "against each peer group", "Trends", "Concordance", "Sources and caveats"):
        assert heading in report
    # charts: the composite, one pillar chart per group, one trend chart per indicator
    whatif_chart = int('id="whatif-chart"' in report)  # the "What would move" section's chart
    assert report.count("<svg") == 1 + len(groups) + len(load_report_config()["trend_indicators"]) + whatif_chart


def test_report_is_self_contained(report):
    assert external_resources(report) == []
    assert "<style>" in report  # inline CSS


def test_the_published_report_is_the_report_of_the_published_warehouse(built, report_file):
    """publish renders it on a second thread from the tables it has just written (write_report); rendered again
    from the published DuckDB file afterwards (build_report), it is the same page but for when it was generated."""
    def page(path):
        return re.sub(r"Generated .*? from", "Generated (when) from", path.read_text(encoding="utf-8"))

    published = built / "marts" / "report" / "index.html"
    assert "<svg" in page(published)
    assert page(published) == page(report_file)


def _poison(connection, focus: str) -> dict[str, str]:
    """Hostile names in a copy of the warehouse: a country, a peer group, an indicator, a pillar, a source."""
    script = '<script>alert("x")</script>'
    country = connection.execute(
        "SELECT leader_iso3 FROM mart_japan_benchmark WHERE group_id = 'g7' AND level = 'composite'").fetchone()[0]
    connection.execute("DELETE FROM dim_country_groups WHERE group_id <> 'g7'")  # one group keeps the test quick
    updates = [
        ("dim_countries", "name", f"{script} Land", "iso3 = ?", [country]),
        ("mart_composite_index", "country", f"{script} Land", "iso3 = ?", [country]),
        ("mart_pillar_scores", "country", f"{script} Land", "iso3 = ?", [country]),
        ("mart_japan_benchmark", "leader_name", f"{script} Land", "leader_iso3 = ?", [country]),
        ("dim_country_groups", "group_label", "<img src=x onerror=alert(1)> Seven", "true", []),
        ("mart_focus_trends", "group_label", "<img src=x onerror=alert(1)> Seven", "group_id = 'g7'", []),
        ("mart_japan_benchmark", "item_label", f"{script} indicator", "level = 'indicator'", []),
        ("mart_focus_trends", "indicator_label", f"{script} indicator", "true", []),
        ("mart_pillar_scores", "pillar_label", "<b>pillar</b>", "true", []),
        ("dim_sources", "publisher", f"{script} publisher", "true", []),
        ("dim_sources", "caveats", f"{script} caveat\n<iframe src=//evil.example>", "true", []),
        ("dim_sources", "homepage", "javascript:alert(1)", "true", []),
    ]
    for table, column, value, where, params in updates:
        connection.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", [value, *params])
    return {"country": country, "focus": focus}


def test_hostile_names_render_as_text(built, tmp_path):
    warehouse = tmp_path / "ai_readiness.duckdb"
    shutil.copy(built / "marts" / "ai_readiness.duckdb", warehouse)
    connection = duckdb.connect(str(warehouse))
    try:
        _poison(connection, _focus(connection))
    finally:
        connection.close()
    page = build_report(warehouse, tmp_path / "report").read_text(encoding="utf-8")
    lowered = page.lower()
    for tag in ("<script", "<img", "<iframe", "<b>pillar"):
        assert tag not in lowered, tag
    assert "javascript:" not in lowered
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Land" in page  # in the tables (Jinja escaping)
    charts = "".join(re.findall(r"<svg.*?</svg>", page, re.S))
    assert "&lt;script&gt;" in charts and "&lt;b&gt;pillar&lt;/b&gt;" in charts  # and inside the SVG charts
    assert "&lt;img src=x onerror=alert(1)&gt; Seven" in page
    assert external_resources(page) == []


def test_every_chart_the_report_draws_is_a_valid_vega_lite_spec(built, monkeypatch):
    """The build renders charts without altair's schema validation (charts.to_svg); it is done here instead."""
    from pipelines.publish.report import build, charts

    drawn = []
    monkeypatch.setattr(charts, "to_svg", lambda chart: drawn.append(chart) or "")
    build.report_context(build.load_marts(built / "marts" / "ai_readiness.duckdb"), build.load_report_config())
    assert len(drawn) >= 3  # composite, pillars, trends at least
    for chart in drawn:
        chart.to_dict(validate=True)  # raises altair's SchemaValidationError on an invalid spec
