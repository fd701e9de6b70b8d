"""Turn one source's verified raw files into canonical long rows with lineage and harmonised countries."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from pipelines.base.errors import CountryMismatch, ParseError, PipelineDataError, UnmappedCountries
from pipelines.base.faults import crash_point
from pipelines.sources.fetch import FetchedFile
from pipelines.sources.registry import Source
from pipelines.staging.countries import harmonise
from pipelines.staging.parsers import PARSER_COLUMNS, get_parser

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
    from pipelines.staging.parsers.worldbank import read_country_metadata

    codes: set[str] = set()
    for raw in source.files:
        if raw.role == "country_metadata":
            metadata = read_country_metadata(fetched[raw.path].local_path)
            codes |= set(metadata.loc[metadata["is_aggregate"], "code"])
    return codes


def parse_file(source: Source, raw, local_path: Path) -> pd.DataFrame:
    parser = get_parser(raw.parser)
    _screen(source, raw, local_path)
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
    except (UnmappedCountries, CountryMismatch) as exc:
        unmapped = []
        for pair in frame[["entity_name", "entity_code"]].drop_duplicates().itertuples(index=False):
            try:
                harmonise(pd.DataFrame([pair], columns=["entity_name", "entity_code"]), **kwargs)
            except type(exc):
                unmapped.append(tuple(pair))
        hits = frame.merge(pd.DataFrame(unmapped, columns=["entity_name", "entity_code"]), how="inner",
                           on=["entity_name", "entity_code"])
        rows = list(dict.fromkeys(hits["raw_row"].astype(str)))
        shown = ",".join(rows[:10]) + (f" (+{len(rows) - 10} more)" if len(rows) > 10 else "")
        raise type(exc)(exc.detail, source_id=source.source_id, file=raw.path, row=shown or None,
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
    from pipelines.base.errors import FetchError
    from pipelines.sources.fetch import verify
    from pipelines.sources.vintages import accepted_sha256

    files = []
    for raw in source.files:
        local = raw_dir / source.source_id / raw.path
        if not local.is_file():
            raise FetchError("raw file missing: materialize the raw asset first", source_id=source.source_id,
                             file=raw.path, rule="raw_file_exists")
        sha = verify(source.source_id, raw, local, accepted_sha256(source.source_id, raw, raw_dir))
        files.append(FetchedFile(source.source_id, raw.path, local, sha, local.stat().st_size, f"local:{local}"))
    return files


# --- staging straight into the warehouse ------------------------------------------------------------------------
# stage_source()'s rows, columns and types, written by one DuckDB statement instead of a pandas frame per source:
# files a DuckDB-native reader handles (pipelines.staging.parsers.worldbank.NATIVE_READERS) are read by DuckDB, the
# others by their parser; only distinct entities, codes and notes pass through Python (harmonise, indicator ids,
# value flags). Anything unusual (a file the native reader refuses or flags, an unmapped entity) goes through the
# parser and stage_source() as before, which also raise the same precise errors.

_NATIVE_STAGED = {
    "source_id": "CAST({source_id} AS VARCHAR)", "indicator_id": "CAST(ids.indicator_id AS VARCHAR)",
    "source_code": "CAST(p.source_code AS VARCHAR)", "indicator_name": "CAST(p.indicator_name AS VARCHAR)",
    "unit": "CAST(p.unit AS VARCHAR)", "entity_name": "CAST(p.entity_name AS VARCHAR)",
    "entity_code": "CAST(p.entity_code AS VARCHAR)", "iso3": "CAST(e.iso3 AS VARCHAR)",
    "is_aggregate": "CAST(e.is_aggregate AS BOOLEAN)", "matched_by": "CAST(e.matched_by AS VARCHAR)",
    "period": "CAST(p.period AS VARCHAR)", "year": "CAST(p.year AS BIGINT)", "value": "CAST(p.value AS DOUBLE)",
    "note": "CAST(p.note AS VARCHAR)", "is_partial_year": "CAST(fl.is_partial_year AS BOOLEAN)",
    "is_provisional": "CAST(fl.is_provisional AS BOOLEAN)", "is_secondary": "CAST(fl.is_secondary AS BOOLEAN)",
    "raw_file": "CAST(f.raw_file AS VARCHAR)", "raw_sha256": "CAST(f.raw_sha256 AS VARCHAR)",
    "raw_row": "CAST(p.raw_row AS VARCHAR)",
}


def _screen(source: Source, raw, local_path: Path) -> None:
    from pipelines.staging.raw_screen import screen_raw_file

    screen_raw_file(local_path, source_id=source.source_id, file=raw.path)


def _native_reads(source: Source, by_path: dict[str, FetchedFile]) -> dict:
    from pipelines.staging.parsers.worldbank import NATIVE_READERS

    reads = {}
    for index, raw in enumerate(source.data_files):
        if raw.parser in NATIVE_READERS:
            _screen(source, raw, by_path[raw.path].local_path)
            read = NATIVE_READERS[raw.parser](by_path[raw.path].local_path, **raw.parser_options)
            if read is not None:
                reads[index] = read
    return reads


def _native_summary(connection, reads: dict) -> tuple[pd.DataFrame, set[int]]:
    """Per native file: records, refused rows, and its distinct (entity, code, note) of kept rows. Files that fail
    to read, yield the wrong number of records or have refused rows are returned as rejected."""
    import duckdb

    def summarise(items) -> pd.DataFrame:
        union = " UNION ALL ".join(f"SELECT {i} AS _file, * FROM ({read.sql})" for i, read in items)
        return connection.execute(
            "SELECT _file, entity_name, entity_code, source_code, note, max(_rn) AS records, "
            "count(*) FILTER (WHERE _bad) AS bad, count(*) FILTER (WHERE _keep) AS kept "
            f"FROM ({union}) GROUP BY ALL").df()

    rejected: set[int] = set()
    empty = pd.DataFrame(columns=["_file", "entity_name", "entity_code", "source_code", "note", "records", "bad",
                                  "kept"])
    if not reads:
        return empty, rejected
    frames = []
    for batch in _batches(list(reads.items())):
        try:
            frames.append(summarise(batch))
        except duckdb.Error:  # which file? read them one by one (only on this rare path)
            for item in batch:
                try:
                    frames.append(summarise([item]))
                except duckdb.Error:
                    rejected.add(item[0])
    summary = pd.concat(frames, ignore_index=True) if frames else empty
    per_file = summary.groupby("_file").agg(records=("records", "max"), bad=("bad", "sum"))
    for index, read in reads.items():
        if index in rejected:
            continue
        records = int(per_file.loc[index, "records"]) if index in per_file.index and \
            pd.notna(per_file.loc[index, "records"]) else 0
        if records != read.records or (index in per_file.index and per_file.loc[index, "bad"] > 0):
            rejected.add(index)
    return summary[~summary["_file"].isin(rejected)], rejected


def stage_source_into(connection, source: Source, fetched: list[FetchedFile], table: str) -> int:
    """Stage one source into `table` (replaced atomically, its recorded check outcomes marked not passed in the
    same transaction); returns its row count."""
    from pipelines.base.audit import mark_rebuilt
    from pipelines.base.warehouse import identifier, replace_table_from_frame, transaction

    identifier(table)
    if set(STAGED_COLUMNS) - set(_NATIVE_STAGED) or not source.data_files:
        return replace_table_from_frame(connection, table, stage_source(source, fetched))
    by_path = {f.path: f for f in fetched}
    reads = _native_reads(source, by_path)
    summary, rejected = _native_summary(connection, reads)
    parts, lookups, temp_tables = [], [summary[summary["kept"] > 0]], []
    try:
        for index, raw in enumerate(source.data_files):
            if index in reads and index not in rejected:
                parts.append(f"SELECT {index} AS _file, {', '.join(PARSER_COLUMNS)}, _rn, _col FROM "
                             f"({reads[index].sql}) WHERE _keep")
                continue
            frame = parse_file(source, raw, by_path[raw.path].local_path)
            lookups.append(frame[["entity_name", "entity_code", "source_code", "note"]].drop_duplicates())
            name = f"_stg_frame_{index}"
            _temp_table(connection, name, frame.assign(_rn=range(len(frame)), _col=0))
            temp_tables.append(name)
            parts.append(f"SELECT {index} AS _file, {', '.join(PARSER_COLUMNS)}, _rn, _col FROM {name}")
        seen = pd.concat([f.astype(object) for f in lookups], ignore_index=True)
        seen = seen.where(seen.notna(), None)  # one kind of missing (None), or None and <NA> would both survive
        pairs = seen[["entity_name", "entity_code"]].drop_duplicates()
        try:
            entities = harmonise(pairs, source_id=source.source_id, source_overrides=source.entity_overrides,
                                 publisher_aggregates=publisher_aggregates(source, by_path))
        except (UnmappedCountries, CountryMismatch):  # stage_source() names the file and rows
            stage_source(source, fetched)
            raise
        codes = seen["source_code"].drop_duplicates()
        ids = pd.DataFrame({"source_code": codes, "indicator_id": [indicator_id_for(c) for c in codes]})
        notes = seen["note"].drop_duplicates().reset_index(drop=True)
        flags = value_flags(notes.astype("string"), source.secondary_source).assign(note=notes)
        files = pd.DataFrame({
            "_file": range(len(source.data_files)),
            "raw_file": [f"{source.source_id}/{raw.path}" for raw in source.data_files],
            "raw_sha256": [by_path[raw.path].sha256 for raw in source.data_files],
        })
        for name, frame in (("_stg_entities", entities), ("_stg_ids", ids), ("_stg_flags", flags),
                            ("_stg_files", files)):
            _temp_table(connection, name, frame)
            temp_tables.append(name)
        select = ", ".join(f"{_NATIVE_STAGED[c].format(source_id=_sql_literal(source.source_id))} AS {c}"
                           for c in STAGED_COLUMNS)
        with transaction(connection):
            for number, batch in enumerate(_batches(parts)):  # batches of files: bounded memory, file order kept
                connection.execute(f"""
                    {f"CREATE OR REPLACE TABLE {table} AS" if number == 0 else f"INSERT INTO {table}"}
                    SELECT {select}
                    FROM ({" UNION ALL ".join(batch)}) AS p
                    JOIN _stg_files AS f USING (_file)
                    LEFT JOIN _stg_entities AS e
                      ON e.entity_name IS NOT DISTINCT FROM p.entity_name
                     AND e.entity_code IS NOT DISTINCT FROM p.entity_code
                    LEFT JOIN _stg_ids AS ids ON ids.source_code IS NOT DISTINCT FROM p.source_code
                    LEFT JOIN _stg_flags AS fl ON fl.note IS NOT DISTINCT FROM p.note
                    ORDER BY p._file, p._rn, p._col""")
            mark_rebuilt(connection, table)  # its last check outcome described the old content
            crash_point("staging:uncommitted")
    finally:
        for name in temp_tables:
            connection.execute(f"DROP TABLE IF EXISTS temp.{name}")
    return connection.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def _temp_table(connection, name: str, frame: pd.DataFrame) -> None:
    """`frame` copied into a temp table. Joined as a registered pandas frame, it is read through Python while
    the statement runs: a 2.3 M-row source staged in 6.0 s that way, 4.65 s from temp tables."""
    from pipelines.base.warehouse import registered

    with registered(connection, frame) as incoming:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {incoming}")


NATIVE_BATCH_FILES = 50  # at most, per DuckDB statement: each open CSV scan holds its own buffers


def _batches(items: list) -> list[list]:
    """`items` in order, in as few batches of at most NATIVE_BATCH_FILES as possible, all of nearly equal size.
    Equal, because each statement ends the table with a partial row group, and a small one (150 files as 9 x 16
    + 6) is rewritten with its neighbours by DuckDB's next checkpoint: at 100x, ~1.3 s per source, paid by
    whichever later step's commit passes the WAL threshold."""
    count = -(-len(items) // NATIVE_BATCH_FILES)  # ceil
    return [items[i * len(items) // count:(i + 1) * len(items) // count] for i in range(count)]


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
