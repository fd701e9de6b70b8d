"""OECD parsers: OECD.AI chart exports (VC, publications) and the reshaped AI-patent panel."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
import yaml

from pipelines.base.errors import ParseError
from pipelines.base.settings import CONFIG_DIR
from pipelines.staging.countries import harmonise
from pipelines.staging.parsers import PARSER_COLUMNS
from pipelines.staging.parsers.oecd import parse_oecdai_export, parse_patent_panel

SOURCES = ("oecd_ai_vc", "oecd_ai_patents", "oecd_ai_publications")
FUNCTIONS = {"oecdai_chart_export": parse_oecdai_export, "oecd_patent_panel": parse_patent_panel}


def registry_entry(source_id: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / "sources" / f"{source_id}.yaml").read_text(encoding="utf-8"))


def data_file(source_id: str) -> dict:
    (entry,) = [f for f in registry_entry(source_id)["files"] if f.get("parser")]
    return entry


def parse_registered(source_id: str, path: Path):
    entry = data_file(source_id)
    return FUNCTIONS[entry["parser"]](path, **entry["parser_options"])


def expect_parse_error(call, path: Path, rule: str, row: int | None = None) -> ParseError:
    with pytest.raises(ParseError) as info:
        call(path)
    message = str(info.value)
    assert f"file={path}" in message and "row=" in message and f"rule={rule}" in message, message
    if row is not None:
        assert str(info.value.row) == str(row), message
    return info.value


# --- (a) hand-made fixtures -------------------------------------------------------------------------------------

def test_vc_fixture(fixtures_dir):
    frame = parse_registered("oecd_ai_vc", fixtures_dir / "oecd_ai_vc" / "vc_chart_export.csv")
    assert list(frame.columns) == PARSER_COLUMNS
    rows = {(r.entity_code, r.period): r for r in frame.itertuples()}
    # the blank JPN 2021 VC cell and the Seed-stage row are dropped; the explicit zero is kept
    assert sorted(rows) == [("CIV", "2022"), ("GPAI", "2020"), ("JPN", "2020"), ("KOR", "2026")]
    assert rows["JPN", "2020"].value == 12.0
    assert (rows["GPAI", "2020"].entity_name, rows["GPAI", "2020"].value) == ("GPAI countries", 500.0)
    assert rows["GPAI", "2020"].raw_row == "2" and rows["JPN", "2020"].raw_row == "3"
    assert rows["CIV", "2022"].value == 0.0 and rows["CIV", "2022"].entity_name == "Côte d’Ivoire"
    assert rows["CIV", "2022"].raw_row == "6"
    assert rows["KOR", "2026"].raw_row == "7" and rows["KOR", "2026"].year == 2026
    assert "partial year" in rows["KOR", "2026"].note
    assert frame.loc[frame.period != "2026", "note"].isna().all()
    assert set(frame.source_code) == {"Sum_of_deals"} and set(frame.unit) == {"US$ million (nominal)"}


def test_publications_fixture(fixtures_dir):
    frame = parse_registered("oecd_ai_publications", fixtures_dir / "oecd_ai_publications" / "publications_export.csv")
    got = {(r.entity_code, r.period): (r.value, r.raw_row, r.entity_name) for r in frame.itertuples()}
    assert got == {
        ("EU27", "2024"): (20.5, "2", "EU27"),
        ("JPN", "2024"): (3.125, "3", "Japan"),
        ("USA", "2025"): (11.75, "5", "United States"),
    }
    assert frame.set_index("period").loc["2025", "note"].startswith("possibly incomplete")
    assert set(frame.source_code) == {"publications"}


def test_patent_fixture(fixtures_dir):
    frame = parse_registered("oecd_ai_patents", fixtures_dir / "oecd_ai_patents" / "patent_panel.csv")
    got = {(r.source_code, r.entity_code, r.period): (r.value, r.raw_row) for r in frame.itertuples()}
    assert got == {
        ("patentes_inventor", "JPN", "2020"): (10.5, "2"),
        ("patentes_triadicas", "JPN", "2020"): (3.25, "2"),
        ("patentes_triadicas", "JPN", "2021"): (1.0, "3"),  # the NA inventor count is dropped, not zero
        ("patentes_inventor", "KOR", "2022"): (0.33329999, "4"),
        ("patentes_triadicas", "KOR", "2022"): (0.0, "4"),  # a published zero stays
    }
    incomplete = frame[frame.period == "2022"]
    assert incomplete["note"].str.startswith("incomplete year").all()
    assert frame.loc[frame.period != "2022", "note"].isna().all()
    assert frame["entity_name"].isna().all()


# --- (b) real mirror files --------------------------------------------------------------------------------------

def _csv_rows(path: Path, encoding: str = "utf-8-sig") -> list[tuple[int, dict]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(enumerate(csv.DictReader(handle), start=2))


def test_vc_real_file(mirror_dir):
    path = mirror_dir / "oecd_ai_vc" / "raw" / "vc_investimentos_pais_ano.csv"
    frame = parse_registered("oecd_ai_vc", path)
    rows = _csv_rows(path)
    kept = [(n, r) for n, r in rows if r["STAGE"] == "VC" and r["Sum_of_deals"].strip() != ""]
    assert len(frame) == len(kept) > 1000
    japan = [(n, r) for n, r in kept if r["Country"] == "JPN"]
    assert len(japan) >= 10
    parsed = frame[frame.entity_code == "JPN"].set_index("period")
    for line, row in japan:
        assert parsed.loc[row["Year"], "value"] == float(row["Sum_of_deals"])
        assert parsed.loc[row["Year"], "raw_row"] == str(line)
    assert frame["period"].str.fullmatch(r"\d{4}").all()
    assert frame["value"].notna().all()


def test_publications_real_file(mirror_dir):
    path = mirror_dir / "oecd_ai_publications" / "raw" / "AI_publications_data.csv"
    frame = parse_registered("oecd_ai_publications", path)
    rows = _csv_rows(path)
    assert len(frame) == sum(1 for _, r in rows if r["publications"].strip() != "")
    parsed = frame[frame.entity_code == "JPN"].set_index("period")
    japan = [(n, r) for n, r in rows if r["Country/territory"] == "JPN"]
    assert len(japan) >= 20
    for line, row in japan[:5] + japan[-3:]:
        assert parsed.loc[row["year"], "value"] == float(row["publications"])
        assert parsed.loc[row["year"], "raw_row"] == str(line)


def test_patents_real_file(mirror_dir):
    path = mirror_dir / "oecd_ai_patents" / "raw" / "oecd_ai_patentes.csv"
    frame = parse_registered("oecd_ai_patents", path)
    rows = _csv_rows(path)
    expected = sum(1 for _, r in rows for c in ("patentes_inventor", "patentes_triadicas") if r[c] not in ("", "NA"))
    assert len(frame) == expected
    parsed = frame[frame.entity_code == "JPN"].set_index(["source_code", "period"])
    japan = [(n, r) for n, r in rows if r["iso3c"] == "JPN"]
    assert len(japan) >= 10
    for line, row in japan:
        for column in ("patentes_inventor", "patentes_triadicas"):
            assert parsed.loc[(column, row["ano"]), "value"] == float(row[column])
            assert parsed.loc[(column, row["ano"]), "raw_row"] == str(line)
        note = parsed.loc[("patentes_inventor", row["ano"]), "note"]
        assert (isinstance(note, str) and note.startswith("incomplete year")) == (row["ano_incompleto"] == "TRUE")


@pytest.mark.parametrize("source_id", SOURCES)
def test_real_files_harmonise(mirror_dir, source_id):
    entry = registry_entry(source_id)
    raw = data_file(source_id)
    frame = parse_registered(source_id, mirror_dir / source_id / raw["path"])
    mapped = harmonise(frame, source_id=source_id, source_overrides=entry.get("entity_overrides") or {},
                       file=raw["path"])
    aggregates = set(mapped.loc[mapped.is_aggregate, "entity_code"])
    assert aggregates == {"oecd_ai_vc": {"GPAI", "OECD", "EU27"}, "oecd_ai_patents": set(),
                          "oecd_ai_publications": {"EU27"}}[source_id]
    countries = mapped[~mapped.is_aggregate]
    assert countries["iso3"].notna().all()
    assert (countries["matched_by"] == "iso3_code").all()  # every economy is published with its ISO3 code
    assert (countries["iso3"] == countries["entity_code"]).all()


@pytest.mark.parametrize("source_id", SOURCES)
def test_registry_checksums_match_mirror(mirror_dir, source_id):
    for entry in registry_entry(source_id)["files"]:
        data = (mirror_dir / source_id / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
        assert len(data) == entry["bytes"], entry["path"]


# --- (c) bad inputs ---------------------------------------------------------------------------------------------

VC_HEADER = "Country,Country_label,INDUSTRY,STAGE,Sum_of_deals,Year"


def _vc(path: Path):
    return parse_registered("oecd_ai_vc", path)


def test_vc_bad_inputs(tmp_path):
    cases = {
        "empty": (b"", "non_empty", 1),
        "html": (b"<!DOCTYPE html><html><body>Sign in</body></html>", "not_csv", 1),
        "renamed": (b"Country,Label,INDUSTRY,STAGE,Sum_of_deals,Year\nJPN,Japan,-- All industries --,VC,1,2020",
                    "expected_columns", 1),
        "truncated": (f"{VC_HEADER}\nJPN,Japan,-- All industries --,VC,1,2020\nJPN,Japan,-- All".encode(),
                      "field_count", 3),
        "non_numeric": (f"{VC_HEADER}\nJPN,Japan,-- All industries --,VC,1.2k,2020".encode(), "numeric_value", 2),
        "bad_year": (f"{VC_HEADER}\nJPN,Japan,-- All industries --,VC,1,FY20".encode(), "year_format", 2),
        "latin1": (f"{VC_HEADER}\nCIV,Côte d'Ivoire,-- All industries --,VC,1,2020".encode("latin-1"), "encoding", 2),
        "filters": (f"{VC_HEADER}\nJPN,Japan,Fintech,VC,1,2020".encode(), "filters", 2),
        "duplicate": (f"{VC_HEADER}\nJPN,Japan,-- All industries --,VC,1,2020\n"
                      f"JPN,Japan,-- All industries --,VC,2,2020".encode(), "unique_entity_period", 3),
    }
    for name, (content, rule, row) in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(content)
        expect_parse_error(_vc, path, rule, row)


def test_publications_bad_inputs(tmp_path):
    header = "ai_concept,Country/territory,Country/territory_label,impact_level,pub_type,publications,year"
    cases = {
        "empty": (b"\n\n", "non_empty", 1),
        "non_numeric": (f"{header}\nAll AI research,JPN,Japan,All works,All publication types,3%,2024".encode(),
                        "numeric_value", 2),
        "wrong_header": (b"Country,year,publications\nJPN,2024,3", "expected_columns", 1),
    }
    for name, (content, rule, row) in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(content)
        expect_parse_error(lambda p: parse_registered("oecd_ai_publications", p), path, rule, row)


def test_patents_bad_inputs(tmp_path):
    header = '"iso3c","ano","patentes_inventor","patentes_triadicas","ano_incompleto"'
    cases = {
        "empty": (b"", "non_empty", 1),
        "missing_column": (b'"iso3c","ano","patentes_inventor","ano_incompleto"\n"JPN",2020,1,FALSE',
                           "expected_columns", 1),
        "truncated": (f'{header}\n"JPN",2020,1,2,FALSE\n"JPN",2021,1'.encode(), "field_count", 3),
        "non_numeric": (f'{header}\n"JPN",2020,one,2,FALSE'.encode(), "numeric_value", 2),
        "bad_flag": (f'{header}\n"JPN",2020,1,2,maybe'.encode(), "flag_value", 2),
        "utf16": (f'{header}\n"JPN",2020,1,2,FALSE'.encode("utf-16"), "encoding", 1),
    }
    for name, (content, rule, row) in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(content)
        expect_parse_error(lambda p: parse_registered("oecd_ai_patents", p), path, rule, row)
