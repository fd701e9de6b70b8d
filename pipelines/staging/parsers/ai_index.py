"""Stanford HAI AI Index 2025: a third party's country extracts with Portuguese column names (R ``write.csv``).

Layout: comma-separated UTF-8, LF, every header and text field double-quoted, numbers unquoted, ``NA`` = missing.

- ``ai_index_transversal.csv`` — cross-section, one row per economy: ``iso3c,pais,<value columns>``. It carries
  no year column: the YAML gives ``period``/``year`` (the last year the values cover) and a ``note`` per column
  saying what span it covers (e.g. investment cumulative 2013–2024).
- ``ai_index_pais_ano.csv`` — panel, one row per economy-year: ``iso3c,ano,<value columns>``.

``source_code`` is the column name verbatim. Only the columns listed in ``value_columns`` are emitted; every other
column must be listed in ``skip_columns`` (the third party's own derivations, which are not published values), so
an added or renamed column fails loudly (rule ``expected_columns``). ``NA`` and blank cells are dropped.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform, read_text_lines

MISSING = {"", "NA"}


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ParseError(f"column {column!r}: value {text!r} is not a number", file=str(path), row=line,
                         rule="numeric_value")
    return value


def _check_options(path: Path, value_columns: dict, skip_columns: list[str]) -> None:
    for column, spec in value_columns.items():
        if not isinstance(spec, dict) or not spec.get("unit") or not spec.get("indicator_name"):
            raise ParseError(f"value column {column!r} needs indicator_name and unit", file=str(path), row=1,
                             rule="parser_options")
    overlap = set(value_columns) & set(skip_columns)
    if overlap:
        raise ParseError(f"columns {sorted(overlap)} are both emitted and skipped", file=str(path), row=1,
                         rule="parser_options")


def _parse(path: Path, id_columns: list[str], value_columns: dict, skip_columns: list[str], period_of):
    _check_options(path, value_columns, skip_columns)
    lines = read_text_lines(path)
    if not lines or not lines[0].strip():
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    header = next(csv.reader([lines[0]]))
    if header[: len(id_columns)] != id_columns:
        raise ParseError(f"first columns {header[:len(id_columns)]} are not {id_columns}", file=str(path), row=1,
                         rule="expected_columns")
    rest = header[len(id_columns):]
    expected = set(value_columns) | set(skip_columns)
    if sorted(rest) != sorted(expected) or len(set(rest)) != len(rest):
        raise ParseError(
            f"value columns {rest} differ from the expected {sorted(expected)} (missing "
            f"{sorted(expected - set(rest))}, unexpected {sorted(set(rest) - expected)})",
            file=str(path), row=1, rule="expected_columns",
        )
    records, seen = [], {}
    for line_number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = next(csv.reader([line]))
        if len(fields) != len(header):
            raise ParseError(f"{len(fields)} fields, expected {len(header)}", file=str(path), row=line_number,
                             rule="field_count")
        row = dict(zip(header, fields))
        code = row["iso3c"].strip()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ParseError(f"iso3c {code!r} is not a 3-letter code", file=str(path), row=line_number,
                             rule="entity_code_format")
        name = row.get("pais", "").strip() or None
        period, year = period_of(row, line_number)
        if (code, period) in seen:
            raise ParseError(f"{code} {period} repeats line {seen[code, period]}", file=str(path), row=line_number,
                             rule="duplicate_key")
        seen[code, period] = line_number
        for column, spec in value_columns.items():
            text = row[column].strip()
            if text in MISSING:
                continue
            records.append((column, spec["indicator_name"], spec["unit"], name, code, period, year,
                            _number(text, path, line_number, column), str(line_number), spec.get("note")))
    if not seen:
        raise ParseError("no data rows after the header", file=str(path), row=2, rule="non_empty")
    frame = pd.DataFrame(records, columns=["source_code", "indicator_name", "unit", "entity_name", "entity_code",
                                           "period", "year", "value", "raw_row", "note"])
    return conform(frame)


def parse_cross_section(
    path: Path, *, period: str, value_columns: dict, skip_columns: list[str] | None = None
) -> pd.DataFrame:
    """`iso3c,pais,<columns>`: one row per economy; every value gets the YAML's ``period`` (a 4-digit year).

    ``value_columns`` maps each emitted column to {indicator_name, unit, note}; the note states the span a value
    covers (cumulative 2013–2024 sums are filed under period "2024").
    """
    if not re.fullmatch(r"\d{4}", str(period)):
        raise ParseError(f"period {period!r} is not a 4-digit year", file=str(path), row=1, rule="parser_options")
    period = str(period)
    return _parse(path, ["iso3c", "pais"], value_columns, list(skip_columns or []),
                  lambda row, line: (period, int(period)))


def parse_panel(path: Path, *, value_columns: dict, skip_columns: list[str] | None = None) -> pd.DataFrame:
    """`iso3c,ano,<columns>`: one row per economy-year; period = ``ano``."""

    def period_of(row: dict, line: int) -> tuple[str, int]:
        year = row["ano"].strip()
        if not re.fullmatch(r"\d{4}", year):
            raise ParseError(f"ano {year!r} is not a 4-digit year", file=str(path), row=line, rule="year_format")
        return year, int(year)

    return _parse(path, ["iso3c", "ano"], value_columns, list(skip_columns or []), period_of)
