"""AI Index 2025 country extracts: fixtures, the real mirror files, bad inputs, registry checksums."""

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
from pipelines.staging.parsers import PARSER_COLUMNS, PARSERS, ai_index

SOURCE_ID = "ai_index_2025"
PARSER_FUNCTIONS = {"ai_index_cross_section": ai_index.parse_cross_section, "ai_index_panel": ai_index.parse_panel}
DERIVED = {"talento_ia_pct", "contratacao_ia_rel_pct", "meses_contratacao"}

CROSS_COLUMNS = {
    "investimento_quid_acum_bi": {"indicator_name": "investment", "unit": "US$ billion", "note": "cumulative"},
    "empresas_quid_acum": {"indicator_name": "companies", "unit": "companies", "note": "cumulative"},
    "penetracao_habilidades_ia": {"indicator_name": "penetration", "unit": "ratio"},
    "talento_ia_2024_pct": {"indicator_name": "talent", "unit": "%"},
}
PANEL_COLUMNS = {
    "talento_ia_fem_pct": {"indicator_name": "female", "unit": "%"},
    "talento_ia_masc_pct": {"indicator_name": "male", "unit": "%"},
    "migracao_talento_10k": {"indicator_name": "migration", "unit": "per 10k"},
    "vagas_ia_pct": {"indicator_name": "postings", "unit": "%"},
}


@functools.cache
def _source():
    path = SOURCES_DIR / f"{SOURCE_ID}.yaml"
    return _source_from_dict(yaml.safe_load(path.read_text(encoding="utf-8")), path)


def _file(path: str):
    return next(f for f in _source().files if f.path == path)


@functools.cache
def _parse_cached(mirror: str, path: str):
    raw_file = _file(path)
    return PARSER_FUNCTIONS[raw_file.parser](Path(mirror) / SOURCE_ID / path, **raw_file.parser_options)


def _s(value):
    return None if pd.isna(value) else value


# --- (a) hand-made fixtures --------------------------------------------------------------------------------------

def test_cross_section_fixture(fixtures_dir):
    frame = ai_index.parse_cross_section(fixtures_dir / SOURCE_ID / "ai_index_transversal.csv", period="2024",
                                         value_columns=CROSS_COLUMNS, skip_columns=[])
    assert list(frame.columns) == PARSER_COLUMNS
    got = {(r.source_code, r.entity_code): (r.entity_name, r.value, r.raw_row, _s(r.note)) for r in frame.itertuples()}
    assert got == {
        ("investimento_quid_acum_bi", "USA"): ("United States", 100.5, "2", "cumulative"),
        ("empresas_quid_acum", "USA"): ("United States", 1000.0, "2", "cumulative"),
        ("penetracao_habilidades_ia", "USA"): ("United States", 2.5, "2", None),
        ("talento_ia_2024_pct", "USA"): ("United States", 0.8, "2", None),
        ("investimento_quid_acum_bi", "JPN"): ("Japan", 5.25, "3", "cumulative"),
        ("empresas_quid_acum", "JPN"): ("Japan", 300.0, "3", "cumulative"),
        ("investimento_quid_acum_bi", "NAM"): ("Namibia", 0.001, "4", "cumulative"),
        ("empresas_quid_acum", "NAM"): ("Namibia", 1.0, "4", "cumulative"),
        ("talento_ia_2024_pct", "NAM"): ("Namibia", 0.05, "4", None),
    }  # NA cells dropped, not zero
    assert set(frame["period"]) == {"2024"} and set(frame["year"]) == {2024}
    assert frame.set_index("source_code")["unit"].to_dict()["investimento_quid_acum_bi"] == "US$ billion"


