"""worldbank_wdi_ict_exports: the shared World Bank API-wide parser on BX.GSR.CCIS.CD (fixture, real, bad inputs)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
import yaml

from pipelines.base.errors import ParseError
from pipelines.staging.countries import harmonise
from pipelines.staging.parsers import PARSER_COLUMNS, PARSERS
from pipelines.staging.parsers.worldbank import parse_api_wide, read_country_metadata

SOURCE_ID = "worldbank_wdi_ict_exports"
REGISTRY = Path(__file__).resolve().parents[1] / "config" / "sources" / f"{SOURCE_ID}.yaml"
DATA_FILE = "API_BX.GSR.CCIS.CD_DS2_en_csv_v2_920.csv"
META_FILE = "Metadata_Country_API_BX.GSR.CCIS.CD_DS2_en_csv_v2_920.csv"


@pytest.fixture(scope="module")
def registry() -> dict:
    return yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def data_entry(registry) -> dict:
    (entry,) = [f for f in registry["files"] if f.get("parser")]
    assert entry["parser"] == "worldbank_api_wide" and entry["path"] == f"raw/{DATA_FILE}"
    return entry


def _aggregate_codes(path: Path) -> set[str]:
    meta = read_country_metadata(path)
    return set(meta.loc[meta["is_aggregate"], "code"])


def test_fixture_values_periods_lineage(fixtures_dir, data_entry):
    frame = parse_api_wide(fixtures_dir / SOURCE_ID / DATA_FILE, **data_entry["parser_options"])
    assert list(frame.columns) == PARSER_COLUMNS
    assert set(frame["source_code"]) == {"BX.GSR.CCIS.CD"}
    assert set(frame["indicator_name"]) == {"ICT service exports (BoP, current US$)"}
    assert set(frame["unit"]) == {"current US$"}
    japan = frame[frame["entity_code"] == "JPN"].set_index("period")
    assert japan["value"].to_dict() == {"1996": 123456789.123, "2022": 22000000.0, "2023": 23000000.0,
                                        "2024": 24000000.75}
    assert set(japan["raw_row"]) == {"8"}  # BOM + 4 preamble lines; header on line 5; JPN is the 3rd record
    assert japan["year"].tolist() == [1996, 2022, 2023, 2024]
    assert "ABW" not in set(frame["entity_code"])  # a row of blanks gives no values (not zeros)
    assert "2021" not in set(japan.index) and "2025" not in set(frame["period"])
    assert len(frame) == 2 + 4 + 1 + 1 + 1


def test_fixture_harmonises_with_metadata_aggregates(fixtures_dir, registry, data_entry):
    frame = parse_api_wide(fixtures_dir / SOURCE_ID / DATA_FILE, **data_entry["parser_options"])
    result = harmonise(frame, source_id=SOURCE_ID, source_overrides=registry["entity_overrides"],
                       publisher_aggregates=_aggregate_codes(fixtures_dir / SOURCE_ID / META_FILE), file=DATA_FILE)
    by_code = {c: (None if isinstance(iso3, float) else iso3, agg)
               for c, iso3, agg in zip(result["entity_code"], result["iso3"], result["is_aggregate"])}
    assert by_code["HIC"] == (None, True) and by_code["WLD"] == (None, True)
    assert by_code["JPN"] == ("JPN", False) and by_code["KOR"] == ("KOR", False) and by_code["XKX"] == ("XKX", False)


def test_real_file_japan_matches_independent_read(mirror_dir, data_entry):
    path = mirror_dir / SOURCE_ID / data_entry["path"]
    frame = parse_api_wide(path, **data_entry["parser_options"])
    assert list(frame.columns) == PARSER_COLUMNS
    assert set(frame["source_code"]) == {"BX.GSR.CCIS.CD"}
    assert frame["value"].notna().all()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header_index = next(i for i, r in enumerate(rows) if r[:2] == ["Country Name", "Country Code"])
    header = rows[header_index]
    (line, japan_row), = [(i + 1, r) for i, r in enumerate(rows) if r[1:2] == ["JPN"]]
    expected = {year: float(v) for year, v in zip(header[4:], japan_row[4:]) if year and v != ""}
    japan = frame[frame["entity_code"] == "JPN"]
    assert dict(zip(japan["period"], japan["value"])) == expected
    assert set(japan["raw_row"]) == {str(line)}
    assert len(frame) == sum(1 for r in rows[header_index + 1:] for v in r[4:] if v != "")


def test_real_file_harmonises(mirror_dir, registry, data_entry):
    folder = mirror_dir / SOURCE_ID
    frame = parse_api_wide(folder / data_entry["path"], **data_entry["parser_options"])
    aggregates = _aggregate_codes(folder / "raw" / META_FILE)
    result = harmonise(frame, source_id=SOURCE_ID, source_overrides=registry["entity_overrides"],
                       publisher_aggregates=aggregates, file=DATA_FILE)
    assert not (result["matched_by"] == "name_match").any()  # every economy has an ISO3 code or an override
    flagged = set(result.loc[result["is_aggregate"], "entity_code"])
    assert aggregates & set(frame["entity_code"]) <= flagged
    assert {"WLD", "EUU", "HIC", "OED"} <= flagged
    countries = result[~result["is_aggregate"]]
    assert countries["iso3"].notna().all() and "JPN" in set(countries["iso3"])


def test_registry_checksums_and_roles(mirror_dir, registry):
    folder = mirror_dir / SOURCE_ID
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.parent != folder}
    assert {f["path"] for f in registry["files"]} == on_disk
    for entry in registry["files"]:
        data = (folder / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"], entry["path"]
    roles = {f["path"]: f["role"] for f in registry["files"]}
    assert roles[f"raw/{META_FILE}"] == "country_metadata"
    assert PARSERS["worldbank_api_wide"] == "worldbank:parse_api_wide"
    assert [i["source_code"] for i in registry["indicators"]] == ["BX.GSR.CCIS.CD"]


# --------------------------------------------------------------------------------------------- bad inputs


def _bad(tmp_path, fixtures_dir, old: bytes, new: bytes) -> Path:
    data = (fixtures_dir / SOURCE_ID / DATA_FILE).read_bytes()
    assert old in data
    path = tmp_path / DATA_FILE
    path.write_bytes(data.replace(old, new, 1))
    return path


def _assert_parse_error(excinfo, path: Path, rule: str, row: int):
    message = str(excinfo.value)
    assert str(path) in message and f"row={row}," in message and f"rule={rule}" in message, message


def test_truncated_row(tmp_path, fixtures_dir):
    data = (fixtures_dir / SOURCE_ID / DATA_FILE).read_bytes()
    path = tmp_path / DATA_FILE
    path.write_bytes(data[: data.index(b'"Kosovo"') + 80])
    with pytest.raises(ParseError) as excinfo:
        parse_api_wide(path, unit="current US$")
    _assert_parse_error(excinfo, path, "field_count", row=10)


def test_wrong_header(tmp_path, fixtures_dir):
    path = _bad(tmp_path, fixtures_dir, b'"Indicator Code"', b'"Series Code"')
    with pytest.raises(ParseError) as excinfo:
        parse_api_wide(path, unit="current US$")
    _assert_parse_error(excinfo, path, "expected_columns", row=5)


def test_non_numeric(tmp_path, fixtures_dir):
    path = _bad(tmp_path, fixtures_dir, b'"24000000.75"', b'"n/a"')
    with pytest.raises(ParseError) as excinfo:
        parse_api_wide(path, unit="current US$")
    _assert_parse_error(excinfo, path, "numeric_value", row=8)


def test_wrong_encoding(tmp_path, fixtures_dir):
    text = (fixtures_dir / SOURCE_ID / DATA_FILE).read_bytes().decode("utf-8-sig").replace("Japan", "Japón")
    path = tmp_path / DATA_FILE
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(ParseError) as excinfo:
        parse_api_wide(path, unit="current US$")
    _assert_parse_error(excinfo, path, "encoding", row=8)


@pytest.mark.parametrize("content, rule", [(b"", "non_empty"),
                                           (b"<!DOCTYPE html><html><body>Error</body></html>", "expected_columns")])
def test_empty_or_html(tmp_path, content, rule):
    path = tmp_path / DATA_FILE
    path.write_bytes(content)
    with pytest.raises(ParseError) as excinfo:
        parse_api_wide(path, unit="current US$")
    _assert_parse_error(excinfo, path, rule, row=1)
