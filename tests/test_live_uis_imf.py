"""Live mode for UNESCO UIS (stem_graduates) against a loopback "publisher" serving UIS Data API JSON built from
the mirror's pinned export files (each CSV row back into the API's record): fetched through the live path and the
uis_json_to_export adapter, identical data gives the registered bytes and the same staged rows; a revised value is
a new vintage that changes that one staged row; a malformed response stops with source, file, row and rule.

The IMF AIPI (imf_aipi) stays `live: none`: the DataMapper API has no source for the workbook's country group and
economy names (the registry's live.reason), so there is nothing to fetch live; the registry test in
tests/test_live.py checks that a `none` source has a reason and no live URL.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from pipelines.base.errors import FetchError
from pipelines.sources import vintages
from pipelines.sources.adapter_uis import uis_records_to_export
from pipelines.sources.fetch import FetchedFile, fetch_source, sha256_of
from pipelines.sources.registry import load_registry
from pipelines.staging.stage import stage_source
from tests.test_fetch import ok, serving
from tests.test_live import FAST, _pointed_at

UIS = "stem_graduates"
ICT_F, ICT_M = "raw/data_ICT_f.csv", "raw/data_ICT_m.csv"


@pytest.fixture(autouse=True)
def _not_pinned(monkeypatch):
    monkeypatch.delenv(vintages.PINNED_ENV, raising=False)


@pytest.fixture(scope="module")
def source():
    return load_registry()[UIS]


def _number(text: str):
    """The JSON number a UIS record carries for an export cell (the export writes integers without a point)."""
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def _records(export: bytes) -> list[dict]:
    """The pinned export's rows as UIS Data API records (the reverse of the adapter)."""
    return [{"indicatorId": row["indicatorId"], "geoUnit": row["geoUnit"], "year": int(row["year"]),
             "value": _number(row["value"]), "magnitude": row["magnitude"] or None,
             "qualifier": row["qualifier"] or None}
            for row in csv.DictReader(export.decode("utf-8").splitlines())]


def _api_body(records: list[dict]) -> bytes:
    # newest first: the adapter must not depend on the API's record order
    return json.dumps({"hints": [], "records": records[::-1], "indicatorMetadata": []}).encode("utf-8")


def _api_bodies(source, pinned) -> dict[str, bytes]:
    """What the UIS API would send for each pinned file, from that file's rows."""
    return {raw.path: _api_body(_records((pinned / raw.path).read_bytes())) for raw in source.files}


def _staged(source, folder):
    fetched = [FetchedFile(source.source_id, raw.path, folder / raw.path, sha256_of(folder / raw.path),
                           (folder / raw.path).stat().st_size, "test") for raw in source.files]
    return stage_source(source, fetched)


def _serve(server, source, bodies: dict[str, bytes]):
    """Every live URL of `source` on the loopback publisher, answering with bodies[path] as it is at request time."""
    return _pointed_at(source, server, "api/public/data/indicators",
                       lambda raw: lambda handler: ok(bodies[raw.path])(handler))


def test_every_uis_live_url_asks_the_api_for_its_files_indicator_countries_only(source):
    assert source.live_status == "live" and len(source.files) == 6
    for raw in source.files:
        url = urlsplit(raw.live_url)
        assert (url.scheme, url.netloc, url.path) == ("https", "api.uis.unesco.org", "/api/public/data/indicators")
        code = raw.parser_options["indicator_id"]
        assert parse_qs(url.query) == {"indicator": [code], "geoUnitType": ["NATIONAL"]}
        assert raw.live_adapter == "uis_json_to_export" and raw.live_options == {"indicator": code}


def test_uis_api_records_give_the_registered_files_and_the_same_staged_rows(source, mirror_dir, tmp_path):
    pinned = mirror_dir / UIS
    bodies = _api_bodies(source, pinned)
    with serving() as server:
        fetched = fetch_source(_serve(server, source, bodies), tmp_path, None, policy=FAST)
        assert sum(server.hits.values()) == len(source.files)
    assert [f.sha256 for f in fetched] == [raw.sha256 for raw in source.files]  # same data: same bytes
    assert vintages.snapshots(tmp_path, UIS) == []
    live, baseline = _staged(source, tmp_path / UIS), _staged(source, pinned)
    assert len(baseline) > 9000
    pd.testing.assert_frame_equal(live, baseline)


def test_null_values_and_absent_codes_parse_to_the_same_staged_rows(source, mirror_dir, tmp_path):
    """An API that sends null for a not-applicable value and leaves out empty codes: other bytes, same rows."""
    raw = next(r for r in source.files if r.path == ICT_F)
    records = _records((mirror_dir / UIS / ICT_F).read_bytes())
    for record in records:
        if record["magnitude"] == "NA":
            record["value"] = None
        for key in ("magnitude", "qualifier"):
            if record[key] is None:
                del record[key]
    adapted = uis_records_to_export(_api_body(records), indicator=raw.parser_options["indicator_id"],
                                    source_id=UIS, file=ICT_F)
    assert adapted != (mirror_dir / UIS / ICT_F).read_bytes()
    (tmp_path / "raw").mkdir()
    (tmp_path / ICT_F).write_bytes(adapted)
    one = dataclasses.replace(source, files=(raw,))
    live, baseline = _staged(one, tmp_path), _staged(one, mirror_dir / UIS)
    pd.testing.assert_frame_equal(live.drop(columns="raw_sha256"), baseline.drop(columns="raw_sha256"))


