"""Time the Monte Carlo rank bands: 1,000 draws on synthetic 200 countries x 40 indicators x 6 pillars, and, given
a built warehouse, on the real scored universe (all countries, the framework's indicators and pillars,
config/method.yaml).

Run: .venv/bin/python bench/bench_monte_carlo.py [--warehouse data/marts/.build/ai_readiness.duckdb]   (target: <= 2 s)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import median, save, table  # noqa: E402

from pipelines.model.method.imputation import impute  # noqa: E402
from pipelines.model.method.synthetic import synthetic_panel  # noqa: E402
from pipelines.model.method.uncertainty import monte_carlo_ranks  # noqa: E402


def synthetic(n_draws: int, repeats: int) -> list[dict]:
    values, framework, groups = synthetic_panel(200, 40, 6, missing=0.1, seed=1)
    monte_carlo_ranks(values, framework, n_draws=10, groups=groups)  # warm-up: imports, caches
    rows = []
    for label, imputed in (("synthetic 200x40x6, imputing inside", None),
                           ("synthetic 200x40x6, imputation passed in", impute(values, "group_median", groups)[0])):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            monte_carlo_ranks(values, framework, n_draws=n_draws, groups=groups, imputed=imputed)
            times.append(time.perf_counter() - start)
        rows.append({"case": label, "draws": n_draws, "median_s": median(times), "best_s": min(times),
                     "worst_s": max(times)})
    return rows


def real(warehouse: Path, n_draws: int, repeats: int) -> dict:
    """The index as int_index_scores computes it, with `n_draws` minus with 0 draws: the Monte Carlo's share."""
    from dataclasses import replace

    import duckdb

    from pipelines.model.framework import load_method_config
    from pipelines.model.index_build import method_framework, scorable, wide_latest
    from pipelines.model.method import run_pipeline

    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        read = lambda t: connection.execute(f"SELECT * FROM {t}").df()  # noqa: E731
        latest, ref_framework, ref_pillars = read("int_indicator_latest"), read("ref_framework"), read("ref_pillars")
        universe = read("ref_universe")["iso3"].tolist()
        groups = read("dim_countries").set_index("iso3")["wb_income_group"].fillna("unclassified")
    finally:
        connection.close()
    config, _ = load_method_config()
    framework = method_framework(ref_framework, ref_pillars)
    values = wide_latest(latest, universe, list(ref_framework["key"]))
    if not scorable(values, framework, config)[0]:
        return {"case": "real universe: not scorable (partial build?)", "draws": n_draws}
    with_mc, without = [], []
    for _ in range(repeats):
        for cfg, times in ((replace(config, mc_draws=n_draws), with_mc), (replace(config, mc_draws=0), without)):
            start = time.perf_counter()
            run_pipeline(values, framework, cfg, groups=groups.reindex(values.index))
            times.append(time.perf_counter() - start)
    mc = [a - b for a, b in zip(with_mc, without)]
    return {"case": f"real universe {values.shape[0]} countries x {values.shape[1]} indicators "
                    f"(config/method.yaml, Monte Carlo share of run_pipeline)",
            "draws": n_draws, "median_s": median(mc), "best_s": min(mc), "worst_s": max(mc)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warehouse", type=Path, help="a build warehouse (data/marts/.build/ai_readiness.duckdb)")
    args = parser.parse_args(argv)
    rows = synthetic(args.draws, args.repeats)
    if args.warehouse:
        rows.append(real(args.warehouse, args.draws, args.repeats))
    text = table(["case", "draws", "median s", "best s", "worst s"],
                 [[r["case"], r["draws"], r.get("median_s", float("nan")), r.get("best_s", float("nan")),
                   r.get("worst_s", float("nan"))] for r in rows])
    print(text)
    save("monte-carlo", {"results": rows}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
