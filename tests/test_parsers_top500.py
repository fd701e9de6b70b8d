"""TOP500 parsers: hand-made fixtures (made-up values), the real mirror lists, bad inputs, registry checksums."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import shutil
from pathlib import Path

import openpyxl
import pytest
import xlrd
import yaml

from pipelines.base.errors import ParseError
from pipelines.staging.countries import harmonise
from pipelines.staging.parsers import PARSER_COLUMNS, PARSERS
from pipelines.staging.parsers.top500 import parse_top500_csv, parse_top500_xls, parse_top500_xlsx

SOURCE_ID = "top500"
REGISTRY = Path(__file__).resolve().parents[1] / "config" / "sources" / f"{SOURCE_ID}.yaml"
WANTED_PARSERS = {
    "top500_xls": parse_top500_xls,
    "top500_xlsx": parse_top500_xlsx,
    "top500_csv": parse_top500_csv,
}


@pytest.fixture(scope="module")
def registry() -> dict:
    return yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def fixture_dir(fixtures_dir) -> Path:
    return fixtures_dir / SOURCE_ID


@pytest.fixture(scope="module")
def builder(fixture_dir):
    """The fixture builder module (BIFF8 writer), to write bad .xls variants."""
    spec = importlib.util.spec_from_file_location("top500_fixture_builder", fixture_dir / "build_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _values(frame, code):
    rows = frame[frame["source_code"] == code]
    return {name: value for name, value in zip(rows["entity_name"], rows["value"])}


def _lineage(frame, code):
    rows = frame[frame["source_code"] == code]
    return {name: raw for name, raw in zip(rows["entity_name"], rows["raw_row"])}


# --------------------------------------------------------------------------------------------- (a) fixtures


def test_xls_2010_gflops_fixture(fixture_dir):
    frame = parse_top500_xls(fixture_dir / "TOP500_201011.xls", list_date="2010-11", list_size=5, flops_unit="GFlop/s")
    assert list(frame.columns) == PARSER_COLUMNS
    assert set(frame["period"]) == {"2010-H2"} and set(frame["year"]) == {2010}
    assert _values(frame, "systems") == {"Japan": 3.0, "United States": 1.0, "Korea, South": 1.0}
    rmax = _values(frame, "Rmax [TFlop/s]")
    assert rmax["Japan"] == pytest.approx((5000.5 + 3000.25 + 1000) / 1000)
    assert rmax["United States"] == pytest.approx(4.0)
    rpeak = _values(frame, "Rpeak [TFlop/s]")
    assert rpeak["Japan"] == pytest.approx((8000 + 1500) / 1000)  # the blank RPeak of rank 3 is not a zero
    assert _lineage(frame, "systems")["Japan"] == "Sublist Results!2,Sublist Results!4,Sublist Results!6"
    assert _lineage(frame, "Rpeak [TFlop/s]")["Japan"] == "Sublist Results!2,Sublist Results!6"
    japan_rpeak_note = frame[(frame["source_code"] == "Rpeak [TFlop/s]") & (frame["entity_name"] == "Japan")]["note"]
    assert "GFlop/s" in japan_rpeak_note.iloc[0] and "sum over 2 of 3 systems" in japan_rpeak_note.iloc[0]
    assert frame["unit"][frame["source_code"] != "systems"].eq("TFlop/s").all()
    assert frame["entity_code"].isna().all()


def test_xls_2017_tflops_fixture(fixture_dir):
    frame = parse_top500_xls(fixture_dir / "TOP500_201711.xls", list_date="2017-11", list_size=4)
    assert set(frame["period"]) == {"2017-H2"}
    assert _values(frame, "systems") == {"Germany": 2.0, "Japan": 2.0}
    assert _values(frame, "Rmax [TFlop/s]") == pytest.approx({"Germany": 150.5, "Japan": 120.75})
    assert _values(frame, "Rpeak [TFlop/s]") == pytest.approx({"Germany": 200.0, "Japan": 170.25})
    assert _lineage(frame, "Rmax [TFlop/s]") == {"Germany": "50!2,50!4", "Japan": "50!3,50!5"}
    assert frame["note"].isna().all()


def test_xlsx_fixture_reads_first_sheet_only(fixture_dir):
    frame = parse_top500_xlsx(fixture_dir / "TOP500_202411.xlsx", list_date="2024-11", list_size=4)
    assert set(frame["period"]) == {"2024-H2"} and set(frame["year"]) == {2024}
    assert _values(frame, "systems") == {"United States": 1.0, "Japan": 2.0, "Czechia": 1.0}
    assert _values(frame, "Rmax [TFlop/s]") == pytest.approx({"United States": 1500, "Japan": 700.75,
                                                                "Czechia": 200.5})
    assert _lineage(frame, "systems")["Japan"] == "64!3,64!4"
    assert len(frame) == 9


def test_csv_european_locale_fixture(fixture_dir):
    frame = parse_top500_csv(fixture_dir / "TOP500_202506.csv", list_date="2025-06", list_size=4)
    assert set(frame["period"]) == {"2025-H1"} and set(frame["year"]) == {2025}
    assert _values(frame, "systems") == {"United States": 1.0, "Japan": 2.0, "South Korea": 1.0}
    assert _values(frame, "Rmax [TFlop/s]") == pytest.approx({"United States": 1500000.50,
                                                                "Japan": 12345.75 + 999.25, "South Korea": 500})
    rpeak = _values(frame, "Rpeak [TFlop/s]")
    assert rpeak == pytest.approx({"United States": 2000000.25, "Japan": 15000.0, "South Korea": 750.5})
    assert _lineage(frame, "systems") == {"United States": "2", "Japan": "3,4", "South Korea": "5"}
    assert _lineage(frame, "Rpeak [TFlop/s]")["Japan"] == "3"


# --------------------------------------------------------------------------------------------- (b) real files


def _real_files(registry):
    return [f for f in registry["files"] if f.get("parser")]


def _independent_japan(path: Path) -> tuple[list[str], float, float, str]:
    """Japan's rows and raw Rmax/Rpeak sums, read with xlrd/openpyxl/csv directly, plus the Rmax header."""
    if path.suffix == ".xls":
        sheet = xlrd.open_workbook(str(path)).sheet_by_index(0)
        rows = [sheet.row_values(i) for i in range(sheet.nrows)]
        name = sheet.name
    elif path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        name = sheet.title
        book.close()
    else:
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(text.splitlines(), delimiter=";"))
        name = None
    header = [str(h) for h in rows[0]]
    country = header.index("Country")
    rmax = next(i for i, h in enumerate(header) if h.lower().startswith("rmax"))
    rpeak = next(i for i, h in enumerate(header) if h.lower().startswith("rpeak"))

    def num(v):
        return float(v.replace(" ", "").replace(",", ".")) if isinstance(v, str) else float(v)

    japan = [(i + 1, r) for i, r in enumerate(rows) if i > 0 and r[country] == "Japan"]
    refs = [f"{name}!{n}" if name else str(n) for n, _ in japan]
    return refs, sum(num(r[rmax]) for _, r in japan), sum(num(r[rpeak]) for _, r in japan), header[rmax]


