"""OECD formats: OECD.AI chart exports (VC investments, AI publications) and the reshaped AI-patent panel.

- ``parse_oecdai_export``: an OECD.AI "download data" CSV, one row per economy-year, with an ISO3/aggregate code
  column, a label column, constant dimension columns (``INDUSTRY``/``STAGE``, ``ai_concept``/``impact_level``/
  ``pub_type``) and one value column. The value column's name is kept verbatim as ``source_code``; the expected
  header, which columns play which role and the dimension filters come from ``parser_options``.
- ``parse_patent_panel``: the third party's panel ``iso3c,ano,<count columns...>,ano_incompleto`` reshaped from the
  OECD SDMX API; each count column becomes its own ``source_code`` (column name verbatim).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform, read_text_lines

MISSING = {"", "NA", "NaN", ".."}


def _records(lines: list[str], delimiter: str = ","):
    """Yield (first physical line number, fields) for each non-blank record after the header (line 1)."""
    reader = csv.reader(lines[1:], delimiter=delimiter)
    previous_end = 1
    for fields in reader:
        start = previous_end + 1
        previous_end = reader.line_num + 1
        if not fields or all(f.strip() == "" for f in fields):
            continue
        yield start, fields


def _header(path: Path, lines: list[str], expected: list[str]) -> list[str]:
    if not lines or all(not line.strip() for line in lines):
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    if lines[0].lstrip().lower().startswith(("<!doctype", "<html", "<?xml")):
        raise ParseError("file is HTML/XML, not CSV", file=str(path), row=1, rule="not_csv")
    header = next(csv.reader([lines[0]]))
    if header != expected:
        raise ParseError(f"header {header} is not {expected}", file=str(path), row=1, rule="expected_columns")
    return header


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParseError(f"{column} value {text!r} is not a number", file=str(path), row=line,
                         rule="numeric_value") from None


def _year(text: str, path: Path, line: int) -> int:
    if not re.fullmatch(r"\d{4}", text.strip()):
        raise ParseError(f"year {text!r} is not a 4-digit year", file=str(path), row=line, rule="year_format")
    return int(text)


def _check_unique(frame: pd.DataFrame, path: Path) -> None:
    keys = ["source_code", "entity_code", "entity_name", "period"]
    duplicated = frame[frame.duplicated(keys, keep=False)]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        raise ParseError(
            f"{first['entity_code'] or first['entity_name']} {first['period']} {first['source_code']} appears more "
            f"than once (rows {', '.join(duplicated['raw_row'].astype(str))})",
            file=str(path), row=duplicated["raw_row"].iloc[-1], rule="unique_entity_period",
        )


def parse_oecdai_export(
    path: Path,
    *,
    columns: list[str],
    code_column: str,
    label_column: str,
    value_column: str,
    year_column: str,
    indicator_name: str,
    unit: str,
    filters: dict[str, str] | None = None,
    period_notes: dict[str, str] | None = None,
) -> pd.DataFrame:
    """An OECD.AI chart export: one row per economy-year; constant dimension columns; one value column.

    ``columns`` is the exact expected header. Rows whose dimension columns differ from ``filters`` are skipped
    (a filter that matches no row at all is a layout change and raises). ``source_code`` is ``value_column``
    verbatim. Blank/``NA`` values are dropped; explicit zeros are kept as exported. ``period_notes`` attaches a
    documented remark to every value of a period (e.g. a partial year). Missing economy-years stay missing.
    """
    filters = filters or {}
    period_notes = {str(k): v for k, v in (period_notes or {}).items()}
    lines = read_text_lines(path, "utf-8-sig")
    header = _header(path, lines, list(columns))
    index = {name: position for position, name in enumerate(header)}
    for column in [code_column, label_column, value_column, year_column, *filters]:
        if column not in index:
            raise ParseError(f"option names column {column!r}, not in {header}", file=str(path), row=1,
                             rule="expected_columns")
    records = []
    matched = 0
    for line, fields in _records(lines):
        if len(fields) != len(header):
            raise ParseError(f"{len(fields)} fields, expected {len(header)}", file=str(path), row=line,
                             rule="field_count")
        if any(fields[index[c]] != wanted for c, wanted in filters.items()):
            continue
        matched += 1
        year = _year(fields[index[year_column]], path, line)
        text = fields[index[value_column]].strip()
        if text in MISSING:
            continue
        code = fields[index[code_column]].strip()
        if not code:
            raise ParseError(f"{code_column} is blank", file=str(path), row=line, rule="entity_code")
        records.append({
            "entity_code": code,
            "entity_name": fields[index[label_column]].strip() or None,
            "period": str(year),
            "year": year,
            "value": _number(text, path, line, value_column),
            "raw_row": str(line),
            "note": period_notes.get(str(year)),
        })
    if matched == 0:
        raise ParseError(f"no data row matches the filters {filters}", file=str(path), row=2, rule="filters")
    frame = pd.DataFrame(records, columns=["entity_code", "entity_name", "period", "year", "value", "raw_row",
                                           "note"])
    frame["source_code"] = value_column
    frame["indicator_name"] = indicator_name
    frame["unit"] = unit
    _check_unique(frame, path)
    return conform(frame)


PATENT_HEADER_START = ["iso3c", "ano"]
PATENT_FLAG = "ano_incompleto"


def parse_patent_panel(
    path: Path,
    *,
    indicators: dict[str, dict[str, str]],
    incomplete_note: str,
) -> pd.DataFrame:
    """`"iso3c","ano",<value columns>,"ano_incompleto"`: one row per economy-year, one column per count.

    ``indicators`` maps each value column (kept verbatim as ``source_code``) to ``{name, unit}``; the header must
    be exactly ``iso3c, ano, <those columns in order>, ano_incompleto``. ``NA``/blank cells are dropped; zeros are
    the OECD's published zeros and are kept. Rows with ``ano_incompleto`` TRUE carry ``incomplete_note``.
    """
    value_columns = list(indicators)
    expected = [*PATENT_HEADER_START, *value_columns, PATENT_FLAG]
    lines = read_text_lines(path, "utf-8-sig")
    header = _header(path, lines, expected)
    records = []
    for line, fields in _records(lines):
        if len(fields) != len(header):
            raise ParseError(f"{len(fields)} fields, expected {len(header)}", file=str(path), row=line,
                             rule="field_count")
        code = fields[0].strip()
        if not re.fullmatch(r"[A-Z0-9_]{2,}", code):
            raise ParseError(f"iso3c {code!r} is not a code", file=str(path), row=line, rule="entity_code")
        year = _year(fields[1], path, line)
        flag = fields[-1].strip().upper()
        if flag not in {"TRUE", "FALSE"}:
            raise ParseError(f"{PATENT_FLAG} {fields[-1]!r} is not TRUE/FALSE", file=str(path), row=line,
                             rule="flag_value")
        for column, text in zip(value_columns, fields[2:-1]):
            text = text.strip()
            if text in MISSING:
                continue
            records.append({
                "source_code": column,
                "indicator_name": indicators[column]["name"],
                "unit": indicators[column]["unit"],
                "entity_code": code,
                "entity_name": None,
                "period": str(year),
                "year": year,
                "value": _number(text, path, line, column),
                "raw_row": str(line),
                "note": incomplete_note if flag == "TRUE" else None,
            })
    frame = pd.DataFrame(records, columns=["source_code", "indicator_name", "unit", "entity_code", "entity_name",
                                           "period", "year", "value", "raw_row", "note"])
    _check_unique(frame, path)
    return conform(frame)
