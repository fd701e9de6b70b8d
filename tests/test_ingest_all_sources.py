"""All 19 sources in one fact table: coverage, lineage, flags, peer groups — read from the built warehouse."""

import csv

import pytest

from pipelines.sources.registry import load_registry


def test_every_source_reaches_the_facts(published_db):
    sources = {r[0] for r in published_db.execute("SELECT DISTINCT source_id FROM fct_indicator_values").fetchall()}
    assert sources == set(load_registry())
    n_indicators, n_economies = published_db.execute(
        "SELECT count(DISTINCT (source_id, indicator_id)), count(DISTINCT iso3) FROM fct_indicator_values").fetchone()
    assert n_indicators >= 60 and n_economies >= 200


def test_every_fact_has_lineage(published_db):
    missing = published_db.execute(
        "SELECT count(*) FROM fct_indicator_values WHERE raw_file IS NULL OR raw_sha256 IS NULL OR raw_row IS NULL "
        "OR iso3 IS NULL OR value IS NULL").fetchone()[0]
    assert missing == 0
    files = {r[0] for r in published_db.execute("SELECT DISTINCT raw_file FROM fct_indicator_values").fetchall()}
    registered = {f"{s.source_id}/{f.path}" for s in load_registry().values() for f in s.files}
    assert files <= registered


def _owid_value(mirror_dir, file_name, iso3, year):
    with (mirror_dir / "owid_ai" / "raw" / file_name).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        for row in reader:
            if row[1] == iso3 and row[2] == str(year):
                return header, row
    raise AssertionError("row not found")


def test_owid_publications_for_japan_equal_the_raw_file(published_db, mirror_dir):
    file_name = "annual-scholarly-publications-on-artificial-intelligence.csv"
    facts = published_db.execute(
        "SELECT year, value, raw_row, source_code FROM fct_indicator_values WHERE source_id = 'owid_ai' "
        "AND iso3 = 'JPN' AND raw_file LIKE ? ORDER BY year", [f"%{file_name}"]).fetchall()
    assert facts
    for year, value, raw_row, source_code in facts:
        header, row = _owid_value(mirror_dir, file_name, "JPN", year)
        column = source_code.split("/", 1)[1]
        assert float(row[header.index(column)]) == value
        lines = (mirror_dir / "owid_ai" / "raw" / file_name).read_text(encoding="utf-8").splitlines()
        assert lines[int(raw_row) - 1].split(",")[1:3] == ["JPN", str(year)]


def test_github_developers_for_japan_equal_the_raw_file(published_db, mirror_dir):
    with (mirror_dir / "github_innovation_graph" / "raw" / "developers.csv").open(encoding="utf-8", newline="") as h:
        rows = [r for r in csv.DictReader(h)]
    japan = {f"{r['year']}-Q{r['quarter']}": float(r[[k for k in r if k not in ('economy_name', 'iso2_code', 'iso3_code', 'year', 'quarter')][0]])
             for r in rows if r.get("iso2_code") == "JP"}
    ours = dict(published_db.execute(
        "SELECT period, value FROM fct_indicator_values WHERE source_id = 'github_innovation_graph' "
        "AND source_code = 'developers' AND iso3 = 'JPN'").fetchall())
    assert ours == japan


def test_partial_years_are_flagged(published_db):
    flagged = published_db.execute(
        "SELECT count(*), bool_and(is_partial_year) FROM fct_indicator_values WHERE source_id = 'oecd_ai_vc' "
        "AND year = 2026").fetchone()
    assert flagged[0] > 0 and flagged[1]
    assert published_db.execute(
        "SELECT bool_and(is_secondary) FROM fct_indicator_values WHERE source_id = 'ai_index_2025'").fetchone()[0]


def test_smaller_advanced_group_is_computed_from_population(published_db):
    rows = published_db.execute(
        "SELECT g.iso3, c.population, a.iso3 IS NOT NULL AS advanced FROM dim_country_groups AS g "
        "JOIN dim_countries AS c USING (iso3) "
        "LEFT JOIN dim_country_groups AS a ON a.iso3 = g.iso3 AND a.group_id = 'imf_advanced' "
        "WHERE g.group_id = 'smaller_advanced'").fetchall()
    assert len(rows) >= 10
    for iso3, population, advanced in rows:
        assert advanced and population < 20_000_000, iso3
    assert "JPN" not in {r[0] for r in rows}


@pytest.mark.parametrize("group_id,expected", [("g7", 7), ("g20", 19), ("eu27", 27), ("oecd", 38)])
def test_standard_groups_have_their_membership(published_db, group_id, expected):
    n = published_db.execute("SELECT count(*) FROM dim_country_groups WHERE group_id = ?", [group_id]).fetchone()[0]
    assert n == expected
