"""Epoch AI record lists (one row per AI supercomputer / per notable model) turned into per-country-per-year counts.

Both files are UTF-8 CSVs with quoted multi-line cells (notes, abstracts). ``raw_row`` is the physical line on which a
record starts (header = line 1); aggregated values list every contributing record's line, comma-separated. Cells that
contain ASCII control characters such as \\x1c/\\x1e (present in abstracts) are kept inside their record: the text is
split on "\\n" only, never with str.splitlines(), so line numbers match what an editor shows.

Only positive counts are emitted: a country-year absent from the output has no qualifying record in Epoch's list.
Countries are reported as published (``entity_name``); ``entity_code`` is None.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pandas as pd

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import conform

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SUPERCOMPUTER_COLUMNS = ["Name", "Status", "Certainty", "Single cluster?", "Country", "First Operational Date",
                         "H100 equivalents", "Power Capacity (MW)", "Include in Standard Analysis"]
KNOWN_STATUSES = {"Existing", "Planned", "Decommissioned"}
KNOWN_CERTAINTIES = {"Confirmed", "Likely", "Unlikely"}
STANDARD_ANALYSIS_FLAG = {"1 checked out of 1": True, "": False}
SUPERCOMPUTER_INDICATORS = {
    "systems": ("Number of AI supercomputers first operational in the year (Epoch standard analysis, existing)",
                "systems"),
    "H100 equivalents": ("Sum of H100-equivalents of AI supercomputers first operational in the year",
                         "H100-equivalents"),
    "Power Capacity (MW)": ("Sum of power capacity of AI supercomputers first operational in the year", "MW"),
}
MODEL_COLUMNS = ["Model", "Publication date", "Country (of organization)", "Frontier model"]
FRONTIER_FLAG = {"True": True, "": False}
MODEL_INDICATORS = {
    "notable_models": ("Number of Epoch AI notable models published in the year with a developer in the country",
                       "models"),
    "frontier_models": ("Number of Epoch AI frontier models (Frontier model = True) published in the year with a "
                        "developer in the country", "models"),
}


def _read_csv_records(path: Path, encoding: str, required: list[str]) -> tuple[list[str], list[tuple[int, dict]]]:
    """Strictly decoded records as (first physical line, {column: cell}); ParseError on any layout problem."""
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(f"not valid {encoding} at byte {exc.start}", file=str(path), row=line,
                         rule="encoding") from None
    if not text.strip():
        raise ParseError("file is empty", file=str(path), row=1, rule="non_empty")
    if text.lstrip().lower().startswith(("<!doctype", "<html")):
        raise ParseError("file is HTML, not CSV (an error page?)", file=str(path), row=1, rule="not_html")
    lines = [line + "\n" for line in text.split("\n")]
    if text.endswith("\n"):
        lines.pop()
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ParseError(f"unreadable header: {exc}", file=str(path), row=1, rule="csv_syntax") from None
    header = [h.rstrip("\r") for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise ParseError(f"header lacks {missing}", file=str(path), row=1, rule="expected_columns")
    records = []
    previous = reader.line_num
    while True:
        start = previous + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise ParseError("file ends inside a quoted cell (truncated download?)", file=str(path), row=start,
                                 rule="truncated") from None
            raise ParseError(f"CSV syntax error: {exc}", file=str(path), row=start, rule="csv_syntax") from None
        previous = reader.line_num
        if not fields or all(f.strip() == "" for f in fields):
            continue
        if fields[-1].endswith("\r"):
            fields[-1] = fields[-1][:-1]
        if len(fields) != len(header):
            raise ParseError(f"{len(fields)} fields, expected {len(header)} (truncated or unbalanced quotes?)",
                             file=str(path), row=start, rule="field_count")
        records.append((start, dict(zip(header, fields))))
    return header, records


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = float("nan")
    if not math.isfinite(value):
        raise ParseError(f"{column} {text!r} is not a number", file=str(path), row=line, rule="numeric_value")
    return value


def _year(text: str, path: Path, line: int, column: str) -> int | None:
    value = text.strip()
    if value == "":
        return None
    if not DATE.fullmatch(value):
        raise ParseError(f"{column} {text!r} is not a YYYY-MM-DD date", file=str(path), row=line, rule="date_format")
    return int(value[:4])


def _check_vocabulary(value: str, known, column: str, path: Path, line: int) -> None:
    if value not in known:
        raise ParseError(f"{column} {value!r} is not one of {sorted(known)} (new Epoch vocabulary?)",
                         file=str(path), row=line, rule="known_category")


def _frame(rows: list[tuple], indicators: dict) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["source_code", "entity_name", "year", "value", "raw_row", "note"])
    frame["indicator_name"] = frame["source_code"].map(lambda c: indicators[c][0])
    frame["unit"] = frame["source_code"].map(lambda c: indicators[c][1])
    frame["entity_code"] = None
    frame["period"] = frame["year"].astype(str)
    return conform(frame.sort_values(["source_code", "entity_name", "year"], kind="stable"))


def parse_epoch_supercomputers(path: Path, *, statuses: list[str], certainties: list[str],
                               standard_analysis_only: bool = True, encoding: str = "utf-8-sig") -> pd.DataFrame:
    """`AI Supercomputers (public dataset).csv`: one row per AI supercomputer -> per country and year of first
    operation: ``systems`` (count), ``H100 equivalents`` (sum), ``Power Capacity (MW)`` (sum).

    Filter (all must hold; the registry sets the options):
    - ``Status`` in ``statuses`` (registry: Existing; Planned and Decommissioned systems are left out);
    - ``Certainty`` in ``certainties`` (registry: Confirmed, Likely; Unlikely is left out);
    - if ``standard_analysis_only``: ``Include in Standard Analysis`` is checked. In this vintage Epoch checks it
      exactly for existing, Confirmed/Likely, single-cluster systems that are not flagged ``Possible Duplicate``, so
      summing does not double count duplicates or multi-cluster aggregates.
    An unknown Status/Certainty/flag value is a ParseError, so a change of Epoch's vocabulary is not silently filtered.

    Year = year of ``First Operational Date`` (a flow: systems that came online that year, not the installed stock;
    upgraded systems appear again in their upgrade year, see ``Builds Upon``/``Superseded by``, so a cumulative sum
    overstates capacity). Records with a blank ``Country`` (often owner-anonymised) or a blank date are left out (they
    cannot be placed). A system with a blank H100-equivalents or power cell still counts in ``systems`` but not in
    that sum; ``note`` then says "sum over k of n systems". ``raw_row`` lists the contributing records' lines.
    """
    path = Path(path)
    unknown = (set(statuses) - KNOWN_STATUSES) | (set(certainties) - KNOWN_CERTAINTIES)
    if unknown:
        raise ParseError(f"parser options name unknown categories {sorted(unknown)}", file=str(path), row=None,
                         rule="parser_options")
    _, records = _read_csv_records(path, encoding, SUPERCOMPUTER_COLUMNS)
    groups: dict[tuple[str, int], list[tuple[int, float | None, float | None]]] = {}
    for line, record in records:
        _check_vocabulary(record["Status"], KNOWN_STATUSES, "Status", path, line)
        _check_vocabulary(record["Certainty"], KNOWN_CERTAINTIES, "Certainty", path, line)
        _check_vocabulary(record["Include in Standard Analysis"], STANDARD_ANALYSIS_FLAG,
                          "Include in Standard Analysis", path, line)
        year = _year(record["First Operational Date"], path, line, "First Operational Date")
        h100 = record["H100 equivalents"].strip()
        power = record["Power Capacity (MW)"].strip()
        h100_value = _number(h100, path, line, "H100 equivalents") if h100 else None
        power_value = _number(power, path, line, "Power Capacity (MW)") if power else None
        if record["Status"] not in statuses or record["Certainty"] not in certainties:
            continue
        if standard_analysis_only and not STANDARD_ANALYSIS_FLAG[record["Include in Standard Analysis"]]:
            continue
        country = record["Country"].strip()
        if not country or year is None:
            continue
        groups.setdefault((country, year), []).append((line, h100_value, power_value))
    rows = []
    for (country, year), members in groups.items():
        rows.append(("systems", country, year, float(len(members)), ",".join(str(m[0]) for m in members), None))
        for code, position in (("H100 equivalents", 1), ("Power Capacity (MW)", 2)):
            valued = [m for m in members if m[position] is not None]
            if not valued:
                continue
            note = None
            if len(valued) < len(members):
                note = f"sum over {len(valued)} of {len(members)} systems; {len(members) - len(valued)} lack {code!r}"
            rows.append((code, country, year, sum(m[position] for m in valued),
                         ",".join(str(m[0]) for m in valued), note))
    return _frame(rows, SUPERCOMPUTER_INDICATORS)


def parse_epoch_notable_models(path: Path, *, skip_countries: list[str], encoding: str = "utf-8-sig") -> pd.DataFrame:
    """`notable_ai_models.csv`: one row per notable model -> per country and publication year: ``notable_models``
    (count) and ``frontier_models`` (count of rows with ``Frontier model`` = True).

    Attribution: ``Country (of organization)`` is a comma-separated list with one entry per developing organisation
    (e.g. "United States of America,China,China"). A model counts ONCE for EACH DISTINCT listed country (full counting):
    a US-China collaboration adds 1 to both, two Chinese organisations add 1 (not 2) to China. Country totals therefore
    sum to more than the number of models. Entries in ``skip_countries`` (registry: "Multinational") and blank entries
    are not attributed; a model whose only entry is blank/skipped is left out. Models with a blank ``Publication date``
    are left out (no year). Year = year of ``Publication date``; the latest year in a vintage is partial.
    ``raw_row`` lists the contributing models' lines.
    """
    path = Path(path)
    skip = {s.casefold() for s in skip_countries}
    _, records = _read_csv_records(path, encoding, MODEL_COLUMNS)
    groups: dict[tuple[str, str, int], list[int]] = {}
    for line, record in records:
        year = _year(record["Publication date"], path, line, "Publication date")
        _check_vocabulary(record["Frontier model"], FRONTIER_FLAG, "Frontier model", path, line)
        if year is None:
            continue
        countries = []
        for entry in record["Country (of organization)"].split(","):
            entry = entry.strip()
            if entry and entry.casefold() not in skip and entry not in countries:
                countries.append(entry)
        codes = ["notable_models"] + (["frontier_models"] if FRONTIER_FLAG[record["Frontier model"]] else [])
        for country in countries:
            for code in codes:
                groups.setdefault((code, country, year), []).append(line)
    rows = [(code, country, year, float(len(lines)), ",".join(map(str, lines)), None)
            for (code, country, year), lines in groups.items()]
    return _frame(rows, MODEL_INDICATORS)
