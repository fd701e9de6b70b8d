"""UNESCO UIS Data API -> the UIS CSV export the pinned stem_graduates files are.

The endpoint (https://api.uis.unesco.org/api/public/documentation/, operation getIndicatorData):
``GET https://api.uis.unesco.org/api/public/data/indicators?indicator=<code>&geoUnitType=NATIONAL`` answers
``{"hints": [...], "records": [{"indicatorId", "geoUnit", "year", "value", "magnitude", "qualifier"}, ...],
"indicatorMetadata": [...]}`` for the current default data release (``version`` selects another; ``start`` /
``end`` bound the years; ``geoUnitType=NATIONAL`` leaves out regional aggregates, which the export has none of;
at most 100,000 records per request, one indicator here is under 2,000). Shape and parameters as used by the
unesco_reader client (github.com/lpicci96/unesco_reader, api.py and its mock responses); not checked live here.

The export layout is ``indicatorId,geoUnit,year,value,qualifier,magnitude``: one line per record, sorted by
geoUnit then year, ``\\n`` line ends and none after the last line, null as an empty field, and each number as the
text the API sent (parsed with the literal kept, never re-formatted), so the same data gives the same bytes and
the uis_indicator_export parser reads every vintage. Layout errors name the record (``records[i]``) and the rule.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

from pipelines.base.errors import FetchError

EXPORT_COLUMNS = ("indicatorId", "geoUnit", "year", "value", "qualifier", "magnitude")
_CODE_FIELDS = ("qualifier", "magnitude")  # optional: absent or null is an empty field

log = logging.getLogger(__name__)


class _Number(str):
    """A JSON number, kept as the literal text the publisher sent."""


def _load(body: bytes, *, source_id: str, file: str) -> dict:
    try:
        document = json.loads(body.decode("utf-8-sig"), parse_float=_Number, parse_int=_Number)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FetchError(f"the UIS API response is not JSON ({exc})", source_id=source_id, file=file, row=1,
                         rule="live_json") from None
    if not isinstance(document, dict) or not isinstance(document.get("records"), list):
        raise FetchError("the UIS API response has no 'records' list", source_id=source_id, file=file,
                         row="records", rule="live_format")
    return document


def _export_row(record, index: int, indicator: str, *, source_id: str, file: str) -> tuple[str, ...]:
    def refuse(message: str, rule: str) -> FetchError:
        return FetchError(message, source_id=source_id, file=file, row=f"records[{index}]", rule=rule)

    if not isinstance(record, dict):
        raise refuse(f"record is {type(record).__name__}, not an object", "live_format")
    missing = [key for key in EXPORT_COLUMNS[:4] if key not in record]
    if missing:
        raise refuse(f"record lacks {missing}", "live_format")
    code, geo, year, value = (record[key] for key in EXPORT_COLUMNS[:4])
    if code != indicator:
        raise refuse(f"indicatorId {code!r} is not the requested {indicator!r}", "indicator_id")
    if not isinstance(geo, str) or isinstance(geo, _Number) or not geo.strip():
        raise refuse(f"geoUnit {geo!r} is not a code", "entity_code")
    if not (isinstance(year, _Number) and year.isdigit() and len(year) == 4):
        raise refuse(f"year {year!r} is not a 4-digit number", "year_format")
    if value is not None and not isinstance(value, _Number):
        raise refuse(f"value {value!r} is neither a number nor null", "numeric_value")
    codes = []
    for key in _CODE_FIELDS:
        text = record.get(key)
        if text is not None and (not isinstance(text, str) or isinstance(text, _Number)):
            raise refuse(f"{key} {text!r} is not a code", f"{key}_code")
        codes.append(text or "")
    return code, geo, str(year), "" if value is None else str(value), *codes


def uis_records_to_export(body: bytes, *, indicator: str, source_id: str, file: str) -> bytes:
    """The UIS API's JSON for one indicator as the export CSV (see the module docstring)."""
    document = _load(body, source_id=source_id, file=file)
    records = document["records"]
    hints = "; ".join(str(h.get("message", h)) if isinstance(h, dict) else str(h)
                      for h in document.get("hints") or [])  # the API's remarks on the request
    if not records:
        raise FetchError(f"the UIS API sent no records for {indicator} (hints: {hints or 'none'})",
                         source_id=source_id, file=file, row="records", rule="live_non_empty")
    if hints:
        log.warning("%s/%s: the UIS API's hints for %s: %s", source_id, file, indicator, hints)
    rows = [_export_row(r, i, indicator, source_id=source_id, file=file) for i, r in enumerate(records)]
    rows.sort(key=lambda row: (row[1], row[2]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(rows)
    return out.getvalue().removesuffix("\n").encode("utf-8")


def uis_json_to_export(downloaded: Path, out: Path, *, indicator: str, source_id: str, file: str) -> None:
    out.write_bytes(uis_records_to_export(downloaded.read_bytes(), indicator=indicator, source_id=source_id,
                                          file=file))
