"""One parser per publisher format, each turning one raw file into canonical long rows.

Contract (every parser): ``parse(path: Path, **options) -> pandas.DataFrame`` with exactly PARSER_COLUMNS:

- ``source_code``    the publisher's own indicator code or column name (kept verbatim)
- ``indicator_name`` the publisher's label for it
- ``unit``           unit of the value, as documented ("% of population", "count", "US$ million", ...)
- ``entity_name``    country/economy name as published (may be None when only a code is given)
- ``entity_code``    country/economy code as published (ISO3, OWID_KOS, "EU", ...; None when only a name is given)
- ``period``         "2023" for annual data, "2024-Q3" quarterly, "2025-H1" half-year; as published
- ``year``           the calendar year the period belongs to (the annual view)
- ``value``          float; blank / withheld / "not applicable" cells are dropped, never turned into 0
- ``raw_row``        where the value came from: 1-based line number of the file ("17"), "Sheet!17" for workbooks,
                     or a comma-separated list of rows for counts aggregated from many records
- ``note``           optional per-value remark (status, citation, flag); None otherwise

Bad layout raises ``pipelines.base.errors.ParseError`` naming file, row and rule. Parsers know nothing of
Dagster, DuckDB or country harmonisation: ``pipelines.staging.stage`` adds source_id, iso3 and file lineage.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # only in annotations: planning a build (pipelines.orchestration.incremental) reads PARSERS without pandas
    import pandas as pd

PARSER_COLUMNS = [
    "source_code",
    "indicator_name",
    "unit",
    "entity_name",
    "entity_code",
    "period",
    "year",
    "value",
    "raw_row",
    "note",
]

# parser name (used in config/sources/*.yaml) -> "module:function" under pipelines.staging.parsers
PARSERS: dict[str, str] = {
    "worldbank_datahub_long": "worldbank:parse_datahub_long",
    "worldbank_api_wide": "worldbank:parse_api_wide",
    "gari_workbook": "indices:parse_gari_workbook",
    "gari_panel_csv": "indices:parse_gari_panel_csv",
    "aipi_workbook": "indices:parse_aipi_workbook",
    "tortoise_csv": "indices:parse_tortoise_csv",
    "policy_milestones": "policy:parse_policy_milestones",
    "github_metric": "github:parse_metric",
    "github_topics": "github:parse_topics",
    "owid_grapher": "owid:parse_grapher",
    "ai_index_cross_section": "ai_index:parse_cross_section",
    "ai_index_panel": "ai_index:parse_panel",
    "oecdai_chart_export": "oecd:parse_oecdai_export",
    "oecd_patent_panel": "oecd:parse_patent_panel",
    "uis_indicator_export": "uis:parse_uis_indicator_export",
    "eurostat_wide_semicolon": "eurostat:parse_wide_semicolon",
    "eurostat_sdmx_csv": "eurostat:parse_sdmx_csv",
    "microsoft_ai_diffusion": "genai:parse_ai_diffusion",
    "mic_white_paper": "genai:parse_mic_white_paper",
    "top500_xls": "top500:parse_top500_xls",
    "top500_xlsx": "top500:parse_top500_xlsx",
    "top500_csv": "top500:parse_top500_csv",
    "epoch_supercomputers": "epoch:parse_epoch_supercomputers",
    "epoch_notable_models": "epoch:parse_epoch_notable_models",
}


def get_parser(name: str) -> Callable[..., pd.DataFrame]:
    """Import lazily: a code location should not pay for openpyxl/xlrd unless it parses a workbook."""
    try:
        module_name, function_name = PARSERS[name].split(":")
    except KeyError:
        raise KeyError(f"unknown parser {name!r}; known: {sorted(PARSERS)}") from None
    module = importlib.import_module(f"pipelines.staging.parsers.{module_name}")
    return getattr(module, function_name)


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a parser's output the exact contract columns and dtypes (helpers call this last)."""
    for column in PARSER_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    out = frame[PARSER_COLUMNS].copy()
    out["year"] = out["year"].astype("int64")
    out["value"] = out["value"].astype("float64")
    for column in ("source_code", "indicator_name", "unit", "entity_name", "entity_code", "period", "raw_row", "note"):
        out[column] = out[column].astype("string")
    return out.reset_index(drop=True)


def read_text_lines(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    """Decode a whole text file strictly, so a wrong encoding fails here with the file named."""
    from pipelines.base.errors import ParseError

    data = path.read_bytes()
    try:
        return data.decode(encoding).splitlines()
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(
            f"not valid {encoding} at byte {exc.start}", file=str(path), row=line, rule="encoding"
        ) from None
