"""Staging straight into DuckDB (stage_source_into) gives exactly stage_source()'s table: the same rows, values,
types and lineage, whether a file is read by DuckDB's native reader or falls back to its parser, and the same
errors for bad files."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil

import duckdb
import pandas as pd
import pytest

from pipelines.base.errors import ParseError, UnmappedCountries
from pipelines.sources.fetch import FetchedFile
from pipelines.sources.registry import RawFile, load_registry
from pipelines.staging import stage as staging
from pipelines.staging.parsers import worldbank

METADATA = "raw/worldbank_api_csv/IT.NET.USER.ZS/Metadata_Country_API_IT.NET.USER.ZS_DS2_en_csv_v2_1228.csv"
DATAHUB = "Country Name,Country Code,Year,Value\n"
API_HEAD = '\ufeff"Data Source","World Development Indicators",\n\n"Last Updated Date","2026-01-01",\n\n'
API_HEADER = '"Country Name","Country Code","Indicator Name","Indicator Code","2019","2020","2021",\n'


@pytest.fixture()
def connection(tmp_path):
    connection = duckdb.connect(str(tmp_path / "build.duckdb"))
    yield connection
    connection.close()


def _frame(connection, sql: str) -> pd.DataFrame:
    return connection.execute(sql).df()


def _assert_same(connection, source, fetched):
    """stage_source_into's table equals stage_source's frame written the way staging always wrote it."""
    rows = staging.stage_source_into(connection, source, fetched, "stg_native")
    connection.register("legacy", staging.stage_source(source, fetched))
    connection.execute("CREATE OR REPLACE TABLE stg_legacy AS SELECT * FROM legacy")
    connection.unregister("legacy")
    types = "SELECT column_name, column_type FROM (DESCRIBE {})"
    assert _frame(connection, types.format("stg_native")).equals(_frame(connection, types.format("stg_legacy")))
    native, legacy = _frame(connection, "SELECT * FROM stg_native"), _frame(connection, "SELECT * FROM stg_legacy")
    assert rows == len(legacy)
    pd.testing.assert_frame_equal(native, legacy)
    return native


@pytest.mark.parametrize("source_id", ["worldbank_wdi", "worldbank_wdi_ict_exports", "oecd_pisa"])
def test_real_sources_stage_identically(connection, mirror_dir, tmp_path, source_id):
    from pipelines.sources.fetch import fetch_source

    source = load_registry()[source_id]
    fetched = fetch_source(source, tmp_path / "raw", mirror_dir)
    native = _assert_same(connection, source, fetched)
    assert len(native) > 0


def test_a_source_staged_over_several_statements_keeps_its_rows_and_order(connection, mirror_dir, tmp_path,
                                                                          monkeypatch):
    from pipelines.sources.fetch import fetch_source

    monkeypatch.setattr(staging, "NATIVE_BATCH_FILES", 4)  # WDI's 19 files: five INSERTs instead of one
    source = load_registry()["worldbank_wdi"]
    assert len(staging._batches(source.data_files)) == 5
    _assert_same(connection, source, fetch_source(source, tmp_path / "raw", mirror_dir))


@pytest.mark.parametrize("count", [0, 1, 49, 50, 51, 150, 151, 1254])
def test_file_batches_are_few_nearly_equal_and_in_order(count):
    items = list(range(count))
    batches = staging._batches(items)
    assert [i for batch in batches for i in batch] == items
    assert len(batches) == -(-count // staging.NATIVE_BATCH_FILES)
    sizes = {len(batch) for batch in batches}
    assert max(sizes, default=0) <= staging.NATIVE_BATCH_FILES and max(sizes, default=0) - min(sizes, default=0) <= 1

def test_real_wdi_files_use_the_native_reader(mirror_dir):
    source = load_registry()["worldbank_wdi"]
    for raw in source.data_files:
        read = worldbank.NATIVE_READERS[raw.parser](mirror_dir / "worldbank_wdi" / raw.path, **raw.parser_options)
        assert read is not None, raw.path


def _source(tmp_path, mirror_dir, files: dict[str, tuple[str, str]]):
    """A WDI-like source of hand-made files: {path: (parser, text)} plus the real country metadata."""
    base = load_registry()["worldbank_wdi"]
    folder = tmp_path / "raw"
    raws, fetched = [], []
    (folder / METADATA).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(mirror_dir / "worldbank_wdi" / METADATA, folder / METADATA)
    entries = {METADATA: ("", None)} | files
    for path, (parser, text) in entries.items():
        local = folder / path
        local.parent.mkdir(parents=True, exist_ok=True)
        if text is not None:
            local.write_bytes(text.encode("utf-8"))
        data = local.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        options = {}
        if parser == "worldbank_datahub_long":
            options = {"source_code": "SP.POP.TOTL", "indicator_name": "Population, total", "unit": "people"}
        elif parser == "worldbank_api_wide":
            options = {"unit": "% of population"}
        raws.append(RawFile(path, sha, len(data), None, parser or None, options,
                            "data" if parser else "country_metadata"))
        fetched.append(FetchedFile("worldbank_wdi", path, local, sha, len(data), "test"))
    return dataclasses.replace(base, files=tuple(raws)), fetched


GOOD_DATAHUB = DATAHUB.replace("\n", "\r\n") + (
    'Japan,JPN,2020,125.8\r\n"Korea, Rep.",KOR,2020,\r\nWorld,WLD,2021,7.9e9\r\nJapan,JPN,2021,-0.5\r\n')
GOOD_API = API_HEAD + API_HEADER + '"Japan","JPN","Internet users","IT.NET.USER.ZS","80","","83.5",\n' \
    '"World","WLD","Internet users","IT.NET.USER.ZS","","60",".5",\n"","","","","","","",\n'


@pytest.mark.parametrize("name, files, native", [
    ("plain files, native reader", {"a/data.csv": ("worldbank_datahub_long", GOOD_DATAHUB),
                                    "b/API.csv": ("worldbank_api_wide", GOOD_API)}, True),
    ("a blank line: parser", {"a/data.csv": ("worldbank_datahub_long", GOOD_DATAHUB + "\r\nJapan,JPN,2022,1\r\n")},
     False),
    ("a quoted line break: parser", {"a/data.csv": ("worldbank_datahub_long",
                                                    DATAHUB + 'Japan,JPN,2020,1\n"Ja\npan",JPN,2021,2\n')}, False),
    ("a value float() reads but DuckDB might not: parser",
     {"a/data.csv": ("worldbank_datahub_long", DATAHUB + "Japan,JPN,2020, 1_000 \n")}, False),
    ("a row without the trailing comma: parser",
     {"b/API.csv": ("worldbank_api_wide", API_HEAD + API_HEADER + '"Japan","JPN","x","IT.NET.USER.ZS","1","2","3"\n')},
     False),
])
def test_hand_made_files_stage_identically(connection, mirror_dir, tmp_path, name, files, native):
    source, fetched = _source(tmp_path, mirror_dir, files)
    staged = _assert_same(connection, source, fetched)
    assert len(staged) > 0
    by_path = {f.path: f for f in fetched}
    reads = staging._native_reads(source, by_path)
    _, rejected = staging._native_summary(connection, reads)
    used_native = bool(reads) and not rejected
    assert used_native == native, name


@pytest.mark.parametrize("text, row, rule", [
    (DATAHUB + "Japan,JPN,2020,1\nJapan,JPN,20x1,2\n", 3, "year_format"),
    (DATAHUB + "Japan,JPN,2020,abc\n", 2, "numeric_value"),
    (DATAHUB + "Japan,JPN,2020,1,extra\n", 2, "field_count"),
])
def test_bad_files_raise_the_parsers_error(connection, mirror_dir, tmp_path, text, row, rule):
    source, fetched = _source(tmp_path, mirror_dir, {"a/data.csv": ("worldbank_datahub_long", text)})
    with pytest.raises(ParseError) as error:
        staging.stage_source_into(connection, source, fetched, "stg_native")
    assert str(error.value.row) == str(row) and error.value.rule == rule and error.value.file == "a/data.csv"


def test_unmapped_entities_name_file_and_rows(connection, mirror_dir, tmp_path):
    text = DATAHUB + "Japan,JPN,2020,1\nAtlantis,ATL,2020,2\n"
    source, fetched = _source(tmp_path, mirror_dir, {"a/data.csv": ("worldbank_datahub_long", text)})
    with pytest.raises(UnmappedCountries) as error:
        staging.stage_source_into(connection, source, fetched, "stg_native")
    assert error.value.file == "a/data.csv" and str(error.value.row) == "3"


def test_name_and_code_of_different_economies_are_refused(connection, mirror_dir, tmp_path):
    from pipelines.base.errors import CountryMismatch

    # World Bank data hub layout: the name says Germany, the code says France (line 3)
    text = DATAHUB + "Japan,JPN,2020,1\nGermany,FRA,2020,2\n"
    source, fetched = _source(tmp_path, mirror_dir, {"a/data.csv": ("worldbank_datahub_long", text)})
    for stage in (staging.stage_source_into, lambda c, s, f, _t: staging.stage_source(s, f)):
        with pytest.raises(CountryMismatch) as error:
            stage(connection, source, fetched, "stg_native")
        message = str(error.value)
        assert error.value.file == "a/data.csv" and str(error.value.row) == "3"
        assert error.value.rule == "country_name_code_agree" and error.value.source_id == source.source_id
        assert "'Germany' is DEU" in message and "'FRA' is FRA" in message


def test_reviewed_name_code_exception_passes_and_agreeing_rows_pass():
    from pipelines.staging.countries import harmonise

    pairs = pd.DataFrame({"entity_name": ["Congo", "Congo", "Japan", None],
                          "entity_code": ["COG", "COD", "JPN", "USA"]})
    out = harmonise(pairs, source_id="imf_aipi")  # COD labelled "Congo" by the IMF: reviewed in config
    assert out["iso3"].tolist() == ["COG", "COD", "JPN", "USA"]
    from pipelines.base.errors import CountryMismatch
    with pytest.raises(CountryMismatch, match="'Congo' is COG but code 'COD' is COD"):
        harmonise(pairs, source_id="some_other_source")
