"""IMF DataMapper API v1 -> the AIPI workbook layout the pinned imf_aipi file has (parser aipi_workbook).

The API (https://www.imf.org/external/datamapper/api/help) serves one indicator per request,
``GET https://www.imf.org/external/datamapper/api/v1/<indicator>`` ->
``{"values": {"<indicator>": {"<ISO3>": {"<year>": value}}}, "api": {...}}``, and the economies' labels at
``/api/v1/countries`` -> ``{"countries": {"<ISO3>": {"label": "..."}}}`` (shape as read by e.g. the
Ignacio-Ibarra/etl helper scripts/utils/imf_datamapper.R; not checked live here). The AIPI is AI_PI with its four
components DI, IEI, HCLMP and RE (../shared/data/imf_aipi/PROVENANCE.md).

The adapter writes sheet ``AIPI``: row 1 a title naming the API and indicators, row 2 the workbook header
(``Country, iso3, type, <one column per indicator>``, the column names from the registry's ``columns``), then one
row per economy of the countries list that has a value for ``year`` in any indicator, sorted by ISO3 code. Country
is the API's label; ``type`` (the IMF group AE / EM / LIC of the pinned workbook) is left blank because the API
does not publish group membership (/api/v1/groups lists group labels, not members; not checked live), so live
values carry no group note. Values are written as the API sends them (JSON numbers as exact doubles, never
rounded); an absent or null value is a blank cell (dropped, like the workbook's "NA"). Codes in an indicator's
values but not in the countries list (regional aggregates) are left out and logged. The workbook carries no
timestamps, so the same answers give the same bytes.
Layout errors name the part and the JSON path (``row="DI:values.DI.USA.2023"``) and the rule.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import zipfile
from pathlib import Path

from pipelines.base.errors import FetchError

COUNTRIES_PART = "countries"
SHEET = "AIPI"
ID_COLUMNS = ("Country", "iso3", "type")  # the pinned workbook's first three columns
# openpyxl stamps the save time into docProps/core.xml; without it the same data gives the same bytes
_CORE_TIMES = re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_NUMBER_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><v>[^<]*</v>')

log = logging.getLogger(__name__)


def _refuse(message: str, rule: str, row: str, *, source_id: str, file: str) -> FetchError:
    return FetchError(message, source_id=source_id, file=file, row=row, rule=rule)


def _load(path: Path, part: str, key: str, *, source_id: str, file: str) -> dict:
    """The part's JSON object under `key` (values or countries), or FetchError naming the part."""
    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _refuse(f"the DataMapper answer for {part} is not JSON ({exc})", "live_json", f"{part}:1",
                      source_id=source_id, file=file) from None
    found = document.get(key) if isinstance(document, dict) else None
    if not isinstance(found, dict):
        raise _refuse(f"the DataMapper answer for {part} has no {key!r} object", "live_format", f"{part}:{key}",
                      source_id=source_id, file=file)
    return found


def indicator_values(path: Path, indicator: str, year: str, *, source_id: str, file: str) -> dict[str, float]:
    """{ISO3 or aggregate code: value in `year`} from one indicator's answer; absent and null values left out."""
    values = _load(path, indicator, "values", source_id=source_id, file=file)
    if not isinstance(values.get(indicator), dict):
        raise _refuse(f"the DataMapper answer for {indicator} has no values for {indicator} (keys: "
                      f"{sorted(values)[:5]})", "live_format", f"{indicator}:values.{indicator}",
                      source_id=source_id, file=file)
    out = {}
    for code, by_year in values[indicator].items():
        where = f"{indicator}:values.{indicator}.{code}"
        if not isinstance(by_year, dict):
            raise _refuse(f"{code}: {by_year!r} is not a {{year: value}} object", "live_format", where,
                          source_id=source_id, file=file)
        value = by_year.get(year)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _refuse(f"{code} {year}: {value!r} is not a finite number", "numeric_value", f"{where}.{year}",
                          source_id=source_id, file=file)
        out[code] = value
    return out


def country_labels(path: Path, *, source_id: str, file: str) -> dict[str, str | None]:
    """{ISO3: label} from /api/v1/countries (a missing label is None: the row keeps its code)."""
    countries = _load(path, COUNTRIES_PART, "countries", source_id=source_id, file=file)
    labels = {}
    for code, entry in countries.items():
        label = entry.get("label") if isinstance(entry, dict) else None
        labels[code] = label.strip() if isinstance(label, str) and label.strip() else None
    return labels


