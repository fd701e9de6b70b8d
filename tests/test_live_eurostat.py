"""Eurostat live endpoints against a loopback "publisher" (127.0.0.1): SDMX-CSV responses built from the mirror's pinned
files by reversing the adapter's mapping (geo codes from the registry's own query key, matched to the pinned names
through country_converter), fetched through the live path, adapted and staged like the pinned files.

- isoc_eb_ai (`label=both`): eurostat_sdmx_to_wide writes the wide `;` extracts; the staged rows equal the pinned
  ones, a revised value is a new vintage, and a malformed response stops with source, file, row and rule.
- isoc_ai_iaiu (`label=label_only`): the labelled SDMX-CSV the pinned export is, read by the same parser unadapted.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from urllib.parse import urlsplit

import pandas as pd
import pytest

from pipelines.base.errors import FetchError
from pipelines.sources import vintages
from pipelines.sources.adapter_eurostat import decimal_comma_text, sdmx_csv_to_wide_semicolon
from pipelines.sources.fetch import fetch_source, sha256_of
from pipelines.sources.registry import load_registry
from pipelines.staging.countries import converter, iso2_to_iso3
from pipelines.staging.stage import stage_source
from tests.test_fetch import ok, serving
from tests.test_live import FAST

ENTERPRISE = "eurostat_enterprise_ai"
COUNTRIES = "raw/database_ia.csv"
EUROPE = "raw/database_ia_europe.csv"
GENAI = "genai_usage"
GENAI_FILE = "raw/eurostat_isoc_ai_iaiu_useofai.csv"
SDMX_HEADER = "DATAFLOW,LAST UPDATE,freq,size_emp,nace_r2,indic_is,unit,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG,CONF_STATUS"
# the coded cells of the registered series; the labels are structure only (the adapter keeps geo labels alone)
SERIES_CELLS = "A:Annual,GE10:10 persons employed or more,C10-S951_X_K:All activities,E_AI_TANY:Any AI,PC_ENT:% of ent"
COMPARED = ["source_code", "indicator_name", "unit", "entity_name", "iso3", "is_aggregate", "period", "year", "value",
            "note"]


@pytest.fixture(autouse=True)
def _not_pinned(monkeypatch):
    monkeypatch.delenv(vintages.PINNED_ENV, raising=False)


def _key_geos(url: str) -> list[str]:
    """The geo codes of an SDMX 2.1 data query key (the last dot-separated position, `+` between codes)."""
    return urlsplit(url).path.rsplit("/", 1)[1].split(".")[-1].split("+")


def _wide_cells(path) -> list[tuple[str, str, str]]:
    """(name, year, value as published with a decimal comma) of a pinned wide `;` extract, in file order."""
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    return [(row[0], year, text) for row in rows[1:] for year, text in zip(rows[0][1:], row[1:])]


def _codes_for(names: list[str], url: str) -> dict[str, str]:
    """Pinned name -> Eurostat geo code: both sides to ISO3 (country_converter), matched; every name, once."""
    by_iso3 = {iso2_to_iso3()[code]: code for code in _key_geos(url)}
    codes = {name: by_iso3.get(converter().convert(name, to="ISO3", not_found=None)) for name in names}
    assert None not in codes.values() and len(set(codes.values())) == len(names) == len(by_iso3), codes
    return codes


def _sdmx_response(cells, codes: dict[str, str], labels: dict[str, str] | None = None) -> bytes:
    """SDMX-CSV as Eurostat serves it: sorted by geo code, `.` decimals with two places, `code:label` cells."""
    lines = [SDMX_HEADER]
    for name, year, text in sorted(cells, key=lambda c: (codes[c[0]], c[1])):
        whole, _, fraction = text.partition(",")
        value = f"{whole}.{fraction.ljust(2, '0')}"
        label = (labels or {}).get(codes[name], name)
        lines.append(f"ESTAT:ISOC_EB_AI(1.0),05/06/26 23:00:00,{SERIES_CELLS},{codes[name]}:{label},{year},{value},,")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _live_source(source, server, bodies: dict):
    files = tuple(dataclasses.replace(raw, live_url=server.route(f"/sdmx/2.1/data/{raw.path}",
                                                                 lambda h, p=raw.path: ok(bodies[p])(h)))
                  if raw.path in bodies else raw for raw in source.files)
    return dataclasses.replace(source, files=files)


def _compared(staged: pd.DataFrame) -> pd.DataFrame:
    return staged[COMPARED].sort_values(["source_code", "entity_name", "period"]).reset_index(drop=True)


def _eu27_label(mirror_dir) -> str:
    """Eurostat's label for EU27_2020, as the genai_usage export (an SDMX-CSV with labels) publishes it."""
    rows = csv.DictReader(io.StringIO((mirror_dir / GENAI / GENAI_FILE).read_text(encoding="utf-8-sig")))
    [label] = {r["geo"] for r in rows if r["geo"].startswith("European Union - 27")}
    return label


