"""End to end on real World Bank data from the mirror: facts, aggregates, lineage back to the raw file."""

import csv
from pathlib import Path

import pytest

from pipelines.sources.registry import load_registry

MAIN_WDI_CODES = {
    "IT.NET.USER.ZS", "NY.GDP.PCAP.PP.KD", "IT.NET.BBND.P2", "IT.NET.SECR.P6", "GB.XPD.RSDV.GD.ZS",
    "SP.POP.SCIE.RD.P6", "TX.VAL.TECH.MF.ZS", "SE.TER.ENRR", "IP.PAT.RESD", "IP.JRN.ARTC.SC", "SP.POP.TOTL",
    "NY.GDP.MKTP.CD",
}


def test_wdi_covers_200_economies_and_all_main_indicators(published_db):
    economies = published_db.execute(
        "SELECT count(DISTINCT iso3) FROM fct_indicator_values WHERE source_id = 'worldbank_wdi'"
    ).fetchone()[0]
    assert economies >= 200
    codes = {r[0] for r in published_db.execute(
        "SELECT DISTINCT source_code FROM fct_indicator_values WHERE source_id = 'worldbank_wdi'").fetchall()}
    assert MAIN_WDI_CODES <= codes
    assert len(codes) == 19


def test_aggregates_are_recorded_but_not_country_facts(published_db):
    aggregate_codes = {r[0] for r in published_db.execute(
        "SELECT DISTINCT entity_code FROM fct_aggregate_values WHERE source_id = 'worldbank_wdi'").fetchall()}
    assert {"WLD", "EUU", "HIC", "OED", "EAS"} <= aggregate_codes
    leaked = published_db.execute(
        "SELECT count(*) FROM fct_indicator_values WHERE iso3 IN ('WLD', 'EUU', 'HIC', 'OED', 'EAS')"
    ).fetchone()[0]
    assert leaked == 0


@pytest.mark.parametrize("code", ["SP.POP.TOTL", "GB.XPD.RSDV.GD.ZS", "IP.JRN.ARTC.SC"])
def test_japan_values_equal_the_datahub_file(published_db, mirror_dir, code):
    raw_path = mirror_dir / "worldbank_wdi" / "raw" / "datahub_world-development-indicators" / code.lower() / "data.csv"
    with raw_path.open(encoding="utf-8", newline="") as handle:
        published = {row["Year"]: float(row["Value"]) for row in csv.DictReader(handle) if row["Country Code"] == "JPN"}
    ours = dict(published_db.execute(
        "SELECT period, value FROM fct_indicator_values WHERE source_id = 'worldbank_wdi' AND source_code = ? "
        "AND iso3 = 'JPN'", [code]).fetchall())
    assert ours == published


def test_japan_values_equal_the_api_wide_file(published_db, mirror_dir):
    folder = mirror_dir / "worldbank_wdi" / "raw" / "worldbank_api_csv" / "IT.NET.USER.ZS"
    raw_path = next(folder.glob("API_*.csv"))
    lines = raw_path.read_text(encoding="utf-8-sig").splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith('"Country Name"'))
    rows = list(csv.reader(lines[header_at:]))
    header, japan = rows[0], next(r for r in rows[1:] if len(r) > 1 and r[1] == "JPN")
    published = {y: float(v) for y, v in zip(header[4:], japan[4:]) if y and v}
    ours = dict(published_db.execute(
        "SELECT period, value FROM fct_indicator_values WHERE source_code = 'IT.NET.USER.ZS' AND iso3 = 'JPN'"
    ).fetchall())
    assert ours == published


def test_lineage_points_at_the_exact_raw_row(published_db, built):
    source = load_registry()["worldbank_wdi"]
    sha_by_file = {f"worldbank_wdi/{f.path}": f.sha256 for f in source.files}
    rows = published_db.execute(
        "SELECT raw_file, raw_sha256, raw_row, iso3, period, value FROM fct_indicator_values "
        "WHERE source_id = 'worldbank_wdi' AND iso3 = 'JPN' USING SAMPLE 10 ROWS (reservoir, 7)").fetchall()
    for raw_file, raw_sha256, raw_row, iso3, period, value in rows:
        assert sha_by_file[raw_file] == raw_sha256
        line = (built / "raw" / raw_file).read_text(encoding="utf-8-sig").splitlines()[int(raw_row) - 1]
        fields = next(csv.reader([line]))
        assert iso3 in fields
        if raw_file.endswith("data.csv"):
            assert fields[2] == period and float(fields[3]) == value


def test_parquet_exports_match_the_warehouse(published_db, built):
    import duckdb

    parquet_dir = built / "marts" / "parquet"
    for table in ("fct_indicator_values", "fct_aggregate_values", "dim_countries", "dim_indicators", "dim_sources"):
        expected = published_db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        fresh = duckdb.connect()
        try:
            got = fresh.execute("SELECT count(*) FROM read_parquet(?)", [str(parquet_dir / f"{table}.parquet")]).fetchone()[0]
        finally:
            fresh.close()
        assert got == expected > 0
    assert not list(Path(built / "marts").glob("parquet/*.tmp*"))


def test_data_docs_hold_one_page_per_suite_of_the_build(built):
    """The checks store results and the run renders the site once at its end: every GX suite of the build has its
    validation page and its suite page, the index links them, and no page is missing or left over."""
    from pipelines.defs.validation import audited_check_keys

    docs = built / "marts" / "data_docs"
    suites = {key.split(":")[0] for key in audited_check_keys() if key.endswith(":gx_suite")}
    validation_pages = list((docs / "validations").rglob("*.html"))
    assert sorted(p.relative_to(docs / "validations").parts[0] for p in validation_pages) == sorted(suites)
    assert {p.stem for p in (docs / "expectations").glob("*.html")} == suites
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert all(f"validations/{suite}/" in index for suite in suites)
