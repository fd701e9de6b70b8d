"""Shared by the bench/ scripts: run a command in a fresh process and measure wall time and peak RSS, medians,
tables, and where results are saved (bench/results/, git-ignored)."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_MIRROR = Path(os.environ.get("AI_READINESS_MIRROR") or PROJECT_ROOT.parent / "shared" / "data")
DEFAULT_REGISTRY = PROJECT_ROOT / "config" / "sources"


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float  # largest resident set of the process (and of any child it waited for)
    returncode: int
    stdout: str = ""
    stderr: str = ""


def run(cmd: list[str], *, env: dict | None = None, cwd: Path = PROJECT_ROOT, timeout: float = 3600) -> Run:
    """Run `cmd` to completion; wall time from fork to exit, peak RSS from wait4 (Linux: kilobytes)."""
    full_env = {**os.environ, **(env or {})}
    started = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    return Run(elapsed, float("nan"), process.returncode, stdout, stderr)


def run_measured(cmd: list[str], *, env: dict | None = None, cwd: Path = PROJECT_ROOT, timeout: float = 3600) -> Run:
    """Like run(), with the peak RSS of exactly this command's process tree (a tiny wrapper process waits for it
    with os.wait4 and reports ru_maxrss: the largest process of the tree; the build runs in-process)."""
    wrapper = [sys.executable, str(BENCH_DIR / "common.py"), "--measure", "--", *cmd]
    result = run(wrapper, env=env, cwd=cwd, timeout=timeout)
    marker = "\n@@bench-measure@@ "
    if marker in result.stderr:
        stderr, _, tail = result.stderr.rpartition(marker)
        measured = json.loads(tail.strip())
        return Run(measured["seconds"], measured["peak_rss_mb"], measured["returncode"], result.stdout, stderr)
    return result


def _measure_main(cmd: list[str]) -> int:
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: become the command
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    returncode = os.waitstatus_to_exitcode(status)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kb = max(usage.ru_maxrss, children.ru_maxrss)
    measured = {"seconds": seconds, "peak_rss_mb": peak_kb / 1024, "returncode": returncode}
    sys.stderr.write(f"\n@@bench-measure@@ {json.dumps(measured)}\n")
    return 0


def median(values) -> float:
    values = [v for v in values if v == v]  # drop NaN
    return statistics.median(values) if values else float("nan")


@dataclass
class Row:
    label: str
    values: dict = field(default_factory=dict)


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (pipes), readable in a terminal and pasteable into the README."""
    def cell(value) -> str:
        if isinstance(value, float):
            if value != value:
                return "n/a"
            return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, text)])


def save(name: str, payload: dict, text: str) -> Path:
    """bench/results/<name>-<timestamp>.{json,md} and <name>-latest.{json,md}."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    payload = {"name": name, "when": stamp, "host_cpus": os.cpu_count(), **payload}
    for suffix, content in (("json", json.dumps(payload, indent=2, default=_jsonable)), ("md", text + "\n")):
        (RESULTS_DIR / f"{name}-{stamp}.{suffix}").write_text(content)
        (RESULTS_DIR / f"{name}-latest.{suffix}").write_text(content)
    return RESULTS_DIR / f"{name}-latest.md"


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return repr(value)


def dagster_home(folder: Path) -> Path:
    """A persistent Dagster instance (as `make run` uses) with telemetry off, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return folder


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--measure" and sys.argv[2] == "--":
        sys.exit(_measure_main(sys.argv[3:]))
    sys.exit("usage: common.py --measure -- CMD...")
