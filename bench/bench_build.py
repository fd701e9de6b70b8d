"""The build against its floor, side by side in one invocation, then no-op and one-source rebuilds.

1. floor and full cold build, alternating, `--runs` times each (fresh data dir and Dagster instance per build;
   all assets, checks, exports, Monte Carlo at its default draws); medians, ratio build/floor, peak RSS;
2. no-op: the same build again with nothing changed, `--runs` times;
3. one-source change: a copy of the mirror where one file of `--change-source` is rewritten (same values, new
   bytes) and a registry copy with its new sha256: only that source's raw_/stg_ steps and what depends on them
   may run, `--runs` times (a new change each time).

Run: .venv/bin/python bench/bench_build.py [--mirror DIR --registry DIR --label 10x] [--runs 3]
Prints a table and the slowest steps of the last cold build; saves bench/results/build-<label>-latest.{json,md}.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_MIRROR, DEFAULT_REGISTRY, PROJECT_ROOT, dagster_home, median, run_measured, save, table  # noqa: E402

CHANGE_SOURCE = "worldbank_wdi_ict_exports"


def build_command(without_checks: bool = False) -> list[str]:
    """`ai-readiness build` itself (it plans incremental builds); `--without-checks` is its hidden diagnostic:
    every step but the asset checks and publish, nothing published, no fingerprints kept."""
    return [sys.executable, "-m", "pipelines.cli", "build", *(["--without-checks"] if without_checks else [])]


def build_env(data_dir: Path, mirror: Path, registry: Path, home: Path) -> dict:
    return {"AI_READINESS_DATA_DIR": str(data_dir), "AI_READINESS_MIRROR": str(mirror),
            "AI_READINESS_REGISTRY_DIR": str(registry), "AI_READINESS_LOG_LEVEL": "WARNING",
            "DAGSTER_HOME": str(home)}


def last_run_steps(home: Path) -> list[dict]:
    """Steps of the latest run in a Dagster instance: key, seconds, status (in start order)."""
    import os

    import dagster as dg

    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs(limit=1)
            if not runs:
                return []
            stats = instance.get_run_step_stats(runs[0].run_id)
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous
    steps = [{"step": s.step_key, "seconds": (s.end_time or s.start_time or 0) - (s.start_time or 0),
              "status": str(s.status.value if s.status else "")} for s in stats]
    return sorted(steps, key=lambda s: s["step"])


def _check(result, what: str) -> None:
    if result.returncode != 0:
        raise SystemExit(f"{what} failed (exit {result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")


def rewrite_one_file(mirror: Path, registry: Path, source_id: str, attempt: int) -> str:
    """Rewrite a data file of `source_id` in the mirror copy with the same values in new bytes (a trailing zero
    on one decimal), and register its new sha256 and size. Returns the file's path."""
    import hashlib

    import yaml

    entry = registry / f"{source_id}.yaml"
    text = entry.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    raw = next(f for f in doc["files"] if f.get("parser"))
    path = mirror / source_id / raw["path"]
    data = path.read_bytes()
    match = re.search(rb'"(\d+\.\d+)"', data)
    if not match:
        raise SystemExit(f"no decimal to rewrite in {path}")
    data = data[:match.end(1)] + b"0" * attempt + data[match.end(1):]
    path.unlink()  # the mirror copy may hold a link to the original: never write through it
    path.write_bytes(data)
    text = text.replace(raw["sha256"], hashlib.sha256(data).hexdigest())
    text = re.sub(rf"(sha256: {hashlib.sha256(data).hexdigest()}\n\s*bytes: )\d+", rf"\g<1>{len(data)}", text)
    entry.write_text(text, encoding="utf-8")
    return raw["path"]


def mirror_copy(mirror: Path, registry: Path, work: Path, source_id: str) -> tuple[Path, Path]:
    """A mirror whose sources are symlinks to the original folders except `source_id` (copied), and a registry copy."""
    copy, reg = work / "mirror", work / "registry"
    copy.mkdir(parents=True)
    for folder in mirror.iterdir():
        if folder.is_dir():
            if folder.name == source_id:
                shutil.copytree(folder, copy / folder.name)
            else:
                (copy / folder.name).symlink_to(folder.resolve())
    shutil.copytree(registry, reg)
    return copy, reg


