"""The floor: the least any pipeline over this mirror must do. Read every registered raw file once with DuckDB
(workbooks with the cheapest reader installed) and write one long table (file, row, entity, field, value) to Parquet.

No harmonisation, no checks, no marts, no Dagster: a lower bound for `ai-readiness build`, measured side by side
with it by bench/bench_build.py.

Run: .venv/bin/python bench/floor.py --mirror ../shared/data [--registry config/sources] [--out /tmp/floor]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import re
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WORKBOOK_SUFFIXES = (".xls", ".xlsx", ".xlsm")
LONG_COLUMNS = "raw_file VARCHAR, raw_row VARCHAR, entity VARCHAR, field VARCHAR, value VARCHAR, value_num DOUBLE"


def registered_files(registry_dir: Path, mirror: Path) -> list[tuple[str, Path]]:
    """(parser or role, mirror path) of every file a build reads: data files and country metadata."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    files = []
    for entry in sorted(registry_dir.glob("*.yaml")):
        doc = yaml.load(entry.read_text(encoding="utf-8"), Loader=loader)
        for raw in doc["files"]:
            kind = raw.get("parser") or raw.get("role")
            if raw.get("parser") or raw.get("role") == "country_metadata":
                files.append((kind, mirror / doc["source_id"] / raw["path"]))
    return files


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _api_header_line(path: Path) -> int:
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for index, line in enumerate(handle):
            if line.lstrip('"').startswith("Country Name"):
                return index
            if index > 10:
                break
    raise ValueError(f"{path}: no Country Name header")


_CSV = "header = true, all_varchar = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"'"


def _lit(text) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _datahub(connection, paths: list[Path], out: Path) -> None:
    """Already long: one row per value, numbered per file (one single-threaded scan per file, all in one COPY)."""
    columns = "{'n': 'VARCHAR', 'c': 'VARCHAR', 'y': 'VARCHAR', 'v': 'VARCHAR'}"
    parts = [f"""
        SELECT {_lit(path)} AS raw_file, CAST(row_number() OVER () + 1 AS VARCHAR) AS raw_row, c AS entity,
               y AS field, v AS value
        FROM read_csv({_lit(path)}, {_CSV}, columns = {columns})""" for path in paths]
    connection.execute(f"COPY (SELECT *, TRY_CAST(value AS DOUBLE) AS value_num FROM ({' UNION ALL '.join(parts)}) "
                       f"WHERE value IS NOT NULL) TO '{out}' (FORMAT parquet)")


def _api_wide(connection, paths: list[Path], out: Path) -> None:
    """Wide (a column per year): unnest the year columns of each row, numbered per file."""
    parts = []
    for path in paths:
        skip = _api_header_line(path)
        with path.open(encoding="utf-8-sig") as handle:
            header = next(csv.reader(itertools.islice(handle, skip, skip + 1)))
        years = [i for i, name in enumerate(header) if re.fullmatch(r"[0-9]{4}", name)]
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
        parts.append(f"""
            SELECT {_lit(path)} AS raw_file, CAST(rn + {skip + 1} AS VARCHAR) AS raw_row, c1 AS entity,
                   unnest([{", ".join(_lit(header[i]) for i in years)}]) AS field,
                   unnest([{", ".join(f"c{i}" for i in years)}]) AS value
            FROM (SELECT row_number() OVER () AS rn, * FROM read_csv({_lit(path)}, skip = {skip}, {_CSV},
                                                                  null_padding = true, columns = {columns}))""")
    connection.execute(f"COPY (SELECT *, TRY_CAST(value AS DOUBLE) AS value_num FROM ({' UNION ALL '.join(parts)}) "
                       f"WHERE value IS NOT NULL) TO '{out}' (FORMAT parquet)")


