"""Generative-AI usage parsers: Microsoft AI Diffusion (Mac Roman) and the curated MIC white-paper table.

The Eurostat isoc_ai_iaiu file of the same source is tested in test_parsers_eurostat.py (shared SDMX-CSV parser).
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest
import yaml

from pipelines.base.errors import ParseError
from pipelines.base.settings import CONFIG_DIR
from pipelines.staging.countries import harmonise
from pipelines.staging.parsers import PARSER_COLUMNS
from pipelines.staging.parsers.genai import parse_ai_diffusion, parse_mic_white_paper

SOURCE_ID = "genai_usage"
DIFFUSION = "raw/AI_Diffusion_Q12026_Update.csv"
MIC = "curated/mic_white_paper_genai_personal_use.csv"


def registry_entry() -> dict:
    return yaml.safe_load((CONFIG_DIR / "sources" / f"{SOURCE_ID}.yaml").read_text(encoding="utf-8"))


def options(path: str, parser: str) -> dict:
    (entry,) = [f for f in registry_entry()["files"] if f["path"] == path]
    assert entry["parser"] == parser
    return entry["parser_options"]


def diffusion(path: Path):
    return parse_ai_diffusion(path, **options(DIFFUSION, "microsoft_ai_diffusion"))


def mic(path: Path):
    return parse_mic_white_paper(path, **options(MIC, "mic_white_paper"))


def expect_parse_error(call, path: Path, rule: str, row: int) -> None:
    with pytest.raises(ParseError) as info:
        call(path)
    message = str(info.value)
    assert f"file={path}" in message and f"row={row}" in message and f"rule={rule}" in message, message


# --- (a) fixtures -----------------------------------------------------------------------------------------------

def test_diffusion_fixture(fixtures_dir):
    frame = diffusion(fixtures_dir / SOURCE_ID / "ai_diffusion.csv")
    assert list(frame.columns) == PARSER_COLUMNS
    got = {(r.entity_name, r.period): (r.value, r.year, r.raw_row) for r in frame.itertuples()}
    assert got == {  # Japan's blank Q1 2026 cell is dropped; Türkiye decoded from Mac Roman byte 0x9F
        ("Japan", "2025-H1"): (10.0, 2025, "2"), ("Japan", "2025-H2"): (11.5, 2025, "2"),
        ("Türkiye", "2025-H1"): (5.25, 2025, "3"), ("Türkiye", "2025-H2"): (6.0, 2025, "3"),
        ("Türkiye", "2026-Q1"): (7.75, 2026, "3"),
    }
    assert set(frame.source_code) == {"microsoft_telemetry:AI Diffusion"}
    assert frame["entity_code"].isna().all() and frame["note"].isna().all()


def test_mic_fixture(fixtures_dir):
    frame = mic(fixtures_dir / SOURCE_ID / "mic_white_paper.csv")
    assert list(frame.columns) == PARSER_COLUMNS
    got = {(r.entity_code, r.period): r for r in frame.itertuples()}
    assert sorted(got) == [("GBR", "2023"), ("JPN", "2023"), ("JPN", "2024")]
    assert (got["JPN", "2023"].value, got["JPN", "2023"].raw_row, got["JPN", "2023"].year) == (1.5, "2", 2023)
    assert (got["GBR", "2023"].value, got["GBR", "2023"].raw_row) == (2.5, "3")
    assert (got["JPN", "2024"].value, got["JPN", "2024"].raw_row) == (3.5, "4")
    assert got["JPN", "2024"].note.startswith("fiscal year FY2024 (Japan, April–March)")
    assert "SECONDARY" in got["GBR", "2023"].note and "SECONDARY" not in got["JPN", "2023"].note
    assert not frame["period"].str.startswith("FY").any()
    assert set(frame.source_code) == {"mic_online_panel:Has used (or has ever used) a generative AI service"}


def test_three_measures_have_distinct_source_codes():
    prefixes = {"microsoft_telemetry:", "eurostat_household_survey:", "mic_online_panel:"}
    codes = [i["source_code"] for i in registry_entry()["indicators"]]
    assert {next(p for p in prefixes if c.startswith(p)) for c in codes} == prefixes
    assert len(codes) == len(set(codes))


# --- (b) real mirror files --------------------------------------------------------------------------------------

def test_diffusion_real_file(mirror_dir):
    path = mirror_dir / SOURCE_ID / DIFFUSION
    frame = diffusion(path)
    rows = list(enumerate(csv.reader(io.StringIO(path.read_bytes().decode("mac_roman"), newline="")), start=1))
    header, body = rows[0][1], rows[1:]
    assert len(frame) == sum(1 for _, r in body for v in r[1:] if v.strip()) > 400
    assert set(frame.period) == {"2025-H1", "2025-H2", "2026-Q1"}
    (line, japan), = [(n, r) for n, r in body if r[0] == "Japan"]
    parsed = frame[frame.entity_name == "Japan"]
    assert list(parsed.raw_row.unique()) == [str(line)]
    for column, text in zip(header[1:], japan[1:]):
        half, year, _ = column.split(" ", 2)
        assert parsed.set_index("period").loc[f"{year}-{half}", "value"] == float(text.rstrip("%"))
    assert "Türkiye" in set(frame.entity_name)


def test_mic_real_file(mirror_dir):
    path = mirror_dir / SOURCE_ID / MIC
    frame = mic(path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(enumerate(csv.DictReader(handle), start=2))
    assert len(frame) == len(rows)
    parsed = frame.set_index(["entity_code", "period"])
    for line, row in rows:
        got = parsed.loc[(row["iso3"], row["survey_fiscal_year"])]
        assert got["value"] == float(row["value"]) and got["raw_row"] == str(line)
        assert got["note"].startswith(f"fiscal year FY{row['survey_fiscal_year']} (Japan, April–March)")
        assert ("SECONDARY" in got["note"]) == row["evidence_quality"].startswith("SECONDARY")
    assert {r["iso3"] for _, r in rows if r["evidence_quality"].startswith("SECONDARY")} == {"GBR"}
    assert "JPN" in set(frame.entity_code)


def test_real_files_harmonise(mirror_dir):
    overrides = registry_entry().get("entity_overrides")
    mapped = harmonise(diffusion(mirror_dir / SOURCE_ID / DIFFUSION), source_id=SOURCE_ID,
                       source_overrides=overrides, file=DIFFUSION)
    assert not mapped["is_aggregate"].any()
    iso = mapped.set_index("entity_name")["iso3"]
    assert iso.notna().all() and iso.is_unique
    # the name matches that are easy to get wrong
    assert iso["Congo"] == "COG" and iso["Congo (DRC)"] == "COD"
    assert iso["Niger"] == "NER" and iso["Nigeria"] == "NGA"
    assert iso["Guinea"] == "GIN" and iso["Guinea-Bissau"] == "GNB" and iso["Papua New Guinea"] == "PNG"
    assert iso["Sudan"] == "SDN" and iso["South Sudan"] == "SSD"
    assert iso["Dominican Republic"] == "DOM" and iso["South Korea"] == "KOR" and iso["Taiwan"] == "TWN"
    assert iso["Cote D'Ivoire"] == "CIV" and iso["Türkiye"] == "TUR" and iso["Laos"] == "LAO"
    mapped = harmonise(mic(mirror_dir / SOURCE_ID / MIC), source_id=SOURCE_ID, source_overrides=overrides, file=MIC)
    assert (mapped["iso3"] == mapped["entity_code"]).all()


def test_registry_checksums_match_mirror(mirror_dir):
    entries = registry_entry()["files"]
    on_disk = sorted(str(p.relative_to(mirror_dir / SOURCE_ID)) for p in (mirror_dir / SOURCE_ID).rglob("*")
                     if p.is_file() and p.name != "PROVENANCE.md")
    assert sorted(e["path"] for e in entries) == on_disk
    for entry in entries:
        data = (mirror_dir / SOURCE_ID / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
        assert len(data) == entry["bytes"], entry["path"]


# --- (c) bad inputs ---------------------------------------------------------------------------------------------

DIFF_HEADER = "Economy,H1 2025 AI Diffusion,H2 2025 AI Diffusion,Q1 2026 AI Diffusion"


@pytest.mark.parametrize(("name", "content", "rule", "row"), [
    ("empty", b"", "non_empty", 1),
    ("html", b"<!DOCTYPE html>\r\n<html></html>", "not_csv", 1),
    ("renamed", b"Country,H1 2025 AI Diffusion\r\nJapan,1.00%", "expected_columns", 1),
    ("bad_period", b"Economy,2025 AI Diffusion\r\nJapan,1.00%", "expected_columns", 1),
    ("truncated", f"{DIFF_HEADER}\r\nJapan,1.00%,2.00%,3.00%\r\nChile,1.00%".encode("mac_roman"), "field_count", 3),
    ("non_numeric", f"{DIFF_HEADER}\r\nJapan,1.00%,n/a,3.00%".encode("mac_roman"), "numeric_value", 2),
    ("fraction", f"{DIFF_HEADER}\r\nJapan,0.01,0.02,0.03".encode("mac_roman"), "numeric_value", 2),
    ("utf8_not_mac_roman", f"{DIFF_HEADER}\r\nJapan,1.00%,2.00%,3.00%\r\nTürkiye,1.00%,2.00%,3.00%".encode(),
     "encoding", 3),
    ("duplicate", f"{DIFF_HEADER}\r\nJapan,1.00%,2.00%,3.00%\r\nJapan,1.00%,2.00%,3.00%".encode("mac_roman"),
     "unique_entity_period", 3),
])
def test_diffusion_bad_inputs(tmp_path, name, content, rule, row):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content)
    expect_parse_error(diffusion, path, rule, row)


MIC_HEADER = ("iso3,country_name,survey_fiscal_year,value,unit,indicator,publication,url,location_in_document,"
              "evidence_quality,note")
MIC_ROW = "JPN,Japan,2024,{value},% of respondents,{indicator},MIC (test),https://example.org,p. 1,official,"
OK_INDICATOR = "Has used (or has ever used) a generative AI service"


@pytest.mark.parametrize(("name", "content", "rule", "row"), [
    ("empty", b"", "non_empty", 1),
    ("renamed", MIC_HEADER.replace("survey_fiscal_year", "fiscal_year").encode() + b"\n", "expected_columns", 1),
    ("truncated", f"{MIC_HEADER}\n{MIC_ROW.format(value=1, indicator=OK_INDICATOR)}\nJPN,Japan,20".encode(),
     "field_count", 3),
    ("non_numeric", f"{MIC_HEADER}\n{MIC_ROW.format(value='1,5%', indicator=OK_INDICATOR)}".encode(),
     "field_count", 2),
    ("non_numeric_quoted", f"{MIC_HEADER}\n{MIC_ROW.format(value='about 9', indicator=OK_INDICATOR)}".encode(),
     "numeric_value", 2),
    ("fy_label", f"{MIC_HEADER}\n{MIC_ROW.format(value=1, indicator=OK_INDICATOR)}".replace(",2024,", ",FY2024,")
     .encode(), "year_format", 2),
    ("other_measure", f"{MIC_HEADER}\n{MIC_ROW.format(value=1, indicator='Uses AI at work')}".encode(),
     "indicator", 2),
    ("shift_jis", f"{MIC_HEADER}\n{MIC_ROW.format(value=1, indicator=OK_INDICATOR)}使っている".encode("shift_jis"),
     "encoding", 2),
])
def test_mic_bad_inputs(tmp_path, name, content, rule, row):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content)
    expect_parse_error(mic, path, rule, row)
