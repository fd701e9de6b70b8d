"""Focus-vs-peers arithmetic on small hand-made numbers."""

import numpy as np
import pandas as pd
import pytest

from pipelines.model.benchmark import TrendConfig, benchmark, benchmark_item, years_behind, years_to_catch_up


def _history():
    years = [2020, 2021, 2022, 2023, 2024]
    return pd.DataFrame(
        {"JPN": [10, 12, 14, 16, 18], "AAA": [20, 22, 24, 26, 28], "BBB": [16, 20, 24, 28, 32], "CCC": [5, 6, 7, 8, 9]},
        index=years,
    )


def test_position_gaps_rank_and_leader():
    current = pd.Series({"JPN": 18.0, "AAA": 28.0, "BBB": 32.0, "CCC": 9.0})
    row = benchmark_item(focus="JPN", members=["JPN", "AAA", "BBB", "CCC"], current=current, history=_history(),
                         direction=1, config=TrendConfig())
    assert row["peer_median"] == 28.0  # peers exclude the focus country: 9, 28, 32
    assert row["leader_iso3"] == "BBB" and row["leader_value"] == 32.0
    assert row["gap_to_median"] == -10.0 and row["gap_to_median_rel"] == pytest.approx(-10 / 28)
    assert row["gap_to_leader"] == -14.0
    assert row["rank_in_group"] == 3 and row["n_in_group"] == 4
    assert row["percentile_in_group"] == pytest.approx(100 / 3)
    assert row["behind_median"] is True


def test_trend_years_behind_and_catch_up():
    current = pd.Series({"JPN": 18.0, "AAA": 28.0, "BBB": 32.0, "CCC": 9.0})
    row = benchmark_item(focus="JPN", members=["JPN", "AAA", "BBB", "CCC"], current=current, history=_history(),
                         direction=1, config=TrendConfig())
    assert row["focus_trend_slope"] == pytest.approx(2.0)
    # peer median per year over AAA, BBB, CCC: 16, 20, 24, 26, 28 -> slope 3.0
    assert row["peer_median_trend_slope"] == pytest.approx(3.0)
    assert row["gap_status"] == "behind, widening" and row["gap_closing"] is False
    assert np.isnan(row["years_to_catch_up_median"]) and "diverging" in row["years_to_catch_up_note"]
    # the median stood at or below 18 last in 2020 (16): 4 years behind
    assert row["years_behind_median"] == 4.0
    # the leader BBB was at 16 in 2020 -> also 4 years behind
    assert row["years_behind_leader"] == 4.0


def test_catching_up_when_faster_and_lower_is_better_flips():
    assert years_to_catch_up(-10.0, 4.0, 2.0, 1) == (5.0, None)
    value, note = years_to_catch_up(-10.0, 1.0, 2.0, 1)
    assert np.isnan(value) and "diverging" in note
    # lower is better: focus at 30, target history falling 40 -> 20: it stood at <=... reversed orientation
    history = pd.Series({2020: 40.0, 2021: 35.0, 2022: 30.0, 2023: 25.0})
    assert years_behind(30.0, 2023, history, -1) == (1.0, None)


def test_years_behind_unknown_when_target_always_ahead():
    value, note = years_behind(5.0, 2024, pd.Series({2020: 10.0, 2024: 20.0}), 1)
    assert np.isnan(value) and "ahead throughout" in note


def test_benchmark_table_covers_each_group_and_skips_missing_focus():
    memberships = pd.DataFrame({"group_id": ["g1", "g1", "g2"], "iso3": ["AAA", "BBB", "CCC"]})
    items = [
        {"level": "indicator", "item": "x", "direction": 1, "history": _history(),
         "current": pd.Series({"JPN": 18.0, "AAA": 28.0, "BBB": 32.0, "CCC": 9.0})},
        {"level": "indicator", "item": "no_focus", "direction": 1, "history": None,
         "current": pd.Series({"AAA": 1.0, "BBB": 2.0})},
    ]
    table = benchmark(focus="JPN", memberships=memberships, items=items)
    assert set(zip(table["item"], table["group_id"])) == {("x", "g1"), ("x", "g2")}
    g2 = table.set_index("group_id").loc["g2"]
    assert g2["leader_iso3"] == "CCC" and g2["behind_median"] == False  # noqa: E712 - numpy bool


def test_notes_name_who_is_ahead():
    _, note = years_behind(5.0, 2024, pd.Series({2020: 10.0, 2024: 20.0}), 1, "the leader")
    assert note.startswith("the leader was ahead throughout")
    _, note = years_to_catch_up(-5.0, 1.0, 2.0, 1)
    assert note == "diverging: the peer median is improving at least as fast as the focus country"


def test_trend_uses_every_published_period_on_a_fractional_time_axis():
    # Microsoft AI diffusion: 2025-H1, 2025-H2, 2026-Q1 at their midpoints; one value per year would leave 2 points
    history = pd.DataFrame({"JPN": [16.7, 19.1, 22.5], "AAA": [30.0, 31.0, 32.0]}, index=[2025.25, 2025.75, 2026.125])
    current = pd.Series({"JPN": 22.5, "AAA": 32.0})
    row = benchmark_item(focus="JPN", members=["JPN", "AAA"], current=current, history=history, direction=1,
                         config=TrendConfig())
    expected = np.polyfit(history.index.to_numpy(), history["JPN"].to_numpy(), 1)[0]
    assert row["focus_trend_slope"] == pytest.approx(expected)
    assert row["gap_status"] == "behind, closing" and row["gap_closing"] is True
    assert row["trend_first_year"] == 2025 and row["trend_last_year"] == 2026


def test_no_relative_gap_for_a_year_or_a_flag():
    current = pd.Series({"JPN": 2019.0, "AAA": 2017.0, "BBB": 2018.0})
    items = [{"level": "indicator", "item": "strategy_year", "direction": -1, "current": current, "history": None,
              "domain": "year"},
             {"level": "indicator", "item": "share", "direction": 1, "current": current, "history": None}]
    memberships = pd.DataFrame({"group_id": ["g", "g"], "iso3": ["AAA", "BBB"]})
    table = benchmark(focus="JPN", memberships=memberships, items=items).set_index("item")
    assert np.isnan(table.loc["strategy_year", "gap_to_median_rel"])
    assert np.isnan(table.loc["strategy_year", "gap_to_leader_rel"])
    assert table.loc["strategy_year", "gap_to_median"] == 1.5  # the absolute gap stays: 1.5 years later
    assert table.loc["share", "gap_to_median_rel"] == pytest.approx(1.5 / 2017.5)
