"""Live mode for UNESCO UIS (stem_graduates) and the IMF AIPI (imf_aipi) against loopback "publishers" serving the
publishers' API formats built from the mirror's pinned files.

UIS: Data API JSON (each export CSV row back into the API's record), fetched through the live path and the
uis_json_to_export adapter: identical data gives the registered bytes and the same staged rows; a revised value is a
new vintage that changes that one staged row; a malformed response stops with source, file, row and rule.

IMF: DataMapper API v1 JSON, one answer per indicator (AI_PI, DI, IEI, HCLMP, RE) plus the country labels, built
from the pinned workbook's staged values: the file's live parts are fetched one by one and the
imf_datamapper_to_aipi adapter writes the AIPI workbook. Values, codes, years and periods are the pinned ones; the
note (the IMF group) is empty because the API does not publish it; names are the labels served; raw_row follows the
ISO3 order. A malformed or failed part installs nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import re
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from pipelines.base.errors import FetchError
from pipelines.sources import vintages
from pipelines.sources.adapter_imf import aipi_rows
from pipelines.sources.adapter_uis import uis_records_to_export
from pipelines.sources.fetch import FetchedFile, HttpPolicy, fetch_source, live_parts, live_target, sha256_of
from pipelines.sources.registry import load_registry
from pipelines.staging.parsers.indices import AIPI_HEADER
from pipelines.staging.stage import stage_source
from tests.test_fetch import ok, serving
from tests.test_live import FAST, _pointed_at
from tests.test_scheduled_live import publishing

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


# --- IMF AIPI: DataMapper API v1, a live file in six parts ----------------------------------------------------

IMF, AIPI = "imf_aipi", "raw/aipidata.xlsx"
DATAMAPPER = "/external/datamapper/api/v1/"
KEY = ["source_code", "entity_code", "period"]


@pytest.fixture(scope="module")
def aipi():
    return load_registry()[IMF]


@pytest.fixture(scope="module")
def aipi_pinned(aipi, mirror_dir):
    """The pinned workbook's staged rows (parsed once for the module)."""
    return _staged(aipi, mirror_dir / IMF)


@pytest.fixture()
def imf_publisher():
    """A DataMapper stand-in answering GET and HEAD with ETags, 304 to a matching If-None-Match."""
    with publishing() as server:
        yield server


def _datamapper(aipi, staged) -> dict[str, dict]:
    """What the DataMapper would answer per part, from staged AIPI rows (the reverse of the adapter): {indicator:
    {"values": {indicator: {ISO3: {year: value}}}}, countries: {"countries": {ISO3: {"label": name}}}}."""
    [raw] = aipi.files
    indicator_of = {column: indicator for indicator, column in raw.live_options["columns"].items()}
    api = {"version": "1", "output-method": "json"}
    answers = {ind: {"values": {ind: {}}, "api": api} for ind in indicator_of.values()}
    for row in staged.itertuples():
        answers[indicator_of[row.source_code]]["values"][indicator_of[row.source_code]].setdefault(
            row.entity_code, {})[row.period] = row.value
    labels = dict(zip(staged["entity_code"], staged["entity_name"]))
    answers["countries"] = {"countries": {code: {"label": label} for code, label in sorted(labels.items())},
                            "api": api}
    return answers


def _serve_datamapper(server, aipi, answers: dict[str, dict], modified: float = 1.7e9):
    """`aipi` with every live part on the loopback publisher, serving answers[part] as JSON (ETag: its sha256;
    Last-Modified: `modified`)."""
    [raw] = aipi.files
    base = f"http://127.0.0.1:{server.server_address[1]}"
    parts = {}
    for name, url in raw.live_parts.items():
        route = urlsplit(url).path
        server.app.serve(route, json.dumps(answers[name]).encode("utf-8"), modified)
        parts[name] = base + route
    live = dataclasses.replace(raw, live_parts=parts, live_url=next(iter(parts.values())))
    return dataclasses.replace(aipi, files=(live,))


def _by_key(frame):
    return frame.sort_values(KEY).reset_index(drop=True)


