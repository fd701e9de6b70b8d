"""World Bank WDI formats: the Datahub long CSV and the World Bank API's wide CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from pipelines.lib.errors import ParseError
from pipelines.lib.parsers import conform, read_text_lines

DATAHUB_HEADER = ["Country Name", "Country Code", "Year", "Value"]
API_ID_COLUMNS = ["Country Name", "Country Code", "Indicator Name", "Indicator Code"]


def _number(text: str, path: Path, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParseError(f"value {text!r} is not a number", file=str(path), row=line, rule="numeric_value") from None


def parse_datahub_long(path: Path, *, source_code: str, indicator_name: str, unit: str) -> pd.DataFrame:
    """`Country Name,Country Code,Year,Value`, one row per economy-year; blank cells already dropped upstream."""
    lines = read_text_lines(path)
    if not lines:
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    header = next(csv.reader([lines[0]]))
    if header != DATAHUB_HEADER:
        raise ParseError(f"header {header} is not {DATAHUB_HEADER}", file=str(path), row=1, rule="expected_columns")
    records = []
    for line_number, fields in enumerate(csv.reader(lines[1:]), start=2):
        if not fields:
            continue
        if len(fields) != 4:
            raise ParseError(f"{len(fields)} fields, expected 4", file=str(path), row=line_number, rule="field_count")
        name, code, year, value = fields
        if not re.fullmatch(r"\d{4}", year):
            raise ParseError(f"year {year!r} is not a 4-digit year", file=str(path), row=line_number, rule="year_format")
        if value.strip() == "":
            continue
        records.append((name, code, year, int(year), _number(value, path, line_number), str(line_number)))
    frame = pd.DataFrame(records, columns=["entity_name", "entity_code", "period", "year", "value", "raw_row"])
    frame["source_code"] = source_code
    frame["indicator_name"] = indicator_name
    frame["unit"] = unit
    return conform(frame)


def _api_header_index(lines: list[str], path: Path) -> int:
    """The API CSV starts with `Data Source`/`Last Updated Date` lines (sometimes stripped): find the header."""
    for index, line in enumerate(lines[:10]):
        if line.lstrip("\ufeff").startswith('"Country Name"') or line.startswith("Country Name"):
            return index
    raise ParseError("no 'Country Name' header in the first 10 lines", file=str(path), row=1, rule="expected_columns")


def parse_api_wide(path: Path, *, unit: str) -> pd.DataFrame:
    """`Country Name,Country Code,Indicator Name,Indicator Code,1960,...,2024,` (trailing comma), one row per economy."""
    lines = read_text_lines(path)
    if not lines:
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    header_index = _api_header_index(lines, path)
    header = next(csv.reader([lines[header_index]]))
    while header and header[-1] == "":
        header.pop()
    if header[:4] != API_ID_COLUMNS:
        raise ParseError(
            f"first columns {header[:4]} are not {API_ID_COLUMNS}", file=str(path), row=header_index + 1,
            rule="expected_columns",
        )
    years = header[4:]
    bad_years = [y for y in years if not re.fullmatch(r"\d{4}", y)]
    if bad_years:
        raise ParseError(f"year columns {bad_years} are not years", file=str(path), row=header_index + 1,
                         rule="expected_columns")
    records = []
    body = io.StringIO("\n".join(lines[header_index + 1:]))
    for offset, fields in enumerate(csv.reader(body)):
        line_number = header_index + 2 + offset
        if not fields or all(f == "" for f in fields):
            continue
        while len(fields) > len(header) and fields[-1] == "":
            fields.pop()
        if len(fields) != len(header):
            raise ParseError(f"{len(fields)} fields, expected {len(header)}", file=str(path), row=line_number,
                             rule="field_count")
        name, code, indicator_name, indicator_code = fields[:4]
        for year, value in zip(years, fields[4:]):
            if value.strip() == "":
                continue
            records.append((indicator_code, indicator_name, name, code, year, int(year),
                            _number(value, path, line_number), str(line_number)))
    frame = pd.DataFrame(records, columns=["source_code", "indicator_name", "entity_name", "entity_code", "period",
                                           "year", "value", "raw_row"])
    frame["unit"] = unit
    return conform(frame)


def read_country_metadata(path: Path) -> pd.DataFrame:
    """`Metadata_Country_*.csv`: Country Code, Region, IncomeGroup, ..., TableName. Blank Region = aggregate."""
    lines = read_text_lines(path)
    if not lines:
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    frame = pd.read_csv(io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False)
    frame = frame.loc[:, [c for c in frame.columns if not c.startswith("Unnamed")]]
    required = {"Country Code", "Region", "IncomeGroup", "TableName"}
    if not required <= set(frame.columns):
        raise ParseError(f"columns {sorted(frame.columns)} lack {sorted(required - set(frame.columns))}",
                         file=str(path), row=1, rule="expected_columns")
    return pd.DataFrame({
        "code": frame["Country Code"].str.strip(),
        "name": frame["TableName"].str.strip(),
        "region": frame["Region"].str.strip().replace("", None),
        "income_group": frame["IncomeGroup"].str.strip().replace("", None),
        "is_aggregate": frame["Region"].str.strip() == "",
    })
