"""Time the Monte Carlo rank bands: 1,000 draws on synthetic 200 countries x 40 indicators x 6 pillars.

Run: .venv/bin/python bench/bench_monte_carlo.py   (target: <= 2 s)
"""

from __future__ import annotations

import time

from pipelines.lib.method.imputation import impute
from pipelines.lib.method.synthetic import synthetic_panel
from pipelines.lib.method.uncertainty import monte_carlo_ranks


def main(n_draws: int = 1000, repeats: int = 3) -> None:
    values, framework, groups = synthetic_panel(200, 40, 6, missing=0.1, seed=1)
    monte_carlo_ranks(values, framework, n_draws=10, groups=groups)  # warm-up: imports, caches
    for label, imputed in (("imputing inside", None), ("imputation passed in", impute(values, "group_median", groups)[0])):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            monte_carlo_ranks(values, framework, n_draws=n_draws, groups=groups, imputed=imputed)
            times.append(time.perf_counter() - start)
        print(f"monte_carlo_ranks, {n_draws} draws, 200x40x6, {label}: best {min(times):.3f} s, "
              f"worst {max(times):.3f} s over {repeats} runs")


if __name__ == "__main__":
    main()
