"""sql/examples/: each analyst query runs against the built warehouse and gives a sensible, non-empty answer."""

from __future__ import annotations

import pytest

from tests.conftest import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "sql" / "examples"


def _japan_vs_g7_by_pillar(frame, db):
    pillars = db.execute("SELECT count(DISTINCT pillar) FROM mart_pillar_scores").fetchone()[0]
    assert len(frame) == pillars + 1 and frame["pillar"].iloc[-1] == "composite"
    assert frame["japan_score"].between(0, 100).all() and frame["japan_rank_in_g7"].str.endswith(" of 7").all()


def _biggest_gaps(frame, db):
    assert 0 < len(frame) <= 10 and (frame["gap_to_median_pct"] <= 0).all()
    assert frame["gap_to_median_pct"].abs().is_monotonic_decreasing


def _genai_use_trend_vs_peers(frame, db):
    assert len(frame) >= 2 and frame["period"].is_monotonic_increasing
    assert frame["japan"].notna().all() and (frame["n_peers"] >= 5).all() and frame["japan"].between(0, 100).all()


def _composite_rank_band_overlap(frame, db):
    assert frame["is_japan"].sum() == 1 and len(frame) > 1


def _japan_data_coverage(frame, db):
    assert len(frame) == db.execute("SELECT count(*) FROM dim_sources").fetchone()[0]
    wdi = frame.set_index("source_id").loc["worldbank_wdi"]
    assert wdi["japan_indicators"] == wdi["indicators"] > 0
    assert (frame["japan_indicators"] <= frame["indicators"]).all()


CHECKS = {f.__name__.lstrip("_"): f for f in (_japan_vs_g7_by_pillar, _biggest_gaps, _genai_use_trend_vs_peers,
                                               _composite_rank_band_overlap, _japan_data_coverage)}


def test_every_example_has_a_check():
    assert {p.stem for p in EXAMPLES.glob("*.sql")} == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_query(name, published_db):
    sql = (EXAMPLES / f"{name}.sql").read_text(encoding="utf-8")
    assert sql.lstrip().startswith("--"), "each example starts with a comment saying what it answers"
    frame = published_db.execute(sql).df()
    assert len(frame) > 0
    CHECKS[name](frame, published_db)
