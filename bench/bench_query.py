"""Time the Japan-benchmark query from a fresh DuckDB connection to the published warehouse (connect read-only,
run, fetch every row, close), and how long the code location takes to load in a fresh process.

Run: .venv/bin/python bench/bench_query.py [--warehouse data/marts/ai_readiness.duckdb]
(targets: query <= 20 ms; code location load <= 2 s, without great_expectations or altair imported)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PROJECT_ROOT, median, save, table  # noqa: E402

# Japan against every peer group on every indicator, pillar and the composite, largest gaps first.
JAPAN_BENCHMARK = """
SELECT group_id, group_label, level, item, item_label, focus_value, peer_median, gap_to_median_rel, rank_in_group,
       n_in_group, gap_status, years_behind_median
FROM mart_japan_benchmark
WHERE focus_iso3 = 'JPN'
ORDER BY group_id, level, gap_to_median_rel NULLS LAST
"""
HEAVY_MODULES = ("great_expectations", "altair", "vl_convert", "openpyxl", "xlrd", "country_converter")
LOAD_SCRIPT = """
import sys, time, json
start = time.perf_counter()
import pipelines.definitions
definitions = pipelines.definitions.defs()
seconds = time.perf_counter() - start
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"seconds": seconds, "assets": len(list(definitions.assets or [])), "heavy": heavy}}))
"""


def query_times(warehouse: Path, repeats: int) -> dict[str, list[float]]:
    """Seconds per repeat: connect (a new database instance: DuckDB opens the file), query (run and fetch all
    rows), close; and query on a new connection to an instance already open in the process (a server's case)."""
    import duckdb

    duckdb.connect().close()  # the import of duckdb is not the query's
    times: dict[str, list[float]] = {"connect": [], "query": [], "close": [], "warm_instance": []}
    for _ in range(repeats):
        start = time.perf_counter()
        connection = duckdb.connect(str(warehouse), read_only=True)
        connected = time.perf_counter()
        try:
            rows = connection.execute(JAPAN_BENCHMARK).fetchall()
            queried = time.perf_counter()
            cursor = connection.cursor()  # a new connection to the same, already open database
            cursor.execute(JAPAN_BENCHMARK).fetchall()
            times["warm_instance"].append(time.perf_counter() - queried)
            cursor.close()
        finally:
            before_close = time.perf_counter()
            connection.close()
        times["connect"].append(connected - start)
        times["query"].append(queried - connected)
        times["close"].append(time.perf_counter() - before_close)
    if not rows:
        raise SystemExit(f"the Japan-benchmark query returned no rows from {warehouse}")
    return times


def code_location_load(repeats: int, env: dict | None = None) -> list[dict]:
    import json
    import os

    results = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", LOAD_SCRIPT.format(heavy=HEAVY_MODULES)], cwd=PROJECT_ROOT,
                             env={**os.environ, **(env or {})}, capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", type=Path, default=PROJECT_ROOT / "data" / "marts" / "ai_readiness.duckdb")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    rows = []
    rows = measure(args.warehouse if args.warehouse.exists() else None, args.repeats)
    text = table(["what", "median", "best", "worst", "note"], rows)
    print(text)
    save("query", {"rows": rows}, text)
    return 0


def measure(warehouse: Path | None, repeats: int = 20, env: dict | None = None) -> list[list]:
    rows = []
    if warehouse is not None:
        t = query_times(warehouse, repeats)
        total = [a + b for a, b in zip(t["connect"], t["query"])]
        for label, values, note in (
            ("Japan-benchmark query, fresh connection: connect + query + fetch (ms)", total, "target <= 20 ms"),
            ("  of which connect (DuckDB instance start + open file) (ms)", t["connect"], ""),
            ("  of which query + fetch (ms)", t["query"], ""),
            ("  close (ms)", t["close"], "not counted"),
            ("Japan-benchmark query, new connection to an open instance (ms)", t["warm_instance"], "server case"),
        ):
            rows.append([label, 1000 * median(values), 1000 * min(values), 1000 * max(values), note])
    loads = code_location_load(5, env)
    seconds = [r["seconds"] for r in loads]
    rows.append(["code location load: import pipelines.definitions + defs() (s)", median(seconds), min(seconds),
                 max(seconds), "target <= 2 s; heavy imports: " + (", ".join(loads[0]["heavy"]) or "none")])
    return rows


if __name__ == "__main__":
    sys.exit(main())