def test_the_aipi_live_parts_are_the_imfs_datamapper_indicators_and_country_labels(aipi):
    [raw] = aipi.files
    assert aipi.live_status == "live" and raw.live_adapter == "imf_datamapper_to_aipi"
    assert list(raw.live_parts) == ["AI_PI", "DI", "IEI", "HCLMP", "RE", "countries"]
    assert list(raw.live_options["columns"]) == list(raw.live_parts)[:-1]
    assert list(raw.live_options["columns"].values()) == AIPI_HEADER[3:]  # the columns the parser expects
    assert raw.live_options["year"] == raw.parser_options["period"]
    for name, url in raw.live_parts.items():
        assert url == f"https://www.imf.org{DATAMAPPER}{name}"
    assert raw.live_url == raw.live_parts["AI_PI"]
    assert "no group note" in aipi.live_reason


def test_pinned_mode_fetches_the_pinned_aipi_workbook_not_the_parts(aipi, monkeypatch):
    [raw] = aipi.files
    monkeypatch.setenv(vintages.PINNED_ENV, "1")
    assert live_parts(raw) == {} and live_target(raw) == (raw.url, None)


@pytest.mark.parametrize(("change", "message"), [
    ({"url": "https://www.imf.org/x"}, "need a non-empty"),
    ({"adapter": None}, "need a non-empty"),
    ({"parts": {"AI_PI": "http://www.imf.org/external/datamapper/api/v1/AI_PI"}}, "part AI_PI must be https"),
    ({"parts": {"AI-PI": "https://www.imf.org/external/datamapper/api/v1/AI_PI"}}, "must be an identifier"),
])
def test_the_registry_refuses_malformed_live_parts(change, message):
    import yaml

    from pipelines.base.settings import CONFIG_DIR
    from pipelines.sources.registry import _source_from_dict

    origin = CONFIG_DIR / "sources" / f"{IMF}.yaml"
    doc = yaml.safe_load(origin.read_text(encoding="utf-8"))
    doc["live"]["files"][AIPI].update(change)
    with pytest.raises(ValueError, match=re.escape(message)):
        _source_from_dict(doc, origin)


def test_datamapper_answers_give_the_pinned_aipi_values_without_the_group_note(aipi, aipi_pinned, tmp_path,
                                                                               imf_publisher):
    answers = _datamapper(aipi, aipi_pinned)
    live_source = _serve_datamapper(imf_publisher, aipi, answers)
    fetch_source(live_source, tmp_path, None, policy=FAST)
    [snap] = vintages.snapshots(tmp_path, IMF)  # openpyxl's bytes are not Excel's: one new vintage
    [meta] = snap.files
    assert meta["path"] == AIPI and "imf_datamapper_to_aipi" in meta["origin"]
    served = imf_publisher.app.files
    assert [(p["part"], urlsplit(p["url"]).path, p["sha256"], p["etag"]) for p in meta["parts"]] == [
        (name, urlsplit(url).path, hashlib.sha256(served[urlsplit(url).path]).hexdigest(),
         f'"{hashlib.sha256(served[urlsplit(url).path]).hexdigest()[:20]}"')
        for name, url in aipi.files[0].live_parts.items()]

    live, pinned = _by_key(_staged(aipi, tmp_path / IMF)), _by_key(aipi_pinned)
    assert len(pinned) == 852
    same = [c for c in live.columns if c not in ("note", "raw_row", "raw_sha256")]
    # values (exact), codes, years, periods and names (the labels served are the workbook's names here)
    pd.testing.assert_frame_equal(live[same], pinned[same], check_exact=True)
    assert live["note"].isna().all() and set(pinned["note"]) == {"type=AE", "type=EM", "type=LIC"}
    order = sorted(set(live["entity_code"]))  # rows follow the ISO3 order: the first economy is on row 3
    assert set(live.loc[live["entity_code"] == order[0], "raw_row"]) == {"AIPI!3"}

    fetch_source(live_source, tmp_path, None, policy=FAST)  # the same answers again: the same bytes, no vintage
    assert len(vintages.snapshots(tmp_path, IMF)) == 1 and sha256_of(tmp_path / IMF / AIPI) == meta["sha256"]


