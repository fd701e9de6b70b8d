"""GitHub Innovation Graph parsers: hand-made fixtures, the real mirror files, bad inputs, registry checksums."""

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
from pipelines.staging.parsers import PARSER_COLUMNS, PARSERS, github

SOURCE_ID = "github_innovation_graph"
PARSER_FUNCTIONS = {"github_metric": github.parse_metric, "github_topics": github.parse_topics}


@functools.cache
def _source():
    path = SOURCES_DIR / f"{SOURCE_ID}.yaml"
    return _source_from_dict(yaml.safe_load(path.read_text(encoding="utf-8")), path)


@functools.cache
def _parse_cached(mirror: str, path: str):
    raw_file = _file(path)
    return PARSER_FUNCTIONS[raw_file.parser](Path(mirror) / SOURCE_ID / raw_file.path, **raw_file.parser_options)


def _parse(raw_file, mirror_dir: Path):
    """Parse a real mirror file once per session (callers must not mutate the frame)."""
    return _parse_cached(str(mirror_dir), raw_file.path)


def _file(path: str):
    return next(f for f in _source().files if f.path == path)


# --- (a) hand-made fixtures --------------------------------------------------------------------------------------

def test_metric_fixture(fixtures_dir):
    frame = github.parse_metric(fixtures_dir / SOURCE_ID / "developers.csv", metric="developers",
                                unit="developer accounts")
    assert list(frame.columns) == PARSER_COLUMNS
    rows = {(r.entity_code, r.period): r for r in frame.itertuples()}
    # the blank JP cell (line 4) is dropped, not zero
    assert set(rows) == {("US", "2024-Q3"), ("EU", "2024-Q3"), ("XK", "2025-Q1"), ("NA", "2024-Q4")}
    assert rows["US", "2024-Q3"].value == 1234 and rows["US", "2024-Q3"].raw_row == "2"
    assert rows["EU", "2024-Q3"].value == 987 and rows["EU", "2024-Q3"].raw_row == "3"
    assert rows["XK", "2025-Q1"].year == 2025 and rows["XK", "2025-Q1"].raw_row == "5"
    # Namibia's ISO2 code "NA" must survive as a code, not become a missing value
    assert rows["NA", "2024-Q4"].value == 321 and rows["NA", "2024-Q4"].raw_row == "6"
    assert set(frame["source_code"]) == {"developers"}
    assert set(frame["indicator_name"]) == {"developers"}
    assert set(frame["unit"]) == {"developer accounts"}
    assert frame["entity_name"].isna().all()


def test_topics_fixture_keeps_topics_apart(fixtures_dir):
    frame = github.parse_topics(fixtures_dir / SOURCE_ID / "topics.csv", topics=["ai", "llm", "machine-learning"],
                                unit="unique developers pushing in the quarter")
    got = {(r.source_code, r.entity_code, r.period): (r.value, r.raw_row) for r in frame.itertuples()}
    assert got == {
        ("num_pushers:ai", "US", "2024-Q3"): (450.0, "3"),
        ("num_pushers:llm", "US", "2024-Q3"): (210.0, "4"),
        ("num_pushers:ai", "JP", "2024-Q4"): (130.0, "5"),
        ("num_pushers:machine-learning", "EU", "2025-Q1"): (120.0, "6"),
    }  # python (not listed) skipped; blank JP llm (line 7) dropped; US ai and llm not summed
    assert frame["year"].tolist() == [2024, 2024, 2024, 2025]


def test_topics_fixture_unknown_topic_fails(fixtures_dir):
    with pytest.raises(ParseError, match=r"rule=expected_topics.*'genai'"):
        github.parse_topics(fixtures_dir / SOURCE_ID / "topics.csv", topics=["ai", "genai"], unit="x")


# --- (b) real mirror files ---------------------------------------------------------------------------------------

def _raw_rows(path: Path) -> list[tuple[int, dict]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(i, row) for i, row in enumerate(csv.DictReader(handle), start=2)]


@pytest.mark.parametrize("path", ["raw/developers.csv", "raw/organizations.csv", "raw/repositories.csv",
                                  "raw/git_pushes.csv"])
def test_real_metric_files(mirror_dir, path):
    raw_file = _file(path)
    frame = _parse(raw_file, mirror_dir)
    raw = _raw_rows(mirror_dir / SOURCE_ID / path)
    metric = raw_file.parser_options["metric"]
    assert list(frame.columns) == PARSER_COLUMNS
    assert len(frame) == sum(1 for _, r in raw if r[metric] != "")
    assert frame["period"].str.fullmatch(r"20\d\d-Q[1-4]").all()
    assert (frame["period"].str[:4].astype(int) == frame["year"]).all()
    assert frame["value"].ge(0).all()
    japan = [(i, r) for i, r in raw if r["iso2_code"] == "JP"]
    assert len(japan) >= 20
    parsed = frame[frame["entity_code"] == "JP"].set_index("period")
    for line, row in japan[:3] + japan[-3:]:
        period = f"{row['year']}-Q{row['quarter']}"
        assert parsed.loc[period, "value"] == float(row[metric])
        assert parsed.loc[period, "raw_row"] == str(line)


