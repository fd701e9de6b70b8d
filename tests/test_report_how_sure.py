"""The report's "How sure are we" section: every figure from the statistical-audit marts, in words."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from pipelines.publish.report.how_sure import INPUT_WORDS, MARTS, how_sure_section


@pytest.fixture(scope="module")
def section(report_file) -> str:
    page = report_file.read_text(encoding="utf-8")
    return page[page.index('<h2 id="how-sure">'):page.index('<h2 id="concordance">')]


def test_headline_band_and_top_driver_come_from_the_sobol_mart(section, published_db):
    focus, nominal, p05, p95, median, runs = published_db.execute(
        "SELECT focus_iso3, output_nominal, output_p05, output_p95, output_median, n_runs "
        "FROM mart_statistical_audit_sobol WHERE output = 'focus_rank' LIMIT 1").fetchone()
    rank = published_db.execute("SELECT rank FROM mart_composite_index WHERE iso3 = ?", [focus]).fetchone()[0]
    assert nominal == rank  # the sensitivity explains the published index
    headline = re.search(r'id="how-sure-headline">(.*?)</p>', section, re.S).group(1)
    assert f"<strong>{int(nominal)}</strong>" in headline and f"<strong>{int(p05)}–{int(p95)}</strong>" in headline
    assert f"median {int(median)}" in headline and f"{runs:,}" in headline
    top, st = published_db.execute("SELECT input, st FROM mart_statistical_audit_sobol WHERE output = 'focus_rank' "
                                   "ORDER BY st DESC LIMIT 1").fetchone()
    assert f"{html.escape(INPUT_WORDS[top])}, involved in {st * 100:.0f}%" in section


def test_every_indicator_left_out_and_every_pillar_audited_is_shown(section, published_db):
    for label, change in published_db.execute(
            "SELECT indicator_label, rank_change FROM mart_statistical_audit_removal").fetchall():
        assert html.escape(label) in section
    for label, alpha in published_db.execute(
            "SELECT pillar_label, cronbach_alpha FROM mart_statistical_audit").fetchall():
        assert html.escape(label) in section
        if alpha is not None and not np.isnan(alpha):
            assert f"{alpha:.2f}" in section


def _marts(**overrides) -> dict[str, pd.DataFrame]:
    marts = {
        "mart_statistical_audit": pd.DataFrame({
            "pillar": ["p1", "composite"], "pillar_label": ["Pillar one", "Composite"], "n_items": [2, 1],
            "cronbach_alpha": [0.5, np.nan], "first_pc_share": [0.75, np.nan], "pillar_composite_r": [0.9, np.nan],
            "flags": ["Cronbach's alpha 0.50 below 0.7", None]}),
        "mart_statistical_audit_coverage": pd.DataFrame({
            "scope": ["country_pillar"], "iso3": ["JPN"], "pillar": ["p1"], "n_observed": [1], "n_imputed": [0],
            "n_structural_zero": [1]}),
        "mart_statistical_audit_correlations": pd.DataFrame({
            "kind": ["within_pillar", "indicator_pillar"], "item_a_label": ["A", "B"],
            "item_b_label": ["B", "Pillar one"], "r": [-0.2, 0.1], "flag": ["negative", "weak"]}),
        "mart_statistical_audit_sobol": pd.DataFrame({
            "focus_iso3": "JPN", "output": ["focus_rank"] * 2 + ["median_rank_shift"] * 2,
            "input": ["weights", "aggregation"] * 2, "s1": [0.7, -0.02, 0.5, 0.1], "st": [0.9, 0.05, 0.8, 0.2],
            "output_nominal": [4.0, 4.0, 0.0, 0.0], "output_median": [5.0, 5.0, 1.0, 1.0],
            "output_p05": [3.0, 3.0, 0.0, 0.0], "output_p95": [9.0, 9.0, 2.0, 2.0], "n_runs": 4096}),
        "mart_statistical_audit_choices": pd.DataFrame({
            "focus_iso3": "JPN", "input": ["aggregation", "aggregation"], "level": ["arithmetic", "geometric"],
            "n_runs": [2048, 2048], "focus_rank_median": [4.0, 6.0], "focus_rank_p05": [3.0, 4.0],
            "focus_rank_p95": [5.0, 9.0]}),
        "mart_statistical_audit_removal": pd.DataFrame({
            "focus_iso3": "JPN", "key": ["a", "b", "c"], "indicator_label": ["A", "B", "C"], "pillar": "p1",
            "rank_without": [7.0, 2.0, 4.0], "rank_change": [3.0, -2.0, 0.0]}),
    }
    marts.update(overrides)
    assert set(marts) == set(MARTS)
    return marts


def test_section_words_follow_the_numbers():
    s = how_sure_section(_marts(), "JPN", "Japan")
    assert s["available"] and s["nominal_rank"] == "4" and s["band"] == "3–9" and s["median_rank"] == "5"
    assert s["drivers"][0]["input"] == "weights" and s["drivers"][0]["st"] == "90%"
    assert s["drivers"][1]["s1"] == "0%"  # a small negative estimate is noise, not a negative share
    assert s["top_lift"]["indicator"] == "A" and s["top_lift"]["places"] == "3 places"
    assert s["top_hold"]["indicator"] == "B" and "higher" in s["top_hold"]["effect"]
    assert s["n_no_effect"] == 1 and s["n_indicators"] == 3
    assert [r["pillar"] for r in s["removal"]] == ["Pillar one"] * 3
    pillar = s["pillars"][0]
    assert (pillar["observed"], pillar["imputed"], pillar["zeros"]) == (1, 0, 1)
    assert [f["text"] for f in s["flagged_pairs"]] == ["A and B move in opposite directions",
                                                       "B hardly reflects its pillar, Pillar one"]
    assert s["choices"][0]["levels"][1] == {"level": "geometric mean", "median": "6", "band": "4–9", "runs": "2,048"}


def test_section_without_sensitivity_says_so():
    empty = _marts()["mart_statistical_audit_sobol"].iloc[0:0]
    s = how_sure_section(_marts(mart_statistical_audit_sobol=empty), "JPN", "Japan")
    assert not s["available"] and s["pillars"]


def _chromium_helpers():
    from tests.test_ui import CHROMIUM, _chromium, _screenshot_dir, assert_is_a_picture

    if CHROMIUM is None:
        pytest.skip("Chromium not installed (apt-get install -y chromium; .ci/setup does it in CI)")
    return _chromium, _screenshot_dir, assert_is_a_picture


def test_section_renders_in_chromium(report_file, tmp_path):
    """The browser's DOM has the section with its headline; a screenshot of the section alone (the page's own
    head and styles, then the section) is a picture, kept under AI_READINESS_SCREENSHOT_DIR for a human to look at."""
    chromium, screenshot_dir, assert_is_a_picture = _chromium_helpers()
    dom = chromium(tmp_path, "--dump-dom", report_file.as_uri()).stdout
    assert 'id="how-sure"' in dom and "How sure are we?" in dom and 'id="how-sure-headline"' in dom
    page = report_file.read_text(encoding="utf-8")
    alone = tmp_path / "how_sure.html"
    alone.write_text(page[:page.index("</head>") + 7] + "<body>"
                     + page[page.index('<h2 id="how-sure">'):page.index('<h2 id="concordance">')] + "</body></html>",
                     encoding="utf-8")
    png = screenshot_dir(tmp_path) / "report_how_sure.png"
    chromium(tmp_path, f"--screenshot={png}", alone.as_uri())
    assert_is_a_picture(png)
