"""UNESCO UIS Data API / data-browser CSV: `indicatorId,geoUnit,year,value,qualifier,magnitude`.

One indicator per file (e.g. ``FOSGP.5T8.F600.F``), one row per geographic unit and year, ISO3 codes only.

- ``magnitude`` ``NA`` = not applicable: the ``value`` column then holds ``0``, which is not a measurement, so the
  row is dropped. ``NIL`` = magnitude nil, a true zero: kept, with a note. Any other magnitude code raises.
- ``qualifier`` ``NAT_EST`` / ``UIS_EST`` (national / UIS estimate) go to ``note``; an unknown qualifier is kept
  verbatim in the note.
- ``source_code`` is the ``indicatorId`` verbatim; it must equal the ``indicator_id`` option on every row.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform, read_text_lines

UIS_HEADER = ["indicatorId", "geoUnit", "year", "value", "qualifier", "magnitude"]
QUALIFIERS = {"NAT_EST": "national estimate", "UIS_EST": "UIS estimate"}
MAGNITUDE_NOT_APPLICABLE = "NA"
MAGNITUDE_NIL = "NIL"


def parse_uis_indicator_export(path: Path, *, indicator_id: str, indicator_name: str, unit: str) -> pd.DataFrame:
    lines = read_text_lines(path, "utf-8-sig")
    if not lines or all(not line.strip() for line in lines):
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    if lines[0].lstrip().lower().startswith(("<!doctype", "<html", "<?xml", "{")):
        raise ParseError("file is HTML/XML/JSON, not the UIS CSV", file=str(path), row=1, rule="not_csv")
    header = next(csv.reader([lines[0]]))
    if header != UIS_HEADER:
        raise ParseError(f"header {header} is not {UIS_HEADER}", file=str(path), row=1, rule="expected_columns")
    records = []
    seen: dict[tuple[str, str], int] = {}
    reader = csv.reader(lines[1:])
    previous_end = 1
    for fields in reader:
        line = previous_end + 1
        previous_end = reader.line_num + 1
        if not fields or all(f.strip() == "" for f in fields):
            continue
        if len(fields) != len(UIS_HEADER):
            raise ParseError(f"{len(fields)} fields, expected {len(UIS_HEADER)}", file=str(path), row=line,
                             rule="field_count")
        code, geo, year, value, qualifier, magnitude = (f.strip() for f in fields)
        if code != indicator_id:
            raise ParseError(f"indicatorId {code!r} is not {indicator_id!r}", file=str(path), row=line,
                             rule="indicator_id")
        if not re.fullmatch(r"[A-Z0-9_]{2,}", geo):
            raise ParseError(f"geoUnit {geo!r} is not a code", file=str(path), row=line, rule="entity_code")
        if not re.fullmatch(r"\d{4}", year):
            raise ParseError(f"year {year!r} is not a 4-digit year", file=str(path), row=line, rule="year_format")
        if (geo, year) in seen:
            raise ParseError(f"{geo} {year} already on row {seen[geo, year]}", file=str(path), row=line,
                             rule="unique_entity_period")
        seen[geo, year] = line
        if magnitude == MAGNITUDE_NOT_APPLICABLE:
            continue  # "not applicable": the 0 in `value` is a placeholder, not a measurement
        if magnitude not in {"", MAGNITUDE_NIL}:
            raise ParseError(f"unknown magnitude code {magnitude!r}", file=str(path), row=line,
                             rule="magnitude_code")
        if value == "":
            continue
        try:
            number = float(value)
        except ValueError:
            raise ParseError(f"value {value!r} is not a number", file=str(path), row=line,
                             rule="numeric_value") from None
        notes = []
        if qualifier:
            notes.append(QUALIFIERS.get(qualifier, f"qualifier {qualifier}") + f" ({qualifier})")
        if magnitude == MAGNITUDE_NIL:
            notes.append("magnitude nil: a true zero (NIL)")
        records.append((geo, year, int(year), number, str(line), "; ".join(notes) or None))
    frame = pd.DataFrame(records, columns=["entity_code", "period", "year", "value", "raw_row", "note"])
    frame["entity_name"] = None
    frame["source_code"] = indicator_id
    frame["indicator_name"] = indicator_name
    frame["unit"] = unit
    return conform(frame)
