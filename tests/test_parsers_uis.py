"""UNESCO UIS Data API export parser (stem_graduates: six files, one indicator and one sex each)."""

from __future__ import annotations

import csv
import hashlib

import pandas as pd
import pytest
import yaml

from pipelines.base.errors import ParseError
from pipelines.base.settings import CONFIG_DIR
from pipelines.staging.countries import harmonise
from pipelines.staging.parsers import PARSER_COLUMNS
from pipelines.staging.parsers.uis import parse_uis_indicator_export

SOURCE_ID = "stem_graduates"
HEADER = "indicatorId,geoUnit,year,value,qualifier,magnitude"


def registry_entry() -> dict:
    return yaml.safe_load((CONFIG_DIR / "sources" / f"{SOURCE_ID}.yaml").read_text(encoding="utf-8"))


def data_files() -> list[dict]:
    return [f for f in registry_entry()["files"] if f.get("parser")]


def options_for(indicator_id: str) -> dict:
    (entry,) = [f for f in data_files() if f["parser_options"]["indicator_id"] == indicator_id]
    assert entry["parser"] == "uis_indicator_export"
    return entry["parser_options"]


def test_fixture(fixtures_dir):
    frame = parse_uis_indicator_export(fixtures_dir / SOURCE_ID / "uis_export.csv", **options_for("FOSGP.5T8.F600.F"))
    assert list(frame.columns) == PARSER_COLUMNS
    got = {(r.entity_code, r.period): (r.value, r.raw_row, r.note) for r in frame.itertuples()}
    assert set(got) == {("ABW", "2016"), ("KOR", "2020"), ("KOR", "2021"), ("SGP", "2022")}  # NA (ABW 2015) dropped
    assert got["ABW", "2016"][:2] == (0.0, "3") and "true zero" in got["ABW", "2016"][2]
    assert got["KOR", "2020"][:2] == (5.123456789, "4") and pd.isna(got["KOR", "2020"][2])
    assert got["KOR", "2021"][:2] == (6.5, "5") and "national estimate" in got["KOR", "2021"][2]
    assert got["SGP", "2022"][:2] == (0.0, "6") and "UIS estimate" in got["SGP", "2022"][2]
    assert "true zero" in got["SGP", "2022"][2]
    assert set(frame.source_code) == {"FOSGP.5T8.F600.F"}
    assert set(frame.unit) == {"% of female tertiary graduates"}
    assert frame["entity_name"].isna().all() and (frame["year"] == frame["period"].astype(int)).all()


@pytest.mark.parametrize("entry", data_files(), ids=lambda e: e["path"])
def test_real_file(mirror_dir, entry):
    path = mirror_dir / SOURCE_ID / entry["path"]
    frame = parse_uis_indicator_export(path, **entry["parser_options"])
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(enumerate(csv.DictReader(handle), start=2))
    applicable = [(n, r) for n, r in rows if r["magnitude"] != "NA"]
    assert len(frame) == len(applicable) > 1000
    assert not any(r["geoUnit"] == "JPN" for _, r in rows)  # documented: Japan absent from UIS field-of-study data
    korea = [(n, r) for n, r in applicable if r["geoUnit"] == "KOR"]
    assert korea, "Korea is the comparator checked here"
    parsed = frame[frame.entity_code == "KOR"].set_index("period")
    for line, row in korea:
        assert parsed.loc[row["year"], "value"] == float(row["value"])
        assert parsed.loc[row["year"], "raw_row"] == str(line)
    dropped = {(r["geoUnit"], r["year"]) for _, r in rows if r["magnitude"] == "NA"}
    assert dropped and not dropped & set(zip(frame.entity_code, frame.period))
    assert set(frame.source_code) == {entry["parser_options"]["indicator_id"]}


def test_real_files_harmonise(mirror_dir):
    for entry in data_files():
        frame = parse_uis_indicator_export(mirror_dir / SOURCE_ID / entry["path"], **entry["parser_options"])
        mapped = harmonise(frame, source_id=SOURCE_ID, source_overrides=registry_entry().get("entity_overrides"),
                           file=entry["path"])
        assert not mapped["is_aggregate"].any()  # UIS files hold ISO3 codes only, no regional aggregates
        assert (mapped["iso3"] == mapped["entity_code"]).all()


def test_registry_checksums_match_mirror(mirror_dir):
    entries = registry_entry()["files"]
    assert sorted(e["path"] for e in entries) == sorted(
        f"raw/{p.name}" for p in (mirror_dir / SOURCE_ID / "raw").iterdir())
    for entry in entries:
        data = (mirror_dir / SOURCE_ID / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
        assert len(data) == entry["bytes"], entry["path"]


@pytest.mark.parametrize(("name", "content", "rule", "row"), [
    ("empty", b"", "non_empty", 1),
    ("json", b'{"error": "rate limited"}', "not_csv", 1),
    ("renamed", b"indicator,geoUnit,year,value,qualifier,magnitude\nFOSGP.5T8.F600.F,KOR,2020,1,,",
     "expected_columns", 1),
    ("truncated", f"{HEADER}\nFOSGP.5T8.F600.F,KOR,2020,1,,\nFOSGP.5T8.F600.F,KOR,20".encode(), "field_count", 3),
    ("non_numeric", f"{HEADER}\nFOSGP.5T8.F600.F,KOR,2020,n/a,,".encode(), "numeric_value", 2),
    ("other_indicator", f"{HEADER}\nFOSGP.5T8.F700.F,KOR,2020,1,,".encode(), "indicator_id", 2),
    ("magnitude", f"{HEADER}\nFOSGP.5T8.F600.F,KOR,2020,1,,XYZ".encode(), "magnitude_code", 2),
    ("duplicate", f"{HEADER}\nFOSGP.5T8.F600.F,KOR,2020,1,,\nFOSGP.5T8.F600.F,KOR,2020,2,,".encode(),
     "unique_entity_period", 3),
    ("latin1", f"{HEADER}\nFOSGP.5T8.F600.F,KOR,2020,1,é,".encode("latin-1"), "encoding", 2),
])
def test_bad_inputs(tmp_path, name, content, rule, row):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content)
    with pytest.raises(ParseError) as info:
        parse_uis_indicator_export(path, **options_for("FOSGP.5T8.F600.F"))
    message = str(info.value)
    assert f"file={path}" in message and f"row={row}" in message and f"rule={rule}" in message, message
