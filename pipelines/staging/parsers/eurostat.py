"""Eurostat formats: user-made wide extracts (`;`, decimal comma, UTF-8 BOM) and SDMX-CSV exports with labels.

- ``parse_wide_semicolon``: ``COUNTRY;2021;2023;...`` one row per country (names, no codes, no flags), values
  with a decimal comma (``10,32``). ``:`` or blank = not available, dropped. The file carries no indicator code, so
  ``source_code`` (the Eurostat code the extract was taken from, e.g. ``E_AI_TANY``) comes from ``parser_options``.
  ``withheld`` lists documented cells that must not be used until checked (entity, period, reason): they are
  dropped, never altered. ``period_notes`` attaches a documented remark (e.g. a break in series) to a period.
- ``parse_sdmx_csv``: Eurostat's SDMX-CSV "labels" download ``DATAFLOW,LAST UPDATE,freq,<dimensions...>,geo,
  TIME_PERIOD,OBS_VALUE,OBS_FLAG,CONF_STATUS``. Each combination of the dimension labels is one series:
  ``source_code`` = ``source_code_prefix`` + the labels joined by ``|`` (verbatim), ``unit`` = the ``unit`` label.
  ``filters`` keeps only the listed labels of a dimension (e.g. ``ind_type: [All individuals]``). Blank values and
  flag ``z`` (not applicable) are dropped; other flags are spelled out in ``note``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform, read_text_lines

EUROSTAT_FLAGS = {  # Eurostat's published observation flags
    "b": "break in time series",
    "c": "confidential",
    "d": "definition differs",
    "e": "estimated",
    "f": "forecast",
    "n": "not significant",
    "p": "provisional",
    "r": "revised",
    "s": "Eurostat estimate",
    "u": "low reliability",
    "z": "not applicable",
}
NOT_AVAILABLE = {"", ":"}


def _check_text(path: Path, lines: list[str]) -> None:
    if not lines or all(not line.strip() for line in lines):
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    if lines[0].lstrip().lower().startswith(("<!doctype", "<html", "<?xml", "{")):
        raise ParseError("file is HTML/XML/JSON, not CSV", file=str(path), row=1, rule="not_csv")


def _records(lines: list[str], delimiter: str):
    """Yield (first physical line number, fields) for each non-blank record after the header (line 1)."""
    reader = csv.reader(lines[1:], delimiter=delimiter)
    previous_end = 1
    for fields in reader:
        start = previous_end + 1
        previous_end = reader.line_num + 1
        if not fields or all(f.strip() == "" for f in fields):
            continue
        yield start, fields


def decimal_comma(text: str, path: Path, line: int) -> float:
    """`10,32` -> 10.32; a point, a thousands separator or any other text is a layout error."""
    if not re.fullmatch(r"-?\d+(,\d+)?", text):
        raise ParseError(f"value {text!r} is not a decimal-comma number", file=str(path), row=line,
                         rule="numeric_value")
    return float(text.replace(",", "."))


def parse_wide_semicolon(
    path: Path,
    *,
    entity_column: str,
    source_code: str,
    indicator_name: str,
    unit: str,
    period_notes: dict[str, str] | None = None,
    withheld: list[dict] | None = None,
) -> pd.DataFrame:
    period_notes = {str(k): v for k, v in (period_notes or {}).items()}
    skip = {(str(w["entity"]), str(w["period"])) for w in (withheld or [])}
    lines = read_text_lines(path, "utf-8-sig")
    _check_text(path, lines)
    header = [h.strip() for h in next(csv.reader([lines[0]], delimiter=";"))]
    if len(header) < 2 or header[0] != entity_column:
        raise ParseError(f"header {header} does not start with {entity_column!r} and year columns",
                         file=str(path), row=1, rule="expected_columns")
    years = header[1:]
    bad = [y for y in years if not re.fullmatch(r"\d{4}", y)]
    if bad or len(set(years)) != len(years):
        raise ParseError(f"year columns {years} are not distinct 4-digit years", file=str(path), row=1,
                         rule="expected_columns")
    records = []
    seen: dict[str, int] = {}
    for line, fields in _records(lines, ";"):
        if len(fields) != len(header):
            raise ParseError(f"{len(fields)} fields, expected {len(header)}", file=str(path), row=line,
                             rule="field_count")
        entity = fields[0].strip()
        if not entity:
            raise ParseError(f"{entity_column} is blank", file=str(path), row=line, rule="entity_name")
        if entity in seen:
            raise ParseError(f"{entity} already on row {seen[entity]}", file=str(path), row=line,
                             rule="unique_entity_period")
        seen[entity] = line
        for year, text in zip(years, fields[1:]):
            text = text.strip()
            if text in NOT_AVAILABLE:
                continue
            value = decimal_comma(text, path, line)
            if (entity, year) in skip:
                continue
            records.append((entity, year, int(year), value, str(line), period_notes.get(year)))
    frame = pd.DataFrame(records, columns=["entity_name", "period", "year", "value", "raw_row", "note"])
    frame["entity_code"] = None
    frame["source_code"] = source_code
    frame["indicator_name"] = indicator_name
    frame["unit"] = unit
    return conform(frame)


SDMX_LEAD = ["DATAFLOW", "LAST UPDATE", "freq"]
SDMX_TAIL = ["geo", "TIME_PERIOD", "OBS_VALUE", "OBS_FLAG", "CONF_STATUS"]


def _period(text: str, path: Path, line: int) -> tuple[str, int]:
    if re.fullmatch(r"\d{4}", text):
        return text, int(text)
    if match := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        return f"{match[1]}-Q{match[2]}", int(match[1])
    if match := re.fullmatch(r"(\d{4})-S([12])", text):
        return f"{match[1]}-H{match[2]}", int(match[1])
    raise ParseError(f"TIME_PERIOD {text!r} is not a year, quarter or semester", file=str(path), row=line,
                     rule="period_format")


def parse_sdmx_csv(
    path: Path,
    *,
    dimensions: list[str],
    source_code_prefix: str,
    filters: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Eurostat SDMX-CSV with labels; ``dimensions`` = the columns between ``freq`` and ``geo`` (must include
    ``unit``), exactly as in the header."""
    filters = {k: set(v) for k, v in (filters or {}).items()}
    expected = [*SDMX_LEAD, *dimensions, *SDMX_TAIL]
    lines = read_text_lines(path, "utf-8-sig")
    _check_text(path, lines)
    header = next(csv.reader([lines[0]]))
    if header != expected:
        raise ParseError(f"header {header} is not {expected}", file=str(path), row=1, rule="expected_columns")
    if "unit" not in dimensions or any(k not in dimensions for k in filters):
        raise ParseError(f"options: dimensions {dimensions} must include 'unit' and every filter {sorted(filters)}",
                         file=str(path), row=1, rule="parser_options")
    index = {name: position for position, name in enumerate(header)}
    records = []
    matched = 0
    seen: dict[tuple, int] = {}
    for line, fields in _records(lines, ","):
        if len(fields) != len(header):
            raise ParseError(f"{len(fields)} fields, expected {len(header)}", file=str(path), row=line,
                             rule="field_count")
        labels = [fields[index[d]].strip() for d in dimensions]
        if any(fields[index[d]].strip() not in wanted for d, wanted in filters.items()):
            continue
        matched += 1
        geo = fields[index["geo"]].strip()
        if not geo:
            raise ParseError("geo is blank", file=str(path), row=line, rule="entity_name")
        period, year = _period(fields[index["TIME_PERIOD"]].strip(), path, line)
        key = (*labels, geo, period)
        if key in seen:
            raise ParseError(f"{' | '.join(key)} already on row {seen[key]}", file=str(path), row=line,
                             rule="unique_entity_period")
        seen[key] = line
        text = fields[index["OBS_VALUE"]].strip()
        flags = fields[index["OBS_FLAG"]].strip()
        if text in NOT_AVAILABLE or "z" in flags:
            continue
        try:
            value = float(text)
        except ValueError:
            raise ParseError(f"OBS_VALUE {text!r} is not a number", file=str(path), row=line,
                             rule="numeric_value") from None
        notes = []
        for flag in flags:
            if flag not in EUROSTAT_FLAGS:
                raise ParseError(f"unknown OBS_FLAG {flag!r}", file=str(path), row=line, rule="flag_value")
            notes.append(f"flag {flag}: {EUROSTAT_FLAGS[flag]}")
        if conf := fields[index["CONF_STATUS"]].strip():
            notes.append(f"CONF_STATUS {conf}")
        records.append({
            "source_code": source_code_prefix + "|".join(labels),
            "indicator_name": " | ".join(labels),
            "unit": labels[dimensions.index("unit")],
            "entity_name": geo,
            "entity_code": None,
            "period": period,
            "year": year,
            "value": value,
            "raw_row": str(line),
            "note": "; ".join(notes) or None,
        })
    if filters and matched == 0:
        raise ParseError(f"no data row matches the filters {filters}", file=str(path), row=2, rule="filters")
    frame = pd.DataFrame(records, columns=["source_code", "indicator_name", "unit", "entity_name", "entity_code",
                                           "period", "year", "value", "raw_row", "note"])
    return conform(frame)
