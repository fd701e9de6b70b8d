"""OECD SDMX-CSV to the reshaped AI-patent panel: a loopback "OECD" serves SDMX-CSV with labels built from the
mirror's pinned panel (two rows per economy-year, one per patent authority, aggregates and a shuffled order as the
API may give them). The adapter gives back the pinned bytes exactly (no new vintage), a revised value is a new
vintage the same parser reads, and a malformed answer stops the fetch naming source, file, row and rule."""

from __future__ import annotations

import csv
import dataclasses
import io
import random

import pytest

from pipelines.base.errors import FetchError
from pipelines.sources import vintages
from pipelines.sources.adapter_oecd import oecd_patents_sdmx_to_panel
from pipelines.sources.fetch import fetch_source, sha256_of
from pipelines.sources.registry import load_registry
from pipelines.staging.parsers import get_parser
from tests.test_fetch import ok, serving
from tests.test_live import FAST

PATENTS = "oecd_ai_patents"
PANEL = "raw/oecd_ai_patentes.csv"
AGGREGATES = ("W", "OECD", "WXOECD", "EU27_2020")  # REF_AREA codes of the dataflow that are not economies
DIMENSIONS = ["PATENT_AUTHORITIES", "FREQ", "MEASURE", "UNIT_MEASURE", "DATE_TYPE", "REF_AREA", "PARTNER_AREA",
              "AGENT_ROLE", "COOPERATION_TYPE", "WIPO", "OECD_TECHNOLOGY_PATENT"]


@pytest.fixture(autouse=True)
def _not_pinned(monkeypatch):
    monkeypatch.delenv(vintages.PINNED_ENV, raising=False)


@pytest.fixture(scope="module")
def raw():
    return next(f for f in load_registry()[PATENTS].files if f.path == PANEL)


