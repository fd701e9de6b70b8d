"""Our World in Data grapher CSV exports: ``Entity,Code,Year,<value column>[,<value column>...]``.

One row per entity-year, UTF-8, LF, fields quoted only when they contain a comma. The short-column-name variant
(``entity,code,year,<short_name>``, e.g. the PISA export) is the same layout with lower-case id columns; the YAML
passes ``id_columns`` for it.

- ``source_code`` is ``<chart slug>/<value column>``: the column name is kept verbatim, qualified by the OWID
  chart slug (the file's name on ourworldindata.org/grapher/) because OWID reuses generic column names such as
  ``All`` for different charts (publications, patents, investment) inside one source.
- ``indicator_name`` is the column name as published.
- ``Code`` is ISO 3166-1 alpha-3 for countries, ``OWID_KOS`` for Kosovo, ``OWID_*`` (e.g. ``OWID_WRL``) for OWID
  aggregates; CSET groups, patent offices and survey averages have an empty code (``entity_code`` None). The
  parser does not guess which entities are aggregates: the source's ``entity_overrides`` map every aggregate
  name/code to null (one empty-code entity, "Republic of the Congo" in the World Risk Poll file, is a country).
- Blank cells (a column without a value for that entity-year) are dropped, never turned into 0.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform, read_text_lines

ID_COLUMNS = ["Entity", "Code", "Year"]


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ParseError(f"column {column!r}: value {text!r} is not a number", file=str(path), row=line,
                         rule="numeric_value")
    return value


def parse_grapher(
    path: Path,
    *,
    chart: str,
    value_columns: list[str],
    unit: str,
    id_columns: list[str] | None = None,
    note: str | None = None,
    column_notes: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Every value column of one OWID grapher CSV as long rows.

    Options (from the YAML): ``chart`` the grapher slug; ``value_columns`` the exact value column names expected
    after the id columns (a renamed, added or missing column fails, rule ``expected_columns``); ``unit`` the unit
    of every value column of this file; ``id_columns`` defaults to ``Entity,Code,Year``; ``note`` is attached to
    every value, ``column_notes`` to the values of one column (e.g. a projection column).
    """
    id_columns = list(id_columns or ID_COLUMNS)
    column_notes = dict(column_notes or {})
    expected = id_columns + list(value_columns)
    unknown_notes = set(column_notes) - set(value_columns)
    if unknown_notes:
        raise ParseError(f"column_notes name columns {sorted(unknown_notes)} that are not value columns",
                         file=str(path), row=1, rule="parser_options")
    lines = read_text_lines(path)
    if not lines or not lines[0].strip():
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    header = next(csv.reader([lines[0]]))
    if header != expected:
        raise ParseError(f"header {header} is not {expected}", file=str(path), row=1, rule="expected_columns")
    records, seen = [], {}
    for line_number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = next(csv.reader([line]))
        if len(fields) != len(expected):
            raise ParseError(f"{len(fields)} fields, expected {len(expected)}", file=str(path), row=line_number,
                             rule="field_count")
        entity, code, year = (f.strip() for f in fields[:3])
        if not entity:
            raise ParseError("empty entity name", file=str(path), row=line_number, rule="entity_name")
        if not re.fullmatch(r"-?\d{1,4}", year):
            raise ParseError(f"year {year!r} is not a year", file=str(path), row=line_number, rule="year_format")
        key = (entity, code, year)
        if key in seen:
            raise ParseError(f"{entity} {year} repeats line {seen[key]}", file=str(path), row=line_number,
                             rule="duplicate_key")
        seen[key] = line_number
        for column, text in zip(value_columns, fields[3:]):
            if text.strip() == "":
                continue
            notes = [n for n in (note, column_notes.get(column)) if n]
            records.append((
                f"{chart}/{column}", column, entity, code or None, year, int(year),
                _number(text.strip(), path, line_number, column), str(line_number),
                "; ".join(notes) if notes else None,
            ))
    if not seen:
        raise ParseError("no data rows after the header", file=str(path), row=2, rule="non_empty")
    frame = pd.DataFrame(records, columns=["source_code", "indicator_name", "entity_name", "entity_code", "period",
                                           "year", "value", "raw_row", "note"])
    frame["unit"] = unit
    return conform(frame)
