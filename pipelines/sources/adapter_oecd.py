"""OECD SDMX-CSV as the AI-patent panel the pinned file is (config/sources/oecd_ai_patents.yaml).

The pinned `oecd_ai_patentes.csv` was built by fernandofsilva/ai-efficiency-analysis@ae6c878 from the OECD SDMX
REST API (`R/14_download_oecd_patentes.R`, `R/12_import_fontes_alternativas.R` section 3b). This adapter applies
the same steps to one query that asks for both patent authorities (`9P50_3+9P50_2` in the first key position;
`+` is the SDMX key's "or", https://www.oecd.org/en/data/insights/data-explainers/2024/09/api.html):

- one column per `series_dimension` code (`columns`: `patentes_inventor` <- 9P50_3, `patentes_triadicas` <-
  9P50_2), value = OBS_VALUE of that REF_AREA and TIME_PERIOD. The text is copied as served (R re-renders the
  same number, e.g. a trailing zero dropped: the parsed value is the same); a blank OBS_VALUE is `NA`;
- only three-character REF_AREA codes (R: `nchar(iso3c) == 3`: drops W, OECD, WXOECD, EU27_2020);
- rows in the order of R's `full_join(ip5, triadicas, by = c("iso3c", "ano"))` of the two tables sorted by
  (iso3c, ano): the first column's keys, then keys only later columns have, `NA` where a column has no value;
- `ano_incompleto` = the year is the latest year in the panel (R: `ano >= max(ano)`: "publication lag: the last
  year available is incomplete", the third party's rule, reproduced, not the OECD's flag);
- `write.csv` layout: header and codes quoted, numbers and TRUE/FALSE bare, `\\n` line ends.

Every row must carry the key's other dimension values (`dimensions`, e.g. AGENT_ROLE=INVENTOR): a row that does
not, an unknown series code, a malformed year or number, or a repeated (series, area, year) stops the fetch
naming the row, rather than reshaping something else into the panel. Columns are found by their SDMX ids, so
SDMX-CSV with labels (`format=csvfilewithlabels`, an id column then its label column) and without both work.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from pipelines.base.errors import FetchError

_YEAR = re.compile(r"\d{4}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?|NaN")
_AREA = re.compile(r"[A-Z0-9]{3}")
SDMX_CSV_FIRST_COLUMNS = ("STRUCTURE", "DATAFLOW")  # SDMX-CSV 2.0 / 1.0


def _columns_by_id(header: list[str], needed: list[str], *, source_id: str, file: str) -> dict[str, int]:
    if not header or header[0].lstrip("\ufeff") not in SDMX_CSV_FIRST_COLUMNS:
        expected = " or ".join(SDMX_CSV_FIRST_COLUMNS)
        raise FetchError(f"not SDMX-CSV: the header starts {header[:3]}, expected {expected}", source_id=source_id,
                         file=file, row=1, rule="live_format")
    index = {}
    for position, name in enumerate(header):
        index.setdefault(name, position)
    missing = [name for name in needed if name not in index]
    if missing:
        raise FetchError(f"SDMX-CSV header lacks {missing} (has {header})", source_id=source_id, file=file, row=1,
                         rule="live_format")
    return {name: index[name] for name in needed}


def sdmx_series_by_area_year(text: str, *, series_dimension: str, columns: dict[str, str],
                             dimensions: dict[str, str], source_id: str,
                             file: str) -> dict[str, dict[tuple[str, int], str]]:
    """{column: {(area, year): OBS_VALUE text or 'NA'}} of the three-character areas, checked row by row."""
    where = dict(source_id=source_id, file=file)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    at = _columns_by_id(header, ["REF_AREA", "TIME_PERIOD", "OBS_VALUE", series_dimension, *dimensions], **where)
    column_of = {str(code): column for column, code in columns.items()}
    series: dict[str, dict[tuple[str, int], str]] = {column: {} for column in columns}
    for fields in reader:
        row = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise FetchError(f"{len(fields)} fields, the header has {len(header)}", row=row, rule="live_format",
                             **where)
        for dimension, wanted in dimensions.items():
            if fields[at[dimension]] != str(wanted):
                raise FetchError(f"{dimension} is {fields[at[dimension]]!r}, the query asks {wanted!r}", row=row,
                                 rule="live_format", **where)
        code = fields[at[series_dimension]]
        if code not in column_of:
            raise FetchError(f"{series_dimension} {code!r} is none of {sorted(column_of)}", row=row,
                             rule="live_format", **where)
        area = fields[at["REF_AREA"]]
        if len(area) != 3:  # aggregates (W, OECD, WXOECD, EU27_2020), as the reshaping drops them
            continue
        if not _AREA.fullmatch(area):
            raise FetchError(f"REF_AREA {area!r} is not a three-character code", row=row, rule="live_format",
                             **where)
        year = fields[at["TIME_PERIOD"]].strip()
        if not _YEAR.fullmatch(year):
            raise FetchError(f"TIME_PERIOD {year!r} is not a year", row=row, rule="live_format", **where)
        value = fields[at["OBS_VALUE"]].strip() or "NA"
        if value != "NA" and not _NUMBER.fullmatch(value):
            raise FetchError(f"OBS_VALUE {value!r} is not a number", row=row, rule="live_format", **where)
        cells = series[column_of[code]]
        if (area, int(year)) in cells:
            raise FetchError(f"{code} {area} {year} appears twice", row=row, rule="live_format", **where)
        cells[(area, int(year))] = value
    empty = [column for column, cells in series.items() if not cells]
    if empty:
        raise FetchError(f"no rows for {empty} ({series_dimension} {[columns[c] for c in empty]})",
                         rule="live_format", **where)
    return series


def patent_panel_csv(series: dict[str, dict[tuple[str, int], str]]) -> bytes:
    """The pinned panel's bytes from {column: {(area, year): value}} (see the module docstring for the rules)."""
    keys: list[tuple[str, int]] = []
    seen: set[tuple[str, int]] = set()
    for cells in series.values():  # full_join order: the first table's rows, then rows only later ones have
        new = sorted(set(cells) - seen)
        keys += new
        seen.update(new)
    latest = max(year for _, year in keys)
    lines = [",".join(f'"{name}"' for name in ["iso3c", "ano", *series, "ano_incompleto"])]
    for area, year in keys:
        values = [cells.get((area, year), "NA") for cells in series.values()]
        lines.append(",".join([f'"{area}"', str(year), *values, "TRUE" if year >= latest else "FALSE"]))
    return ("\n".join(lines) + "\n").encode("utf-8")


def oecd_patents_sdmx_to_panel(downloaded: Path, out: Path, *, series_dimension: str, columns: dict[str, str],
                               dimensions: dict[str, str], source_id: str, file: str) -> None:
    try:
        text = downloaded.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FetchError(f"SDMX-CSV is not UTF-8 ({exc})", source_id=source_id, file=file,
                         rule="live_format") from None
    series = sdmx_series_by_area_year(text, series_dimension=series_dimension, columns=columns,
                                      dimensions=dimensions, source_id=source_id, file=file)
    out.write_bytes(patent_panel_csv(series))