def test_aggregates_and_missing_values_in_the_answers_are_left_out(aipi, aipi_pinned, tmp_path, imf_publisher):
    answers = _datamapper(aipi, aipi_pinned)
    japan = answers["AI_PI"]["values"]["AI_PI"]["JPN"]
    answers["AI_PI"]["values"]["AI_PI"]["ADVEC"] = dict(japan)  # a group code (not in countries), Japan's value
    answers["DI"]["values"]["DI"]["JPN"]["2023"] = None  # null: no value, like the workbook's NA
    fetch_source(_serve_datamapper(imf_publisher, aipi, answers), tmp_path, None, policy=FAST)
    live = _by_key(_staged(aipi, tmp_path / IMF))
    assert "ADVEC" not in set(live["entity_code"])
    expected = aipi_pinned[~((aipi_pinned["entity_code"] == "JPN") & (aipi_pinned["source_code"] == AIPI_HEADER[4]))]
    assert live[KEY + ["value"]].equals(_by_key(expected)[KEY + ["value"]])


def test_a_revised_aipi_is_a_new_vintage_changing_only_that_economy(aipi, aipi_pinned, tmp_path, imf_publisher):
    answers = _datamapper(aipi, aipi_pinned)
    live_source = _serve_datamapper(imf_publisher, aipi, answers)
    fetch_source(live_source, tmp_path, None, policy=FAST)
    for name in list(answers)[:-1]:  # Japan's five values replaced by Korea's (mirror values; the sum still holds)
        values = answers[name]["values"][name]
        values["JPN"] = dict(values["KOR"])
    live_source = _serve_datamapper(imf_publisher, aipi, answers)
    fetch_source(live_source, tmp_path, None, policy=FAST)
    first, second = vintages.snapshots(tmp_path, IMF)
    changed_parts = [a["part"] for a, b in zip(first.files[0]["parts"], second.files[0]["parts"])
                     if a["sha256"] != b["sha256"]]
    assert changed_parts == ["AI_PI", "DI", "IEI", "HCLMP", "RE"]  # not the country labels
    now = _staged(aipi, tmp_path / IMF).set_index(KEY).sort_index()
    before = aipi_pinned.set_index(KEY).sort_index()
    assert now.index.equals(before.index)
    diff = now[now["value"] != before["value"]]
    assert sorted(diff.index.get_level_values("entity_code")) == ["JPN"] * 5
    korea = before.xs("KOR", level="entity_code")["value"]
    assert diff.xs("JPN", level="entity_code")["value"].equals(korea)


@pytest.mark.parametrize(("part", "spoil", "row", "rule"), [
    ("DI", lambda a: a["values"].update({"IEI": a["values"].pop("DI")}), "DI:values.DI", "live_format"),
    ("DI", lambda a: a["values"]["DI"]["AUS"].update({"2023": str(a["values"]["DI"]["AUS"]["2023"])}),
     "DI:values.DI.AUS.2023", "numeric_value"),
    ("IEI", lambda a: a["values"]["IEI"]["JPN"].update({"2023": float("nan")}), "IEI:values.IEI.JPN.2023",
     "numeric_value"),  # json.dumps writes NaN, which Python's json reads back
    ("RE", lambda a: a.pop("values"), "RE:values", "live_format"),
    ("countries", lambda a: a.pop("countries"), "countries:countries", "live_format"),
])
def test_a_malformed_datamapper_part_is_named_and_installs_nothing(aipi, aipi_pinned, tmp_path, imf_publisher,
                                                                   part, spoil, row, rule):
    answers = _datamapper(aipi, aipi_pinned)
    spoil(answers[part])
    with pytest.raises(FetchError) as caught:
        fetch_source(_serve_datamapper(imf_publisher, aipi, answers), tmp_path, None, policy=FAST)
    error = caught.value
    assert (error.source_id, error.file, error.row, error.rule) == (IMF, AIPI, row, rule)
    assert str(error).startswith(f"[source={IMF}, file={AIPI}, row={row}, rule={rule}]")
    assert not (tmp_path / IMF / AIPI).exists() and vintages.snapshots(tmp_path, IMF) == []
    assert not [p for p in (tmp_path / IMF / "raw").iterdir()]  # no part or adapted temp file left