def bench(mirror: Path, registry: Path, runs: int, label: str, work: Path, change_source: str | None,
          keep: bool = False, without_checks: bool = False) -> dict:
    floor_cmd = [sys.executable, str(PROJECT_ROOT / "bench" / "floor.py"), "--mirror", str(mirror), "--registry",
                 str(registry)]
    command = build_command(without_checks)
    if without_checks:
        label, change_source = f"{label} without checks (diagnostic)", None
    floors, fulls = [], []
    for i in range(runs):
        floor = run_measured(floor_cmd)
        _check(floor, "floor")
        floors.append(floor)
        data_dir, home = work / f"cold-{i}", dagster_home(work / f"cold-{i}-dagster")
        full = run_measured(command, env=build_env(data_dir, mirror, registry, home))
        _check(full, f"cold build {i + 1}")
        fulls.append(full)
        print(f"  [{label}] run {i + 1}/{runs}: floor {floor.seconds:.2f} s, full build {full.seconds:.2f} s "
              f"(peak RSS {full.peak_rss_mb:.0f} MB)", flush=True)
    steps = last_run_steps(home)

    noops = []
    for i in range(runs if not without_checks else 0):
        noop = run_measured(command, env=build_env(data_dir, mirror, registry, home))
        _check(noop, f"no-op rebuild {i + 1}")
        noops.append(noop)

    one_source, one_source_steps = [], []
    if change_source:
        changed_mirror, changed_registry = mirror_copy(mirror, registry, work / "changed", change_source)
        for i in range(runs):
            rewrite_one_file(changed_mirror, changed_registry, change_source, i + 1)
            result = run_measured(command, env=build_env(data_dir, changed_mirror, changed_registry, home))
            _check(result, f"one-source rebuild {i + 1}")
            one_source.append(result)
            one_source_steps = last_run_steps(home)
    ran = sorted({s["step"] for s in one_source_steps if s["step"].startswith(("raw_", "stg_"))
                  and not s["step"].endswith("gx_suite")})
    for i in range(runs if not keep else runs - 1):  # keep the last one (the no-op and one-source runs') if asked
        shutil.rmtree(work / f"cold-{i}", ignore_errors=True)

    floor_s, full_s = median(f.seconds for f in floors), median(f.seconds for f in fulls)
    noop_s, one_s = median(n.seconds for n in noops), median(o.seconds for o in one_source)
    return {
        "label": label, "mirror": str(mirror), "registry": str(registry), "runs": runs,
        "build_command": " ".join(command[1:]),
        "floor_s": floor_s, "floor_runs": [f.seconds for f in floors],
        "floor_peak_rss_mb": max(f.peak_rss_mb for f in floors), "floor_line": floors[-1].stdout.strip(),
        "full_s": full_s, "full_runs": [f.seconds for f in fulls],
        "full_peak_rss_mb": max(f.peak_rss_mb for f in fulls), "ratio": full_s / floor_s,
        "noop_s": noop_s, "noop_runs": [n.seconds for n in noops], "noop_share": noop_s / full_s,
        "noop_line": noops[-1].stdout.strip() if noops else "",
        "one_source": change_source, "one_source_s": one_s, "one_source_runs": [o.seconds for o in one_source],
        "one_source_share": one_s / full_s if one_source else float("nan"),
        "one_source_raw_stg_steps": ran, "one_source_steps": len(one_source_steps),
        "cold_steps": len(steps), "cold_steps_sum_s": sum(s["seconds"] for s in steps),
        "cold_steps_by_kind": _by_kind(steps), "slowest_steps": sorted(steps, key=lambda s: -s["seconds"])[:15],
        "data_dir": str(data_dir) if keep else None,
    }


def _by_kind(steps: list[dict]) -> dict[str, float]:
    """Seconds of the cold build's steps by kind: checks, raw, staging, other (marts, benchmark, publish)."""
    kinds: dict[str, float] = {}
    for step in steps:
        name = step["step"]
        kind = ("checks" if "gx_suite" in name or name.startswith("fct_indicator_values_") or "release" in name
                else "raw" if name.startswith("raw_") else "staging" if name.startswith("stg_") else "marts+publish")
        kinds[kind] = kinds.get(kind, 0.0) + step["seconds"]
    return kinds


def report(results: list[dict]) -> str:
    rows = [[r["label"], r["floor_s"], r["full_s"], f"{r['ratio']:.1f}x", f"{r['full_peak_rss_mb']:.0f}",
             r["noop_s"], f"{100 * r['noop_share']:.1f}%", r["one_source_s"],
             f"{100 * r['one_source_share']:.0f}%" if r["one_source_s"] == r["one_source_s"] else "n/a",
             ", ".join(r["one_source_raw_stg_steps"]) or "n/a"] for r in results]
    text = table(["mirror", "floor s", "full cold s", "full/floor", "peak RSS MB", "no-op s", "no-op/full",
                  "one-source s", "one-source/full", "raw/stg steps run"], rows)
    for r in results:
        kinds = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(r["cold_steps_by_kind"].items()))
        text += (f"\n\nSteps of the last cold build ({r['label']}): {r['cold_steps']} steps, "
                 f"{r['cold_steps_sum_s']:.1f} s inside steps ({kinds}); the rest of the "
                 f"{r['full_runs'][-1]:.1f} s is process start, definitions and Dagster between steps.\n"
                 f"Slowest steps:\n"
                 + table(["step", "s"], [[s["step"], s["seconds"]] for s in r["slowest_steps"]]))
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY)
    parser.add_argument("--label", default="1x")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--change-source", default=CHANGE_SOURCE, help="source rewritten for the one-source run "
                        "('' to skip)")
    parser.add_argument("--workdir", type=Path, help="where data dirs go (default: a temp dir, removed)")
    parser.add_argument("--without-checks", action="store_true",
                        help="diagnostic: cold builds without any asset check and without publish (what the "
                        "data-proportional steps cost without the audit)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-build-", dir=args.workdir) as work:
        result = bench(args.mirror.resolve(), args.registry.resolve(), args.runs, args.label, Path(work),
                       args.change_source or None, without_checks=args.without_checks)
    text = report([result])
    print(text)
    save(f"build-{args.label}" + ("-without-checks" if args.without_checks else ""), {"results": [result]}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