def test_panel_fixture_skips_derived_columns(fixtures_dir):
    frame = ai_index.parse_panel(fixtures_dir / SOURCE_ID / "ai_index_pais_ano.csv", value_columns=PANEL_COLUMNS,
                                 skip_columns=sorted(DERIVED))
    assert not set(frame["source_code"]) & DERIVED
    got = {(r.source_code, r.entity_code, r.period): (r.year, r.value, r.raw_row) for r in frame.itertuples()}
    assert got == {
        ("talento_ia_fem_pct", "USA", "2023"): (2023, 0.4, "2"),
        ("talento_ia_masc_pct", "USA", "2023"): (2023, 0.6, "2"),
        ("migracao_talento_10k", "USA", "2023"): (2023, 1.25, "2"),
        ("vagas_ia_pct", "USA", "2023"): (2023, 1.5, "2"),
        ("talento_ia_fem_pct", "USA", "2024"): (2024, 0.45, "3"),
        ("talento_ia_masc_pct", "USA", "2024"): (2024, 0.65, "3"),
        ("vagas_ia_pct", "USA", "2024"): (2024, 2.0, "3"),
        ("migracao_talento_10k", "KOR", "2024"): (2024, -0.5, "4"),
    }
    assert frame["entity_name"].isna().all()


def test_unlisted_column_fails(fixtures_dir):
    with pytest.raises(ParseError, match=r"rule=expected_columns.*unexpected \['contratacao_ia_rel_pct'"):
        ai_index.parse_panel(fixtures_dir / SOURCE_ID / "ai_index_pais_ano.csv", value_columns=PANEL_COLUMNS,
                             skip_columns=["talento_ia_pct", "meses_contratacao"])


# --- (b) real mirror files ---------------------------------------------------------------------------------------

def _raw(path: Path) -> list[tuple[int, dict]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(i, r) for i, r in enumerate(csv.DictReader(handle), start=2)]


def test_real_cross_section(mirror_dir):
    raw_file = _file("raw/ai_index_transversal.csv")
    frame = _parse_cached(str(mirror_dir), raw_file.path)
    raw = _raw(mirror_dir / SOURCE_ID / raw_file.path)
    columns = raw_file.parser_options["value_columns"]
    assert list(frame.columns) == PARSER_COLUMNS
    assert len(raw) == 91
    assert len(frame) == sum(1 for _, r in raw for c in columns if r[c] != "NA")
    assert set(frame["period"]) == {"2024"}
    notes = frame.groupby("source_code")["note"].first().to_dict()
    assert "2013-2024" in notes["investimento_quid_acum_bi"] and "2013-2024" in notes["empresas_quid_acum"]
    line, japan = next((i, r) for i, r in raw if r["iso3c"] == "JPN")
    parsed = frame[frame["entity_code"] == "JPN"].set_index("source_code")
    for column in columns:
        if japan[column] == "NA":
            assert column not in parsed.index  # Japan has no LinkedIn values
        else:
            assert parsed.loc[column, "value"] == float(japan[column])
            assert parsed.loc[column, "raw_row"] == str(line)
            assert parsed.loc[column, "entity_name"] == japan["pais"]


def test_real_panel(mirror_dir):
    raw_file = _file("raw/ai_index_pais_ano.csv")
    frame = _parse_cached(str(mirror_dir), raw_file.path)
    raw = _raw(mirror_dir / SOURCE_ID / raw_file.path)
    columns = raw_file.parser_options["value_columns"]
    assert set(raw_file.parser_options["skip_columns"]) == DERIVED
    assert not set(frame["source_code"]) & DERIVED
    assert len(frame) == sum(1 for _, r in raw for c in columns if r[c] != "NA")
    assert not (frame["entity_code"] == "JPN").any()  # Japan is absent from the panel
    usa = [(i, r) for i, r in raw if r["iso3c"] == "USA"]
    parsed = frame[frame["entity_code"] == "USA"]
    for line, row in usa:
        for column in columns:
            match = parsed[(parsed["period"] == row["ano"]) & (parsed["source_code"] == column)]
            if row[column] == "NA":
                assert match.empty
            else:
                assert match["value"].tolist() == [float(row[column])]
                assert match["raw_row"].tolist() == [str(line)]