@pytest.fixture(scope="module")
def real_frames(registry, mirror_dir):
    frames = {}
    for entry in _real_files(registry):
        parser = WANTED_PARSERS[entry["parser"]]
        frames[entry["path"]] = parser(mirror_dir / SOURCE_ID / entry["path"], **entry["parser_options"])
    return frames


def test_real_lists_structure_and_japan(registry, mirror_dir, real_frames):
    assert len(real_frames) == 15
    for entry in _real_files(registry):
        frame = real_frames[entry["path"]]
        path = mirror_dir / SOURCE_ID / entry["path"]
        assert list(frame.columns) == PARSER_COLUMNS
        assert frame[frame["source_code"] == "systems"]["value"].sum() == 500, path.name
        assert frame["value"].notna().all() and (frame["value"] > 0).all()
        month = entry["parser_options"]["list_date"][-2:]
        assert set(frame["period"]) == {f"{path.stem[7:11]}-{'H1' if month == '06' else 'H2'}"}
        refs, rmax, rpeak, rmax_header = _independent_japan(path)
        factor = 1 / 1000 if "TFlop" not in rmax_header else 1.0
        japan = frame[frame["entity_name"] == "Japan"].set_index("source_code")
        assert japan.loc["systems", "value"] == len(refs), path.name
        assert japan.loc["systems", "raw_row"] == ",".join(refs)
        assert japan.loc["Rmax [TFlop/s]", "value"] == pytest.approx(rmax * factor, rel=1e-12)
        assert japan.loc["Rpeak [TFlop/s]", "value"] == pytest.approx(rpeak * factor, rel=1e-12)


