"""Epoch AI parsers (AI supercomputers, notable models): fixtures with made-up values, real mirror files, bad inputs."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from pipelines.base.errors import ParseError
from pipelines.staging.countries import harmonise
from pipelines.staging.parsers import PARSER_COLUMNS, PARSERS
from pipelines.staging.parsers.epoch import parse_epoch_notable_models, parse_epoch_supercomputers

CONFIG = Path(__file__).resolve().parents[1] / "config" / "sources"
SC_ID, NM_ID = "epoch_ai_supercomputers", "epoch_notable_models"
SC_FILE, NM_FILE = "AI Supercomputers (public dataset).csv", "notable_ai_models.csv"
WANTED_PARSERS = {
    "epoch_supercomputers": parse_epoch_supercomputers,
    "epoch_notable_models": parse_epoch_notable_models,
}


def _registry(source_id: str) -> dict:
    return yaml.safe_load((CONFIG / f"{source_id}.yaml").read_text(encoding="utf-8"))


def _options(source_id: str) -> dict:
    (entry,) = [f for f in _registry(source_id)["files"] if f.get("parser")]
    return entry["parser_options"]


def _cells(frame, code):
    rows = frame[frame["source_code"] == code]
    return {(n, y): (v, r, note) for n, y, v, r, note in
            zip(rows["entity_name"], rows["year"], rows["value"], rows["raw_row"], rows["note"])}


def _assert_parse_error(excinfo, path: Path, rule: str, row: int | None = None):
    message = str(excinfo.value)
    assert str(path) in message and "row=" in message and f"rule={rule}" in message, message
    if row is not None:
        assert f"row={row}," in message, message


# --------------------------------------------------------------------------------------------- supercomputers


def test_supercomputers_fixture(fixtures_dir):
    frame = parse_epoch_supercomputers(fixtures_dir / SC_ID / SC_FILE, **_options(SC_ID))
    assert list(frame.columns) == PARSER_COLUMNS
    assert (frame["period"] == frame["year"].astype(str)).all()
    systems = _cells(frame, "systems")
    # Planned (2), duplicate (7), decommissioned (8), Unlikely (9), blank country (11), blank date (12) are left out
    assert {k: (v, r) for k, (v, r, _) in systems.items()} == {
        ("Japan", 2024): (2.0, "3,5"), ("Japan", 2021): (1.0, "6"), ("United States of America", 2024): (1.0, "10")}
    h100 = _cells(frame, "H100 equivalents")
    assert h100[("Japan", 2024)][:2] == (1500.0, "3,5")
    assert h100[("United States of America", 2024)][0] == 25000.0
    power = _cells(frame, "Power Capacity (MW)")
    assert power[("Japan", 2024)][:2] == (1.25, "3")  # the blank power of line 5 is not a zero
    assert power[("Japan", 2024)][2] == "sum over 1 of 2 systems; 1 lack 'Power Capacity (MW)'"
    assert power[("Japan", 2021)][0] == pytest.approx(0.40)
    assert len(frame) == 9
    assert set(frame["unit"]) == {"systems", "H100-equivalents", "MW"}


def test_supercomputers_filter_options_change_the_selection(fixtures_dir):
    frame = parse_epoch_supercomputers(fixtures_dir / SC_ID / SC_FILE, statuses=["Existing", "Decommissioned"],
                                       certainties=["Confirmed", "Likely", "Unlikely"], standard_analysis_only=False)
    systems = _cells(frame, "systems")
    assert systems[("Japan", 2024)][:2] == (3.0, "3,5,7")
    assert systems[("Japan", 2018)][:2] == (1.0, "8")
    assert systems[("United States of America", 2024)][:2] == (2.0, "9,10")


def test_supercomputers_real_file(mirror_dir):
    path = mirror_dir / SC_ID / "raw" / SC_FILE
    options = _options(SC_ID)
    frame = parse_epoch_supercomputers(path, **options)
    assert list(frame.columns) == PARSER_COLUMNS
    assert set(frame["source_code"]) == {"systems", "H100 equivalents", "Power Capacity (MW)"}
    assert (frame["value"] > 0).all() and frame["year"].between(2000, 2030).all()
    # independent read: csv module, physical line of each record start, same documented filter
    expected = defaultdict(lambda: [0, 0.0, []])
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames  # reads the header line
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if (record["Country"] == "Japan" and record["Status"] in options["statuses"]
                    and record["Certainty"] in options["certainties"]
                    and record["Include in Standard Analysis"] == "1 checked out of 1"
                    and record["First Operational Date"]):
                cell = expected[int(record["First Operational Date"][:4])]
                cell[0] += 1
                cell[1] += float(record["H100 equivalents"]) if record["H100 equivalents"] else 0.0
                cell[2].append(str(line))
    assert expected, "Japan has qualifying systems in this vintage"
    systems = _cells(frame, "systems")
    h100 = _cells(frame, "H100 equivalents")
    for year, (count, h100_sum, lines) in expected.items():
        assert systems[("Japan", year)][:2] == (count, ",".join(lines))
        assert h100[("Japan", year)][0] == pytest.approx(h100_sum)
    assert {y for (n, y) in systems if n == "Japan"} == set(expected)


def test_supercomputers_real_file_harmonises(mirror_dir):
    frame = parse_epoch_supercomputers(mirror_dir / SC_ID / "raw" / SC_FILE, **_options(SC_ID))
    result = harmonise(frame, source_id=SC_ID, source_overrides=_registry(SC_ID)["entity_overrides"], file=SC_FILE)
    assert not result["is_aggregate"].any()
    by_name = dict(zip(result["entity_name"], result["iso3"]))
    assert by_name["Korea (Republic of)"] == "KOR" and by_name["Philippines (the)"] == "PHL"
    assert by_name["United Kingdom of Great Britain and Northern Ireland"] == "GBR"
    assert by_name["Hong Kong"] == "HKG" and by_name["Taiwan"] == "TWN"


# --------------------------------------------------------------------------------------------- notable models


def test_notable_models_fixture(fixtures_dir):
    frame = parse_epoch_notable_models(fixtures_dir / NM_ID / NM_FILE, **_options(NM_ID))
    assert list(frame.columns) == PARSER_COLUMNS
    notable = {k: (v, r) for k, (v, r, _) in _cells(frame, "notable_models").items()}
    assert notable == {
        ("Japan", 2023): (2.0, "2,3"),                       # line 3 is a US-Japan collaboration (lines 3-4)
        ("Japan", 2018): (1.0, "5"),                         # "Japan,Japan" counts once
        ("United States of America", 2023): (2.0, "3,10"),
        ("United States of America", 2022): (1.0, "7"),      # "...,Multinational": only the USA is attributed
    }
    frontier = {k: (v, r) for k, (v, r, _) in _cells(frame, "frontier_models").items()}
    assert frontier == {("Japan", 2023): (1.0, "3"), ("United States of America", 2023): (2.0, "3,10"),
                        ("United States of America", 2022): (1.0, "7")}
    assert "Multinational" not in set(frame["entity_name"])
    assert set(frame["period"]) == {"2018", "2022", "2023"}


def test_notable_models_real_file(mirror_dir):
    path = mirror_dir / NM_ID / "raw" / NM_FILE
    frame = parse_epoch_notable_models(path, **_options(NM_ID))
    assert list(frame.columns) == PARSER_COLUMNS
    assert set(frame["source_code"]) == {"notable_models", "frontier_models"}
    assert not ({"Multinational", ""} & set(frame["entity_name"]))
    # independent read with the csv module; records start lines tracked from reader.line_num
    expected = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames  # reads the header line
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            countries = [c.strip() for c in record["Country (of organization)"].split(",")]
            if "Japan" in countries and record["Publication date"]:
                expected[int(record["Publication date"][:4])].append(str(line))
    notable = _cells(frame, "notable_models")
    assert {y for (n, y) in notable if n == "Japan"} == set(expected)
    for year, lines in expected.items():
        assert notable[("Japan", year)][:2] == (len(lines), ",".join(lines))


def test_notable_models_real_file_harmonises(mirror_dir):
    frame = parse_epoch_notable_models(mirror_dir / NM_ID / "raw" / NM_FILE, **_options(NM_ID))
    result = harmonise(frame, source_id=NM_ID, source_overrides=_registry(NM_ID)["entity_overrides"], file=NM_FILE)
    assert not result["is_aggregate"].any()
    by_name = dict(zip(result["entity_name"], result["iso3"]))
    assert by_name["Iran (Islamic Republic of)"] == "IRN" and by_name["Korea (Republic of)"] == "KOR"
    assert by_name["Hong Kong"] == "HKG" and by_name["China"] == "CHN"


# --------------------------------------------------------------------------------------------- registry


@pytest.mark.parametrize("source_id", [SC_ID, NM_ID])
def test_registry_checksums_match_mirror(mirror_dir, source_id):
    registry = _registry(source_id)
    folder = mirror_dir / source_id
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.parent != folder}
    assert {f["path"] for f in registry["files"]} == on_disk
    for entry in registry["files"]:
        data = (folder / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"], entry["path"]
        if entry.get("parser"):
            assert entry["parser"] in WANTED_PARSERS
            if entry["parser"] in PARSERS:
                assert PARSERS[entry["parser"]] == f"epoch:{WANTED_PARSERS[entry['parser']].__name__}"


# --------------------------------------------------------------------------------------------- bad inputs

BAD_CASES = [SC_ID, NM_ID]


def _parse(source_id, path):
    parser = parse_epoch_supercomputers if source_id == SC_ID else parse_epoch_notable_models
    return parser(path, **_options(source_id))


def _fixture_bytes(fixtures_dir, source_id) -> bytes:
    return (fixtures_dir / source_id / (SC_FILE if source_id == SC_ID else NM_FILE)).read_bytes()


@pytest.mark.parametrize("source_id", BAD_CASES)
def test_truncated_inside_quoted_cell(tmp_path, fixtures_dir, source_id):
    data = _fixture_bytes(fixtures_dir, source_id)
    bad = tmp_path / "truncated.csv"
    cut = data.index(b"Two phases" if source_id == SC_ID else b"line one") + 5
    bad.write_bytes(data[:cut])  # the download stopped inside a quoted multi-line cell
    with pytest.raises(ParseError) as excinfo:
        _parse(source_id, bad)
    _assert_parse_error(excinfo, bad, "truncated", row=3)


@pytest.mark.parametrize("source_id", BAD_CASES)
def test_truncated_mid_record(tmp_path, fixtures_dir, source_id):
    data = _fixture_bytes(fixtures_dir, source_id).rstrip(b"\n")
    bad = tmp_path / "truncated.csv"
    bad.write_bytes(data[: data.rindex(b"\n") + 40])  # the last record lost most of its fields
    last_line = data.count(b"\n") + 1
    with pytest.raises(ParseError) as excinfo:
        _parse(source_id, bad)
    _assert_parse_error(excinfo, bad, "field_count", row=last_line)


@pytest.mark.parametrize("source_id", BAD_CASES)
def test_wrong_header(tmp_path, fixtures_dir, source_id):
    data = _fixture_bytes(fixtures_dir, source_id)
    old = b"Country," if source_id == SC_ID else b"Publication date,"
    bad = tmp_path / "renamed.csv"
    bad.write_bytes(data.replace(old, b"Renamed column,", 1))
    with pytest.raises(ParseError) as excinfo:
        _parse(source_id, bad)
    _assert_parse_error(excinfo, bad, "expected_columns", row=1)


@pytest.mark.parametrize("source_id, old, new, rule, row", [
    (SC_ID, b",300,", b",about 300,", "numeric_value", 5),
    (SC_ID, b",Existing,Likely,", b",Operational,Likely,", "known_category", 5),
    (SC_ID, b"2021-06-01", b"June 2021", "date_format", 6),
    (NM_ID, b"2018-08-30", b"30/08/2018", "date_format", 5),
    (NM_ID, b",True,", b",Yes,", "known_category", 3),
])
def test_bad_values(tmp_path, fixtures_dir, source_id, old, new, rule, row):
    data = _fixture_bytes(fixtures_dir, source_id)
    assert old in data
    bad = tmp_path / "bad.csv"
    bad.write_bytes(data.replace(old, new, 1))
    with pytest.raises(ParseError) as excinfo:
        _parse(source_id, bad)
    _assert_parse_error(excinfo, bad, rule, row=row)


@pytest.mark.parametrize("source_id", BAD_CASES)
def test_wrong_encoding(tmp_path, fixtures_dir, source_id):
    text = _fixture_bytes(fixtures_dir, source_id).decode("utf-8-sig").replace("Test", "Tëst")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(text.encode("latin-1"))
    with pytest.raises(ParseError) as excinfo:
        _parse(source_id, bad)
    _assert_parse_error(excinfo, bad, "encoding", row=2)


@pytest.mark.parametrize("source_id", BAD_CASES)
@pytest.mark.parametrize("content, rule", [(b"", "non_empty"), (b"\n\n", "non_empty"),
                                           (b"<!DOCTYPE html>\n<html><body>Not found</body></html>", "not_html")])
def test_empty_or_html(tmp_path, source_id, content, rule):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    with pytest.raises(ParseError) as excinfo:
        _parse(source_id, bad)
    _assert_parse_error(excinfo, bad, rule, row=1)


def test_unknown_filter_option(fixtures_dir):
    with pytest.raises(ParseError, match="rule=parser_options"):
        parse_epoch_supercomputers(fixtures_dir / SC_ID / SC_FILE, statuses=["Operational"], certainties=["Likely"])
