"""Format adapters: what a publisher's live endpoint serves, turned into the layout of the pinned file, so the same
parser reads every vintage. Each adapter reads a downloaded file and writes the adapted bytes; the snapshot keeps
the adapted file (what is parsed) and records the endpoint it came from.

- worldbank_zip_member: the World Bank API v2 bulk CSV zip (`?downloadformat=csv`) holds `API_<code>_DS2_*.csv`,
  `Metadata_Country_API_<code>_*.csv` and `Metadata_Indicator_API_<code>_*.csv`: take the one member named by
  `member` (a file-name prefix), byte for byte.
- worldbank_zip_to_long: the zip's wide `API_` CSV (4 header lines, then `Country Name, Country Code, Indicator Name,
  Indicator Code, 1960, ...`) as the Datahub long CSV the pinned files are (`Country Name,Country Code,Year,Value`,
  CRLF, blank cells dropped, values copied as text: the conversion datasets/world-development-indicators runs).
- eurostat_sdmx_to_wide: Eurostat's SDMX-CSV (`label=both`) as the wide `;` extracts (see adapter_eurostat).
- uis_json_to_export: the UNESCO UIS Data API's JSON records for one indicator as the UIS CSV export
  (pipelines.sources.adapter_uis).
- imf_datamapper_to_aipi: the IMF DataMapper API's answers for the AIPI and its four components plus the country
  labels (a multi-part live file: `downloaded` is {part: path}) as the AIPI workbook (pipelines.sources.adapter_imf).
- oecd_patents_sdmx_to_panel: OECD SDMX-CSV of AI patent families as the third party's panel
  (pipelines.sources.adapter_oecd).
"""

from __future__ import annotations

import csv
import io

import tempfile
from pathlib import Path

from pipelines.base.errors import FetchError
from pipelines.sources.adapter_eurostat import eurostat_sdmx_to_wide
from pipelines.sources.adapter_imf import imf_datamapper_to_aipi
from pipelines.sources.adapter_uis import uis_json_to_export
from pipelines.sources.adapter_oecd import oecd_patents_sdmx_to_panel


def _zip_member(downloaded: Path, prefix: str, *, source_id: str, file: str) -> bytes:
    from pipelines.sources.archives import safe_extract_zip

    with tempfile.TemporaryDirectory(dir=downloaded.parent, prefix=".adapter.") as tmp:
        extracted = safe_extract_zip(downloaded, Path(tmp) / "zip", max_total_bytes=64 << 20, max_members=20,
                                     source_id=source_id, file=file)
        matches = [p for p in extracted if p.name.startswith(prefix) and p.suffix.lower() == ".csv"]
        if len(matches) != 1:
            raise FetchError(f"the zip holds {len(matches)} members named {prefix}*.csv (expected one): "
                             f"{sorted(p.name for p in extracted)}", source_id=source_id, file=file,
                             rule="live_format")
        return matches[0].read_bytes()


def worldbank_zip_member(downloaded: Path, out: Path, *, member: str, source_id: str, file: str) -> None:
    out.write_bytes(_zip_member(downloaded, member, source_id=source_id, file=file))


def worldbank_wide_to_long(wide: bytes, *, source_id: str, file: str) -> bytes:
    """The World Bank wide CSV as the Datahub long CSV (see the module docstring)."""
    text = wide.decode("utf-8-sig")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip('"').startswith("Country Name")), None)
    if start is None:
        raise FetchError("no 'Country Name' header line in the World Bank CSV", source_id=source_id, file=file,
                         rule="live_format")
    rows = list(csv.reader(lines[start:]))
    header = rows[0]
    years = [(i, h) for i, h in enumerate(header) if h.strip().isdigit()]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Country Name", "Country Code", "Year", "Value"])
    for row in rows[1:]:
        if len(row) < 2:
            continue
        for i, year in years:
            value = row[i].strip() if i < len(row) else ""
            if value:
                writer.writerow([row[0], row[1], year, value])
    return out.getvalue().encode("utf-8")


def worldbank_zip_to_long(downloaded: Path, out: Path, *, member: str, source_id: str, file: str) -> None:
    wide = _zip_member(downloaded, member, source_id=source_id, file=file)
    out.write_bytes(worldbank_wide_to_long(wide, source_id=source_id, file=file))


ADAPTERS = {"worldbank_zip_member": worldbank_zip_member, "worldbank_zip_to_long": worldbank_zip_to_long,
            "eurostat_sdmx_to_wide": eurostat_sdmx_to_wide, "uis_json_to_export": uis_json_to_export,
            "imf_datamapper_to_aipi": imf_datamapper_to_aipi,
            "oecd_patents_sdmx_to_panel": oecd_patents_sdmx_to_panel}


def adapt(name: str, downloaded: Path | dict[str, Path], out: Path, options: dict, *, source_id: str,
          file: str) -> None:
    """Write `out` from `downloaded` with adapter `name` (config/sources/<id>.yaml live.files.<path>.adapter);
    `downloaded` is {part: path} for a file with live parts."""
    if name not in ADAPTERS:
        raise FetchError(f"unknown live format adapter {name!r}; known: {sorted(ADAPTERS)}", source_id=source_id,
                         file=file, rule="live_format")
    ADAPTERS[name](downloaded, out, source_id=source_id, file=file, **options)