def test_the_adapter_writes_the_extract_layout_on_a_known_answer():
    response = ("\ufeffDATAFLOW,LAST UPDATE,freq,indic_is,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG,CONF_STATUS\r\n"
                "ESTAT:X(1.0),01/01/26,A:Annual,E_AI_TANY:Any,DE:Germany,2023,11.50,,\r\n"
                "ESTAT:X(1.0),01/01/26,A:Annual,E_AI_TANY:Any,DE:Germany,2021,10.00,,\r\n"
                'ESTAT:X(1.0),01/01/26,A:Annual,E_AI_TANY:Any,"EU27_2020:European Union - 27 countries (from 2020)",'
                "2023,8.04,u,\r\n"
                "ESTAT:X(1.0),01/01/26,A:Annual,E_AI_TANY:Any,EU27_2020:European Union,2021,,c,\r\n").encode()
    adapted = sdmx_csv_to_wide_semicolon(response, entity_column="Country",
                                         series={"freq": "A", "indic_is": "E_AI_TANY"},
                                         entity_labels={"EU27_2020": "Europe"}, source_id="s", file="f")
    assert adapted == "\ufeffCountry;2021;2023\r\nGermany;10;11,5\r\nEurope;:;8,04\r\n".encode()
    assert [decimal_comma_text(v) for v in ("13.00", "5.90", "-0.50", "7", "0.05")] == [
        "13", "5,9", "-0,5", "7", "0,05"]


def test_the_registered_queries_ask_for_exactly_the_pinned_countries_and_the_eu_aggregate(mirror_dir):
    source = load_registry()[ENTERPRISE]
    files = {raw.path: raw for raw in source.files}
    names = [name for name, _, _ in _wide_cells(mirror_dir / ENTERPRISE / COUNTRIES)]
    _codes_for(list(dict.fromkeys(names)), files[COUNTRIES].live_url)  # a bijection, or it fails
    assert _key_geos(files[EUROPE].live_url) == ["EU27_2020"]
    for raw in source.files:
        assert raw.live_url.startswith("https://ec.europa.eu/eurostat/api/dissemination/sdmx/2.1/data/isoc_eb_ai/")
        assert raw.live_adapter == "eurostat_sdmx_to_wide"
        assert raw.live_url.endswith("?format=SDMX-CSV&lang=en&label=both")
        series = raw.live_options["series"]
        assert urlsplit(raw.live_url).path.rsplit("/", 1)[1].split(".")[:-1] == [
            series[d] for d in ("freq", "size_emp", "nace_r2", "indic_is", "unit")]
    assert source.live_status == "live"


def test_isoc_eb_ai_live_stages_as_the_pinned_files_and_a_revision_is_a_new_vintage(mirror_dir, tmp_path):
    source = load_registry()[ENTERPRISE]
    files = {raw.path: raw for raw in source.files}
    cells = _wide_cells(mirror_dir / ENTERPRISE / COUNTRIES)
    codes = _codes_for(list(dict.fromkeys(n for n, _, _ in cells)), files[COUNTRIES].live_url)
    eu = _eu27_label(mirror_dir)
    europe = [(eu, year, text) for _, year, text in _wide_cells(mirror_dir / ENTERPRISE / EUROPE)]
    bodies = {COUNTRIES: _sdmx_response(cells, codes), EUROPE: _sdmx_response(europe, {eu: "EU27_2020"})}
    pinned = stage_source(source, fetch_source(source, tmp_path / "pinned", mirror_dir))
    live_dir = tmp_path / "live"
    with serving() as server:
        live = _live_source(source, server, bodies)
        fetched = {f.path: f for f in fetch_source(live, live_dir, None, policy=FAST)}
        staged = stage_source(source, list(fetched.values()))
        pd.testing.assert_frame_equal(_compared(staged), _compared(pinned))
        assert len(staged) == 27 * 4 - 1 + 3  # Malta 2025 still withheld by the parser
        adapted = (live_dir / ENTERPRISE / COUNTRIES).read_text(encoding="utf-8-sig").splitlines()
        countries = staged[staged["raw_file"] == f"{ENTERPRISE}/{COUNTRIES}"]
        assert len(countries) == 27 * 4 - 1
        assert all(adapted[int(r.raw_row) - 1].startswith(f"{r.entity_name};") for r in countries.itertuples())
        # the EU-27 line is the pinned bytes; the countries come in Eurostat's (code) order: a vintage, same values
        assert fetched[EUROPE].sha256 == files[EUROPE].sha256
        [first] = vintages.snapshots(live_dir, ENTERPRISE)
        assert [f["path"] for f in first.files] == [COUNTRIES] and "eurostat_sdmx_to_wide" in first.files[0]["origin"]

        fetch_source(live, live_dir, None, policy=FAST)  # the same response again: no new vintage
        assert len(vintages.snapshots(live_dir, ENTERPRISE)) == 1

        sweden_2025 = next(text for name, year, text in cells if (name, year) == ("Sweden", "2025"))
        revised = [(n, y, sweden_2025 if (n, y) == ("Denmark", "2025") else t) for n, y, t in cells]
        bodies[COUNTRIES] = _sdmx_response(revised, codes)
        fetched = {f.path: f for f in fetch_source(live, live_dir, None, policy=FAST)}
    snaps = vintages.snapshots(live_dir, ENTERPRISE)
    assert len(snaps) == 2 and [f["path"] for f in snaps[-1].files] == [COUNTRIES]
    assert snaps[-1].files[0]["sha256"] == sha256_of(live_dir / ENTERPRISE / COUNTRIES) != first.files[0]["sha256"]
    after = _compared(stage_source(source, list(fetched.values())))
    changed = after.compare(_compared(pinned))
    assert len(changed) == 1
    row = after.loc[changed.index[0]]
    assert (row.entity_name, row.period, row.value) == ("Denmark", "2025", float(sweden_2025.replace(",", ".")))


