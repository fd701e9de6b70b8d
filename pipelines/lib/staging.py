"""Turn one source's verified raw files into canonical long rows with lineage and harmonised countries."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from pipelines.lib.countries import harmonise
from pipelines.lib.errors import ParseError, PipelineDataError, UnmappedCountries
from pipelines.lib.fetch import FetchedFile
from pipelines.lib.parsers import get_parser
from pipelines.lib.registry import Source

STAGED_COLUMNS = [
    "source_id", "indicator_id", "source_code", "indicator_name", "unit", "entity_name", "entity_code", "iso3",
    "is_aggregate", "matched_by", "period", "year", "value", "note", "is_partial_year", "is_provisional",
    "is_secondary", "raw_file", "raw_sha256", "raw_row",
]

# Value flags read from the parsers' notes (the parsers copy the publisher's own wording into `note`).
PARTIAL_YEAR_NOTE = r"(?i)\b(?:partial|incomplete)\b"
PROVISIONAL_NOTE = r"(?i)\b(?:provisional|projected|projection|preliminary)\b"
SECONDARY_NOTE = r"(?i)\bsecondary\b"


def value_flags(note: pd.Series, secondary_source: bool) -> pd.DataFrame:
    """Partial year, provisional, secondary source: from the note, and the registry's `secondary_source`."""
    text = note.fillna("")
    return pd.DataFrame({
        "is_partial_year": text.str.contains(PARTIAL_YEAR_NOTE, regex=True),
        "is_provisional": text.str.contains(PROVISIONAL_NOTE, regex=True),
        "is_secondary": text.str.contains(SECONDARY_NOTE, regex=True) | secondary_source,
    }, index=note.index)


def indicator_id_for(source_code: str) -> str:
    """A stable snake_case id from the publisher's code: 'IT.NET.USER.ZS' -> 'it_net_user_zs'."""
    slug = re.sub(r"[^0-9a-z]+", "_", source_code.strip().casefold()).strip("_")
    if not slug:
        raise ValueError(f"cannot derive an indicator id from {source_code!r}")
    return slug


def publisher_aggregates(source: Source, fetched: dict[str, FetchedFile]) -> set[str]:
    """Codes the publisher itself marks as aggregates (World Bank: a blank Region in Metadata_Country)."""
    from pipelines.lib.parsers.worldbank import read_country_metadata

    codes: set[str] = set()
    for raw in source.files:
        if raw.role == "country_metadata":
            metadata = read_country_metadata(fetched[raw.path].local_path)
            codes |= set(metadata.loc[metadata["is_aggregate"], "code"])
    return codes


def parse_file(source: Source, raw, local_path: Path) -> pd.DataFrame:
    from pipelines.lib.validation.config import load_config
    from pipelines.lib.validation.raw import screen_text_file

    parser = get_parser(raw.parser)
    screen_text_file(local_path, max_line_bytes=int(load_config().raw_files.get("max_line_bytes", 1 << 20)),
                     source_id=source.source_id, file=raw.path)
    try:
        return parser(local_path, **raw.parser_options)
    except PipelineDataError as exc:
        # The parser knows the row; name the source and the registry path rather than the temp location.
        exc_message = exc.detail
        raise type(exc)(exc_message, source_id=source.source_id, file=raw.path, row=exc.row, rule=exc.rule) from None
    except (ValueError, KeyError, IndexError, UnicodeError, csv.Error) as exc:
        raise ParseError(f"{type(exc).__name__}: {exc}", source_id=source.source_id, file=raw.path,
                         rule="parser_layout") from exc


def _harmonise(source: Source, raw, frame: pd.DataFrame, aggregates: set[str]) -> pd.DataFrame:
    """harmonise(), and when entities are unmapped, name the raw rows they are on (harmonise sees pairs only)."""
    kwargs = dict(source_id=source.source_id, source_overrides=source.entity_overrides,
                  publisher_aggregates=aggregates, file=raw.path)
    try:
        return harmonise(frame, **kwargs)
    except UnmappedCountries as exc:
        unmapped = []
        for pair in frame[["entity_name", "entity_code"]].drop_duplicates().itertuples(index=False):
            try:
                harmonise(pd.DataFrame([pair], columns=["entity_name", "entity_code"]), **kwargs)
            except UnmappedCountries:
                unmapped.append(tuple(pair))
        hits = frame.merge(pd.DataFrame(unmapped, columns=["entity_name", "entity_code"]), how="inner",
                           on=["entity_name", "entity_code"])
        rows = list(dict.fromkeys(hits["raw_row"].astype(str)))
        shown = ",".join(rows[:10]) + (f" (+{len(rows) - 10} more)" if len(rows) > 10 else "")
        raise UnmappedCountries(exc.detail, source_id=source.source_id, file=raw.path, row=shown or None,
                                rule=exc.rule) from None


def stage_source(source: Source, fetched: list[FetchedFile]) -> pd.DataFrame:
    """All data files of one source as STAGED_COLUMNS rows; aggregates kept and marked, never dropped silently."""
    by_path = {f.path: f for f in fetched}
    aggregates = publisher_aggregates(source, by_path)
    frames = []
    for raw in source.data_files:
        local = by_path[raw.path]
        frame = parse_file(source, raw, local.local_path)
        entities = _harmonise(source, raw, frame, aggregates)
        frame = frame.merge(entities, on=["entity_name", "entity_code"], how="left", validate="many_to_one")
        frame["source_id"] = source.source_id
        frame["indicator_id"] = frame["source_code"].map(indicator_id_for)
        frame["raw_file"] = f"{source.source_id}/{raw.path}"
        frame["raw_sha256"] = local.sha256
        frame[["is_partial_year", "is_provisional", "is_secondary"]] = value_flags(frame["note"], source.secondary_source)
        frames.append(frame[STAGED_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=STAGED_COLUMNS)
    staged = pd.concat(frames, ignore_index=True)
    staged["iso3"] = staged["iso3"].astype("string")
    staged["matched_by"] = staged["matched_by"].astype("string")
    staged["is_aggregate"] = staged["is_aggregate"].astype("bool")
    return staged


def verified_local_files(source: Source, raw_dir: Path) -> list[FetchedFile]:
    """The files the raw step put in data/raw/<source_id>/, re-verified: staging never reads an unchecked file."""
    from pipelines.lib.errors import FetchError
    from pipelines.lib.fetch import verify

    files = []
    for raw in source.files:
        local = raw_dir / source.source_id / raw.path
        if not local.is_file():
            raise FetchError("raw file missing: materialize the raw asset first", source_id=source.source_id,
                             file=raw.path, rule="raw_file_exists")
        files.append(FetchedFile(source.source_id, raw.path, local, verify(source.source_id, raw, local),
                                 raw.bytes, f"local:{local}"))
    return files
