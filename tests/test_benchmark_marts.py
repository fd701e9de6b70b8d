"""The benchmark marts built from the real mirror: shapes, invariants, and lineage back to the facts."""

import math

import pytest

from pipelines.model.framework import load_framework, load_method_config
from pipelines.model.peer_groups import load_peer_config


def test_composite_has_rank_bands_and_covers_japan(published_db):
    rows = published_db.execute(
        "SELECT iso3, rank, rank_p05, rank_median, rank_p95, coverage FROM mart_composite_index WHERE score IS NOT NULL"
    ).fetchall()
    assert len(rows) >= 40
    for iso3, rank, p05, median, p95, coverage in rows:
        assert 1 <= p05 <= median <= p95 <= len(rows), iso3
        assert 0 < coverage <= 1
    assert "JPN" in {r[0] for r in rows}
    ranks = sorted(r[1] for r in rows)
    assert ranks[0] == 1


def test_pillar_scores_for_every_pillar(published_db):
    pillars = set(load_framework().pillars["pillar"])
    got = {r[0] for r in published_db.execute("SELECT DISTINCT pillar FROM mart_pillar_scores").fetchall()}
    assert got == pillars
    bad = published_db.execute(
        "SELECT count(*) FROM mart_pillar_scores WHERE score < 0 OR score > 100 OR rank_p05 > rank_p95").fetchone()[0]
    assert bad == 0


def test_screening_records_every_dropped_indicator_with_its_coverage(published_db):
    config, _ = load_method_config()
    kept = {r[0] for r in published_db.execute("SELECT DISTINCT indicator_key FROM mart_indicator_scores").fetchall()}
    dropped = published_db.execute(
        "SELECT entity, coverage, threshold FROM mart_screening WHERE kind = 'indicator'").fetchall()
    for entity, coverage, threshold in dropped:
        assert coverage < threshold == config.min_indicator_coverage
        assert entity not in kept
    assert kept | {d[0] for d in dropped} == set(load_framework().indicators["key"])


def test_imputed_cells_are_flagged_and_observed_values_trace_to_facts(published_db):
    imputed_with_raw = published_db.execute(
        "SELECT count(*) FROM mart_indicator_scores WHERE imputed AND raw_value IS NOT NULL").fetchone()[0]
    assert imputed_with_raw == 0
    rows = published_db.execute(
        "SELECT s.raw_value, s.raw_file, s.raw_row, f.value FROM mart_indicator_scores AS s "
        "JOIN fct_indicator_values AS f ON f.raw_file = s.raw_file AND f.raw_row = s.raw_row "
        "AND f.iso3 = s.iso3 AND f.source_code = s.source_code AND f.period = s.period_used "
        "WHERE s.iso3 = 'JPN' AND NOT s.imputed").fetchall()
    assert len(rows) >= 10
    for raw_value, _, _, fact_value in rows:
        assert raw_value == fact_value


def test_denominated_values_use_wdi_population(published_db):
    row = published_db.execute(
        "SELECT s.raw_value, s.denominated_value, s.denominator_year, p.value FROM mart_indicator_scores AS s "
        "JOIN fct_indicator_values AS p ON p.source_code = 'SP.POP.TOTL' AND p.iso3 = s.iso3 "
        "AND p.year = s.denominator_year "
        "WHERE s.iso3 = 'JPN' AND s.indicator_key = 'developers_per_million'").fetchone()
    raw_value, denominated, _, population = row
    assert denominated == pytest.approx(raw_value / (population / 1e6))


def test_japan_benchmark_covers_every_group_and_level(published_db):
    config = load_peer_config()
    groups = set(config.groups)
    got = published_db.execute(
        "SELECT group_id, level, count(*) FROM mart_japan_benchmark GROUP BY ALL").fetchall()
    assert {g for g, _, _ in got} == groups
    assert {lvl for _, lvl, _ in got} == {"indicator", "pillar", "composite"}
    assert all(r[0] == config.focus_country for r in published_db.execute(
        "SELECT DISTINCT focus_iso3 FROM mart_japan_benchmark").fetchall())