def _with_value(line: str, text: str) -> str:
    fields = next(csv.reader([line]))
    fields[SDMX_HEADER.split(",").index("OBS_VALUE")] = text
    return ",".join(fields)


@pytest.mark.parametrize(("mangle", "rule", "row"), [
    (lambda lines: [lines[0].replace(",OBS_VALUE", ",VALUE"), *lines[1:]], "live_format", 1),  # a column missing
    (lambda lines: [*lines[:5], _with_value(lines[5], "10.3x"), *lines[6:]], "numeric_value", 6),  # a bad number
    (lambda lines: [*lines[:3], lines[3].replace("E_AI_TANY:", "E_AI_TTM:"), *lines[4:]], "live_series", 4),
    (lambda lines: [*lines[:7], lines[7].replace(",BE:Belgium,", ",Belgium,"), *lines[8:]], "live_format", 8),
])
def test_a_malformed_response_stops_the_fetch_naming_source_file_row_and_rule(mirror_dir, tmp_path, mangle, rule, row):
    source = load_registry()[ENTERPRISE]
    files = {raw.path: raw for raw in source.files}
    cells = _wide_cells(mirror_dir / ENTERPRISE / COUNTRIES)
    codes = _codes_for(list(dict.fromkeys(n for n, _, _ in cells)), files[COUNTRIES].live_url)
    lines = mangle(_sdmx_response(cells, codes).decode().splitlines())
    only_countries = dataclasses.replace(source, files=(files[COUNTRIES],))
    with serving() as server:
        live = _live_source(only_countries, server, {COUNTRIES: ("\n".join(lines) + "\n").encode()})
        with pytest.raises(FetchError) as caught:
            fetch_source(live, tmp_path, None, policy=FAST)
    error = caught.value
    assert (error.source_id, error.file, error.rule, error.row) == (ENTERPRISE, COUNTRIES, rule, row), str(error)
    assert f"source={ENTERPRISE}" in str(error) and f"row={row}" in str(error)
    assert not (tmp_path / ENTERPRISE / COUNTRIES).exists() and vintages.snapshots(tmp_path, ENTERPRISE) == []


def test_isoc_ai_iaiu_live_is_the_labelled_export_read_by_the_same_parser(mirror_dir, tmp_path):
    source = load_registry()[GENAI]
    raw = next(f for f in source.files if f.path == GENAI_FILE)
    path = urlsplit(raw.live_url).path
    assert path.startswith("/eurostat/api/dissemination/sdmx/2.1/data/isoc_ai_iaiu/") and raw.live_adapter is None
    assert raw.live_url.endswith("?format=SDMX-CSV&lang=en&label=label_only")
    freq, ind_type, indic_is, unit, geo = path.rsplit("/", 1)[1].split(".")
    pinned_lines = (mirror_dir / GENAI / GENAI_FILE).read_bytes().split(b"\r\n")
    rows = list(csv.DictReader(io.StringIO(b"\r\n".join(pinned_lines).decode("utf-8"))))
    kept = [r for r in rows if r["ind_type"] == "All individuals"]
    assert (freq, ind_type, geo) == ("A", "IND_TOTAL", "")  # every geo, as in the pinned export
    assert len(indic_is.split("+")) == len({r["indic_is"] for r in kept})
    assert len(unit.split("+")) == len({r["unit"] for r in kept})

    # Eurostat answers the narrowed key with the pinned export's All-individuals lines (same columns, same labels)
    served = b"\r\n".join([pinned_lines[0], *(ln for ln in pinned_lines[1:] if b",All individuals," in ln), b""])
    only = dataclasses.replace(source, files=(raw,))
    pinned = stage_source(only, fetch_source(only, tmp_path / "pinned", mirror_dir))
    with serving() as server:
        live = _live_source(only, server, {GENAI_FILE: served})
        [fetched] = fetch_source(live, tmp_path / "live", None, policy=FAST)
    assert fetched.sha256 == sha256_of(tmp_path / "live" / GENAI / GENAI_FILE) != raw.sha256
    staged = stage_source(only, [fetched])
    pd.testing.assert_frame_equal(_compared(staged), _compared(pinned))
    assert len(staged) == len(pinned) > 300
