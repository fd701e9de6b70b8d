"""Every benchmark of issue 7 in one invocation, one summary table (saved as bench/results/summary-latest.md).

1x: floor vs full cold build (median of --runs each, side by side), no-op and one-source rebuilds, peak RSS;
then Monte Carlo (1,000 draws), the Japan-benchmark query from a fresh connection and the code-location load,
on the warehouse the 1x runs built; with --scales 10,100 the same build benchmarks over synthetic mirrors
(bench/make_synthetic_mirror.py, generated into --synthetic-dir and reused when already there).

Run: .venv/bin/python bench/run_all.py [--runs 3] [--scales 10,100] [--scale-runs 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_build  # noqa: E402
import bench_monte_carlo  # noqa: E402
import bench_query  # noqa: E402
from common import DEFAULT_MIRROR, DEFAULT_REGISTRY, save, table  # noqa: E402
from make_synthetic_mirror import make_mirror  # noqa: E402

TARGETS = {"ratio_1x": 15, "ratio_100x": 3, "rss_mb": 2048, "noop_1x": 0.25, "noop_100x": 0.05, "mc_s": 2.0,
           "query_ms": 20, "load_s": 2.0}


def synthetic(factor: int, folder: Path, mirror: Path) -> tuple[Path, Path]:
    target = folder / f"x{factor}"
    stamp = target / "generated.json"
    if not stamp.exists():
        print(f"generating the x{factor} synthetic mirror in {target} ...", flush=True)
        result = make_mirror(factor, target, mirror)
        stamp.write_text(json.dumps(result))
    return target / "mirror", target / "registry"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    parser.add_argument("--runs", type=int, default=3, help="runs of each build measurement at 1x")
    parser.add_argument("--scales", default="", help="synthetic factors, e.g. 10,100")
    parser.add_argument("--scale-runs", type=int, default=3, help="runs of each build measurement per scale")
    parser.add_argument("--synthetic-dir", type=Path, default=Path(tempfile.gettempdir()) / "ai-readiness-synthetic")
    parser.add_argument("--workdir", type=Path, help="where data dirs go (default: a temp dir, removed)")
    args = parser.parse_args(argv)
    started = time.time()
    mirror = args.mirror.resolve()
    builds = []
    with tempfile.TemporaryDirectory(prefix="bench-all-", dir=args.workdir) as work:
        work = Path(work)
        print("1x: floor vs full build, no-op, one-source ...", flush=True)
        first = bench_build.bench(mirror, DEFAULT_REGISTRY, args.runs, "1x", work / "1x", bench_build.CHANGE_SOURCE,
                                  keep=True)
        builds.append(first)
        data_dir = Path(first["data_dir"])
        print("Monte Carlo, query, code-location load ...", flush=True)
        mc = bench_monte_carlo.synthetic(1000, 3)
        mc.append(bench_monte_carlo.real(data_dir / "marts" / ".build" / "ai_readiness.duckdb", 1000, 3))
        query = bench_query.measure(data_dir / "marts" / "ai_readiness.duckdb")
        for factor in [int(f) for f in args.scales.split(",") if f.strip()]:
            scaled_mirror, scaled_registry = synthetic(factor, args.synthetic_dir, mirror)
            print(f"{factor}x: floor vs full build, no-op, one-source ...", flush=True)
            builds.append(bench_build.bench(scaled_mirror, scaled_registry, args.scale_runs, f"{factor}x",
                                            work / f"{factor}x", bench_build.CHANGE_SOURCE))

    rows = [[b["label"], b["runs"], b["floor_s"], b["full_s"], f"{b['ratio']:.1f}x", f"{b['full_peak_rss_mb']:.0f}",
             b["noop_s"], f"{100 * b['noop_share']:.1f}%", b["one_source_s"], f"{100 * b['one_source_share']:.0f}%",
             f"{len(b['one_source_raw_stg_steps'])} ({', '.join(b['one_source_raw_stg_steps'])})"] for b in builds]
    text = "Builds (seconds, medians; full = cold build with all assets, checks, exports, Monte Carlo):\n"
    text += table(["mirror", "runs", "floor", "full", "full/floor", "peak RSS MB", "no-op", "no-op/full",
                   "one-source", "one-source/full", "raw/stg steps in one-source run"], rows)
    text += "\n\nMonte Carlo, 1,000 draws (target <= 2 s):\n" + table(
        ["case", "median s", "best s", "worst s"],
        [[r["case"], r.get("median_s", float("nan")), r.get("best_s", float("nan")), r.get("worst_s", float("nan"))]
         for r in mc])
    text += "\n\nQuery and code location:\n" + table(["what", "median", "best", "worst", "note"], query)
    for b in builds:
        text += (f"\n\nSlowest steps of the last cold build at {b['label']} ({b['cold_steps']} steps):\n"
                 + table(["step", "s"], [[s["step"], s["seconds"]] for s in b["slowest_steps"][:10]]))
    text += f"\n\n(bench/run_all.py, {time.time() - started:.0f} s, build command: {builds[0]['build_command']})"
    print()
    print(text)
    path = save("summary", {"builds": builds, "monte_carlo": mc, "query": query, "targets": TARGETS}, text)
    print(f"\nsaved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
