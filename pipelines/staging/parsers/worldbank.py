"""World Bank WDI formats: the Datahub long CSV and the World Bank API's wide CSV."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform, read_text_lines

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


# --- DuckDB-native readers: staging's fast path for large World Bank files ----------------------------------------
# They give exactly the rows of the parsers above (values, periods, raw_row lineage) without a Python object per
# row. Each returns None when the file has anything the plain reader would not treat identically (an unexpected
# header, blank or continued lines, odd line ends); staging then calls the parser above, which also raises the
# precise ParseError for a bad file. Rows whose year or value the parser would refuse come back flagged `_bad`,
# and a file with any of them goes to the parser too.

_SPLITLINES_EXTRA = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")
_NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"  # what float() reads, without spaces or words
_CSV_OPTIONS = "auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = true, parallel = false"


@dataclass(frozen=True)
class NativeRead:
    """SQL of one file's rows: PARSER_COLUMNS plus _rn (record number), _col (value slot), _keep (a value, not a
    blank cell) and _bad (the parser would refuse the row); `records` is how many records the file must yield."""

    sql: str
    records: int


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _plain_body_lines(body: bytes) -> int | None:
    """Lines in `body` when every line ends in one consistent way and none is blank, else None."""
    if not body:
        return 0
    if any(sep in body for sep in _SPLITLINES_EXTRA) or body.startswith((b"\n", b"\r")):
        return None
    if body.count(b"\r") != body.count(b"\r\n") or b"\n\n" in body or b"\n\r\n" in body:
        return None
    return body.count(b"\n") + (0 if body.endswith(b"\n") else 1)


def _first_line(data: bytes, start: int) -> tuple[str, int] | None:
    """The line starting at byte `start` (decoded) and the offset just after its line end."""
    end = data.find(b"\n", start)
    end = len(data) if end < 0 else end + 1
    try:
        return data[start:end].decode("utf-8").rstrip("\r\n"), end
    except UnicodeDecodeError:
        return None


def native_datahub_long(path: Path, *, source_code: str, indicator_name: str, unit: str) -> NativeRead | None:
    """parse_datahub_long's rows as DuckDB SQL (see the section comment)."""
    data = path.read_bytes()
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    first = _first_line(data, start)
    if first is None or next(csv.reader([first[0]]), None) != DATAHUB_HEADER:
        return None
    records = _plain_body_lines(data[first[1]:])
    if records is None:
        return None
    columns = "{'n': 'VARCHAR', 'c': 'VARCHAR', 'y': 'VARCHAR', 'v': 'VARCHAR'}"
    sql = f"""
        SELECT {_literal(source_code)} AS source_code, {_literal(indicator_name)} AS indicator_name,
               {_literal(unit)} AS unit, coalesce(n, '') AS entity_name, coalesce(c, '') AS entity_code,
               y AS period, TRY_CAST(y AS BIGINT) AS year, TRY_CAST(v AS DOUBLE) AS value,
               CAST(_rn + 1 AS VARCHAR) AS raw_row, CAST(NULL AS VARCHAR) AS note,
               _rn, 0 AS _col, coalesce(v, '') <> '' AS _keep,
               NOT regexp_full_match(coalesce(y, ''), '[0-9]{{4}}')
                 OR (coalesce(v, '') <> '' AND NOT regexp_full_match(v, '{_NUMBER}')) AS _bad
        FROM (SELECT row_number() OVER () AS _rn, *
              FROM read_csv({_literal(path)}, header = true, {_CSV_OPTIONS}, columns = {columns}))"""
    return NativeRead(sql, records)


def native_api_wide(path: Path, *, unit: str) -> NativeRead | None:
    """parse_api_wide's rows as DuckDB SQL (see the section comment)."""
    data = path.read_bytes()
    offset = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    header_index, header_fields = None, None
    for index in range(10):
        line = _first_line(data, offset)
        if line is None or offset >= len(data):
            return None
        text, after = line
        if text.startswith('"Country Name"') or text.startswith("Country Name"):
            header_index, header_fields = index, next(csv.reader([text]))
            break
        offset = after
    if header_index is None:
        return None
    header = list(header_fields)
    while header and header[-1] == "":
        header.pop()
    years = header[4:]
    if header[:4] != API_ID_COLUMNS or not years or any(not re.fullmatch(r"[0-9]{4}", y) for y in years) \
            or len(set(years)) != len(years):
        return None
    records = _plain_body_lines(data[after:])
    if records is None:
        return None
    trailing = [f"t{i}" for i in range(len(header_fields) - len(header))]
    names = ["c0", "c1", "c2", "c3", *[f"y{y}" for y in years], *trailing]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    trailing_bad = " OR ".join(f"coalesce({t}, '') <> ''" for t in trailing) or "false"
    sql = f"""
        SELECT c3 AS source_code, c2 AS indicator_name, {_literal(unit)} AS unit, c0 AS entity_name,
               c1 AS entity_code, period, CAST(period AS BIGINT) AS year, TRY_CAST(value AS DOUBLE) AS value,
               CAST(_rn + {header_index + 1} AS VARCHAR) AS raw_row, CAST(NULL AS VARCHAR) AS note,
               _rn, _col, coalesce(value, '') <> '' AS _keep,
               _trailing_bad OR (coalesce(value, '') <> '' AND NOT regexp_full_match(value, '{_NUMBER}')) AS _bad
        FROM (SELECT _rn, coalesce(c0, '') AS c0, coalesce(c1, '') AS c1, coalesce(c2, '') AS c2,
                     coalesce(c3, '') AS c3, _trailing_bad,
                     unnest([{", ".join(f"y{y}" for y in years)}]) AS value,
                     unnest([{", ".join(_literal(y) for y in years)}]) AS period,
                     unnest(range({len(years)})) AS _col
              FROM (SELECT row_number() OVER () AS _rn, *, {trailing_bad} AS _trailing_bad
                    FROM read_csv({_literal(path)}, skip = {header_index}, header = true, {_CSV_OPTIONS},
                                  columns = {columns})))"""
    return NativeRead(sql, records)


NATIVE_READERS = {"worldbank_datahub_long": native_datahub_long, "worldbank_api_wide": native_api_wide}
