"""Parsers for external composite indices: Oxford Insights GAIRI, IMF AIPI, Tortoise GAII.

Fixtures in tests/fixtures/<source_id>/ are hand-made in the publishers' layouts with made-up values. Real-file tests
compare the parser with an independent openpyxl/csv read of the mirror file (expected values are never typed here).
"""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path

import openpyxl
import pytest
import yaml

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import PARSER_COLUMNS
from pipelines.staging.parsers.indices import (
    AIPI_HEADER,
    GARI_HEADER,
    parse_aipi_workbook,
    parse_gari_panel_csv,
    parse_gari_workbook,
    parse_tortoise_csv,
)

CONFIG = Path(__file__).resolve().parents[1] / "config" / "sources"
GARI_XLSX = "raw/2024-GAIRI-data.xlsx"
GARI_PANEL = "curated/gairi_overall_2019_2025_selected_countries.csv"
AIPI_XLSX = "raw/aipidata.xlsx"
TORTOISE_CSV = "raw/AI_index_db.csv"
GARI_SHEET = "Scores per pillar and dimension"


def registry(source_id: str) -> dict:
    return yaml.safe_load((CONFIG / f"{source_id}.yaml").read_text(encoding="utf-8"))


def options(source_id: str, path: str) -> dict:
    return next(f for f in registry(source_id)["files"] if f["path"] == path)["parser_options"]


def gari(path: Path):
    return parse_gari_workbook(path, **options("oxford_gari", GARI_XLSX))


def gari_panel(path: Path):
    return parse_gari_panel_csv(path, **options("oxford_gari", GARI_PANEL))


def aipi(path: Path):
    return parse_aipi_workbook(path, **options("imf_aipi", AIPI_XLSX))


def tortoise(path: Path):
    return parse_tortoise_csv(path, **options("tortoise_gaii", TORTOISE_CSV))


def value(frame, entity: str, code: str, *, by: str = "entity_name", period: str | None = None):
    rows = frame[(frame[by] == entity) & (frame["source_code"] == code)]
    if period is not None:
        rows = rows[rows["period"] == period]
    assert len(rows) == 1, (entity, code, period, len(rows))
    return rows.iloc[0]


def assert_parse_error(call, path: Path, rule: str, row=None):
    with pytest.raises(ParseError) as caught:
        call(path)
    message = str(caught.value)
    assert f"rule={rule}" in message, message
    assert f"file={path}" in message and "row=" in message, message
    if row is not None:
        assert f"row={row}," in message, message
    return message


# --- registry ---------------------------------------------------------------------------------------------------

SOURCES = ["oxford_gari", "imf_aipi", "tortoise_gaii"]


