"""External composite AI indices: Oxford Insights GAIRI, IMF AIPI, Tortoise Global AI Index.

Formats:
- ``parse_gari_workbook``: Oxford Insights' 2024 GAIRI xlsx, sheet "Scores per pillar and dimension" (total, 3 pillars,
  10 dimensions; one row per country, names only).
- ``parse_gari_panel_csv``: the curated 2019-2025 overall-score panel (iso3, country, year, rank, ..., score_raw,
  score_scale, source_file, source_sheet); scores kept on the scale each edition published (0-10 in 2019).
- ``parse_aipi_workbook``: the IMF AI Preparedness Index xlsx (AIPI 0-1 and four weighted components <= 0.25 each).
- ``parse_tortoise_csv``: the Tortoise Global AI Index CSV (7 sub-pillars and total, relative scores, leader = 100).

Ranks are not emitted: they depend on each edition's coverage (use the scores). Categorical columns (IMF country group,
Tortoise region/cluster/income group/regime) are not values; the IMF group is kept in ``note``.
"""

from __future__ import annotations

import csv
import math
import re
import zipfile
from pathlib import Path
from typing import Iterator

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform, read_text_lines

RECORD_COLUMNS = ["source_code", "indicator_name", "unit", "entity_name", "entity_code", "period", "year", "value",
                  "raw_row", "note"]

# --- shared helpers ---------------------------------------------------------------------------------------------


def csv_records(path: Path, header: list[str], *, encoding: str = "utf-8-sig") -> Iterator[tuple[int, list[str]]]:
    """Yield (physical line number of the record's first line, fields) after checking the exact header."""
    lines = read_text_lines(path, encoding)
    if not lines or all(not line.strip() for line in lines):
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    reader = csv.reader(lines)
    found = next(reader)
    if found != header:
        raise ParseError(f"header {found} is not {header}", file=str(path), row=1, rule="expected_columns")
    previous_end = reader.line_num
    for fields in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if not fields or all(f.strip() == "" for f in fields):
            continue
        if len(fields) != len(header):
            raise ParseError(f"{len(fields)} fields, expected {len(header)}", file=str(path), row=start,
                             rule="field_count")
        yield start, fields


def number(text, path: Path, row: str | int, column: str) -> float:
    """A finite float from a cell (str or number); anything else is a layout error naming the cell."""
    if isinstance(text, bool):
        raise ParseError(f"{column}: boolean {text!r} is not a number", file=str(path), row=row, rule="numeric_value")
    try:
        value = float(text.strip() if isinstance(text, str) else text)
    except (TypeError, ValueError):
        raise ParseError(f"{column}: {text!r} is not a number", file=str(path), row=row, rule="numeric_value") from None
    if not math.isfinite(value):
        raise ParseError(f"{column}: {text!r} is not a finite number", file=str(path), row=row, rule="numeric_value")
    return value


def _blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and cell.strip() == "")


def _year_of(period: str, path: Path) -> int:
    match = re.fullmatch(r"(\d{4})(-(Q[1-4]|H[12]))?", str(period))
    if not match:
        raise ParseError(f"period option {period!r} is not 'YYYY', 'YYYY-Qn' or 'YYYY-Hn'", file=str(path), row=None,
                         rule="period_option")
    return int(match.group(1))


def _frame(records: list[dict], path: Path) -> pd.DataFrame:
    if not records:
        raise ParseError("no values in the file", file=str(path), row=1, rule="non_empty")
    frame = pd.DataFrame.from_records(records, columns=RECORD_COLUMNS)
    key = ["source_code", "entity_name", "entity_code", "period"]
    duplicated = frame[frame.duplicated(key, keep=False)]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        raise ParseError(f"{first['entity_name'] or first['entity_code']} has two {first['source_code']!r} values for "
                         f"{first['period']} (rows {', '.join(duplicated['raw_row'].head(4))})", file=str(path),
                         row=duplicated["raw_row"].iloc[-1], rule="unique_entity_period")
    return conform(frame)


