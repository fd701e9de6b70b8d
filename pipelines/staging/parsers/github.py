"""GitHub Innovation Graph quarterly CSVs (github/innovationgraph, `data/*.csv`).

Two layouts, both comma-separated UTF-8 with LF line endings and no quoting:

- metric files ``<metric>,iso2_code,year,quarter`` (developers, organizations, repositories, git_pushes):
  one row per economy-quarter;
- ``topics.csv`` ``num_pushers,topic,iso2_code,year,quarter``: unique developers pushing to repositories tagged
  with a topic, one row per topic-economy-quarter.

Economies are ISO 3166-1 alpha-2 codes as published, plus ``EU`` (European Union aggregate) and ``XK`` (Kosovo);
no names are published, so ``entity_name`` is None. Quarters become periods "2024-Q3" with ``year`` 2024.
GitHub withholds any economy-quarter value with fewer than 100 unique developers by leaving the row out: a missing
row is missing, never 0 (a blank value cell, which the files do not currently have, is dropped the same way).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform, read_text_lines

KEY_COLUMNS = ["iso2_code", "year", "quarter"]
TOPICS_HEADER = ["num_pushers", "topic", "iso2_code", "year", "quarter"]


def _rows(path: Path, expected_header: list[str]) -> list[tuple[int, list[str]]]:
    """Decode strictly, check the header, return (physical line number, fields) for every non-blank data line."""
    lines = read_text_lines(path)
    if not lines or not lines[0].strip():
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    header = next(csv.reader([lines[0]]))
    if header != expected_header:
        raise ParseError(f"header {header} is not {expected_header}", file=str(path), row=1, rule="expected_columns")
    rows = []
    for line_number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = next(csv.reader([line]))
        if len(fields) != len(expected_header):
            raise ParseError(f"{len(fields)} fields, expected {len(expected_header)}", file=str(path),
                             row=line_number, rule="field_count")
        rows.append((line_number, fields))
    if not rows:
        raise ParseError("no data rows after the header", file=str(path), row=2, rule="non_empty")
    return rows


def _period(year: str, quarter: str, path: Path, line: int) -> tuple[str, int]:
    if not re.fullmatch(r"\d{4}", year):
        raise ParseError(f"year {year!r} is not a 4-digit year", file=str(path), row=line, rule="year_format")
    if quarter not in {"1", "2", "3", "4"}:
        raise ParseError(f"quarter {quarter!r} is not 1-4", file=str(path), row=line, rule="quarter_format")
    return f"{year}-Q{quarter}", int(year)


def _count(text: str, path: Path, line: int) -> float:
    if not re.fullmatch(r"\d+", text.strip()):
        raise ParseError(f"value {text!r} is not a non-negative integer count", file=str(path), row=line,
                         rule="integer_value")
    return float(text)


def _code(text: str, path: Path, line: int) -> str:
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise ParseError(f"iso2_code {text!r} is not a 2-letter upper-case code", file=str(path), row=line,
                         rule="entity_code_format")
    return text


def parse_metric(path: Path, *, metric: str, unit: str, indicator_name: str | None = None) -> pd.DataFrame:
    """`<metric>,iso2_code,year,quarter` -> one row per economy-quarter; source_code is the metric column name.

    ``metric`` is the expected first column (e.g. "developers"), so a renamed or swapped file fails loudly.
    """
    rows = _rows(path, [metric, *KEY_COLUMNS])
    records, seen = [], {}
    for line, (value, code, year, quarter) in rows:
        code = _code(code, path, line)
        period, year_int = _period(year, quarter, path, line)
        if (code, period) in seen:
            raise ParseError(f"{code} {period} repeats line {seen[code, period]}", file=str(path), row=line,
                             rule="duplicate_key")
        seen[code, period] = line
        if value.strip() == "":
            continue  # withheld: missing, not zero
        records.append((code, period, year_int, _count(value, path, line), str(line)))
    frame = pd.DataFrame(records, columns=["entity_code", "period", "year", "value", "raw_row"])
    frame["source_code"] = metric
    frame["indicator_name"] = indicator_name or metric
    frame["unit"] = unit
    frame["entity_name"] = None
    return conform(frame)


def parse_topics(path: Path, *, topics: list[str], unit: str) -> pd.DataFrame:
    """`num_pushers,topic,iso2_code,year,quarter` -> the listed topics only, one row per topic-economy-quarter.

    Topics overlap (a repository tagged `ai` and `llm` counts its pushers in both), so each topic stays a separate
    series: source_code is ``num_pushers:<topic>`` and nothing is summed across topics. Every listed topic must
    occur in the file (a renamed or vanished topic fails loudly, rule ``expected_topics``); topics not listed are
    skipped.
    """
    if not topics:
        raise ParseError("no topics requested", file=str(path), row=1, rule="expected_topics")
    wanted = set(topics)
    rows = _rows(path, TOPICS_HEADER)
    records, seen, found = [], {}, set()
    for line, (value, topic, code, year, quarter) in rows:
        if topic not in wanted:
            continue
        found.add(topic)
        code = _code(code, path, line)
        period, year_int = _period(year, quarter, path, line)
        key = (topic, code, period)
        if key in seen:
            raise ParseError(f"{topic} {code} {period} repeats line {seen[key]}", file=str(path), row=line,
                             rule="duplicate_key")
        seen[key] = line
        if value.strip() == "":
            continue
        records.append((f"num_pushers:{topic}", f"Developers pushing to repositories with topic '{topic}'", code,
                        period, year_int, _count(value, path, line), str(line)))
    missing = [t for t in topics if t not in found]
    if missing:
        raise ParseError(f"topics {missing} do not occur in the file", file=str(path), row="all",
                         rule="expected_topics")
    frame = pd.DataFrame(records, columns=["source_code", "indicator_name", "entity_code", "period", "year", "value",
                                           "raw_row"])
    frame["unit"] = unit
    frame["entity_name"] = None
    return conform(frame)
