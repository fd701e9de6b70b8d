"""Generative-AI usage formats that must never be pooled: each parser gives its measure a distinct source_code.

- ``parse_ai_diffusion``: Microsoft AI Economy Institute's AI Diffusion country CSV, ``Economy,H1 2025 AI
  Diffusion,...,Q1 2026 AI Diffusion`` (Mac Roman, CRLF, values like ``59.40%``). Telemetry-based AI user share.
  Each column header is ``<H1|H2|Q1..Q4> <year> <measure>``: period ``2025-H1`` / ``2026-Q1``, ``source_code`` =
  ``source_code_prefix`` + the measure as published (``AI Diffusion``).
- ``parse_mic_white_paper``: the curated table of Japan MIC 情報通信白書 survey figures (online panel survey),
  ``iso3,country_name,survey_fiscal_year,value,unit,indicator,publication,url,location_in_document,
  evidence_quality,note``. The period is the survey's fiscal year as a plain year (``2024``) and the note says
  ``fiscal year FY2024 (Japan, April–March)``; values whose ``evidence_quality`` starts with ``SECONDARY`` say so
  in the note.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform, read_text_lines

DIFFUSION_COLUMN = re.compile(r"(H[12]|Q[1-4]) (\d{4}) (.+)")


def _looks_like_other_utf8(path: Path, encoding: str) -> None:
    """Mac Roman maps every byte, so a strict decode never fails: catch a file that is really UTF-8 instead
    (non-ASCII bytes that form valid UTF-8 would decode to mojibake such as 'TÃ¼rkiye')."""
    if encoding.replace("-", "_").lower() not in {"mac_roman", "macroman", "macintosh"}:
        return
    data = path.read_bytes()
    if max(data, default=0) < 0x80:
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    position = next(i for i, ch in enumerate(text) if ord(ch) >= 0x80)
    raise ParseError(f"non-ASCII bytes are valid UTF-8, not {encoding} (e.g. {text[position]!r})",
                     file=str(path), row=text[:position].count("\n") + 1, rule="encoding")


def _rows(lines: list[str]):
    reader = csv.reader(lines[1:])
    previous_end = 1
    for fields in reader:
        start = previous_end + 1
        previous_end = reader.line_num + 1
        if not fields or all(f.strip() == "" for f in fields):
            continue
        yield start, fields


def _check_text(path: Path, lines: list[str]) -> None:
    if not lines or all(not line.strip() for line in lines):
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    if lines[0].lstrip().lower().startswith(("<!doctype", "<html", "<?xml", "{")):
        raise ParseError("file is HTML/XML/JSON, not CSV", file=str(path), row=1, rule="not_csv")


def parse_ai_diffusion(
    path: Path,
    *,
    encoding: str,
    source_code_prefix: str,
    indicator_name: str,
    unit: str,
) -> pd.DataFrame:
    _looks_like_other_utf8(path, encoding)
    lines = read_text_lines(path, encoding)
    _check_text(path, lines)
    header = next(csv.reader([lines[0]]))
    if not header or header[0] != "Economy" or len(header) < 2:
        raise ParseError(f"header {header} does not start with 'Economy' and period columns", file=str(path),
                         row=1, rule="expected_columns")
    columns = []
    for name in header[1:]:
        match = DIFFUSION_COLUMN.fullmatch(name.strip())
        if not match:
            raise ParseError(f"column {name!r} is not '<H1|H2|Q1..Q4> <year> <measure>'", file=str(path), row=1,
                             rule="expected_columns")
        half_or_quarter, year, measure = match.groups()
        columns.append((f"{year}-{half_or_quarter}", int(year), measure))
    records = []
    seen: dict[str, int] = {}
    for line, fields in _rows(lines):
        if len(fields) != len(header):
            raise ParseError(f"{len(fields)} fields, expected {len(header)}", file=str(path), row=line,
                             rule="field_count")
        economy = fields[0].strip()
        if not economy:
            raise ParseError("Economy is blank", file=str(path), row=line, rule="entity_name")
        if economy in seen:
            raise ParseError(f"{economy} already on row {seen[economy]}", file=str(path), row=line,
                             rule="unique_entity_period")
        seen[economy] = line
        for (period, year, measure), text in zip(columns, fields[1:]):
            text = text.strip()
            if text == "":
                continue
            if not re.fullmatch(r"\d+(\.\d+)?%", text):
                raise ParseError(f"value {text!r} is not a percentage like '59.40%'", file=str(path), row=line,
                                 rule="numeric_value")
            records.append({
                "source_code": source_code_prefix + measure,
                "indicator_name": indicator_name,
                "unit": unit,
                "entity_name": economy,
                "entity_code": None,
                "period": period,
                "year": year,
                "value": float(text[:-1]),
                "raw_row": str(line),
                "note": None,
            })
    return conform(pd.DataFrame(records, columns=["source_code", "indicator_name", "unit", "entity_name",
                                                  "entity_code", "period", "year", "value", "raw_row", "note"]))


MIC_HEADER = ["iso3", "country_name", "survey_fiscal_year", "value", "unit", "indicator", "publication", "url",
              "location_in_document", "evidence_quality", "note"]


def parse_mic_white_paper(
    path: Path,
    *,
    source_code: str,
    indicator: str,
    indicator_name: str,
    unit: str,
) -> pd.DataFrame:
    """Every row's ``indicator`` must start with the ``indicator`` option and its ``unit`` equal ``unit``: a row
    measuring something else must not slip into this series."""
    lines = read_text_lines(path, "utf-8-sig")
    _check_text(path, lines)
    header = next(csv.reader([lines[0]]))
    if header != MIC_HEADER:
        raise ParseError(f"header {header} is not {MIC_HEADER}", file=str(path), row=1, rule="expected_columns")
    records = []
    seen: dict[tuple[str, str], int] = {}
    for line, fields in _rows(lines):
        if len(fields) != len(MIC_HEADER):
            raise ParseError(f"{len(fields)} fields, expected {len(MIC_HEADER)}", file=str(path), row=line,
                             rule="field_count")
        row = dict(zip(MIC_HEADER, (f.strip() for f in fields)))
        if not re.fullmatch(r"[A-Z]{3}", row["iso3"]):
            raise ParseError(f"iso3 {row['iso3']!r} is not an ISO3 code", file=str(path), row=line,
                             rule="entity_code")
        if not re.fullmatch(r"\d{4}", row["survey_fiscal_year"]):
            raise ParseError(f"survey_fiscal_year {row['survey_fiscal_year']!r} is not a 4-digit year",
                             file=str(path), row=line, rule="year_format")
        if not row["indicator"].startswith(indicator):
            raise ParseError(f"indicator {row['indicator']!r} is not {indicator!r}", file=str(path), row=line,
                             rule="indicator")
        if row["unit"] != unit:
            raise ParseError(f"unit {row['unit']!r} is not {unit!r}", file=str(path), row=line, rule="unit")
        key = (row["iso3"], row["survey_fiscal_year"])
        if key in seen:
            raise ParseError(f"{key[0]} FY{key[1]} already on row {seen[key]}", file=str(path), row=line,
                             rule="unique_entity_period")
        seen[key] = line
        if row["value"] == "":
            continue
        try:
            value = float(row["value"])
        except ValueError:
            raise ParseError(f"value {row['value']!r} is not a number", file=str(path), row=line,
                             rule="numeric_value") from None
        fiscal_year = row["survey_fiscal_year"]
        notes = [f"fiscal year FY{fiscal_year} (Japan, April–March)"]
        if row["evidence_quality"].upper().startswith("SECONDARY"):
            notes.append("SECONDARY value, not read from the MIC document itself "
                         f"(evidence: {row['evidence_quality']})")
        notes.append(f"source: {row['publication']}, {row['location_in_document']}, {row['url']}")
        if row["note"]:
            notes.append(row["note"])
        records.append({
            "entity_code": row["iso3"],
            "entity_name": row["country_name"] or None,
            "period": fiscal_year,
            "year": int(fiscal_year),
            "value": value,
            "raw_row": str(line),
            "note": "; ".join(notes),
        })
    frame = pd.DataFrame(records, columns=["entity_code", "entity_name", "period", "year", "value", "raw_row",
                                           "note"])
    frame["source_code"] = source_code
    frame["indicator_name"] = indicator_name
    frame["unit"] = unit
    return conform(frame)
