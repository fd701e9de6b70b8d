"""Time and peak RSS of one table's validation suite (what one `gx_suite` check does), per path, each run in a fresh
process: `gx` reads the table into pandas and runs GX on it; `sql` runs the suite compiled to DuckDB SQL and GX
only on a bounded frame for the Data Docs (pipelines/validation/sql_runner.py). The path is forced with
$AI_READINESS_GX_MAX_ROWS, as a build would choose it from config/validation.yaml's gx_max_rows.

Run: .venv/bin/python bench/bench_validation.py --warehouse /tmp/b100/marts/.build/ai_readiness.duckdb \\
         --tables stg_synthetic_wdi_01,fct_indicator_values [--paths gx,sql] [--gx-limit 3000000]
(with AI_READINESS_REGISTRY_DIR pointing at the registry the warehouse was built from, for staged tables)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PROJECT_ROOT, run_measured, save, table  # noqa: E402

FORCE = {"gx": str(10**12), "sql": "0"}  # $AI_READINESS_GX_MAX_ROWS for each path


def validate_one(warehouse: Path, name: str) -> dict:
    """Child process: the check's work on one table (read-only warehouse), Data Docs into a temp dir."""
    from pipelines.base.warehouse import connect
    from pipelines.validation import validate_table

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as docs, connect(warehouse, read_only=True) as connection:
        outcome = validate_table(connection, name, docs_dir=Path(docs), run_name="bench")
    return {"rows": outcome.rows, "seconds_in_process": time.perf_counter() - started,
            "validated_by": outcome.validated_by, "gx_rows": outcome.gx_rows,
            "failures": [(f.rule, f.count) for f in outcome.failures]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--tables", required=True, help="comma-separated table names")
    parser.add_argument("--paths", default="gx,sql")
    parser.add_argument("--gx-limit", type=int, default=3_000_000,
                        help="skip the gx path above this many rows (it needs ~1.7 KB of RAM per row)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(validate_one(args.warehouse, args.tables)))
        return 0

    import duckdb

    with duckdb.connect(str(args.warehouse), read_only=True) as connection:
        sizes = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in args.tables.split(",")}
    rows, results = [], []
    for name, size in sizes.items():
        for path in args.paths.split(","):
            if path == "gx" and size > args.gx_limit:
                rows.append([name, f"{size:,}", path, "skipped: would read the table into pandas", "", ""])
                continue
            run = run_measured([sys.executable, str(Path(__file__).resolve()), "--one", "--warehouse",
                                str(args.warehouse), "--tables", name], env={"AI_READINESS_GX_MAX_ROWS": FORCE[path]},
                               cwd=PROJECT_ROOT)
            if run.returncode != 0:
                rows.append([name, f"{size:,}", path, f"exit {run.returncode}: {run.stderr.strip()[-200:]}", "", ""])
                continue
            child = json.loads(run.stdout.strip().splitlines()[-1])
            results.append({"table": name, "path": path, "seconds": run.seconds, "peak_rss_mb": run.peak_rss_mb,
                            **child})
            rows.append([name, f"{size:,}", child["validated_by"], run.seconds, run.peak_rss_mb,
                         child["failures"] or "passed"])
    text = table(["table", "rows", "path", "seconds (process)", "peak RSS MB", "result"], rows)
    print(text)
    save("validation", {"warehouse": str(args.warehouse), "results": results}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