def _sheet_rows(path: Path, sheet: str) -> list[tuple]:
    """All rows of one worksheet as value tuples (openpyxl read-only), or ParseError if it is not an xlsx with it."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.is_file() or path.stat().st_size == 0:
        raise ParseError("file is empty or missing", file=str(path), row=1, rule="non_empty")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, EOFError) as exc:
        raise ParseError(f"not a readable xlsx workbook ({type(exc).__name__}: {exc})", file=str(path), row=1,
                         rule="xlsx_format") from None
    try:
        if sheet not in workbook.sheetnames:
            raise ParseError(f"no sheet {sheet!r}; sheets are {workbook.sheetnames}", file=str(path), row=f"{sheet}!1",
                             rule="expected_sheet")
        try:
            return [tuple(row) for row in workbook[sheet].iter_rows(values_only=True)]
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
            raise ParseError(f"sheet {sheet!r} cannot be read ({type(exc).__name__}: {exc})", file=str(path),
                             row=f"{sheet}!1", rule="xlsx_format") from None
    finally:
        workbook.close()


def _check_sheet_header(rows: list[tuple], header_row: int, expected: list, path: Path, sheet: str) -> None:
    if len(rows) < header_row:
        raise ParseError(f"sheet has {len(rows)} rows, header expected on row {header_row}", file=str(path),
                         row=f"{sheet}!{header_row}", rule="expected_columns")
    found = [None if _blank(c) else (c.strip() if isinstance(c, str) else c) for c in rows[header_row - 1]]
    found_head = found[: len(expected)] + [None] * (len(expected) - len(found))
    if found_head != expected or any(c is not None for c in found[len(expected):]):
        raise ParseError(f"header {found} is not {expected}", file=str(path), row=f"{sheet}!{header_row}",
                         rule="expected_columns")


def _padded(row: tuple, width: int) -> tuple:
    return tuple(row[:width]) + (None,) * (width - len(row))


# --- Oxford Insights: Government AI Readiness Index ------------------------------------------------------------------

GARI_SHEET = "Scores per pillar and dimension"
GARI_HEADER = [
    "Country", "Total", "Ranking", "Government", "Technology Sector", "Data and Infrastructure", None, "Vision",
    "Governance and Ethics", "Digital Capacity", "Adaptability", "Maturity", "Innovation Capacity", "Human Capital",
    "Infrastructure", "Data Availability", "Data Representativeness",
]
GARI_SKIPPED = {"Country", "Ranking", None}  # Ranking is filled for 106 of 188 rows only (see PROVENANCE)


def parse_gari_workbook(path: Path, *, period: str, unit: str, index_name: str, sheet: str = GARI_SHEET,
                        header_row: int = 2) -> pd.DataFrame:
    """GAIRI xlsx: row 1 groups ("Pillars", "Dimensions"), row 2 the column names, then one row per country.

    Emits Total, the 3 pillars and the 10 dimensions, source_code = the column name verbatim, entity_code None
    (the sheet has names only), raw_row "<sheet>!<row>". Blank cells are dropped; text in a score cell fails.
    Fully empty rows (the export carries a 1000-row grid) are skipped.
    """
    year = _year_of(period, path)
    rows = _sheet_rows(path, sheet)
    _check_sheet_header(rows, header_row, GARI_HEADER, path, sheet)
    groups: list[str | None] = []
    current = None
    for cell in _padded(rows[header_row - 2], len(GARI_HEADER)) if header_row >= 2 else [None] * len(GARI_HEADER):
        current = cell.strip() if isinstance(cell, str) and cell.strip() else current
        groups.append(current)
    records = []
    for row_number, row in enumerate(rows[header_row:], start=header_row + 1):
        row = _padded(row, len(GARI_HEADER))
        if all(_blank(c) for c in row):
            continue
        where = f"{sheet}!{row_number}"
        country = row[0]
        if _blank(country) or not isinstance(country, str):
            raise ParseError(f"row has values but no country name ({country!r})", file=str(path), row=where,
                             rule="entity_present")
        for column, group, cell in zip(GARI_HEADER, groups, row):
            if column in GARI_SKIPPED or _blank(cell):
                continue
            label = f"{index_name}: {column}" + (f" ({group.lower().rstrip('s')})" if group else " score")
            records.append({
                "source_code": column, "indicator_name": label, "unit": unit, "entity_name": country.strip(),
                "entity_code": None, "period": str(period), "year": year, "value": number(cell, path, where, column),
                "raw_row": where, "note": None,
            })
    return _frame(records, path)


GARI_PANEL_HEADER = ["iso3", "country", "year", "rank", "n_ranked", "score_raw", "score_scale", "source_file",
                     "source_sheet"]


def parse_gari_panel_csv(path: Path, *, indicator_name: str, scale_units: dict, edition_notes: dict | None = None,
                         encoding: str = "utf-8") -> pd.DataFrame:
    """Curated GAIRI overall-score panel: one row per country-edition; emits ``score_raw`` only (ranks are not kept).

    The unit comes from ``score_scale`` through ``scale_units`` (e.g. "0-10" -> "score (0-10)"), so the 2019 values
    stay on their published 0-10 scale; an unknown scale or a score outside its scale fails. ``note`` records the
    scale, the edition's rank and coverage (context only), the publisher workbook/sheet the panel row was built from,
    and ``edition_notes[year]`` (series breaks).
    """
    edition_notes = {str(k): v for k, v in (edition_notes or {}).items()}
    records = []
    for line, fields in csv_records(path, GARI_PANEL_HEADER, encoding=encoding):
        row = dict(zip(GARI_PANEL_HEADER, (f.strip() for f in fields)))
        if not re.fullmatch(r"\d{4}", row["year"]):
            raise ParseError(f"year {row['year']!r} is not a 4-digit year", file=str(path), row=line,
                             rule="year_format")
        if not row["iso3"] and not row["country"]:
            raise ParseError("row has no iso3 and no country", file=str(path), row=line, rule="entity_present")
        if row["score_raw"] == "":
            continue
        scale = row["score_scale"]
        if scale not in scale_units:
            raise ParseError(f"score_scale {scale!r} is not one of {sorted(scale_units)}", file=str(path), row=line,
                             rule="known_scale")
        value = number(row["score_raw"], path, line, "score_raw")
        low, high = (float(x) for x in scale.split("-"))
        if not low <= value <= high:
            raise ParseError(f"score_raw {value} is outside its {scale} scale", file=str(path), row=line,
                             rule="value_in_scale")
        note = (f"scale={scale}; rank={row['rank'] or 'n/a'} of {row['n_ranked'] or 'n/a'}; "
                f"source_file={row['source_file']}; source_sheet={row['source_sheet']}")
        if edition_notes.get(row["year"]):
            note += f"; {edition_notes[row['year']]}"
        records.append({
            "source_code": "score_raw", "indicator_name": indicator_name, "unit": scale_units[scale],
            "entity_name": row["country"] or None, "entity_code": row["iso3"] or None, "period": row["year"],
            "year": int(row["year"]), "value": value, "raw_row": str(line), "note": note,
        })
    return _frame(records, path)


# --- IMF: AI Preparedness Index ----------------------------------------------------------------------------------

AIPI_SHEET = "AIPI"
AIPI_HEADER = ["Country", "iso3", "type", "AIPI", "Digitial Infrastructure", "Innovation and Economic Integration",
               "Human Capital and Labor Market Policies", "Regulation and Ethics"]  # "Digitial" (sic) as published
AIPI_TOTAL = "AIPI"
AIPI_COMPONENTS = AIPI_HEADER[4:]


def parse_aipi_workbook(path: Path, *, period: str, total_unit: str, component_unit: str, total_name: str,
                        component_name_prefix: str, missing_markers: list[str] = ("NA",), sheet: str = AIPI_SHEET,
                        header_row: int = 2, sum_tolerance: float = 1e-6) -> pd.DataFrame:
    """IMF AIPI xlsx: row 1 "Components of AIPI", row 2 the header, then one row per economy with its iso3 code.

    AIPI is on 0-1; the four components are weighted contributions (each <= 0.25) that add up to AIPI, kept as
    published. ``missing_markers`` cells (e.g. "NA") are dropped. Where all five values are present, AIPI must equal
    the components' sum within ``sum_tolerance`` (guards against shifted columns). Note = the IMF country group.
    Entities are keyed by ``iso3``: the file names both COG and COD "Congo".
    """
    year = _year_of(period, path)
    markers = {m.strip().casefold() for m in missing_markers}
    rows = _sheet_rows(path, sheet)
    _check_sheet_header(rows, header_row, AIPI_HEADER, path, sheet)
    records = []
    for row_number, row in enumerate(rows[header_row:], start=header_row + 1):
        row = _padded(row, len(AIPI_HEADER))
        if all(_blank(c) for c in row):
            continue
        where = f"{sheet}!{row_number}"
        name, code, group = (c.strip() if isinstance(c, str) else c for c in row[:3])
        if _blank(code) or not isinstance(code, str):
            raise ParseError(f"row has values but no iso3 code ({code!r})", file=str(path), row=where,
                             rule="entity_present")
        values = {}
        for column, cell in zip(AIPI_HEADER[3:], row[3:]):
            if _blank(cell) or (isinstance(cell, str) and cell.strip().casefold() in markers):
                continue
            values[column] = number(cell, path, where, column)
        if len(values) == 1 + len(AIPI_COMPONENTS):
            total = sum(values[c] for c in AIPI_COMPONENTS)
            if abs(total - values[AIPI_TOTAL]) > sum_tolerance:
                raise ParseError(f"AIPI {values[AIPI_TOTAL]} is not the sum of its components ({total})",
                                 file=str(path), row=where, rule="components_sum_to_total")
        for column, value in values.items():
            is_total = column == AIPI_TOTAL
            records.append({
                "source_code": column,
                "indicator_name": total_name if is_total else f"{component_name_prefix}{column}",
                "unit": total_unit if is_total else component_unit, "entity_name": name or None, "entity_code": code,
                "period": str(period), "year": year, "value": value, "raw_row": where,
                "note": f"type={group}" if not _blank(group) else None,
            })
    return _frame(records, path)


# --- Tortoise Media: The Global AI Index --------------------------------------------------------------------------

TORTOISE_HEADER = ["Country", "Talent", "Infrastructure", "Operating Environment", "Research", "Development",
                   "Government Strategy", "Commercial", "Total score", "Region", "Cluster", "Income group",
                   "Political regime"]
TORTOISE_VALUES = TORTOISE_HEADER[1:9]


def parse_tortoise_csv(path: Path, *, period: str, unit: str, index_name: str, edition_note: str,
                       encoding: str = "utf-8") -> pd.DataFrame:
    """Tortoise GAII CSV (CRLF), one row per country, names only: emits the 7 sub-pillars and ``Total score``.

    The edition is not stated in the file: ``period`` comes from the registry (PROVENANCE: probably the 2020-21
    edition) and ``edition_note`` goes into every value's note so the uncertainty travels with the number.
    Scores are relative (leader = 100, bottom = 0). Region/Cluster/Income group/Political regime are not values.
    """
    year = _year_of(period, path)
    records = []
    for line, fields in csv_records(path, TORTOISE_HEADER, encoding=encoding):
        country = fields[0].strip()
        if not country:
            raise ParseError("row has values but no country name", file=str(path), row=line, rule="entity_present")
        for column, cell in zip(TORTOISE_VALUES, fields[1:9]):
            if cell.strip() == "":
                continue
            records.append({
                "source_code": column, "indicator_name": f"{index_name}: {column}", "unit": unit,
                "entity_name": country, "entity_code": None, "period": str(period), "year": year,
                "value": number(cell, path, line, column), "raw_row": str(line), "note": edition_note,
            })
    return _frame(records, path)