def test_a_revised_uis_value_is_a_new_vintage_of_that_file_only(source, mirror_dir, tmp_path):
    pinned = mirror_dir / UIS
    bodies = _api_bodies(source, pinned)
    female = _records((pinned / ICT_F).read_bytes())
    male = {(r["geoUnit"], r["year"]): r["value"] for r in _records((pinned / ICT_M).read_bytes())}
    target = next(r for r in female if r["geoUnit"] == "KOR" and r["year"] == 2022)
    revised = male[("KOR", 2022)]  # a value from the mirror (KOR's male ICT share), standing in for a revision
    assert revised != target["value"]
    target["value"] = revised
    with serving() as server:
        live = _serve(server, source, bodies)
        fetch_source(live, tmp_path, None, policy=FAST)  # first live fetch: the registered bytes
        bodies[ICT_F] = _api_body(female)
        fetch_source(live, tmp_path, None, policy=FAST)
    [snap] = vintages.snapshots(tmp_path, UIS)
    [meta] = snap.files
    assert meta["path"] == ICT_F and "uis_json_to_export" in meta["origin"] and "127.0.0.1" in meta["origin"]
    assert meta["sha256"] == sha256_of(tmp_path / UIS / ICT_F) != next(r.sha256 for r in source.files
                                                                       if r.path == ICT_F)
    key = ["raw_file", "iso3", "source_code", "period"]
    now = _staged(source, tmp_path / UIS).set_index(key)
    before = _staged(source, pinned).set_index(key)
    assert now.index.equals(before.index)
    changed = now[now["value"] != before["value"]]
    assert list(changed.index) == [(f"{UIS}/{ICT_F}", "KOR", "FOSGP.5T8.F600.F", "2022")]
    assert changed["value"].iloc[0] == float(revised)


@pytest.mark.parametrize(("body", "row", "rule"), [
    (b"<error>upstream</error>", 1, "live_json"),
    (b'{"message": "Too much data requested"}', "records", "live_format"),
    (b'{"hints": [{"code": "UIS::HINT::001", "message": "The indicator could not be found"}], "records": []}',
     "records", "live_non_empty"),
])
def test_a_uis_response_without_records_is_refused(body, row, rule):
    with pytest.raises(FetchError) as caught:
        uis_records_to_export(body, indicator="FOSGP.5T8.F600.F", source_id=UIS, file=ICT_F)
    assert (caught.value.source_id, caught.value.file, caught.value.row, caught.value.rule) == (UIS, ICT_F, row, rule)
    if rule == "live_non_empty":
        assert "The indicator could not be found" in str(caught.value)


@pytest.mark.parametrize(("field", "bad", "rule"), [
    ("year", "2022", "year_format"),  # a string, not the API's number
    ("year", 22, "year_format"),
    ("value", "7.7", "numeric_value"),
    ("indicatorId", "FOSGP.5T8.F600.M", "indicator_id"),
    ("geoUnit", 410, "entity_code"),
    ("magnitude", 0, "magnitude_code"),
])
def test_a_malformed_uis_record_is_named_by_its_index_and_rule(mirror_dir, field, bad, rule):
    records = _records((mirror_dir / UIS / ICT_F).read_bytes())[:5]
    records[3][field] = bad
    body = json.dumps({"hints": [], "records": records}).encode("utf-8")
    with pytest.raises(FetchError) as caught:
        uis_records_to_export(body, indicator="FOSGP.5T8.F600.F", source_id=UIS, file=ICT_F)
    assert (caught.value.row, caught.value.rule) == ("records[3]", rule)
    assert str(caught.value).startswith(f"[source={UIS}, file={ICT_F}, row=records[3], rule={rule}]")


def test_a_malformed_live_response_installs_nothing(source, mirror_dir, tmp_path):
    pinned = mirror_dir / UIS
    bodies = _api_bodies(source, pinned)
    broken = _records((pinned / ICT_F).read_bytes())
    del broken[7]["year"]
    bodies[ICT_F] = json.dumps({"records": broken}).encode("utf-8")
    with serving() as server:
        with pytest.raises(FetchError, match=re.escape(f"[source={UIS}, file={ICT_F}, row=records[7], "
                                                       "rule=live_format] record lacks ['year']")):
            fetch_source(_serve(server, source, bodies), tmp_path, None, policy=FAST)
    assert not (tmp_path / UIS / ICT_F).exists() and vintages.snapshots(tmp_path, UIS) == []
    assert not [p for p in (tmp_path / UIS / "raw").iterdir() if p.name.startswith(".")]  # no temp file left


def test_the_uis_apis_hints_beside_records_are_logged_not_fatal(mirror_dir, caplog):
    pinned = (mirror_dir / UIS / ICT_F).read_bytes()
    body = json.dumps({"hints": [{"code": "UIS::HINT::002", "message": "geoUnitType is ignored"}],
                       "records": _records(pinned)}).encode("utf-8")
    with caplog.at_level("WARNING", logger="pipelines.sources.adapter_uis"):
        adapted = uis_records_to_export(body, indicator="FOSGP.5T8.F600.F", source_id=UIS, file=ICT_F)
    assert adapted == pinned
    assert [r.getMessage() for r in caplog.records] == [
        f"{UIS}/{ICT_F}: the UIS API's hints for FOSGP.5T8.F600.F: geoUnitType is ignored"]