def aipi_rows(values: dict[str, dict[str, float]], labels: dict[str, str | None]) -> list[tuple]:
    """One (label, ISO3, blank group, value per indicator...) row per listed economy with any value, by ISO3."""
    codes = sorted({code for by_code in values.values() for code in by_code if code in labels})
    return [(labels[code], code, None, *(values[ind].get(code) for ind in values)) for code in codes]


def _exact_numbers(sheet_xml: bytes, exact: dict[str, str]) -> bytes:
    """Each numeric cell's text as `exact` gives it: openpyxl writes numbers with "%.16g", which rounds away the
    17th significant digit that a double like 0.18218323588371277 needs (repr() round-trips exactly)."""
    replaced = set()

    def put(match: re.Match) -> bytes:
        coordinate = match.group(1).decode("ascii")
        if coordinate not in exact:
            return match.group(0)
        replaced.add(coordinate)
        return b'<c r="%s"%s><v>%s</v>' % (match.group(1), match.group(2), exact[coordinate].encode("ascii"))

    out = _NUMBER_CELL.sub(put, sheet_xml)
    if replaced != set(exact):  # openpyxl changed how it writes cells: fail rather than keep rounded values
        raise RuntimeError(f"numeric cells {sorted(set(exact) - replaced)[:5]} not found in the written sheet")
    return out


def _deterministic_xlsx(workbook, exact: dict[str, str]) -> bytes:
    """The workbook's xlsx bytes with exact numbers and without save times (core.xml dates, zip member dates)."""
    raw = io.BytesIO()
    workbook.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(b"", data)
            elif member.filename == "xl/worksheets/sheet1.xml":
                data = _exact_numbers(data, exact)
            target.writestr(zipfile.ZipInfo(member.filename, date_time=_ZIP_EPOCH), data,
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def aipi_workbook_bytes(values: dict[str, dict[str, float]], labels: dict[str, str | None], *, columns: dict,
                        year: str) -> bytes:
    """The AIPI workbook (see the module docstring) from {indicator: {code: value}} in `columns` order."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append([f"IMF DataMapper API v1: {', '.join(columns)} ({year}); type not published by the API"])
    sheet.append([*ID_COLUMNS, *columns.values()])
    exact = {}
    rows = aipi_rows({indicator: values[indicator] for indicator in columns}, labels)
    for row_number, row in enumerate(rows, start=3):
        sheet.append(list(row))
        for column, value in enumerate(row[len(ID_COLUMNS):], start=len(ID_COLUMNS) + 1):
            if value is not None:
                exact[f"{get_column_letter(column)}{row_number}"] = repr(value)
    return _deterministic_xlsx(workbook, exact)


def imf_datamapper_to_aipi(downloaded: dict[str, Path], out: Path, *, columns: dict, year, source_id: str,
                           file: str) -> None:
    """Parts {indicator: answer, ..., countries: answer} -> the AIPI workbook. `columns`: {DataMapper indicator:
    workbook column}, in the workbook's column order; `year`: the cross-section to take."""
    year = str(year)
    expected = {*columns, COUNTRIES_PART}
    if not isinstance(downloaded, dict) or set(downloaded) != expected:
        got = sorted(downloaded) if isinstance(downloaded, dict) else type(downloaded).__name__
        raise _refuse(f"parts {got} are not the indicators {sorted(columns)} plus {COUNTRIES_PART}", "live_parts",
                      "parts", source_id=source_id, file=file)
    labels = country_labels(downloaded[COUNTRIES_PART], source_id=source_id, file=file)
    values = {ind: indicator_values(downloaded[ind], ind, year, source_id=source_id, file=file) for ind in columns}
    for indicator, by_code in values.items():
        unlisted = sorted(set(by_code) - set(labels))
        if unlisted:
            log.info("%s/%s: %d codes with %s values are not in the countries list (aggregates), left out: %s",
                     source_id, file, len(unlisted), indicator, unlisted[:10])
    if not any(code in labels for by_code in values.values() for code in by_code):
        raise _refuse(f"no economy of the countries list has a value for {year}", "live_non_empty", "values",
                      source_id=source_id, file=file)
    out.write_bytes(aipi_workbook_bytes(values, labels, columns=columns, year=year))