def test_real_files_harmonise(mirror_dir):
    source = _source()
    for raw_file in source.data_files:
        frame = _parse_cached(str(mirror_dir), raw_file.path)
        result = harmonise(frame, source_id=SOURCE_ID, source_overrides=source.entity_overrides, file=raw_file.path)
        assert (result["matched_by"] == "iso3_code").all()
        assert not result["is_aggregate"].any()
        assert (result["iso3"] == result["entity_code"]).all()


# --- (c) bad inputs ----------------------------------------------------------------------------------------------

HEADER = b'"iso3c","ano","talento_ia_fem_pct","vagas_ia_pct"\n'
BAD = {
    "empty": (b"", "non_empty"),
    "header_only": (HEADER, "non_empty"),
    "wrong_id": (b'"iso","ano","talento_ia_fem_pct","vagas_ia_pct"\n"USA",2024,1,2\n', "expected_columns"),
    "renamed_value": (b'"iso3c","ano","talento_fem","vagas_ia_pct"\n"USA",2024,1,2\n', "expected_columns"),
    "html": (b"<html><body>Sign in to Google Drive</body></html>\n", "expected_columns"),
    "truncated": (HEADER + b'"USA",2024,1,2\n"GBR",2024,1', "field_count"),
    "non_numeric": (HEADER + b'"USA",2024,1,2\n"GBR",2024,n/d,2\n', "numeric_value"),
    "bad_year": (HEADER + b'"USA",24,1,2\n', "year_format"),
    "bad_code": (HEADER + b'"United States",2024,1,2\n', "entity_code_format"),
    "duplicate": (HEADER + b'"USA",2024,1,2\n"USA",2024,1,2\n', "duplicate_key"),
    "encoding": (HEADER + '"CIV",2024,1,2 Côte\n'.encode("latin-1"), "encoding"),
}
BAD_COLUMNS = {"talento_ia_fem_pct": {"indicator_name": "f", "unit": "%"}, "vagas_ia_pct": {"indicator_name": "v",
                                                                                             "unit": "%"}}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inputs(tmp_path, case):
    content, rule = BAD[case]
    path = tmp_path / "ai_index_pais_ano.csv"
    path.write_bytes(content)
    with pytest.raises(ParseError) as info:
        ai_index.parse_panel(path, value_columns=BAD_COLUMNS)
    message = str(info.value)
    assert f"file={path}" in message and "row=" in message and f"rule={rule}" in message


def test_cross_section_needs_a_year_period(fixtures_dir):
    with pytest.raises(ParseError, match="rule=parser_options"):
        ai_index.parse_cross_section(fixtures_dir / SOURCE_ID / "ai_index_transversal.csv", period="2013-2024",
                                     value_columns=CROSS_COLUMNS)


# --- registry ----------------------------------------------------------------------------------------------------

def test_registry_checksums_and_coverage(mirror_dir):
    source = _source()
    folder = mirror_dir / SOURCE_ID
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
               and p.name != "PROVENANCE.md"}
    assert {f.path for f in source.files} == on_disk
    for raw_file in source.files:
        data = (folder / raw_file.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == raw_file.sha256, raw_file.path
        assert len(data) == raw_file.bytes, raw_file.path
        assert raw_file.url and raw_file.url.startswith("https://")
        assert raw_file.parser in PARSER_FUNCTIONS
        if raw_file.parser in PARSERS:
            assert PARSERS[raw_file.parser].startswith("ai_index:")


KINDS = {"share_pct", "share_fraction", "score", "count", "currency", "per_capita", "ratio", "index", "years", "flag"}
PILLARS = {"deployment_adoption", "investment", "skills_talent", "research_innovation", "infrastructure_compute",
           "government_policy", "external_composite", "context"}


def test_registry_indicators_match_parsed_codes(mirror_dir):
    doc = yaml.safe_load((SOURCES_DIR / f"{SOURCE_ID}.yaml").read_text(encoding="utf-8"))
    declared = [i["source_code"] for i in doc["indicators"]]
    assert len(declared) == len(set(declared))
    assert not set(declared) & DERIVED
    frame = pd.concat([_parse_cached(str(mirror_dir), raw_file.path) for raw_file in _source().data_files])
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
