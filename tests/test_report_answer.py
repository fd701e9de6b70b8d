"""The report's first screen answers the five questions for the focus country, every figure from the marts, and a
browser shows it on the first screen."""

import html
import re

import pandas as pd
import pytest

from pipelines.publish.report.answer import ordinal
from tests.test_ui import CHROMIUM, _chromium, _screenshot_dir, assert_is_a_picture, needs_chromium


def _answer_text(report_file) -> str:
    page = report_file.read_text(encoding="utf-8")
    start, end = page.index('<section id="answer"'), page.index("</section>")
    assert start < page.index('id="composite"')  # the answer comes first
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[start:end])))


def test_answer_first_screen_reads_its_figures_from_the_marts(report_file, published_db):
    text = _answer_text(report_file)
    for question in ("Where does Japan stand?", "On what?", "By how much?", "How sure are we?",
                     "Is the gap closing?"):
        assert question in text
    rank, p05, p95, n = published_db.execute(
        "SELECT rank, rank_p05, rank_p95, (SELECT count(rank) FROM mart_composite_index) FROM mart_composite_index "
        "WHERE iso3 = 'JPN'").fetchone()
    assert f"{ordinal(rank)} of {n} scored economies" in text
    assert f"between {int(p05)}–{int(p95)} (90% band)" in text
    g7 = published_db.execute(
        "SELECT peer_median, gap_to_median FROM mart_japan_benchmark WHERE group_id = 'g7' AND level = 'composite'"
    ).fetchone()
    assert f"{abs(g7[1]):.1f} points {'below' if g7[1] < 0 else 'above'} the G7 median ({g7[0]:.1f})" in text
    pillars = published_db.execute(
        "SELECT pillar_label, rank FROM mart_pillar_scores WHERE iso3 = 'JPN' ORDER BY rank").fetchall()
    assert f"Strongest: {pillars[0][0]} ({ordinal(pillars[0][1])}" in text
    assert f"Weakest: {pillars[-1][0]} ({ordinal(pillars[-1][1])}" in text
    assert "How sure are we" in text and "the target" not in text


def test_answer_trend_words_match_the_benchmark_status(report_file, published_db):
    text = _answer_text(report_file)
    rows = published_db.execute(
        "SELECT b.gap_status, b.trend_first_year, b.trend_last_year FROM mart_japan_benchmark AS b "
        "WHERE b.level = 'pillar' AND b.group_id = 'g7'").fetchall()
    for status, first, last in rows:
        if status == "no trend data":
            continue
        side, direction = status.split(", ")
        words = f"{'behind' if side == 'behind' else 'ahead of'} the G7 median, {direction} ({first}–{last})"
        assert words in text
    deployment = published_db.execute(
        "SELECT trend_first_year, trend_last_year, gap_status FROM mart_japan_benchmark "
        "WHERE group_id = 'g7' AND item = 'deployment_adoption'").fetchone()
    assert deployment[2] != "no trend data"  # three Microsoft periods give the pillar a trend


def test_answer_counts_each_pillars_evidence_for_japan(report_file, published_db):
    text = _answer_text(report_file)
    cells = published_db.execute(
        "SELECT pillar, cell_status FROM mart_indicator_scores WHERE iso3 = 'JPN'").df()
    zeros = cells[cells["cell_status"] == "structural zero"].groupby("pillar").size()
    for pillar, n in zeros.items():
        assert f"{n} structural zero" in text, pillar
    assert isinstance(cells, pd.DataFrame) and len(cells) > 0
    assert "Taiwan is not ranked: no population (worldbank_wdi SP.POP.TOTL)" in text
    assert "cross-check beside it, never pooled" in text and "MIC" in text
    units = published_db.execute("SELECT unit FROM mart_deployment_evidence WHERE n_focus_periods > 0").fetchall()
    for (unit,) in units:  # each deployment series' values are read with its unit
        assert f", in {unit} (" in text, unit


@needs_chromium
def test_answer_is_on_the_first_screen_in_a_browser(report_file, tmp_path):
    png = _screenshot_dir(tmp_path) / "report_first_screen.png"
    _chromium(tmp_path, f"--screenshot={png}", report_file.as_uri())
    assert_is_a_picture(png)
    dom = _chromium(tmp_path, "--dump-dom", report_file.as_uri()).stdout
    assert dom.index('id="answer"') < dom.index('id="composite"')
    assert CHROMIUM is not None


@pytest.mark.parametrize("value, expected", [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (12, "12th"),
                                             (21, "21st"), (42, "42nd"), (113, "113th")])
def test_ordinal(value, expected):
    assert ordinal(value) == expected
