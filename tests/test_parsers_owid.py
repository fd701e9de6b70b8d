"""OWID grapher CSV parser (owid_ai and oecd_pisa): fixtures, real mirror files, bad inputs, registry checksums."""

from __future__ import annotations

import csv
import functools
import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.base.errors import ParseError
from pipelines.sources.registry import SOURCES_DIR, _source_from_dict
from pipelines.staging.countries import harmonise
from pipelines.staging.parsers import PARSER_COLUMNS, PARSERS, owid

SOURCE_IDS = ("owid_ai", "oecd_pisa")
PARSER_FUNCTIONS = {"owid_grapher": owid.parse_grapher}


@functools.cache
def _source(source_id: str):
    path = SOURCES_DIR / f"{source_id}.yaml"
    return _source_from_dict(yaml.safe_load(path.read_text(encoding="utf-8")), path)


@functools.cache
def _parse_cached(mirror: str, source_id: str, path: str):
    raw_file = next(f for f in _source(source_id).files if f.path == path)
    return PARSER_FUNCTIONS[raw_file.parser](Path(mirror) / source_id / path, **raw_file.parser_options)


def _parse(source_id: str, raw_file, mirror_dir: Path):
    """Parse a real mirror file once per session (callers must not mutate the frame)."""
    return _parse_cached(str(mirror_dir), source_id, raw_file.path)


def _s(value):
    """pd.NA / None -> None, so expected tuples can be written plainly."""
    return None if pd.isna(value) else value


DATA_FILES = [(s, f.path) for s in SOURCE_IDS for f in _source(s).data_files]


# --- (a) hand-made fixtures --------------------------------------------------------------------------------------

def test_single_column_fixture(fixtures_dir):
    path = fixtures_dir / "owid_ai" / "annual-scholarly-publications-on-artificial-intelligence.csv"
    frame = owid.parse_grapher(path, chart="annual-scholarly-publications-on-artificial-intelligence",
                               value_columns=["All"], unit="articles")
    assert list(frame.columns) == PARSER_COLUMNS
    got = [(r.entity_name, _s(r.entity_code), r.period, r.year, r.value, r.raw_row) for r in frame.itertuples()]
    assert got == [
        ("Five Eyes (Australia, Canada, New Zealand, UK, and the US) (CSET)", None, "2021", 2021, 4000.0, "2"),
        ("Japan", "JPN", "2020", 2020, 111.0, "3"),
        ("Japan", "JPN", "2021", 2021, 222.5, "4"),
        ("Kosovo", "OWID_KOS", "2021", 2021, 3.0, "5"),
        ("World", "OWID_WRL", "2021", 2021, 9999.0, "6"),  # last line has no newline
    ]
    assert set(frame["source_code"]) == {"annual-scholarly-publications-on-artificial-intelligence/All"}
    assert set(frame["indicator_name"]) == {"All"}
    assert set(frame["unit"]) == {"articles"}
    assert frame["note"].isna().all()


def test_multi_column_fixture_drops_blanks_and_notes_projection(fixtures_dir):
    path = fixtures_dir / "owid_ai" / "private-investment-in-artificial-intelligence-cset.csv"
    frame = owid.parse_grapher(
        path, chart="cset", value_columns=["All", "All (projected) (Projected)"], unit="US$",
        column_notes={"All (projected) (Projected)": "projection"},
    )
    got = {(r.source_code, r.entity_code, r.period): (r.value, r.raw_row, _s(r.note)) for r in frame.itertuples()}
    assert got == {
        ("cset/All", "OWID_AFR", "2024"): (1000.0, "2", None),
        ("cset/All (projected) (Projected)", "OWID_AFR", "2024"): (1000.0, "2", "projection"),
        ("cset/All (projected) (Projected)", "OWID_AFR", "2025"): (700.0, "3", "projection"),
        ("cset/All", "JPN", "2023"): (5000.0, "4", None),
        ("cset/All", "JPN", "2024"): (6000.0, "5", None),
        ("cset/All (projected) (Projected)", "JPN", "2024"): (6000.0, "5", "projection"),
        ("cset/All (projected) (Projected)", "JPN", "2025"): (3000.0, "6", "projection"),
    }  # blank 2025 "All" cells and the blank 2023 projection are dropped, not zero


