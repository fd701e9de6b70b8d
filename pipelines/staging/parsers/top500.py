"""TOP500 supercomputer lists (TOP500.org): legacy .xls, .xlsx, and a European-locale CSV re-export.

Every file is one list of ``list_size`` systems, one row per system (``Rank`` 1..500). The parsers turn the record
list into per-country, per-list aggregates:

- ``systems``          number of list entries whose ``Country`` is that country (unit "systems");
- ``Rmax [TFlop/s]``   sum of the entries' Rmax (HPL benchmark performance), in TFlop/s;
- ``Rpeak [TFlop/s]``  sum of the entries' Rpeak (theoretical peak), in TFlop/s.

Units: lists up to 2016-11 give Rmax/Rpeak in GFlop/s under a unit-less header (``RMax``/``Rmax``), which the
registry declares with ``flops_unit: GFlop/s``; from 2017-11 the header itself says ``Rmax [TFlop/s]``. Everything is
normalised to TFlop/s (GFlop/s / 1000), and converted values say so in ``note``. A header unit that contradicts the
declared ``flops_unit`` is a ParseError, and so is a unit-less header without a declared unit.

Period: the list date (``list_date`` option, "YYYY-06" or "YYYY-11") becomes "YYYY-H1" for June lists and "YYYY-H2"
for November lists; ``year`` is the list year. Worksheets named by the list edition number (e.g. "64") are checked
against ``list_date`` (edition 1 = June 1993, two lists a year).

``raw_row`` lists every contributing record: "Sheet!row" for workbooks (1-based, header = row 1), the physical line
number for the CSV; comma-separated. A value cell that is blank does not contribute to a sum (``note`` then says how
many entries lack it); a country with no value at all for a column gets no row for it. Countries are reported as
published (``entity_name``); ``entity_code`` is None. Only the first worksheet is read (TOP500_202311.xlsx carries a
transposed copy in ``Sheet1``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform, read_text_lines

FLOPS_HEADER = re.compile(r"^(?P<name>rmax|rpeak)\s*(?:\[(?P<unit>[a-z]+)/s\])?$", re.IGNORECASE)
TO_TFLOPS = {"gflop": 1e-3, "tflop": 1.0}
INDICATORS = {
    "systems": ("Number of TOP500 systems located in the country", "systems"),
    "Rmax [TFlop/s]": ("Sum of Rmax (HPL performance) of the country's TOP500 systems", "TFlop/s"),
    "Rpeak [TFlop/s]": ("Sum of Rpeak (theoretical peak performance) of the country's TOP500 systems", "TFlop/s"),
}


@dataclass
class _Layout:
    """Where the needed columns are, and the factor that brings Rmax/Rpeak to TFlop/s."""

    rank: int
    country: int
    rmax: int
    rpeak: int
    factor: float
    conversion_note: str | None
    headers: dict[str, str] = field(default_factory=dict)


def _period(list_date: str, path: Path) -> tuple[str, int, int]:
    match = re.fullmatch(r"(\d{4})-(06|11)", str(list_date))
    if not match:
        raise ParseError(f"list_date {list_date!r} is not 'YYYY-06' or 'YYYY-11'", file=str(path), row=None,
                         rule="parser_options")
    year, month = int(match.group(1)), int(match.group(2))
    edition = (year - 1993) * 2 + (1 if month == 6 else 2)
    return f"{year}-{'H1' if month == 6 else 'H2'}", year, edition


def _layout(header: list, path: Path, row_label: str, flops_unit: str | None) -> _Layout:
    names = [str(h).strip() if h is not None else "" for h in header]
    wanted: dict[str, int] = {}
    units: dict[str, str | None] = {}
    for index, name in enumerate(names):
        if name == "Rank" and "rank" not in wanted:
            wanted["rank"] = index
        elif name == "Country" and "country" not in wanted:
            wanted["country"] = index
        elif (match := FLOPS_HEADER.match(name)) and match.group("name").lower() not in wanted:
            key = match.group("name").lower()
            wanted[key] = index
            units[key] = match.group("unit").lower() if match.group("unit") else None
    missing = [label for label in ("Rank", "Country", "Rmax", "Rpeak") if label.lower() not in wanted]
    if missing:
        raise ParseError(f"header lacks {missing} (found {names})", file=str(path), row=row_label,
                         rule="expected_columns")
    declared = flops_unit.strip().lower().removesuffix("/s") if flops_unit else None
    if declared is not None and declared not in TO_TFLOPS:
        raise ParseError(f"flops_unit {flops_unit!r} is not GFlop/s or TFlop/s", file=str(path), row=row_label,
                         rule="parser_options")
    header_units = {units["rmax"], units["rpeak"]} - {None}
    if len(header_units) > 1 or (header_units and None in (units["rmax"], units["rpeak"])):
        raise ParseError(f"Rmax and Rpeak headers carry different units {units}", file=str(path), row=row_label,
                         rule="flops_unit")
    header_unit = header_units.pop() if header_units else None
    if header_unit is not None and header_unit not in TO_TFLOPS:
        raise ParseError(f"Rmax header unit {header_unit!r}/s is not GFlop/s or TFlop/s", file=str(path),
                         row=row_label, rule="flops_unit")
    if header_unit and declared and header_unit != declared:
        raise ParseError(f"header says {header_unit}/s but the registry declares {flops_unit}", file=str(path),
                         row=row_label, rule="flops_unit")
    unit = header_unit or declared
    if unit is None:
        raise ParseError("Rmax/Rpeak headers carry no unit and no flops_unit is declared", file=str(path),
                         row=row_label, rule="flops_unit")
    rmax_header, rpeak_header = names[wanted["rmax"]], names[wanted["rpeak"]]
    note = None
    if unit != "tflop":
        note = f"converted from GFlop/s (headers {rmax_header!r}/{rpeak_header!r}) to TFlop/s: value / 1000"
    return _Layout(wanted["rank"], wanted["country"], wanted["rmax"], wanted["rpeak"], TO_TFLOPS[unit], note,
                   {"Rmax [TFlop/s]": rmax_header, "Rpeak [TFlop/s]": rpeak_header})


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _workbook_number(value, path: Path, row_label: str, column: str) -> float:
    if isinstance(value, bool):
        raise ParseError(f"{column} {value!r} is not a number", file=str(path), row=row_label, rule="numeric_value")
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise ParseError(f"{column} {value!r} is not a number", file=str(path), row=row_label,
                         rule="numeric_value") from None


def _aggregate(records: list[tuple], layout: _Layout, *, period: str, year: int, list_size: int,
               path: Path) -> pd.DataFrame:
    """records: (rank, country, rmax or None, rpeak or None, row_ref) in file order."""
    ranks = [r[0] for r in records]
    if ranks != list(range(1, len(ranks) + 1)) or len(ranks) != list_size:
        bad = next((i for i, rank in enumerate(ranks) if rank != i + 1), None)
        where = records[bad][4] if bad is not None else (records[-1][4] if records else "2")
        raise ParseError(f"ranks do not run 1..{list_size} (found {len(ranks)} entries"
                         + (f", rank {ranks[bad]} where {bad + 1} was expected" if bad is not None else "") + ")",
                         file=str(path), row=where, rule="list_complete")
    by_country: dict[str, list[tuple]] = {}
    for record in records:
        by_country.setdefault(record[1], []).append(record)
    rows = []
    for country, members in by_country.items():
        rows.append(("systems", country, float(len(members)), ",".join(m[4] for m in members), None))
        for code, position in (("Rmax [TFlop/s]", 2), ("Rpeak [TFlop/s]", 3)):
            valued = [m for m in members if m[position] is not None]
            if not valued:
                continue
            notes = [layout.conversion_note] if layout.conversion_note else []
            if len(valued) < len(members):
                notes.append(f"sum over {len(valued)} of {len(members)} systems; "
                             f"{len(members) - len(valued)} lack {layout.headers[code]!r}")
            total = sum(m[position] for m in valued) * layout.factor
            rows.append((code, country, total, ",".join(m[4] for m in valued), "; ".join(notes) or None))
    frame = pd.DataFrame(rows, columns=["source_code", "entity_name", "value", "raw_row", "note"])
    frame["indicator_name"] = frame["source_code"].map(lambda c: INDICATORS[c][0])
    frame["unit"] = frame["source_code"].map(lambda c: INDICATORS[c][1])
    frame["entity_code"] = None
    frame["period"] = period
    frame["year"] = year
    return conform(frame)


def _records_from_rows(rows, layout: _Layout, path: Path, number) -> list[tuple]:
    """rows: iterable of (row_ref, cells). number(value, row_ref, column) parses one numeric cell."""
    records = []
    for row_ref, cells in rows:
        if all(_is_blank(c) for c in cells):
            continue
        width = max(layout.rank, layout.country, layout.rmax, layout.rpeak) + 1
        if len(cells) < width:
            raise ParseError(f"{len(cells)} cells, expected at least {width}", file=str(path), row=row_ref,
                             rule="field_count")
        rank_cell, country = cells[layout.rank], cells[layout.country]
        if _is_blank(rank_cell):
            raise ParseError("blank Rank", file=str(path), row=row_ref, rule="rank_present")
        rank = number(rank_cell, row_ref, "Rank")
        if rank != int(rank):
            raise ParseError(f"Rank {rank_cell!r} is not a whole number", file=str(path), row=row_ref,
                             rule="numeric_value")
        if _is_blank(country):
            raise ParseError("blank Country: the system cannot be attributed", file=str(path), row=row_ref,
                             rule="country_present")
        rmax = None if _is_blank(cells[layout.rmax]) else number(cells[layout.rmax], row_ref, "Rmax")
        rpeak = None if _is_blank(cells[layout.rpeak]) else number(cells[layout.rpeak], row_ref, "Rpeak")
        records.append((int(rank), str(country).strip(), rmax, rpeak, row_ref))
    return records


def _check_edition(sheet_name: str, edition: int, list_date: str, path: Path) -> None:
    if sheet_name.strip().isdigit() and int(sheet_name) != edition:
        raise ParseError(f"worksheet {sheet_name!r} is list edition {sheet_name}, but list_date {list_date} is "
                         f"edition {edition}", file=str(path), row=f"{sheet_name}!1", rule="list_edition")


def parse_top500_xls(path: Path, *, list_date: str, list_size: int = 500,
                     flops_unit: str | None = None) -> pd.DataFrame:
    """Legacy Excel 97-2003 workbook (TOP500_201011.xls ... TOP500_201911.xls); the list is the first sheet."""
    import xlrd

    path = Path(path)
    period, year, edition = _period(list_date, path)
    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
        sheet = book.sheet_by_index(0)
    except Exception as exc:  # xlrd raises XLRDError, CompDocError, AssertionError... on a damaged/non-xls file
        raise ParseError(f"not a readable .xls workbook: {exc}", file=str(path), row=1,
                         rule="workbook_format") from None
    _check_edition(sheet.name, edition, list_date, path)
    if sheet.nrows == 0:
        raise ParseError("first worksheet is empty", file=str(path), row=f"{sheet.name}!1", rule="non_empty")
    layout = _layout(sheet.row_values(0), path, f"{sheet.name}!1", flops_unit)

    def number(value, row_ref, column):
        return _workbook_number(value, path, row_ref, column)

    rows = ((f"{sheet.name}!{index + 1}", sheet.row_values(index)) for index in range(1, sheet.nrows))
    records = _records_from_rows(rows, layout, path, number)
    return _aggregate(records, layout, period=period, year=year, list_size=list_size, path=path)


def parse_top500_xlsx(path: Path, *, list_date: str, list_size: int = 500,
                      flops_unit: str | None = None) -> pd.DataFrame:
    """Office Open XML workbook (TOP500_202006.xlsx onwards); the list is the first sheet."""
    import openpyxl

    path = Path(path)
    period, year, edition = _period(list_date, path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # BadZipFile, InvalidFileException, KeyError on a damaged/non-xlsx file
        raise ParseError(f"not a readable .xlsx workbook: {exc}", file=str(path), row=1,
                         rule="workbook_format") from None
    try:
        sheet = book.worksheets[0]
        _check_edition(sheet.title, edition, list_date, path)
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ParseError("first worksheet is empty", file=str(path), row=f"{sheet.title}!1", rule="non_empty")
        layout = _layout(list(header), path, f"{sheet.title}!1", flops_unit)

        def number(value, row_ref, column):
            return _workbook_number(value, path, row_ref, column)

        numbered = ((f"{sheet.title}!{index}", list(cells)) for index, cells in enumerate(rows, start=2))
        records = _records_from_rows(numbered, layout, path, number)
    finally:
        book.close()
    return _aggregate(records, layout, period=period, year=year, list_size=list_size, path=path)


def _locale_number(text: str, *, decimal: str, thousands: str) -> float:
    """'1 742 000,00' -> 1742000.0 with decimal=',' thousands=' '; strict: anything else raises ValueError."""
    value = text.strip()
    digits = r"\d{1,3}(?:" + re.escape(thousands) + r"\d{3})*|\d+" if thousands else r"\d+"
    if not re.fullmatch(r"-?(?:" + digits + r")(?:" + re.escape(decimal) + r"\d+)?", value):
        raise ValueError(value)
    if thousands:
        value = value.replace(thousands, "")
    return float(value.replace(decimal, "."))


def parse_top500_csv(path: Path, *, list_date: str, list_size: int = 500, flops_unit: str | None = None,
                     delimiter: str = ";", decimal: str = ",", thousands: str = " ",
                     encoding: str = "utf-8-sig") -> pd.DataFrame:
    """CSV re-export of a TOP500 list (TOP500_202506.csv): ``;``-separated, decimal comma, space thousands separator,
    UTF-8 with BOM, CRLF; same columns as the xlsx. ``raw_row`` = physical line numbers (header = line 1)."""
    path = Path(path)
    period, year, _ = _period(list_date, path)
    lines = read_text_lines(path, encoding)
    if not lines or all(not line.strip() for line in lines):
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    if lines[0].lstrip().lower().startswith(("<!doctype", "<html")):
        raise ParseError("file is HTML, not CSV (a login or error page?)", file=str(path), row=1, rule="not_html")
    reader = csv.reader(lines, delimiter=delimiter)
    header = next(reader)
    if len(header) < 4:
        raise ParseError(f"header has {len(header)} field(s) with delimiter {delimiter!r}", file=str(path), row=1,
                         rule="expected_columns")
    layout = _layout(header, path, "1", flops_unit)

    def number(value, row_ref, column):
        try:
            return _locale_number(str(value), decimal=decimal, thousands=thousands)
        except ValueError:
            raise ParseError(f"{column} {value!r} is not a number in the {decimal!r}-decimal locale",
                             file=str(path), row=row_ref, rule="numeric_value") from None

    numbered = []
    previous_line = reader.line_num
    for fields in reader:
        row_ref = str(previous_line + 1)  # the record's first physical line
        previous_line = reader.line_num
        if fields and len(fields) != len(header):
            raise ParseError(f"{len(fields)} fields, expected {len(header)}", file=str(path), row=row_ref,
                             rule="field_count")
        numbered.append((row_ref, fields))
    records = _records_from_rows(numbered, layout, path, number)
    return _aggregate(records, layout, period=period, year=year, list_size=list_size, path=path)