def _generic(connection, paths: list[Path], out: Path) -> None:
    """Any other text file: every non-empty cell, as published (delimiter sniffed, no header assumed)."""
    connection.execute(f"CREATE OR REPLACE TEMP TABLE generic ({LONG_COLUMNS})")
    for path in paths:
        relation = (f"read_csv('{path}', header = false, all_varchar = true, null_padding = true, "
                    "strict_mode = false, ignore_errors = true)")
        try:
            connection.execute(f"""
                INSERT INTO generic
                SELECT '{path}', CAST(raw_row AS VARCHAR), NULL, field, value, TRY_CAST(value AS DOUBLE)
                FROM (UNPIVOT (SELECT row_number() OVER () AS raw_row, * FROM {relation})
                      ON COLUMNS(* EXCLUDE raw_row) INTO NAME field VALUE value)""")
        except duckdb.Error:  # not a table at all: one row per line
            connection.execute(f"""
                INSERT INTO generic
                SELECT '{path}', CAST(row_number() OVER () AS VARCHAR), NULL, 'line', line, NULL
                FROM read_csv('{path}', header = false, columns = {{'line': 'VARCHAR'}}, delim = '\\x1f',
                              quote = '', escape = '', strict_mode = false)""")
    connection.execute(f"COPY generic TO '{out}' (FORMAT parquet)")


def _workbook_rows(path: Path):
    """(sheet, row number, column number, text) of every non-empty cell, with the cheapest reader available."""
    try:
        from python_calamine import CalamineWorkbook  # Rust: the cheapest, when installed

        book = CalamineWorkbook.from_path(str(path))
        for sheet in book.sheet_names:
            for r, row in enumerate(book.get_sheet_by_name(sheet).to_python(skip_empty_area=False), start=1):
                for c, cell in enumerate(row, start=1):
                    if cell not in ("", None):
                        yield sheet, r, c, str(cell)
        return
    except ImportError:
        pass
    if path.suffix.lower() == ".xls":
        import xlrd

        book = xlrd.open_workbook(str(path), on_demand=True)
        for sheet in book.sheets():
            for r in range(sheet.nrows):
                for c, cell in enumerate(sheet.row_values(r), start=1):
                    if cell not in ("", None):
                        yield sheet.name, r + 1, c, str(cell)
        return
    import openpyxl

    book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            for r, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                for c, cell in enumerate(row, start=1):
                    if cell not in ("", None):
                        yield sheet.title, r, c, str(cell)
    finally:
        book.close()


def _workbooks(connection, paths: list[Path], out: Path) -> None:
    import pyarrow as pa

    columns: dict[str, list] = {"raw_file": [], "raw_row": [], "entity": [], "field": [], "value": []}
    for path in paths:
        for sheet, r, c, text in _workbook_rows(path):
            columns["raw_file"].append(str(path))
            columns["raw_row"].append(f"{sheet}!{r}")
            columns["entity"].append(None)
            columns["field"].append(str(c))
            columns["value"].append(text)
    cells = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    connection.register("cells", cells)
    connection.execute(f"COPY (SELECT *, TRY_CAST(value AS DOUBLE) AS value_num FROM cells) TO '{out}' "
                       "(FORMAT parquet)")


def run_floor(mirror: Path, registry_dir: Path, out_dir: Path) -> dict:
    started = time.perf_counter()
    files = registered_files(registry_dir, mirror)
    groups: dict[str, list[Path]] = {"datahub": [], "api_wide": [], "workbooks": [], "generic": []}
    for kind, path in files:
        if kind == "worldbank_datahub_long":
            groups["datahub"].append(path)
        elif kind == "worldbank_api_wide":
            groups["api_wide"].append(path)
        elif path.suffix.lower() in WORKBOOK_SUFFIXES:
            groups["workbooks"].append(path)
        else:
            groups["generic"].append(path)
    out_dir.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    try:
        for name, writer in (("datahub", _datahub), ("api_wide", _api_wide), ("generic", _generic),
                             ("workbooks", _workbooks)):
            if groups[name]:
                writer(connection, groups[name], out_dir / f"{name}.parquet")
        rows = connection.execute(f"SELECT count(*) FROM read_parquet('{out_dir}/*.parquet')").fetchone()[0]
    finally:
        connection.close()
    return {"files": len(files), "bytes": sum(p.stat().st_size for _, p in files), "rows": rows,
            "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path, required=True)
    parser.add_argument("--registry", type=Path, default=PROJECT_ROOT / "config" / "sources")
    parser.add_argument("--out", type=Path, help="output folder (default: a temp folder, removed)")
    args = parser.parse_args(argv)
    if args.out:
        result = run_floor(args.mirror.resolve(), args.registry.resolve(), args.out)
    else:
        with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
            result = run_floor(args.mirror.resolve(), args.registry.resolve(), Path(tmp))
    print(f"floor: {result['files']} files, {result['bytes'] / 1e6:.1f} MB, {result['rows']:,} long rows, "
          f"{result['seconds']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