def test_short_column_names_fixture(fixtures_dir):
    frame = owid.parse_grapher(fixtures_dir / "oecd_pisa" / "pisa_math_scores.csv", chart="academic-performance",
                               id_columns=["entity", "code", "year"], value_columns=["pisa_math_all_average"],
                               unit="PISA score points", note="n")
    assert frame["value"].tolist() == [510.12345, 520.5, 350.25, 470.0]
    assert frame["raw_row"].tolist() == ["2", "3", "4", "5"]
    assert frame["period"].tolist() == ["2018", "2022", "2022", "2022"]
    assert set(frame["note"]) == {"n"}
    assert frame["entity_code"].isna().tolist() == [False, False, False, True]


# --- (b) real mirror files ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("source_id,path", DATA_FILES)
def test_real_file(mirror_dir, source_id, path):
    raw_file = next(f for f in _source(source_id).files if f.path == path)
    frame = _parse(source_id, raw_file, mirror_dir)
    options = raw_file.parser_options
    assert list(frame.columns) == PARSER_COLUMNS
    with (mirror_dir / source_id / path).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        raw = [(i, dict(zip(header, r))) for i, r in enumerate(reader, start=2)]
    columns = options["value_columns"]
    assert len(frame) == sum(1 for _, r in raw for c in columns if r[c] != "")
    assert set(frame["source_code"]) == {f"{options['chart']}/{c}" for c in columns}
    assert set(frame["unit"]) == {options["unit"]}
    assert (frame["period"].astype(int) == frame["year"]).all()
    code_column = header[1]
    # Japan where the file has it; otherwise the United States
    country = "JPN" if any(r[code_column] == "JPN" for _, r in raw) else "USA"
    picked = [(i, r) for i, r in raw if r[code_column] == country]
    assert picked
    parsed = frame[frame["entity_code"] == country]
    for line, row in picked:
        for column in columns:
            match = parsed[(parsed["period"] == row[header[2]]) & (parsed["indicator_name"] == column)]
            if row[column] == "":
                assert match.empty
            else:
                assert match["value"].tolist() == [float(row[column])]
                assert match["raw_row"].tolist() == [str(line)]


@pytest.mark.parametrize("source_id", SOURCE_IDS)
def test_real_files_harmonise(mirror_dir, source_id):
    source = _source(source_id)
    for raw_file in source.data_files:
        frame = _parse(source_id, raw_file, mirror_dir)
        result = harmonise(frame, source_id=source_id, source_overrides=source.entity_overrides, file=raw_file.path)
        assert not (result["matched_by"] == "name_match").any(), raw_file.path
        for name, code, iso3, is_aggregate in result[["entity_name", "entity_code", "iso3", "is_aggregate"]].itertuples(
                index=False):
            code = _s(code)
            if code == "OWID_KOS":
                assert iso3 == "XKX" and not is_aggregate
            elif code is not None and code.startswith("OWID_"):
                assert is_aggregate, (name, code)
            elif code is None and name != "Republic of the Congo":
                assert is_aggregate, (name, code)
            else:
                assert not is_aggregate and iso3 == (code or "COG"), (name, code, iso3)


def test_real_pisa_drops_nothing_and_flags_averages(mirror_dir):
    raw_file = _source("oecd_pisa").data_files[0]
    frame = _parse("oecd_pisa", raw_file, mirror_dir)
    assert len(frame) == 453  # PROVENANCE.md: 453 data rows, none blank
    averages = frame[frame["entity_code"].isna()]
    assert set(averages["entity_name"]) == {"OECD average", "PISA participants average"}


# --- (c) bad inputs ----------------------------------------------------------------------------------------------