@pytest.fixture(scope="module")
def panel(mirror_dir) -> list[dict]:
    with (mirror_dir / PATENTS / PANEL).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sdmx_csv(raw, observations: list[tuple[str, str, str, str]], **override) -> bytes:
    """SDMX-CSV 2.0 with labels (an id column, then its label column), one row per (authority, area, year, value);
    the other dimensions as the registry's query asks, unless `override`n. Labels repeat the codes (structure only)."""
    fixed = {**raw.live_options["dimensions"], **override}
    header = ["STRUCTURE", "STRUCTURE_ID", "STRUCTURE_NAME", "ACTION"]
    for dimension in DIMENSIONS:
        header += [dimension, dimension.title()]
    header += ["TIME_PERIOD", "Time period", "OBS_VALUE", "Observation value", "OBS_STATUS", "Observation status"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for authority, area, year, value in observations:
        codes = {**fixed, "PATENT_AUTHORITIES": authority, "REF_AREA": area}
        row = ["DATAFLOW", "OECD.STI.PIE:DSD_PATENTS@DF_PATENTS_OECDSPECIFIC(1.0)", "Patents", "I"]
        for dimension in DIMENSIONS:
            row += [codes[dimension], codes[dimension]]
        writer.writerow(row + [year, year, value, "", "A", "A"])
    return out.getvalue().encode("utf-8")


def observations_of(panel: list[dict], raw) -> list[tuple[str, str, str, str]]:
    """The panel as the API's observations: each column's authority, plus the aggregates (values copied from the
    USA's rows, to be dropped), shuffled."""
    by_column = raw.live_options["columns"]
    rows = [(by_column[c], r["iso3c"], r["ano"], r[c]) for r in panel for c in by_column]
    usa = [(a, code, year, value) for a, area, year, value in rows if area == "USA" for code in AGGREGATES]
    rows += usa
    random.Random(7).shuffle(rows)
    return rows


def adapt(tmp_path, raw, body: bytes):
    downloaded, out = tmp_path / "answer.csv", tmp_path / "panel.csv"
    downloaded.write_bytes(body)
    oecd_patents_sdmx_to_panel(downloaded, out, source_id=PATENTS, file=PANEL, **raw.live_options)
    return out


def test_the_registry_asks_the_oecd_for_both_authorities_in_one_query(raw):
    assert raw.live_adapter == "oecd_patents_sdmx_to_panel"
    assert raw.live_url.startswith("https://sdmx.oecd.org/public/rest/data/OECD.STI.PIE,DSD_PATENTS@"
                                   "DF_PATENTS_OECDSPECIFIC,1.0/9P50_3+9P50_2.A.PF.PATN_FM.PRIORITY.._Z.INVENTOR."
                                   "_Z._Z.AI?")
    key = raw.live_url.split("/")[-1].split("?")[0].split(".")
    asked = dict(zip(DIMENSIONS, key))
    assert {d: asked[d] for d in raw.live_options["dimensions"]} == raw.live_options["dimensions"]
    assert set(asked["PATENT_AUTHORITIES"].split("+")) == set(raw.live_options["columns"].values())
    assert list(raw.live_options["columns"]) == list(raw.parser_options["indicators"])  # the parser's columns


def test_the_oecd_answer_becomes_the_pinned_panel_byte_for_byte(tmp_path, raw, panel):
    out = adapt(tmp_path, raw, sdmx_csv(raw, observations_of(panel, raw)))
    assert sha256_of(out) == raw.sha256


def test_the_latest_year_is_the_incomplete_one_and_a_one_sided_row_is_joined_with_na(tmp_path, raw, panel):
    japan = [r for r in panel if r["iso3c"] == "JPN"]
    last = japan[-1]
    assert last["ano_incompleto"] == "TRUE" and all(r["ano_incompleto"] == "FALSE" for r in japan[:-1])
    later = str(int(last["ano"]) + 1)
    rows = [("9P50_3", "JPN", r["ano"], r["patentes_inventor"]) for r in japan]
    rows += [("9P50_2", "JPN", r["ano"], r["patentes_triadicas"]) for r in japan]
    rows += [("9P50_2", "JPN", later, last["patentes_triadicas"]), ("9P50_3", "KOR", last["ano"], "")]
    lines = adapt(tmp_path, raw, sdmx_csv(raw, rows)).read_text(encoding="utf-8").splitlines()
    assert lines[-3] == f'"JPN",{last["ano"]},{last["patentes_inventor"]},{last["patentes_triadicas"]},FALSE'
    assert lines[-2] == f'"KOR",{last["ano"]},NA,NA,FALSE'  # a blank OBS_VALUE; no triadic row for KOR
    assert lines[-1] == f'"JPN",{later},NA,{last["patentes_triadicas"]},TRUE'  # only a triadic row: joined last


def test_a_revised_value_is_a_new_vintage_the_same_parser_reads(tmp_path, raw, panel, mirror_dir):
    japan = {r["ano"]: r for r in panel if r["iso3c"] == "JPN"}
    revised_value = japan["2020"]["patentes_inventor"]  # JPN 2021's IP5 count revised to a value from the mirror
    original = observations_of(panel, raw)
    revised = [(a, area, year, revised_value if (a, area, year) == ("9P50_3", "JPN", "2021") else value)
               for a, area, year, value in original]
    source = load_registry()[PATENTS]
    with serving() as server:
        answers = {"body": sdmx_csv(raw, original)}
        url = server.route("/sdmx/patents", lambda h: ok(answers["body"])(h))
        live = dataclasses.replace(source, files=(dataclasses.replace(raw, live_url=url),))
        [same] = fetch_source(live, tmp_path, None, policy=FAST)
        assert same.sha256 == raw.sha256 and vintages.snapshots(tmp_path, PATENTS) == []
        answers["body"] = sdmx_csv(raw, revised)
        [new] = fetch_source(live, tmp_path, None, policy=FAST)
    [snap] = vintages.snapshots(tmp_path, PATENTS)
    [meta] = snap.files
    assert meta["sha256"] == new.sha256 != raw.sha256 and "oecd_patents_sdmx_to_panel" in meta["origin"]

    parse = get_parser(raw.parser)
    before = parse(mirror_dir / PATENTS / PANEL, **raw.parser_options)
    after = parse(tmp_path / PATENTS / PANEL, **raw.parser_options)
    keys = ["source_code", "entity_code", "period"]
    merged = before.merge(after, on=[*keys, "raw_row", "note"], suffixes=("_before", "_after"))
    assert len(merged) == len(before) == len(after)  # the same rows, rows and notes
    moved = merged[merged["value_before"] != merged["value_after"]]
    assert moved[keys].values.tolist() == [["patentes_inventor", "JPN", "2021"]]
    assert moved["value_after"].iloc[0] == float(revised_value)


@pytest.mark.parametrize("change, rule_text", [
    ("obs_value", "OBS_VALUE 'n/a' is not a number"),
    ("agent_role", "AGENT_ROLE is 'APPLICANT'"),
    ("authority", "PATENT_AUTHORITIES '9P50_1' is none of"),
    ("year", "TIME_PERIOD '2021-Q1' is not a year"),
    ("twice", "appears twice"),
])
def test_a_malformed_answer_stops_naming_source_file_row_and_rule(tmp_path, raw, panel, change, rule_text):
    rows = [o for o in observations_of(panel, raw) if len(o[1]) == 3][:40]  # economies: none is dropped
    authority, area, year, value = rows[5]
    bad = {"obs_value": (authority, area, year, "n/a"), "authority": ("9P50_1", area, year, value),
           "year": (authority, area, "2021-Q1", value), "twice": rows[4]}.get(change, rows[5])
    rows[5] = bad
    override = {"AGENT_ROLE": "APPLICANT"} if change == "agent_role" else {}
    with pytest.raises(FetchError) as failure:
        adapt(tmp_path, raw, sdmx_csv(raw, rows, **override))
    error = failure.value
    assert (error.source_id, error.file, error.rule) == (PATENTS, PANEL, "live_format") and rule_text in str(error)
    assert error.row == (2 if change == "agent_role" else 7)  # header line 1, then the rows


def test_an_answer_missing_a_dimension_or_an_authority_stops(tmp_path, raw, panel):
    body = sdmx_csv(raw, observations_of(panel, raw)[:10]).replace(b"AGENT_ROLE,", b"AGENT,", 1)
    with pytest.raises(FetchError, match=r"lacks \['AGENT_ROLE'\]"):
        adapt(tmp_path, raw, body)
    only_ip5 = [o for o in observations_of(panel, raw) if o[0] == "9P50_3"]
    with pytest.raises(FetchError, match=r"no rows for \['patentes_triadicas'\]"):
        adapt(tmp_path, raw, sdmx_csv(raw, only_ip5))
    with pytest.raises(FetchError, match="not SDMX-CSV"):
        adapt(tmp_path, raw, b'{"errors": [{"code": 404}]}')