@pytest.mark.parametrize("source_id", SOURCES)
def test_registry_checksums_match_mirror(source_id, mirror_dir):
    doc = registry(source_id)
    on_disk = sorted(str(p.relative_to(mirror_dir / source_id)) for p in (mirror_dir / source_id).rglob("*")
                     if p.is_file() and p.parent != mirror_dir / source_id)
    assert sorted(f["path"] for f in doc["files"]) == on_disk  # every raw/ and curated/ file is registered
    for entry in doc["files"]:
        data = (mirror_dir / source_id / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
        assert len(data) == entry["bytes"], entry["path"]


@pytest.mark.parametrize("source_id", SOURCES)
def test_registry_indicators_cover_emitted_codes(source_id, mirror_dir):
    doc = registry(source_id)
    declared = {i["source_code"] for i in doc["indicators"]}
    parsers = {"gari_workbook": gari, "gari_panel_csv": gari_panel, "aipi_workbook": aipi, "tortoise_csv": tortoise}
    emitted = set()
    for entry in doc["files"]:
        emitted |= set(parsers[entry["parser"]](mirror_dir / source_id / entry["path"])["source_code"])
    assert emitted == declared
    for indicator in doc["indicators"]:
        assert set(indicator) == {"source_code", "name", "unit", "kind", "valid_min", "valid_max", "higher_is_better",
                                  "pillar"}


# --- GAIRI 2024 workbook ------------------------------------------------------------------------------------------


def test_gari_workbook_fixture(fixtures_dir):
    frame = gari(fixtures_dir / "oxford_gari" / "2024-GAIRI-data.xlsx")
    assert list(frame.columns) == PARSER_COLUMNS
    assert set(frame["period"]) == {"2024"} and set(frame["year"]) == {2024}
    assert frame["entity_code"].isna().all()
    assert value(frame, "Japan", "Total")["value"] == 61.5
    assert value(frame, "Japan", "Government")["value"] == 60.0
    assert value(frame, "Japan", "Data Representativeness")["value"] == 55.0
    assert value(frame, "Congo", "Vision")["value"] == 0.0  # a real zero is kept
    assert value(frame, "Democratic Republic of the Congo", "Vision")["value"] == 100.0
    assert value(frame, "Japan", "Total")["raw_row"] == f"{GARI_SHEET}!3"
    assert value(frame, "Democratic Republic of the Congo", "Maturity")["raw_row"] == f"{GARI_SHEET}!5"
    assert "Adaptability" not in set(frame.loc[frame["entity_name"] == "Congo", "source_code"])  # blank dropped
    assert "Ranking" not in set(frame["source_code"])
    assert len(frame) == 3 * 14 - 1
    label = value(frame, "Japan", "Government")["indicator_name"]
    assert label == "Government AI Readiness Index 2024: Government (pillar)"
    assert value(frame, "Japan", "Vision")["unit"] == "score (0-100)"


def test_gari_workbook_real_japan(mirror_dir):
    path = mirror_dir / "oxford_gari" / GARI_XLSX
    frame = gari(path)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(workbook[GARI_SHEET].iter_rows(values_only=True))
    workbook.close()
    header = list(rows[1])
    countries = [(i + 1, r) for i, r in enumerate(rows) if i >= 2 and r and r[0]]
    score_columns = [c for c in GARI_HEADER if c not in (None, "Country", "Ranking")]
    assert len(frame) == sum(1 for _, r in countries for c in score_columns if r[header.index(c)] is not None)
    assert frame["entity_name"].nunique() == len(countries)
    assert set(frame["source_code"]) == set(score_columns)
    line, japan = next((i, r) for i, r in countries if r[0] == "Japan")
    for column in ("Total", "Government", "Technology Sector", "Vision", "Data Representativeness"):
        row = value(frame, "Japan", column)
        assert row["value"] == japan[header.index(column)]
        assert row["raw_row"] == f"{GARI_SHEET}!{line}"
    assert frame["value"].between(0, 100).all()
    assert not frame.duplicated(["source_code", "entity_name", "period"]).any()


def _gari_variant(fixtures_dir: Path, tmp_path: Path, edit) -> Path:
    workbook = openpyxl.load_workbook(fixtures_dir / "oxford_gari" / "2024-GAIRI-data.xlsx")
    edit(workbook)
    out = tmp_path / "variant.xlsx"
    workbook.save(out)
    return out


def test_gari_workbook_bad_inputs(fixtures_dir, tmp_path):
    renamed = _gari_variant(fixtures_dir, tmp_path, lambda wb: setattr(wb[GARI_SHEET].cell(2, 4), "value", "Govt"))
    assert_parse_error(gari, renamed, "expected_columns", f"{GARI_SHEET}!2")

    text = tmp_path / "text.xlsx"
    wb = openpyxl.load_workbook(fixtures_dir / "oxford_gari" / "2024-GAIRI-data.xlsx")
    wb[GARI_SHEET].cell(4, 5).value = "n/a"
    wb.save(text)
    assert "Technology Sector" in assert_parse_error(gari, text, "numeric_value", f"{GARI_SHEET}!4")

    nameless = tmp_path / "nameless.xlsx"
    wb = openpyxl.load_workbook(fixtures_dir / "oxford_gari" / "2024-GAIRI-data.xlsx")
    wb[GARI_SHEET].cell(3, 1).value = None
    wb.save(nameless)
    assert_parse_error(gari, nameless, "entity_present", f"{GARI_SHEET}!3")

    no_sheet = tmp_path / "no_sheet.xlsx"
    wb = openpyxl.load_workbook(fixtures_dir / "oxford_gari" / "2024-GAIRI-data.xlsx")
    del wb[GARI_SHEET]
    wb.save(no_sheet)
    assert_parse_error(gari, no_sheet, "expected_sheet")

    data = (fixtures_dir / "oxford_gari" / "2024-GAIRI-data.xlsx").read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(data[: len(data) // 2])
    assert_parse_error(gari, truncated, "xlsx_format", 1)

    html = tmp_path / "html.xlsx"
    html.write_text("<!DOCTYPE html><html><body>Not found</body></html>", encoding="utf-8")
    assert_parse_error(gari, html, "xlsx_format", 1)

    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert_parse_error(gari, empty, "non_empty", 1)


# --- GAIRI 2019-2025 curated panel ----------------------------------------------------------------------------------


def test_gari_panel_fixture(fixtures_dir):
    frame = gari_panel(fixtures_dir / "oxford_gari" / "gairi_overall_2019_2025_selected_countries.csv")
    assert list(frame.columns) == PARSER_COLUMNS
    assert set(frame["source_code"]) == {"score_raw"}
    assert len(frame) == 4  # JPN 2025 is blank: dropped
    y2019 = value(frame, "JPN", "score_raw", by="entity_code", period="2019")
    assert y2019["value"] == 6.5 and y2019["unit"] == "score (0-10)" and y2019["year"] == 2019
    assert y2019["raw_row"] == "2"
    assert "scale=0-10" in y2019["note"] and "series break 2019->2020" in y2019["note"]
    assert "rank=7 of 100" in y2019["note"] and "source_file=SHARED_-2019-Index-data-for-report.xlsx" in y2019["note"]
    y2024 = value(frame, "JPN", "score_raw", by="entity_code", period="2024")
    assert y2024["value"] == 61.5 and y2024["unit"] == "score (0-100)" and y2024["raw_row"] == "4"
    assert "series break to the redesigned 2025 edition" in y2024["note"]
    twn = value(frame, "TWN", "score_raw", by="entity_code", period="2025")
    assert twn["value"] == 64.0 and twn["entity_name"] == "Taiwan" and twn["raw_row"] == "6"
    assert "series break 2024->2025" in twn["note"]
    assert "2025" not in set(frame.loc[frame["entity_code"] == "JPN", "period"])


def test_gari_panel_real_japan(mirror_dir):
    path = mirror_dir / "oxford_gari" / GARI_PANEL
    frame = gari_panel(path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(frame) == sum(1 for r in rows if r["score_raw"].strip())
    japan = [(line, r) for line, r in enumerate(rows, start=2) if r["iso3"] == "JPN"]
    assert japan
    for line, r in japan:
        row = value(frame, "JPN", "score_raw", by="entity_code", period=r["year"])
        assert row["value"] == float(r["score_raw"])
        assert row["raw_row"] == str(line)
        assert row["unit"] == f"score ({r['score_scale']})"
        assert r["source_file"] in row["note"]
    assert set(frame.loc[frame["year"] == 2019, "unit"]) == {"score (0-10)"}


def test_gari_panel_2024_equals_workbook(mirror_dir):
    """The curated 2024 scores are the workbook's Total (PROVENANCE): same numbers, two source_codes."""
    panel = gari_panel(mirror_dir / "oxford_gari" / GARI_PANEL)
    workbook = gari(mirror_dir / "oxford_gari" / GARI_XLSX)
    totals = dict(workbook.loc[workbook["source_code"] == "Total", ["entity_name", "value"]].itertuples(index=False))
    for name, score in panel.loc[panel["year"] == 2024, ["entity_name", "value"]].itertuples(index=False):
        if name in totals:
            assert math.isclose(totals[name], score, rel_tol=0, abs_tol=1e-9)


PANEL_HEADER = "iso3,country,year,rank,n_ranked,score_raw,score_scale,source_file,source_sheet\n"


@pytest.mark.parametrize("content, rule, row", [
    ("", "non_empty", 1),
    ("iso3,country,year,rank,score,score_scale,source_file,source_sheet\nJPN,Japan,2024,1,50,0-100,a.xlsx,R\n",
     "expected_columns", 1),
    (PANEL_HEADER + "JPN,Japan,2024,1,3,fifty,0-100,a.xlsx,R\n", "numeric_value", 2),
    (PANEL_HEADER + "JPN,Japan,2024,1,3,50,0-100,a.xlsx,R\nJPN,Japan,2025,1,3,5", "field_count", 3),
    (PANEL_HEADER + "JPN,Japan,2024,1,3,50,0-5,a.xlsx,R\n", "known_scale", 2),
    (PANEL_HEADER + "JPN,Japan,2019,1,3,50,0-10,a.xlsx,R\n", "value_in_scale", 2),
    (PANEL_HEADER + "JPN,Japan,FY24,1,3,50,0-100,a.xlsx,R\n", "year_format", 2),
    (PANEL_HEADER + "JPN,Japan,2024,1,3,50,0-100,a.xlsx,R\nJPN,Japan,2024,1,3,51,0-100,a.xlsx,R\n",
     "unique_entity_period", 3),
    ("<!DOCTYPE html>\n<html><body>rate limited</body></html>\n", "expected_columns", 1),
])
def test_gari_panel_bad_inputs(tmp_path, content, rule, row):
    path = tmp_path / "panel.csv"
    path.write_text(content, encoding="utf-8")
    assert_parse_error(gari_panel, path, rule, row)


def test_gari_panel_wrong_encoding(tmp_path):
    path = tmp_path / "panel.csv"
    path.write_bytes((PANEL_HEADER + "TUR,Türkiye,2024,1,3,50,0-100,a.xlsx,R\n").encode("cp1252"))
    assert_parse_error(gari_panel, path, "encoding", 2)


# --- IMF AIPI workbook ------------------------------------------------------------------------------------------


def test_aipi_fixture(fixtures_dir):
    frame = aipi(fixtures_dir / "imf_aipi" / "aipidata.xlsx")
    assert list(frame.columns) == PARSER_COLUMNS
    assert set(frame["period"]) == {"2023"} and set(frame["year"]) == {2023}
    jpn = value(frame, "JPN", "AIPI", by="entity_code")
    assert jpn["value"] == 0.625 and jpn["unit"] == "index (0-1)" and jpn["raw_row"] == "AIPI!3"
    assert jpn["note"] == "type=AE"
    component = value(frame, "JPN", "Digitial Infrastructure", by="entity_code")
    assert component["value"] == 0.125 and component["unit"] == "weighted contribution to AIPI (0-0.25)"
    # both "Congo" rows survive, told apart by their codes
    assert value(frame, "COG", "AIPI", by="entity_code")["value"] == 0.3125
    assert value(frame, "COD", "AIPI", by="entity_code")["value"] == 0.25
    assert value(frame, "COD", "AIPI", by="entity_code")["raw_row"] == "AIPI!5"
    # "NA" cells are dropped, not zero
    twn = frame[frame["entity_code"] == "TWN"]
    assert set(twn["source_code"]) == set(AIPI_HEADER[5:])
    assert len(frame) == 3 * 5 + 3


def test_aipi_real_japan(mirror_dir):
    path = mirror_dir / "imf_aipi" / AIPI_XLSX
    frame = aipi(path)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(workbook["AIPI"].iter_rows(values_only=True))
    workbook.close()
    header = list(rows[1])
    economies = [(i + 1, r) for i, r in enumerate(rows) if i >= 2 and r[1]]
    assert frame["entity_code"].nunique() == len(economies)
    assert len(frame) == sum(1 for _, r in economies for c in r[3:8] if isinstance(c, float))
    line, japan = next((i, r) for i, r in economies if r[1] == "JPN")
    for column in AIPI_HEADER[3:]:
        row = value(frame, "JPN", column, by="entity_code")
        assert row["value"] == japan[header.index(column)]
        assert row["raw_row"] == f"AIPI!{line}"
    components = frame[frame["source_code"] != "AIPI"]
    assert components["value"].between(0, 0.25).all()
    assert frame.loc[frame["source_code"] == "AIPI", "value"].between(0, 1).all()
    assert set(frame.loc[frame["entity_name"] == "Congo", "entity_code"]) == {"COG", "COD"}


def _aipi_variant(fixtures_dir: Path, tmp_path: Path, row: int, column: int, new) -> Path:
    workbook = openpyxl.load_workbook(fixtures_dir / "imf_aipi" / "aipidata.xlsx")
    workbook["AIPI"].cell(row, column).value = new
    out = tmp_path / "variant.xlsx"
    workbook.save(out)
    return out


def test_aipi_bad_inputs(fixtures_dir, tmp_path):
    assert_parse_error(aipi, _aipi_variant(fixtures_dir, tmp_path, 2, 5, "Digital Infrastructure"),
                       "expected_columns", "AIPI!2")
    assert_parse_error(aipi, _aipi_variant(fixtures_dir, tmp_path, 3, 6, ".."), "numeric_value", "AIPI!3")
    assert_parse_error(aipi, _aipi_variant(fixtures_dir, tmp_path, 3, 4, 0.5), "components_sum_to_total", "AIPI!3")
    assert_parse_error(aipi, _aipi_variant(fixtures_dir, tmp_path, 4, 2, None), "entity_present", "AIPI!4")
    assert_parse_error(aipi, _aipi_variant(fixtures_dir, tmp_path, 5, 2, "COG"), "unique_entity_period")
    data = (fixtures_dir / "imf_aipi" / "aipidata.xlsx").read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(data[:-200])
    assert_parse_error(aipi, truncated, "xlsx_format", 1)
    csv_instead = tmp_path / "aipidata.xlsx"
    csv_instead.write_text("Country,iso3,type,AIPI\nJapan,JPN,AE,0.5\n", encoding="utf-8")
    assert_parse_error(aipi, csv_instead, "xlsx_format", 1)


# --- Tortoise Global AI Index -------------------------------------------------------------------------------------


def test_tortoise_fixture(fixtures_dir):
    frame = tortoise(fixtures_dir / "tortoise_gaii" / "AI_index_db.csv")
    assert list(frame.columns) == PARSER_COLUMNS
    assert set(frame["period"]) == {"2021"} and set(frame["year"]) == {2021}
    assert value(frame, "Japan", "Total score")["value"] == 40.5
    assert value(frame, "Japan", "Operating Environment")["value"] == 55.25
    assert value(frame, "Japan", "Talent")["raw_row"] == "2"
    assert value(frame, "South Korea", "Total score")["value"] == 0.0  # the bottom country is a real 0
    assert value(frame, "South Korea", "Commercial")["raw_row"] == "4"
    assert "Operating Environment" not in set(frame.loc[frame["entity_name"] == "The Netherlands", "source_code"])
    assert len(frame) == 3 * 8 - 1
    assert not {"Region", "Cluster", "Income group", "Political regime"} & set(frame["source_code"])
    assert frame["note"].str.contains("edition year approximate").all()
    assert set(frame["unit"]) == {"relative score (0-100, leader = 100)"}


def test_tortoise_real_japan(mirror_dir):
    path = mirror_dir / "tortoise_gaii" / TORTOISE_CSV
    frame = tortoise(path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    value_columns = ["Talent", "Infrastructure", "Operating Environment", "Research", "Development",
                     "Government Strategy", "Commercial", "Total score"]
    assert len(frame) == sum(1 for r in rows for c in value_columns if r[c].strip())
    assert frame["entity_name"].nunique() == len(rows)
    line, japan = next((line, r) for line, r in enumerate(rows, start=2) if r["Country"] == "Japan")
    for column in value_columns:
        row = value(frame, "Japan", column)
        assert row["value"] == float(japan[column])
        assert row["raw_row"] == str(line)
    assert frame["value"].between(0, 100).all()
    totals = frame[frame["source_code"] == "Total score"]["value"]
    assert totals.max() == 100 and totals.min() == 0  # relative scale: leader 100, bottom 0


TORTOISE_HEADER = ("Country,Talent,Infrastructure,Operating Environment,Research,Development,Government Strategy,"
                   "Commercial,Total score,Region,Cluster,Income group,Political regime\r\n")


@pytest.mark.parametrize("content, rule, row", [
    ("", "non_empty", 1),
    (TORTOISE_HEADER.replace("Total score", "Total"), "expected_columns", 1),
    (TORTOISE_HEADER + "Japan,1,2,3,4,5,6,7,high,Asia-Pacific,X,High,Y\r\n", "numeric_value", 2),
    (TORTOISE_HEADER + "Japan,1,2,3,4,5,6,7,8,Asia-Pacific,X,High,Y\r\nChina,1,2,3", "field_count", 3),
    (TORTOISE_HEADER + ",1,2,3,4,5,6,7,8,Asia-Pacific,X,High,Y\r\n", "entity_present", 2),
    ("<html><head><title>Kaggle</title></head></html>\r\n", "expected_columns", 1),
])
def test_tortoise_bad_inputs(tmp_path, content, rule, row):
    path = tmp_path / "AI_index_db.csv"
    path.write_text(content, encoding="utf-8", newline="")
    assert_parse_error(tortoise, path, rule, row)


def test_tortoise_wrong_encoding(tmp_path):
    path = tmp_path / "AI_index_db.csv"
    path.write_bytes((TORTOISE_HEADER + "Japan,1,2,3,4,5,6,7,8,Asia-Pacific,X,High,Y\r\n"
                      "Türkiye,1,2,3,4,5,6,7,8,Europe,X,High,Y\r\n").encode("cp1252"))
    assert_parse_error(tortoise, path, "encoding", 3)