HEADER = b"Entity,Code,Year,All\n"
BAD = {
    "empty": (b"", "non_empty"),
    "header_only": (HEADER, "non_empty"),
    "renamed_column": (b"Entity,Code,Year,Total\nJapan,JPN,2020,1\n", "expected_columns"),
    "extra_column": (b"Entity,Code,Year,All,Other\nJapan,JPN,2020,1,2\n", "expected_columns"),
    "html": (b"<html><head><title>Our World in Data</title></head></html>\n", "expected_columns"),
    "truncated": (HEADER + b"Japan,JPN,2020,1\nJapan,JP", "field_count"),
    "non_numeric": (HEADER + b"Japan,JPN,2020,1\nJapan,JPN,2021,lots\n", "numeric_value"),
    "nan": (HEADER + b"Japan,JPN,2020,nan\n", "numeric_value"),
    "bad_year": (HEADER + b"Japan,JPN,2020-21,1\n", "year_format"),
    "duplicate": (HEADER + b"Japan,JPN,2020,1\nJapan,JPN,2020,2\n", "duplicate_key"),
    "encoding": (HEADER + "Curaçao,CUW,2020,1\n".encode("cp1252"), "encoding"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inputs(tmp_path, case):
    content, rule = BAD[case]
    path = tmp_path / "chart.csv"
    path.write_bytes(content)
    with pytest.raises(ParseError) as info:
        owid.parse_grapher(path, chart="chart", value_columns=["All"], unit="x")
    message = str(info.value)
    assert f"file={path}" in message and "row=" in message and f"rule={rule}" in message


def test_bad_row_is_named(tmp_path):
    path = tmp_path / "chart.csv"
    path.write_bytes(HEADER + b"Japan,JPN,2020,1\nJapan,JPN,2021,2\nJapan,JPN,2022,x\n")
    with pytest.raises(ParseError, match=r"row=4, rule=numeric_value"):
        owid.parse_grapher(path, chart="chart", value_columns=["All"], unit="x")


# --- registry ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source_id", SOURCE_IDS)
def test_registry_checksums_and_coverage(mirror_dir, source_id):
    source = _source(source_id)
    folder = mirror_dir / source_id
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
               and p.name != "PROVENANCE.md"}
    assert {f.path for f in source.files} == on_disk
    for raw_file in source.files:
        data = (folder / raw_file.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == raw_file.sha256, raw_file.path
        assert len(data) == raw_file.bytes, raw_file.path
        assert raw_file.url and raw_file.url.startswith("https://raw.githubusercontent.com/")
        if raw_file.parser:
            assert raw_file.parser in PARSER_FUNCTIONS
            if raw_file.parser in PARSERS:
                assert PARSERS[raw_file.parser] == "owid:parse_grapher"


KINDS = {"share_pct", "share_fraction", "score", "count", "currency", "per_capita", "ratio", "index", "years", "flag"}
PILLARS = {"deployment_adoption", "investment", "skills_talent", "research_innovation", "infrastructure_compute",
           "government_policy", "external_composite", "context"}


@pytest.mark.parametrize("source_id", SOURCE_IDS)
def test_registry_indicators_match_parsed_codes(mirror_dir, source_id):
    doc = yaml.safe_load((SOURCES_DIR / f"{source_id}.yaml").read_text(encoding="utf-8"))
    declared = [i["source_code"] for i in doc["indicators"]]
    assert len(declared) == len(set(declared))
    frame = pd.concat([_parse(source_id, raw_file, mirror_dir) for raw_file in _source(source_id).data_files])
    assert set(declared) == set(frame["source_code"])
    for indicator in doc["indicators"]:
        rows = frame[frame["source_code"] == indicator["source_code"]]
        assert set(rows["unit"]) == {indicator["unit"]}, indicator["source_code"]
        if indicator["valid_min"] is not None:
            assert rows["value"].ge(indicator["valid_min"]).all(), indicator["source_code"]
        if indicator["valid_max"] is not None:
            assert rows["value"].le(indicator["valid_max"]).all(), indicator["source_code"]
        assert indicator["kind"] in KINDS and indicator["pillar"] in PILLARS
        assert isinstance(indicator["higher_is_better"], bool)