def test_japan_benchmark_arithmetic_against_the_scores(published_db):
    """Recompute the G7 composite row from mart_composite_index."""
    scores = dict(published_db.execute(
        "SELECT iso3, score FROM mart_composite_index WHERE iso3 IN ('CAN','FRA','DEU','ITA','JPN','GBR','USA')"
    ).fetchall())
    peers = sorted(v for k, v in scores.items() if k != "JPN")
    median = (peers[2] + peers[3]) / 2
    row = published_db.execute(
        "SELECT focus_value, peer_median, gap_to_median, leader_iso3, rank_in_group FROM mart_japan_benchmark "
        "WHERE group_id = 'g7' AND level = 'composite'").fetchone()
    assert row[0] == pytest.approx(scores["JPN"])
    assert row[1] == pytest.approx(median)
    assert row[2] == pytest.approx(scores["JPN"] - median)
    assert row[3] == max((k for k in scores if k != "JPN"), key=scores.get)
    assert row[4] == 1 + sum(v > scores["JPN"] for v in scores.values())


def test_catch_up_is_null_with_a_reason_when_not_closing(published_db):
    rows = published_db.execute(
        "SELECT gap_status, years_to_catch_up_median, years_to_catch_up_note FROM mart_japan_benchmark").fetchall()
    for status, years, note in rows:
        if status == "behind, closing":
            assert years is not None and years > 0
        elif years is None or (isinstance(years, float) and math.isnan(years)):
            assert note


def test_concordance_with_published_indices(published_db):
    rows = published_db.execute(
        "SELECT index_key, n_common_countries, spearman_rho FROM mart_concordance").fetchall()
    assert {r[0] for r in rows} == set(load_framework().concordance["key"])
    for _, n, rho in rows:
        assert n >= 20 and -1 <= rho <= 1


def test_index_concordance_names_the_largest_disagreements(published_db):
    rows = published_db.execute(
        "SELECT index_key, iso3, our_rank, their_rank, rank_difference, disagreement_rank, spearman_rho "
        "FROM mart_index_concordance").fetchall()
    by_index = {}
    for key, iso3, ours, theirs, diff, order, rho in rows:
        assert diff == ours - theirs
        by_index.setdefault(key, []).append((order, abs(diff), rho))
    summary = dict(published_db.execute("SELECT index_key, spearman_rho FROM mart_concordance").fetchall())
    for key, items in by_index.items():
        items.sort()
        assert [abs_diff for _, abs_diff, _ in items] == sorted((d for _, d, _ in items), reverse=True)
        assert items[0][2] == pytest.approx(summary[key])


def test_same_seed_gives_identical_scores(built):
    """Re-run the scoring from the build warehouse's inputs twice: identical tables, bands included."""
    import duckdb

    from pipelines.model.index_build import score_index

    config, _ = load_method_config()
    connection = duckdb.connect(str(built / "marts" / ".build" / "ai_readiness.duckdb"), read_only=True)
    try:
        latest = connection.execute("SELECT * FROM int_indicator_latest").df()
        framework = connection.execute("SELECT * FROM ref_framework").df()
        pillars = connection.execute("SELECT * FROM ref_pillars").df()
        universe = connection.execute("SELECT iso3 FROM ref_universe").df()["iso3"].tolist()
        groups = connection.execute("SELECT iso3, wb_income_group FROM dim_countries").df().set_index("iso3")[
            "wb_income_group"].fillna("unclassified")
        published = connection.execute("SELECT iso3, score, rank FROM int_index_composite ORDER BY iso3").df()
    finally:
        connection.close()
    first = score_index(latest, framework, pillars, universe, groups, config)
    second = score_index(latest, framework, pillars, universe, groups, config)
    for table in ("int_index_composite", "int_index_pillars", "int_index_rank_bands"):
        assert first[table].equals(second[table]), table
    again = first["int_index_composite"].sort_values("iso3").reset_index(drop=True)[["iso3", "score", "rank"]]
    assert again["iso3"].tolist() == published["iso3"].tolist()
    assert again["score"].to_numpy() == pytest.approx(published["score"].to_numpy(), nan_ok=True)