def test_real_topics_file(mirror_dir):
    raw_file = _file("raw/topics.csv")
    frame = _parse(raw_file, mirror_dir)
    topics = raw_file.parser_options["topics"]
    raw = _raw_rows(mirror_dir / SOURCE_ID / "raw/topics.csv")
    expected = [(i, r) for i, r in raw if r["topic"] in topics]
    assert len(frame) == len(expected)
    assert set(frame["source_code"]) == {f"num_pushers:{t}" for t in topics}
    assert not frame.duplicated(["source_code", "entity_code", "period"]).any()
    japan = [(i, r) for i, r in expected if r["iso2_code"] == "JP" and r["topic"] == "machine-learning"]
    assert japan
    parsed = frame[(frame["entity_code"] == "JP") & (frame["source_code"] == "num_pushers:machine-learning")]
    parsed = parsed.set_index("period")
    for line, row in japan:
        period = f"{row['year']}-Q{row['quarter']}"
        assert parsed.loc[period, "value"] == float(row["num_pushers"])
        assert parsed.loc[period, "raw_row"] == str(line)


def test_real_files_harmonise(mirror_dir):
    source = _source()
    for raw_file in source.data_files:
        frame = _parse(raw_file, mirror_dir)
        result = harmonise(frame, source_id=SOURCE_ID, source_overrides=source.entity_overrides, file=raw_file.path)
        assert not (result["matched_by"] == "name_match").any()
        aggregates = set(result.loc[result["is_aggregate"], "entity_code"])
        assert aggregates == {"EU"}
        codes = dict(zip(result["entity_code"], result["iso3"]))
        assert codes["JP"] == "JPN"
        for code, iso3 in (("XK", "XKX"), ("NA", "NAM"), ("CD", "COD"), ("CG", "COG"), ("NE", "NER")):
            if code in codes:
                assert codes[code] == iso3


# --- (c) bad inputs ----------------------------------------------------------------------------------------------

BAD_METRIC = {
    "empty": (b"", "non_empty"),
    "header_only": (b"developers,iso2_code,year,quarter\n", "non_empty"),
    "wrong_header": (b"developer,iso2_code,year,quarter\n5,US,2024,1\n", "expected_columns"),
    "html": (b"<!DOCTYPE html>\n<html><body>Not Found</body></html>\n", "expected_columns"),
    "truncated": (b"developers,iso2_code,year,quarter\n5,US,2024,1\n7,JP,20", "field_count"),
    "non_numeric": (b"developers,iso2_code,year,quarter\n5,US,2024,1\nn/a,JP,2024,1\n", "integer_value"),
    "bad_quarter": (b"developers,iso2_code,year,quarter\n5,US,2024,5\n", "quarter_format"),
    "bad_code": (b"developers,iso2_code,year,quarter\n5,USA,2024,1\n", "entity_code_format"),
    "duplicate": (b"developers,iso2_code,year,quarter\n5,US,2024,1\n6,US,2024,1\n", "duplicate_key"),
    "encoding": ("developers,iso2_code,year,quarter\n5,US,2024,1\n6,CI,2024,1 Côte\n".encode("latin-1"),
                 "encoding"),
}


@pytest.mark.parametrize("case", sorted(BAD_METRIC))
def test_bad_metric_inputs(tmp_path, case):
    content, rule = BAD_METRIC[case]
    path = tmp_path / "developers.csv"
    path.write_bytes(content)
    with pytest.raises(ParseError) as info:
        github.parse_metric(path, metric="developers", unit="developer accounts")
    message = str(info.value)
    assert f"file={path}" in message and "row=" in message and f"rule={rule}" in message


def test_bad_topics_inputs(tmp_path):
    path = tmp_path / "topics.csv"
    path.write_bytes(b"num_pushers,topic,iso2_code,year,quarter\n100,ai,US,2024,1\nmany,ai,JP,2024,1\n")
    with pytest.raises(ParseError, match=r"row=3, rule=integer_value"):
        github.parse_topics(path, topics=["ai"], unit="x")
    path.write_bytes(b"num_pushers,iso2_code,year,quarter\n100,US,2024,1\n")
    with pytest.raises(ParseError, match=r"row=1, rule=expected_columns"):
        github.parse_topics(path, topics=["ai"], unit="x")


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
        if raw_file.parser:
            assert raw_file.parser in PARSER_FUNCTIONS
            if raw_file.parser in PARSERS:
                assert PARSERS[raw_file.parser].startswith("github:")


KINDS = {"share_pct", "share_fraction", "score", "count", "currency", "per_capita", "ratio", "index", "years", "flag"}
PILLARS = {"deployment_adoption", "investment", "skills_talent", "research_innovation", "infrastructure_compute",
           "government_policy", "external_composite", "context"}


def test_registry_indicators_match_parsed_codes(mirror_dir):
    doc = yaml.safe_load((SOURCES_DIR / f"{SOURCE_ID}.yaml").read_text(encoding="utf-8"))
    declared = [i["source_code"] for i in doc["indicators"]]
    assert len(declared) == len(set(declared))
    frame = pd.concat([_parse(raw_file, mirror_dir) for raw_file in _source().data_files])
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