def test_real_lists_harmonise(registry, real_frames):
    import pandas as pd

    frame = pd.concat(real_frames.values())
    result = harmonise(frame, source_id=SOURCE_ID, source_overrides=registry.get("entity_overrides"), file="TOP500_*")
    assert not result["is_aggregate"].any()
    by_name = dict(zip(result["entity_name"], result["iso3"]))
    assert by_name["Korea, South"] == "KOR" and by_name["South Korea"] == "KOR"
    assert by_name["Czech Republic"] == "CZE" and by_name["Czechia"] == "CZE"
    assert by_name["Hong Kong"] == "HKG" and by_name["Taiwan"] == "TWN" and by_name["Japan"] == "JPN"
    assert by_name["Slovak Republic"] == "SVK" and by_name["United States"] == "USA"


def test_registry_checksums_match_mirror(registry, mirror_dir):
    folder = mirror_dir / SOURCE_ID
    listed = {f["path"] for f in registry["files"]}
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.parts[-2] != SOURCE_ID}
    assert listed == on_disk
    for entry in registry["files"]:
        data = (folder / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
        assert len(data) == entry["bytes"], entry["path"]


def test_registry_parsers_and_indicators(registry):
    for name, function in WANTED_PARSERS.items():
        if name in PARSERS:  # the lead registers them in pipelines/staging/parsers/__init__.py
            assert PARSERS[name] == f"top500:{function.__name__}"
    codes = {i["source_code"] for i in registry["indicators"]}
    assert codes == {"systems", "Rmax [TFlop/s]", "Rpeak [TFlop/s]"}


# --------------------------------------------------------------------------------------------- (c) bad inputs


def _assert_parse_error(excinfo, path: Path, rule: str):
    message = str(excinfo.value)
    assert str(path) in message and "row=" in message and f"rule={rule}" in message, message


def test_csv_truncated(tmp_path, fixture_dir):
    data = (fixture_dir / "TOP500_202506.csv").read_bytes()
    bad = tmp_path / "TOP500_202506.csv"
    bad.write_bytes(data[: data.rindex(b"\r\n") + 30])  # the last record is cut after a few fields
    with pytest.raises(ParseError) as excinfo:
        parse_top500_csv(bad, list_date="2025-06", list_size=4)
    _assert_parse_error(excinfo, bad, "field_count")
    assert "row=5" in str(excinfo.value)


def test_csv_missing_records(tmp_path, fixture_dir):
    data = (fixture_dir / "TOP500_202506.csv").read_bytes()
    bad = tmp_path / "TOP500_202506.csv"
    bad.write_bytes(data[: data.rindex(b"\r\n")])  # the whole last record is gone
    with pytest.raises(ParseError) as excinfo:
        parse_top500_csv(bad, list_date="2025-06", list_size=4)
    _assert_parse_error(excinfo, bad, "list_complete")


def test_csv_wrong_header(tmp_path, fixture_dir):
    bad = tmp_path / "TOP500_202506.csv"
    bad.write_bytes((fixture_dir / "TOP500_202506.csv").read_bytes().replace(b";Country;", b";Nation;", 1))
    with pytest.raises(ParseError) as excinfo:
        parse_top500_csv(bad, list_date="2025-06", list_size=4)
    _assert_parse_error(excinfo, bad, "expected_columns")


def test_csv_non_numeric(tmp_path, fixture_dir):
    bad = tmp_path / "TOP500_202506.csv"
    bad.write_bytes((fixture_dir / "TOP500_202506.csv").read_bytes().replace(b"999,25", b"n/a"))
    with pytest.raises(ParseError) as excinfo:
        parse_top500_csv(bad, list_date="2025-06", list_size=4)
    _assert_parse_error(excinfo, bad, "numeric_value")
    assert "row=4" in str(excinfo.value)


def test_csv_decimal_point_is_not_accepted_as_comma_locale(tmp_path, fixture_dir):
    bad = tmp_path / "TOP500_202506.csv"
    bad.write_bytes((fixture_dir / "TOP500_202506.csv").read_bytes().replace(b"999,25", b"999.25"))
    with pytest.raises(ParseError) as excinfo:
        parse_top500_csv(bad, list_date="2025-06", list_size=4)
    _assert_parse_error(excinfo, bad, "numeric_value")


def test_csv_wrong_encoding(tmp_path, fixture_dir):
    text = (fixture_dir / "TOP500_202506.csv").read_bytes().decode("utf-8-sig").replace("\u200b", "")
    bad = tmp_path / "TOP500_202506.csv"
    bad.write_bytes(text.encode("cp1252"))
    with pytest.raises(ParseError) as excinfo:
        parse_top500_csv(bad, list_date="2025-06", list_size=4)
    _assert_parse_error(excinfo, bad, "encoding")


@pytest.mark.parametrize("content", [b"", b"<!DOCTYPE html><html><body>Please log in</body></html>"])
def test_csv_empty_or_html(tmp_path, content):
    bad = tmp_path / "TOP500_202506.csv"
    bad.write_bytes(content)
    with pytest.raises(ParseError) as excinfo:
        parse_top500_csv(bad, list_date="2025-06", list_size=4)
    _assert_parse_error(excinfo, bad, "non_empty" if not content else "not_html")


@pytest.mark.parametrize("name, parser", [("TOP500_201011.xls", parse_top500_xls),
                                          ("TOP500_202411.xlsx", parse_top500_xlsx)])
@pytest.mark.parametrize("mangle", ["truncated", "empty", "html"])
def test_workbook_unreadable(tmp_path, fixture_dir, name, parser, mangle):
    data = (fixture_dir / name).read_bytes()
    bad = tmp_path / name
    bad.write_bytes({"truncated": data[: len(data) // 3], "empty": b"",
                     "html": b"<!DOCTYPE html><html><body>Please log in</body></html>"}[mangle])
    with pytest.raises(ParseError) as excinfo:
        parser(bad, list_date="2024-11", list_size=4, flops_unit="TFlop/s")
    _assert_parse_error(excinfo, bad, "workbook_format")


def test_xls_wrong_header_and_non_numeric(tmp_path, builder):
    header = list(builder.HEADER_2017)
    header[header.index("Country")] = "Nation"
    bad = tmp_path / "TOP500_201711.xls"
    bad.write_bytes(builder.ole2_file(builder.biff8_workbook([("50", [header, [1, "", "", "", "X"]])])))
    with pytest.raises(ParseError) as excinfo:
        parse_top500_xls(bad, list_date="2017-11", list_size=1)
    _assert_parse_error(excinfo, bad, "expected_columns")
    assert "row=50!1" in str(excinfo.value)

    header = builder.HEADER_2017
    row = builder._row(header, Rank=1, Country="Japan", **{"Rmax [TFlop/s]": "12,5 (est.)", "Rpeak [TFlop/s]": 20})
    bad.write_bytes(builder.ole2_file(builder.biff8_workbook([("50", [header, row])])))
    with pytest.raises(ParseError) as excinfo:
        parse_top500_xls(bad, list_date="2017-11", list_size=1)
    _assert_parse_error(excinfo, bad, "numeric_value")
    assert "row=50!2" in str(excinfo.value)


def test_xlsx_non_numeric_and_blank_country(tmp_path, fixture_dir):
    source = tmp_path / "source.xlsx"
    shutil.copy(fixture_dir / "TOP500_202411.xlsx", source)
    for cell, value, rule in (("N3", "about 400", "numeric_value"), ("I4", None, "country_present")):
        book = openpyxl.load_workbook(source)
        book.worksheets[0][cell] = value
        bad = tmp_path / f"bad_{rule}.xlsx"
        book.save(bad)
        with pytest.raises(ParseError) as excinfo:
            parse_top500_xlsx(bad, list_date="2024-11", list_size=4)
        _assert_parse_error(excinfo, bad, rule)
        assert f"row=64!{cell[1:]}" in str(excinfo.value)


def test_units_must_be_known_and_consistent(fixture_dir):
    path_2010 = fixture_dir / "TOP500_201011.xls"
    with pytest.raises(ParseError, match="rule=flops_unit"):
        parse_top500_xls(path_2010, list_date="2010-11", list_size=5)  # unit-less header, nothing declared
    with pytest.raises(ParseError, match="rule=flops_unit"):
        parse_top500_xls(fixture_dir / "TOP500_201711.xls", list_date="2017-11", list_size=4, flops_unit="GFlop/s")


def test_list_edition_and_size_are_checked(fixture_dir):
    with pytest.raises(ParseError, match="rule=list_edition"):
        parse_top500_xls(fixture_dir / "TOP500_201711.xls", list_date="2018-11", list_size=4)
    with pytest.raises(ParseError, match="rule=list_complete"):
        parse_top500_xlsx(fixture_dir / "TOP500_202411.xlsx", list_date="2024-11", list_size=500)
    with pytest.raises(ParseError, match="rule=parser_options"):
        parse_top500_xlsx(fixture_dir / "TOP500_202411.xlsx", list_date="2024-12", list_size=4)
