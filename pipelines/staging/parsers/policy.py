"""Government & policy milestones compiled for this project with a citation per cell (curated CSV).

One CSV row per economy x indicator: iso3, country_name, indicator_code, value, year, note, citation_url,
citation_quote, status (verified | secondary | unverified). ``parse_policy_milestones`` turns it into indicators:

- milestone codes (``milestones`` option, e.g. national_ai_strategy_year): ``<code>`` = the milestone's calendar year
  (kind years) and ``<code>:flag`` = 1 if the milestone exists / 0 if a cited source confirms it does not;
- membership codes (``memberships`` option, e.g. gpai_member): ``<code>`` = 1 / 0 as published and ``<code>:year``
  = the year joined, when the file gives one.

Rules (only what the file says):
- ``status=unverified``: no supported value, the cell is MISSING and dropped (never 0);
- empty value with status verified/secondary: the cited source confirms absence -> flag 0 (no year); such a cell
  without a citation URL is inconsistent and fails;
- a published value maps to a flag through ``value_flags`` (default "1" -> 1, and "0" -> 0 for memberships); e.g.
  comprehensive_ai_law_year's ``sectoral_rule`` (China's generative-AI measures, "not a comprehensive law") -> 0,
  and its year is then not emitted as a comprehensive-law year; an unknown value fails;
- period/year of every value = ``reference_period``, the date the file documents its values as of (PROVENANCE:
  sources up to mid-2026); the milestone year is the value of the ``<code>``/``<code>:year`` indicators;
- note = "status=...; source=<url>; quote=<quote>; value=<published value if not 0/1>; remark=<file note>";
- raw_row = the 1-based physical line of the cell's row (header = line 1).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers.indices import _frame, _year_of, csv_records

POLICY_HEADER = ["iso3", "country_name", "indicator_code", "value", "year", "note", "citation_url", "citation_quote",
                 "status"]
STATUSES = {"verified", "secondary", "unverified"}
CONFIRMING = {"verified", "secondary"}


def _note(row: dict) -> str:
    parts = [f"status={row['status']}"]
    if row["citation_url"]:
        parts.append(f"source={row['citation_url']}")
    if row["citation_quote"]:
        parts.append(f"quote={row['citation_quote']}")
    if row["value"] not in ("", "0", "1"):
        parts.append(f"value={row['value']}")
    if row["note"]:
        parts.append(f"remark={row['note']}")
    return "; ".join(parts)


def parse_policy_milestones(path: Path, *, reference_period: str, milestones: dict, memberships: dict,
                            value_flags: dict | None = None, encoding: str = "utf-8") -> pd.DataFrame:
    """See the module docstring. ``milestones``/``memberships`` map each indicator_code to its English label."""
    year_of_reference = _year_of(reference_period, path)
    value_flags = {code: {str(k): int(v) for k, v in mapping.items()} for code, mapping in (value_flags or {}).items()}
    records = []

    def emit(row: dict, line: int, code: str, name: str, unit: str, value: float) -> None:
        records.append({
            "source_code": code, "indicator_name": name, "unit": unit, "entity_name": row["country_name"] or None,
            "entity_code": row["iso3"] or None, "period": str(reference_period), "year": year_of_reference,
            "value": value, "raw_row": str(line), "note": _note(row),
        })

    for line, fields in csv_records(path, POLICY_HEADER, encoding=encoding):
        row = dict(zip(POLICY_HEADER, (f.strip() for f in fields)))
        code, status = row["indicator_code"], row["status"]
        if not row["iso3"] and not row["country_name"]:
            raise ParseError("row has no iso3 and no country_name", file=str(path), row=line, rule="entity_present")
        if status not in STATUSES:
            raise ParseError(f"status {status!r} is not one of {sorted(STATUSES)}", file=str(path), row=line,
                             rule="known_status")
        if code in milestones:
            kind, label = "milestone", milestones[code]
            flags = value_flags.get(code, {"1": 1})
        elif code in memberships:
            kind, label = "membership", memberships[code]
            flags = value_flags.get(code, {"1": 1, "0": 0})
        else:
            raise ParseError(f"indicator_code {code!r} is not a configured milestone or membership", file=str(path),
                             row=line, rule="known_indicator")
        if row["year"] and not re.fullmatch(r"\d{4}", row["year"]):
            raise ParseError(f"year {row['year']!r} is not a 4-digit year", file=str(path), row=line,
                             rule="year_format")
        if status == "unverified":
            continue  # no supported value: missing, not zero
        if row["value"] == "":
            if not row["citation_url"]:
                raise ParseError(f"empty {code} with status {status} but no citation for the stated absence",
                                 file=str(path), row=line, rule="absence_cited")
            flag = 0
        elif row["value"] in flags:
            flag = flags[row["value"]]
        else:
            raise ParseError(f"{code} value {row['value']!r} is not one of {sorted(flags)}", file=str(path), row=line,
                             rule="known_value")
        flag_code = code if kind == "membership" else f"{code}:flag"
        year_code = f"{code}:year" if kind == "membership" else code
        flag_name = f"{label} (1 = yes, 0 = confirmed no; as of {reference_period})"
        year_name = f"{label}: year joined" if kind == "membership" else f"{label}: year"
        emit(row, line, flag_code, flag_name, "flag (1/0)", float(flag))
        if flag == 1 and row["year"]:
            emit(row, line, year_code, year_name, "calendar year", float(row["year"]))
    return _frame(records, path)
