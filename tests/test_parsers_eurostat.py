"""Eurostat parsers: wide `;`/decimal-comma extracts (eurostat_enterprise_ai) and SDMX-CSV with labels (genai_usage)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.base.errors import ParseError
from pipelines.base.settings import CONFIG_DIR
from pipelines.staging.countries import harmonise
from pipelines.staging.parsers import PARSER_COLUMNS
from pipelines.staging.parsers.eurostat import parse_sdmx_csv, parse_wide_semicolon

ENTERPRISE = "eurostat_enterprise_ai"
GENAI = "genai_usage"
SDMX_PATH = "raw/eurostat_isoc_ai_iaiu_useofai.csv"


def registry_entry(source_id: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / "sources" / f"{source_id}.yaml").read_text(encoding="utf-8"))


def file_entry(source_id: str, path: str) -> dict:
    (entry,) = [f for f in registry_entry(source_id)["files"] if f["path"] == path]
    return entry


def wide_options(path: str) -> dict:
    entry = file_entry(ENTERPRISE, path)
    assert entry["parser"] == "eurostat_wide_semicolon"
    return entry["parser_options"]


def sdmx_options() -> dict:
    entry = file_entry(GENAI, SDMX_PATH)
    assert entry["parser"] == "eurostat_sdmx_csv"
    return entry["parser_options"]


def expect_parse_error(call, path: Path, rule: str, row: int) -> None:
    with pytest.raises(ParseError) as info:
        call(path)
    message = str(info.value)
    assert f"file={path}" in message and f"row={row}" in message and f"rule={rule}" in message, message


# --- wide `;` extracts ------------------------------------------------------------------------------------------

def test_wide_fixture(fixtures_dir):
    frame = parse_wide_semicolon(fixtures_dir / ENTERPRISE / "database_ia.csv", **wide_options("raw/database_ia.csv"))
    assert list(frame.columns) == PARSER_COLUMNS
    got = {(r.entity_name, r.period): (r.value, r.raw_row) for r in frame.itertuples()}
    assert got == {
        ("Belgium", "2021"): (1.5, "2"), ("Belgium", "2023"): (2.0, "2"), ("Belgium", "2024"): (3.25, "2"),
        ("Belgium", "2025"): (4.75, "2"),
        ("Malta", "2021"): (5.5, "3"), ("Malta", "2023"): (6.5, "3"), ("Malta", "2024"): (7.5, "3"),
        # Malta 2025 is withheld by the registry (unresolved in PROVENANCE); Greece's blank and ':' are dropped
        ("Greece", "2021"): (1.1, "4"), ("Greece", "2024"): (2.2, "4"),
    }
    assert frame["entity_code"].isna().all() and set(frame.source_code) == {"E_AI_TANY"}
    assert frame.loc[frame.period == "2025", "note"].str.contains("break in series").all()
    assert frame.loc[frame.period != "2025", "note"].isna().all()


def test_wide_fixture_europe(fixtures_dir):
    frame = parse_wide_semicolon(fixtures_dir / ENTERPRISE / "database_ia_europe.csv",
                                 **wide_options("raw/database_ia_europe.csv"))
    assert [(r.entity_name, r.period, r.value, r.raw_row) for r in frame.itertuples()] == [
        ("Europe", "2023", 1.25, "2"), ("Europe", "2024", 2.5, "2"), ("Europe", "2025", 3.75, "2")]


def _read_wide(path: Path) -> list[tuple[int, list[str]]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(enumerate(csv.reader(text.splitlines(), delimiter=";"), start=1))


@pytest.mark.parametrize("path", ["raw/database_ia.csv", "raw/database_ia_europe.csv"])
def test_wide_real_files(mirror_dir, path):
    real = mirror_dir / ENTERPRISE / path
    frame = parse_wide_semicolon(real, **wide_options(path))
    rows = _read_wide(real)
    years = rows[0][1][1:]
    withheld = {(w["entity"], w["period"]) for w in wide_options(path).get("withheld", [])}
    cells = {(r[0], y): (float(v.replace(",", ".")), str(n)) for n, r in rows[1:] for y, v in zip(years, r[1:])
             if v.strip() not in ("", ":")}
    assert len(frame) == len(cells) - len(withheld & set(cells))
    # Japan is not in Eurostat: check Germany (or the EU aggregate) against an independent read
    entity = "Germany" if "Germany" in {r[0] for _, r in rows[1:]} else rows[1][1][0]
    parsed = frame[frame.entity_name == entity].set_index("period")
    for (name, year), (value, line) in cells.items():
        if name == entity:
            assert parsed.loc[year, "value"] == value and parsed.loc[year, "raw_row"] == line
    for name, year in withheld:
        assert frame[(frame.entity_name == name) & (frame.period == year)].empty


def test_wide_real_files_harmonise(mirror_dir):
    overrides = registry_entry(ENTERPRISE).get("entity_overrides")
    frames = [parse_wide_semicolon(mirror_dir / ENTERPRISE / p, **wide_options(p))
              for p in ("raw/database_ia.csv", "raw/database_ia_europe.csv")]
    mapped = harmonise(pd.concat(frames), source_id=ENTERPRISE, source_overrides=overrides)
    assert set(mapped.loc[mapped.is_aggregate, "entity_name"]) == {"Europe"}
    countries = mapped[~mapped.is_aggregate]
    assert len(countries) == 27 and countries["iso3"].notna().all() and countries["iso3"].is_unique


@pytest.mark.parametrize(("name", "content", "rule", "row"), [
    ("empty", b"", "non_empty", 1),
    ("bom_only", "\ufeff\r\n".encode(), "non_empty", 1),
    ("html", b"<html><body>502 Bad Gateway</body></html>", "not_csv", 1),
    ("renamed", "\ufeffPAYS;2021;2023\r\nBelgium;1,5;2\r\n".encode(), "expected_columns", 1),
    ("bad_year", "\ufeffCOUNTRY;2021;twenty\r\nBelgium;1,5;2\r\n".encode(), "expected_columns", 1),
    ("truncated", "\ufeffCOUNTRY;2021;2023\r\nBelgium;1,5;2\r\nMalta;1".encode(), "field_count", 3),
    ("comma_separated", "\ufeffCOUNTRY;2021;2023\r\nBelgium,1.5,2\r\n".encode(), "field_count", 2),
    ("decimal_point", "\ufeffCOUNTRY;2021;2023\r\nBelgium;1.5;2\r\n".encode(), "numeric_value", 2),
    ("non_numeric", "\ufeffCOUNTRY;2021;2023\r\nBelgium;1,5;n.a.\r\n".encode(), "numeric_value", 2),
    ("latin1", "COUNTRY;2021;2023\r\nTürkiye;1,5;2\r\n".encode("latin-1"), "encoding", 2),
    ("duplicate", "\ufeffCOUNTRY;2021\r\nMalta;1\r\nMalta;2\r\n".encode(), "unique_entity_period", 3),
])
def test_wide_bad_inputs(tmp_path, name, content, rule, row):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content)
    expect_parse_error(lambda p: parse_wide_semicolon(p, **wide_options("raw/database_ia.csv")), path, rule, row)


# --- SDMX-CSV with labels (genai_usage: isoc_ai_iaiu) ------------------------------------------------------------

def test_sdmx_fixture(fixtures_dir):
    frame = parse_sdmx_csv(fixtures_dir / GENAI / "eurostat_sdmx_labels.csv", **sdmx_options())
    assert list(frame.columns) == PARSER_COLUMNS
    last3m = ("eurostat_household_survey:All individuals|Use of generative AI tools: in the last 3 months|"
              "Percentage of individuals")
    work = ("eurostat_household_survey:All individuals|Use of generative AI tools: for professional (work) purposes|"
            "Percentage of individuals")
    got = {(r.source_code, r.entity_name): (r.value, r.raw_row, r.period, r.unit) for r in frame.itertuples()}
    # the blank (flag u) value and the 16-24 age group are dropped; the explicit 0 is kept
    assert got == {
        (last3m, "Germany"): (30.12, "2", "2025", "Percentage of individuals"),
        (last3m, "Türkiye"): (10.5, "3", "2025", "Percentage of individuals"),
        (work, "European Union - 27 countries (from 2020)"): (0.0, "6", "2025", "Percentage of individuals"),
    }
    notes = dict(zip(frame.entity_name, frame.note))
    assert notes["Türkiye"] == "flag u: low reliability" and pd.isna(notes["Germany"])
    assert frame["entity_code"].isna().all() and (frame["year"] == 2025).all()


def test_sdmx_real_file(mirror_dir):
    path = mirror_dir / GENAI / SDMX_PATH
    frame = parse_sdmx_csv(path, **sdmx_options())
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(enumerate(csv.DictReader(handle), start=2))
    kept = [(n, r) for n, r in rows if r["ind_type"] == "All individuals" and r["OBS_VALUE"] != ""]
    assert len(frame) == len(kept) > 300
    assert frame["source_code"].str.startswith("eurostat_household_survey:").all()
    germany = [(n, r) for n, r in kept if r["geo"] == "Germany"]
    assert len(germany) == frame["source_code"].nunique()
    parsed = frame[frame.entity_name == "Germany"].set_index("raw_row")
    for line, row in germany:
        assert parsed.loc[str(line), "value"] == float(row["OBS_VALUE"])
        assert parsed.loc[str(line), "unit"] == row["unit"]
        assert parsed.loc[str(line), "source_code"].endswith(f"{row['indic_is']}|{row['unit']}")
    registered = {i["source_code"] for i in registry_entry(GENAI)["indicators"]}
    assert set(frame.source_code) <= registered


def test_sdmx_real_file_harmonise(mirror_dir):
    frame = parse_sdmx_csv(mirror_dir / GENAI / SDMX_PATH, **sdmx_options())
    mapped = harmonise(frame, source_id=GENAI, source_overrides=registry_entry(GENAI).get("entity_overrides"))
    aggregates = set(mapped.loc[mapped.is_aggregate, "entity_name"])
    assert len(aggregates) == 2 and all(a.startswith(("Euro area", "European Union")) for a in aggregates)
    countries = mapped[~mapped.is_aggregate].set_index("entity_name")["iso3"]
    assert countries.notna().all() and countries.is_unique
    assert countries["Türkiye"] == "TUR" and countries["North Macedonia"] == "MKD"
    assert countries["Bosnia and Herzegovina"] == "BIH"


SDMX_HEADER = "DATAFLOW,LAST UPDATE,freq,ind_type,indic_is,unit,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG,CONF_STATUS"
LEAD = "ESTAT:ISOC_AI_IAIU$DEFAULTVIEW(1.0),16/12/25 11:00:00,Annual,All individuals,Use of generative AI tools: x"


@pytest.mark.parametrize(("name", "content", "rule", "row"), [
    ("empty", b"", "non_empty", 1),
    ("renamed", b"DATAFLOW,freq,geo,TIME_PERIOD,OBS_VALUE\r\n", "expected_columns", 1),
    ("truncated", f"{SDMX_HEADER}\r\n{LEAD},Percentage of individuals,Germany,2025,1,,\r\n{LEAD},Perc".encode(),
     "field_count", 3),
    ("non_numeric", f"{SDMX_HEADER}\r\n{LEAD},Percentage of individuals,Germany,2025,12%,,\r\n".encode(),
     "numeric_value", 2),
    ("period", f"{SDMX_HEADER}\r\n{LEAD},Percentage of individuals,Germany,2025M01,1,,\r\n".encode(),
     "period_format", 2),
    ("flag", f"{SDMX_HEADER}\r\n{LEAD},Percentage of individuals,Germany,2025,1,q,\r\n".encode(), "flag_value", 2),
    ("duplicate", f"{SDMX_HEADER}\r\n{LEAD},Percentage of individuals,Germany,2025,1,,\r\n"
                  f"{LEAD},Percentage of individuals,Germany,2025,2,,\r\n".encode(), "unique_entity_period", 3),
    ("filters", f"{SDMX_HEADER}\r\n{LEAD.replace('All individuals', 'Women')},Percentage of individuals,Germany,"
                "2025,1,,\r\n".encode(), "filters", 2),
    ("cp1252", f"{SDMX_HEADER}\r\n{LEAD},Percentage of individuals,Türkiye,2025,1,,\r\n".encode("cp1252"),
     "encoding", 2),
])
def test_sdmx_bad_inputs(tmp_path, name, content, rule, row):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content)
    expect_parse_error(lambda p: parse_sdmx_csv(p, **sdmx_options()), path, rule, row)


def test_registry_checksums_match_mirror(mirror_dir):
    for entry in registry_entry(ENTERPRISE)["files"]:
        data = (mirror_dir / ENTERPRISE / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
        assert len(data) == entry["bytes"], entry["path"]