def test_a_failed_part_keeps_the_working_copy_and_stops_before_the_other_parts(aipi, aipi_pinned, tmp_path,
                                                                               imf_publisher):
    answers = _datamapper(aipi, aipi_pinned)
    live_source = _serve_datamapper(imf_publisher, aipi, answers)
    fetch_source(live_source, tmp_path, None, policy=FAST)
    working = sha256_of(tmp_path / IMF / AIPI)
    answers["AI_PI"]["values"]["AI_PI"]["JPN"] = dict(answers["AI_PI"]["values"]["AI_PI"]["KOR"])
    live_source = _serve_datamapper(imf_publisher, aipi, answers)
    del imf_publisher.app.files[DATAMAPPER + "HCLMP"]  # the publisher answers 404 for one part
    imf_publisher.app.requests.clear()
    with pytest.raises(FetchError) as caught:
        fetch_source(live_source, tmp_path, None, policy=FAST)
    assert (caught.value.source_id, caught.value.file, caught.value.rule) == (IMF, AIPI, "http_status")
    assert "HTTP 404" in str(caught.value) and DATAMAPPER + "HCLMP" in str(caught.value)
    assert [path.removeprefix(DATAMAPPER) for _, path, _ in imf_publisher.app.requests] == [
        "AI_PI", "DI", "IEI", "HCLMP"]
    assert sha256_of(tmp_path / IMF / AIPI) == working and len(vintages.snapshots(tmp_path, IMF)) == 1
    assert not [p for p in (tmp_path / IMF / "raw").iterdir() if p.name.startswith(".")]


def test_the_weekly_check_asks_every_part_with_its_recorded_etag(aipi, aipi_pinned, tmp_path, imf_publisher):
    from pipelines.sources.upstream import changed_sources, check_sources

    policy = HttpPolicy(attempts=1, allow_local_http=True)
    answers = _datamapper(aipi, aipi_pinned)
    live_source = _serve_datamapper(imf_publisher, aipi, answers)
    assert changed_sources([live_source], tmp_path, policy) == ([IMF], [])  # nothing fetched: no validators
    fetch_source(live_source, tmp_path, None, policy=FAST)
    imf_publisher.app.requests.clear()
    assert changed_sources([live_source], tmp_path, policy) == ([], [])
    assert [(method, etag is not None) for method, _, etag in imf_publisher.app.requests] == [("HEAD", True)] * 6
    changed, seen, errors = check_sources([live_source], {}, policy)
    assert changed == [IMF] and not errors and seen[IMF][AIPI].startswith("parts:AI_PI=etag:")
    assert check_sources([live_source], seen, policy)[0] == []

    answers["RE"]["values"]["RE"]["JPN"]["2023"] = answers["RE"]["values"]["RE"]["KOR"]["2023"]
    live_source = _serve_datamapper(imf_publisher, aipi, answers, modified=1.8e9)  # RE revised a day later
    assert changed_sources([live_source], tmp_path, policy) == ([IMF], [])
    assert check_sources([live_source], seen, policy)[0] == [IMF]


def test_the_adapter_writes_one_row_per_listed_economy_in_iso3_order(aipi_pinned):
    jpn = aipi_pinned[aipi_pinned["entity_code"] == "JPN"].set_index("source_code")["value"]
    kor = aipi_pinned[aipi_pinned["entity_code"] == "KOR"].set_index("source_code")["value"]
    values = {"AI_PI": {"KOR": kor["AIPI"], "JPN": jpn["AIPI"], "ADVEC": jpn["AIPI"]},
              "DI": {"KOR": kor[AIPI_HEADER[4]]}}
    rows = aipi_rows(values, {"JPN": "Japan", "KOR": None, "USA": "United States"})
    assert rows == [("Japan", "JPN", None, jpn["AIPI"], None), (None, "KOR", None, kor["AIPI"], kor[AIPI_HEADER[4]])]


def test_a_plain_http_part_is_refused_before_any_request(aipi, tmp_path):
    [raw] = aipi.files
    # every other part on a closed loopback port, so a regression cannot reach the internet
    parts = {name: f"http://127.0.0.1:9{DATAMAPPER}{name}" for name in raw.live_parts}
    parts["DI"] = "http://www.imf.org/external/datamapper/api/v1/DI"  # not https, not loopback
    live = dataclasses.replace(aipi, files=(dataclasses.replace(raw, live_parts=parts),))
    with pytest.raises(FetchError) as caught:
        fetch_source(live, tmp_path, None, policy=FAST)
    assert (caught.value.source_id, caught.value.file, caught.value.rule) == (IMF, AIPI, "https_only")
    assert str(caught.value).endswith("part DI: refused http://www.imf.org/external/datamapper/api/v1/DI: only "
                                      "https URLs are allowed")
    assert not (tmp_path / IMF).exists()  # nothing requested, nothing written
