"""Eurostat's dissemination API (SDMX 2.1 REST, `.../sdmx/2.1/data/<dataset>/<key>?format=SDMX-CSV&lang=en&
label=both`; https://wikis.ec.europa.eu/display/EUROSTATHELP/API+SDMX+2.1+-+data+query) as the user-made wide
extracts `eurostat_wide_semicolon` reads.

The response is SDMX-CSV: one observation per line, ``DATAFLOW,LAST UPDATE,freq,<dimensions...>,geo,TIME_PERIOD,
OBS_VALUE,OBS_FLAG[,CONF_STATUS]``; with ``label=both`` every coded cell is ``<code>:<label>`` (``BE:Belgium``,
``E_AI_TANY:Enterprises use at least one AI technology``). The adapter writes the pinned layout: UTF-8 BOM,
``<entity_column>;<year>;...`` then one line per geo (the geo's Eurostat label, in the response's order), values
with a decimal comma and without trailing zeros (``13.00`` -> ``13``, ``5.90`` -> ``5,9``: the same number,
written as the extracts write it), ``:`` where the response has no value, CRLF.

- ``series``: the code of every dimension except geo (``freq: A, indic_is: E_AI_TANY, ...``). The response must
  carry exactly these dimensions with exactly these codes: one series per geo, the one the pinned file holds.
- ``entity_labels``: geo code -> the name the pinned file uses instead of Eurostat's label (``EU27_2020: Europe``).

The extracts have no flag column: observation flags are not carried (Eurostat's break in 2025 is the parser's
``period_notes``). Anything else in the response is refused with a FetchError naming the line and the rule.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from pipelines.base.errors import FetchError

SDMX_FIXED = ("DATAFLOW", "LAST UPDATE", "geo", "TIME_PERIOD", "OBS_VALUE", "OBS_FLAG", "CONF_STATUS")
REQUIRED = ("geo", "TIME_PERIOD", "OBS_VALUE")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _code_and_label(cell: str, column: str, line: int, where: dict) -> tuple[str, str]:
    code, sep, label = cell.strip().partition(":")
    if not sep or not code or not label:
        raise FetchError(f"{column} {cell!r} is not '<code>:<label>' (request label=both)", row=line,
                         rule="live_format", **where)
    return code, label


def decimal_comma_text(value: str) -> str:
    """`13.00` -> `13`, `5.90` -> `5,9`, `-0.50` -> `-0,5`: the digits as published, the extracts' notation."""
    whole, _, fraction = value.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole},{fraction}" if fraction else whole


def _observations(text: str, series: dict, where: dict) -> list[tuple[int, str, str, str, str]]:
    """(line, geo code, geo label, year, value text or '') for every observation, checked against `series`."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise FetchError("the response is empty", row=1, rule="live_format", **where)
    reader = csv.reader(lines)
    header = [h.strip().partition(":")[0] for h in next(reader)]  # should a header be labelled too
    missing = [c for c in REQUIRED if c not in header]
    dimensions = [h for h in header if h not in SDMX_FIXED]
    if missing or sorted(dimensions) != sorted(series):
        raise FetchError(f"header {header}: expected SDMX-CSV columns {list(REQUIRED)} and the dimensions "
                         f"{sorted(series)}" + (f"; missing {missing}" if missing else ""), row=1,
                         rule="live_format", **where)
    index = {name: i for i, name in enumerate(header)}
    observations = []
    for fields in reader:
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise FetchError(f"{len(fields)} fields, expected {len(header)}", row=line, rule="field_count", **where)
        for dimension, expected in series.items():
            code, _ = _code_and_label(fields[index[dimension]], dimension, line, where)
            if code != str(expected):
                raise FetchError(f"{dimension} is {code!r}, not {expected!r}: not the series the pinned file holds",
                                 row=line, rule="live_series", **where)
        geo, label = _code_and_label(fields[index["geo"]], "geo", line, where)
        year = fields[index["TIME_PERIOD"]].strip()
        if not re.fullmatch(r"\d{4}", year):
            raise FetchError(f"TIME_PERIOD {year!r} is not a year", row=line, rule="period_format", **where)
        value = fields[index["OBS_VALUE"]].strip()
        if value and not NUMBER.fullmatch(value):
            raise FetchError(f"OBS_VALUE {value!r} is not a number", row=line, rule="numeric_value", **where)
        observations.append((line, geo, label, year, value))
    if not observations:
        raise FetchError("the response holds no observation", row=2, rule="live_format", **where)
    return observations


def sdmx_csv_to_wide_semicolon(sdmx_csv: bytes, *, entity_column: str, series: dict,
                               entity_labels: dict | None = None, source_id: str, file: str) -> bytes:
    """The SDMX-CSV response as the wide `;` extract (see the module docstring)."""
    where = dict(source_id=source_id, file=file)
    try:
        text = sdmx_csv.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FetchError(f"the response is not UTF-8 (byte {exc.start})", row=sdmx_csv[:exc.start].count(b"\n") + 1,
                         rule="encoding", **where) from None
    names: dict[str, str] = {}  # geo code -> name, in the response's order
    cells: dict[tuple[str, str], tuple[int, str]] = {}
    for line, geo, label, year, value in _observations(text, series, where):
        names.setdefault(geo, str((entity_labels or {}).get(geo, label)))
        if (geo, year) in cells:
            raise FetchError(f"{geo} {year} already on line {cells[geo, year][0]}", row=line,
                             rule="unique_entity_period", **where)
        cells[geo, year] = (line, value)
    years = sorted({year for _, year in cells})
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([entity_column, *years])
    for geo, name in names.items():
        values = [cells.get((geo, year), (0, ""))[1] for year in years]
        writer.writerow([name, *(decimal_comma_text(v) if v else ":" for v in values)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def eurostat_sdmx_to_wide(downloaded: Path, out: Path, *, entity_column: str, series: dict,
                          entity_labels: dict | None = None, source_id: str, file: str) -> None:
    out.write_bytes(sdmx_csv_to_wide_semicolon(downloaded.read_bytes(), entity_column=entity_column, series=series,
                                               entity_labels=entity_labels, source_id=source_id, file=file))
