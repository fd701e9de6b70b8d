"""`ai-readiness`: build, fetch, query, report and explain the warehouse. Errors are one clear line, exit 2."""

from __future__ import annotations

import argparse
import sys
import time


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# --- build ---------------------------------------------------------------------------------------------------

def _instance():
    """The persistent instance under $DAGSTER_HOME (run history kept), or an ephemeral one without it."""
    import os

    import dagster as dg

    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def _check_lines(evaluation) -> list[str]:
    """One line per failure a check reports (its `failure_lines` metadata), else the check's metadata."""
    name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
    metadata = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
    reported = [line for line in str(metadata.get("failure_lines") or "").splitlines() if line.strip()]
    if reported:
        return [f"check {name} {line}" for line in reported]
    return [f"check {name} failed (severity {evaluation.severity.value}): {metadata}"]


def _failure_lines(result) -> list[str]:
    """What stopped the build: failed steps (with source, file, row and rule from the error) and failed checks
    of severity ERROR, one line per failure (each names check, source, file, row(s) and rule)."""
    import dagster as dg

    lines = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
                continue  # "N blocking asset checks failed": the checks' own lines below say which and why
            message = error.message.strip() if error else "unknown error"
            while error is not None and error.cause is not None and "dagster" in error.cls_name.lower():
                error = error.cause
                message = error.message.strip()
            lines.append(f"step {event.step_key} failed: {message}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            lines.extend(_check_lines(evaluation))
    return lines


def _warning_lines(result) -> list[str]:
    """Failed checks of severity WARN: reported, not blocking."""
    import dagster as dg

    return [line for evaluation in result.get_asset_check_evaluations()
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
            for line in _check_lines(evaluation)]


def _progress_logger(started: float):
    """A Dagster logger printing one compact line per finished step (elapsed run time, step time): Dagster's
    own console log at INFO is several lines per step; AI_READINESS_LOG_LEVEL=INFO still shows it."""
    import logging

    import dagster as dg

    labels = {dg.DagsterEventType.STEP_SUCCESS: "ok", dg.DagsterEventType.STEP_FAILURE: "FAILED",
              dg.DagsterEventType.STEP_SKIPPED: "skipped"}

    class Handler(logging.Handler):
        def emit(self, record):
            event = getattr(record, "dagster_event", None)
            label = labels.get(getattr(event, "event_type", None))
            if label is None:
                return
            took = getattr(event.event_specific_data, "duration_ms", None)
            took = f"{took / 1000:.1f}s" if took is not None else ""
            print(f"[{time.monotonic() - started:6.1f}s] {label:<7} {event.step_key} {took}".rstrip(), flush=True)

    @dg.logger(description="one line per finished step")
    def progress(_init_context):
        logger = logging.Logger("ai-readiness-progress", level=logging.DEBUG)
        logger.addHandler(Handler())
        return logger

    return progress


def _console_logger():
    """Dagster's console logger without what the build's summary says better: one "Dependencies for step X
    failed ... Not executing." per step downstream of a failure (~100 lines after a blocking check), and the
    tracebacks of a blocking check's step and of the run; the summary lists each failure with source, file, row
    and rule. Other step failures keep their traceback; AI_READINESS_LOG_LEVEL=INFO (or DEBUG) shows everything."""
    import logging

    import dagster as dg

    def redundant(record: logging.LogRecord) -> bool:
        event = getattr(record, "dagster_event", None)
        if event is None:
            message = record.getMessage()
            return "Dependencies for step" in message and "Not executing." in message
        if event.event_type == dg.DagsterEventType.RUN_FAILURE:
            return True
        error = event.step_failure_data.error if event.event_type == dg.DagsterEventType.STEP_FAILURE else None
        return error is not None and error.cls_name == "DagsterAssetCheckFailedError"

    class Summarised(logging.Filter):
        def filter(self, record):
            return not redundant(record)

    @dg.logger(config_schema=dg.colored_console_logger.config_schema, description="Dagster's console logger, "
               "without the lines the build's summary repeats")
    def console(init_context):
        logger = dg.colored_console_logger.logger_fn(init_context)
        if logger.level >= logging.WARNING:
            logger.addFilter(Summarised())
        return logger

    return console


def build(select: str | None = None, wait_seconds: float = 0.0, *, full: bool = False,
          without_checks: bool = False, pinned: bool = False) -> int:
    """Plan and materialize under the build lock: a second build waits up to `wait_seconds`, then refuses (exit 2)."""
    import os

    from pipelines.base.lock import BuildLocked, build_lock
    from pipelines.base.settings import current_paths
    from pipelines.sources.vintages import PINNED_ENV

    if pinned:  # an environment setting, so the incremental planner's fingerprints see it like any other
        os.environ[PINNED_ENV] = "1"

    try:
        with build_lock(current_paths().marts_dir, wait_seconds=wait_seconds):
            return _build_locked(select, full=full, without_checks=without_checks)
    except BuildLocked as exc:
        raise CliError(str(exc)) from None


def _materialize(definitions, selection, started: float):
    """dg.materialize, plus the progress logger (materialize takes no loggers; this is its body)."""
    import os

    import dagster as dg

    job_name = "__ephemeral_asset_job__"  # what dg.materialize names it: the UI shows an ad-hoc materialization
    run_definitions = dg.Definitions(
        jobs=[dg.define_asset_job(job_name, selection=selection)],
        assets=[*(definitions.assets or []), *(definitions.asset_checks or [])],
        resources=definitions.resources,
        loggers={"console": _console_logger(), "progress": _progress_logger(started)},
    )
    level = os.environ.get("AI_READINESS_LOG_LEVEL", "WARNING")
    return run_definitions.resolve_job_def(job_name).execute_in_process(
        instance=_instance(), raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": level}}, "progress": {}}},
    )


def _build_locked(select: str | None, *, full: bool = False, without_checks: bool = False) -> int:
    """A plain build runs what pipelines.orchestration.incremental plans: nothing when inputs, code, settings and the
    published release are as the last successful build left them (planned before Dagster is imported, so that
    answer takes well under a second), else the stale sources' raw_/stg_ steps, the marts and publish. Its
    fingerprints are committed only after it published. `--select` (and the `--without-checks` diagnostic) run
    what they are told and make the next plain build a full one."""
    from pipelines.base.settings import current_paths
    from pipelines.orchestration import incremental

    started = time.monotonic()
    paths = current_paths()
    plan = None
    if select is None and not without_checks:
        plan = incremental.plan_build(paths, full=full or None)
        if plan.up_to_date:
            print(f"ai-readiness build ok in {time.monotonic() - started:.1f}s: {plan.summary()}")
            return 0
        _refuse_without_network(plan, paths)
        print(f"ai-readiness build plan: {plan.summary()}", flush=True)
        incremental.begin(plan, paths)  # a run killed from here on leaves what it was to rebuild stale
    else:
        incremental.invalidate(paths)

    import contextlib

    import dagster as dg

    from pipelines.definitions import defs

    if plan is not None:
        selection = plan.selection()
    else:
        selection = dg.AssetSelection.from_string(select) if select else dg.AssetSelection.all()
    if without_checks:  # a bench diagnostic: the steps without the audit, so nothing may be published either
        selection = selection.without_checks() - dg.AssetSelection.assets("published_marts")
    with incremental.planned_run() if plan is not None else contextlib.nullcontext():
        result = _materialize(defs(), selection, started)
    published = any(
        e.asset_key.to_user_string() == "published_marts" for e in result.get_asset_materialization_events()
    )
    failures, warnings = _failure_lines(result), _warning_lines(result)
    if failures or not result.success:
        held = _hold_vintages(failures or ["run failed (see the Dagster run log)"])
        print("ai-readiness build FAILED; the published marts were left as they were.", file=sys.stderr)
        for line in _collapse_network_lines(failures) or ["run failed (see the Dagster run log)"]:
            print(f"  - {line}", file=sys.stderr)
        for line in held:
            print(f"  - {line}", file=sys.stderr)
        for line in warnings:
            print(f"  - {line}", file=sys.stderr)
        return 1
    for line in warnings:
        print(f"ai-readiness build warning: {line}", file=sys.stderr)
    if plan is not None:
        if not published:
            print("ai-readiness build FAILED: published_marts did not run", file=sys.stderr)
            return 1
        incremental.commit(plan, paths, published=True)
    note = " (diagnostic without checks: nothing published)" if without_checks else ""
    print(f"ai-readiness build ok in {time.monotonic() - started:.1f}s (run {result.run_id}){note}")
    return 0


def _refuse_without_network(plan, paths) -> None:
    """Live mode, files to download and not one of their hosts reachable: one line, before Dagster is even
    imported (a DNS failure takes ~0.1 s; waiting out retries on it does not help)."""
    from pipelines.base.settings import mirror_dir
    from pipelines.sources.fetch import OFFLINE_HINT, host_of, live_target, unreachable_hosts
    from pipelines.sources.registry import load_registry

    if mirror_dir() is not None:
        return
    registry = load_registry()
    urls = []
    for source_id in plan.stale_sources:
        for raw in registry[source_id].files:
            local = paths.raw_dir / source_id / raw.path
            url = live_target(raw)[0]
            if url and not local.is_file():
                urls.append(url)
                if raw.live_discover and url == raw.live_url:  # the listing is asked first
                    urls.append(raw.live_discover["listing"])
    if not urls:
        return
    failed = unreachable_hosts(urls)
    if failed and len(failed) == len({host_of(u) for u in urls}):  # some reachable: fetch skips the others
        first = next(iter(failed.values()))
        raise CliError(f"the network is unreachable ({len(failed)} publisher hosts, e.g. {first}); nothing was "
                       f"built. {OFFLINE_HINT}")


def _collapse_network_lines(lines: list[str]) -> list[str]:
    """One line per unreachable host rather than one per file (every file of a host fails the same way)."""
    import re

    kept, seen_hosts = [], set()
    for line in lines:
        match = re.search(r"rule=network\] cannot reach (\S+)", line)
        if match:
            if match.group(1) in seen_hosts:
                continue
            seen_hosts.add(match.group(1))
        kept.append(line)
    return kept


def _hold_vintages(failures: list[str]) -> list[str]:
    """A failed build holds the new vintages it parsed (their snapshots keep the reasons); one line each."""
    from pipelines.base.settings import current_paths
    from pipelines.sources.registry import load_registry
    from pipelines.sources.vintages import mark_held

    try:
        held = mark_held(load_registry(), current_paths().raw_dir, failures)
    except (OSError, ValueError):
        return []
    return [f"new vintage {snap.source_id}/{snap.vintage} held (kept in {snap.folder}; not published)"
            for snap in held]


# --- vintages and release diff -------------------------------------------------------------------------------

def vintages(source_ids: list[str]) -> int:
    """The snapshots of each source (or those named), with their status."""
    from pipelines.base.settings import current_paths
    from pipelines.sources.registry import load_registry
    from pipelines.sources.vintages import describe

    registry = load_registry()
    for source_id in source_ids:
        if source_id not in registry:
            raise CliError(f"unknown source {source_id!r}{_close(source_id, registry)}")
    rows = describe(current_paths().raw_dir, registry, source_ids or None)
    if not rows:
        which = ", ".join(source_ids) if source_ids else "any source"
        print(f"no snapshots of {which}: every working copy is the registered file (config/sources/)")
        return 0
    for row in rows:
        release = f" release {row['release']}" if row["release"] else ""
        use = " (in use)" if row["in_use"] else ""
        reason = f" - {row['reason']}" if row["reason"] and row["status"] != "published" else ""
        if row["accepted"]:
            reason += f" - accepted {row['accepted']['at']}: {row['accepted']['reason']}"
        print(f"{row['source_id']}/{row['vintage']} {row['status']}{use}{release}: {row['path']} "
              f"sha256 {row['sha256'][:12]} {row['bytes']} bytes from {row['origin']}{reason}")
    return 0


def accept_vintage(argv: list[str], reason: str | None) -> int:
    """`vintages accept SOURCE VINTAGE --reason TEXT`: release a held vintage's large value moves as true
    revisions (pipelines.sources.vintages.accept); the next `ai-readiness build` validates and publishes it."""
    from pipelines.base.errors import PipelineDataError
    from pipelines.base.lock import BuildLocked, build_lock
    from pipelines.base.settings import current_paths
    from pipelines.sources.registry import load_registry
    from pipelines.sources.vintages import accept

    if len(argv) != 2 or not reason:
        raise CliError("usage: ai-readiness vintages accept SOURCE VINTAGE --reason 'why the moves are true'")
    source_id, vintage = argv
    registry = load_registry()
    if source_id not in registry:
        raise CliError(f"unknown source {source_id!r}{_close(source_id, registry)}")
    paths = current_paths()
    try:
        with build_lock(paths.marts_dir):  # a running build may be holding this very snapshot
            snap = accept(paths.raw_dir, source_id, vintage, reason)
    except (PipelineDataError, BuildLocked) as exc:
        raise CliError(str(exc)) from None
    print(f"{source_id}/{vintage} accepted: its value moves are released as true revisions by the next "
          f"`ai-readiness build` (every other check still applies); reason recorded in {snap.folder}")
    return 0


def diff(old: str | None, new: str | None, output_format: str = "text") -> int:
    """What changed for the focus country between two kept releases (default: the published one and the one
    before it): scores and ranks, their attribution (method part re-scored), the changed configuration keys, the
    top cells with lineage, the peers that crossed it."""
    from pipelines.base.settings import current_paths
    from pipelines.publish.release_diff import diff_releases, summary_lines

    try:
        frame, old, new = diff_releases(current_paths().marts_dir, old, new)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if output_format == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        print("\n".join(summary_lines(frame, old, new)))
    return 0


# --- fetch ---------------------------------------------------------------------------------------------------

class _Progress:
    """A text bar redrawn in place on a terminal; one line per file otherwise (logs, CI)."""

    def __init__(self, files: int, total_bytes: int, tty: bool):
        self.files, self.total, self.tty = files, max(total_bytes, 1), tty
        self.done_files = self.done_bytes = 0

    def advance(self, name: str, size: int, seconds: float) -> None:
        self.done_files += 1
        self.done_bytes += size
        counts = f"{self.done_files}/{self.files} files, {self.done_bytes / 1e6:.1f}/{self.total / 1e6:.1f} MB"
        if not self.tty:
            print(f"fetched {counts}: {name} ({size / 1e3:.0f} kB, {seconds:.2f}s)", flush=True)
            return
        import shutil

        filled = round(30 * self.done_bytes / self.total)
        line = f"[{'#' * filled}{'-' * (30 - filled)}] {counts} {name}"
        width = shutil.get_terminal_size((100, 20)).columns - 1
        print(f"\r{line[:width]:<{width}}", end="" if self.done_files < self.files else "\n", flush=True)


def fetch(source_ids: list[str], wait_seconds: float = 0.0) -> int:
    """Copy (mirror) or download every registered raw file into data/raw/, each verified against its sha256."""
    from pipelines.base.lock import BuildLocked, build_lock
    from pipelines.base.settings import current_paths, mirror_dir
    from pipelines.sources.fetch import HttpPolicy, fetch_from_mirror, fetch_from_url, make_client
    from pipelines.sources.registry import load_registry

    registry = load_registry()
    for source_id in source_ids:
        if source_id not in registry:
            raise CliError(f"unknown source {source_id!r}{_close(source_id, registry)}")
    sources = [registry[s] for s in source_ids] if source_ids else list(registry.values())
    files = [(source, raw) for source in sources for raw in source.files]
    paths, mirror = current_paths(), mirror_dir()
    policy = HttpPolicy()
    print(f"fetching {len(files)} files of {len(sources)} sources from "
          f"{f'the mirror {mirror}' if mirror else 'the publishers (live)'} into {paths.raw_dir}", flush=True)
    progress = _Progress(len(files), sum(raw.bytes for _, raw in files), sys.stdout.isatty())
    try:
        with build_lock(paths.marts_dir, wait_seconds=wait_seconds), make_client(policy) as client:
            for source, raw in files:
                begun = time.monotonic()
                if mirror is not None:
                    fetch_from_mirror(source, raw, mirror, paths.raw_dir)
                else:
                    fetch_from_url(source, raw, paths.raw_dir, client, policy)
                progress.advance(f"{source.source_id}/{raw.path}", raw.bytes, time.monotonic() - begun)
    except BuildLocked as exc:
        raise CliError(str(exc)) from None
    finally:
        if progress.tty and progress.done_files < len(files):
            print(flush=True)  # end the half-drawn bar: the error gets a line of its own
    print(f"ai-readiness fetch ok: {len(files)} files verified in {paths.raw_dir}")
    return 0


# --- query, report, explain ----------------------------------------------------------------------------------

def _published_warehouse():
    from pipelines.base.settings import current_paths

    path = current_paths().published_warehouse
    if not path.exists():
        raise CliError(f"no published warehouse at {path}: run `ai-readiness build` (or `make run`) first")
    return path


def query(sql: str, output_format: str = "table") -> int:
    """Read-only: the connection cannot write the warehouse, whatever the SQL says."""
    from pipelines.publish.query import read_only_session, safe_csv_frame

    with read_only_session(_published_warehouse()) as connection:  # nor any other file: no COPY TO, no ATTACH
        frame = connection.execute(sql).df()
    if output_format == "csv":
        safe_csv_frame(frame).to_csv(sys.stdout, index=False)  # no cell a spreadsheet would run as a formula
    elif output_format == "json":
        print(frame.to_json(orient="records", indent=1, date_format="iso"))
    else:
        print(frame.to_string(index=False, max_rows=200, max_colwidth=60))
    return 0


def _sql_text(args) -> str:
    from pathlib import Path

    if (args.sql is None) == (args.file is None):
        raise CliError("query needs the SQL text or --file PATH (one of them)")
    if args.file is None:
        return args.sql
    try:
        return Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None


def report(out_dir: str) -> int:
    from pathlib import Path

    from pipelines.publish.report import build_report

    print(f"ai-readiness report written to {build_report(_published_warehouse(), Path(out_dir))}")
    return 0


def explain(iso3: str, item: str) -> int:
    from pipelines.base.warehouse import connect
    from pipelines.publish.explain import UnknownName, explain_lines

    with connect(_published_warehouse(), read_only=True) as connection:
        try:
            lines = explain_lines(connection, iso3, item)
        except UnknownName as exc:
            raise CliError(str(exc)) from None
    print("\n".join(lines))
    return 0


# --- whatif --------------------------------------------------------------------------------------------------

def whatif(iso3: str, item: str | None, to: str | None, target_rank: int | None) -> int:
    """What would move ISO3, from the published what-if marts (built for the focus country)."""
    from pipelines.base.warehouse import connect
    from pipelines.publish.whatif_text import UnknownWhatIf, whatif_lines

    with connect(_published_warehouse(), read_only=True) as connection:
        try:
            lines = whatif_lines(connection, iso3, item, to, target_rank)
        except UnknownWhatIf as exc:
            raise CliError(str(exc)) from None
    print("\n".join(lines))
    return 0


def _close(name: str, choices) -> str:
    import difflib

    matches = difflib.get_close_matches(name, list(choices), n=5, cutoff=0.5)
    return f"; did you mean {', '.join(matches)}?" if matches else ""


# --- argument parsing ----------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + message; one line is the contract
        print(f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ai-readiness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = commands.add_parser("build", help="fetch, stage, build the marts, check, publish (one line per step)",
                            description="Materialize what changed since the last successful build (all of it the "
                            "first time, or with --full) under the build lock; prints one line and exits 0 when "
                            "nothing did. Publishes only when every blocking check passed. "
                            "AI_READINESS_LOG_LEVEL=INFO shows Dagster's full log.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--select", help="Dagster asset selection, e.g. 'key:stg_worldbank_wdi+': run exactly "
                      "these, changed or not (default: what changed since the last successful build); the next "
                      "plain build after it is a full one")
    what.add_argument("--full", action="store_true", help="rebuild everything, ignoring what is unchanged "
                         "(also AI_READINESS_FULL_REBUILD=1)")
    # bench/bench_build.py's diagnostic: every step but the checks and publish (what the audit costs)
    p.add_argument("--without-checks", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="if another build is running, wait this long for it (default: refuse at once)")
    p.add_argument("--pinned", action="store_true", help="accept only the registered sha256s (the reproducible "
                   "baseline): a changed file is kept as a refused snapshot and stops the build")
    p = commands.add_parser("vintages", help="list the snapshots of new upstream vintages and their status",
                            description="Each dated snapshot under data/raw/<source_id>/<vintage>/: status "
                            "(candidate, published with its release, held with the failing rules, refused by "
                            "--pinned), file, sha256, size and where it came from. `vintages accept SOURCE "
                            "VINTAGE --reason TEXT`: a held vintage's values that moved by x10 or more "
                            "(release_value_moved) are true revisions; the next build publishes them when every "
                            "other check passes.")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="only these sources (default: all); or "
                   "`accept SOURCE VINTAGE`")
    p.add_argument("--reason", help="with accept: why the large moves are true (kept in snapshot.json)")
    p = commands.add_parser("diff", help="what changed for the focus country between two releases, and why",
                            description="Compare two kept releases (data/marts/.releases/; default: the published "
                            "one and the one before): composite and pillar scores and ranks, each change split into "
                            "a method/config part (the new data re-scored with the old configuration, for a "
                            "release and the one before it) and data revisions, new periods, coverage and relative "
                            "moves; the configuration keys that differ, the top cells with lineage, and the peers "
                            "whose moves changed the focus country's rank.")
    p.add_argument("old", nargs="?", metavar="OLD_RELEASE", help="release id (default: the one before NEW)")
    p.add_argument("new", nargs="?", metavar="NEW_RELEASE", help="release id (default: the published one)")
    p.add_argument("--format", choices=("text", "csv"), default="text", help="output format (text)")
    p = commands.add_parser("fetch", help="copy (mirror) or download the raw files only, with progress",
                            description="Get every registered raw file into data/raw/<source_id>/, verified "
                            "against its sha256: from $AI_READINESS_MIRROR when set, else from the publishers.")
    p.add_argument("sources", nargs="*", metavar="SOURCE_ID", help="only these sources (default: all registered)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for a running build")
    p = commands.add_parser("query", help="run read-only SQL against the published warehouse",
                            description="Run SQL on data/marts/ai_readiness.duckdb opened read-only. Examples: "
                            "sql/examples/*.sql.")
    p.add_argument("sql", nargs="?", help="the SQL text (quote it)")
    p.add_argument("-f", "--file", metavar="PATH", help="read the SQL from a file, e.g. sql/examples/biggest_gaps.sql")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (table)")
    p = commands.add_parser("report", help="re-render the HTML report from the published warehouse",
                            description="Write OUT_DIR/index.html (self-contained) from the published marts.")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write index.html into (created if missing)")
    p = commands.add_parser("explain", help="lineage of one cell: raw file and row to the score",
                            description="Explain one published cell, from the raw file, row and sha256 through "
                            "every transformation (denominator, window year, outliers, imputation, normalisation, "
                            "weight) to the pillar and composite score. INDICATOR_OR_PILLAR is a framework "
                            "indicator key (dim_framework), a pillar, 'composite', or any indicator_id of "
                            "dim_indicators (published facts only).")
    p.add_argument("iso3", metavar="ISO3", help="country code, e.g. JPN (see dim_countries)")
    p.add_argument("item", metavar="INDICATOR_OR_PILLAR", help="e.g. genai_user_share, investment, composite")
    p = commands.add_parser("whatif", help="what would move a country: rank if it reached a peer level",
                            description="From the published marts (mart_focus_what_if, mart_focus_path): the "
                            "composite rank and Monte Carlo band if ISO3 reached each peer group's median, p75 or "
                            "leader on an indicator or pillar, largest gains first; with --target-rank N the fewest "
                            "moves to rank N among all scored countries.")
    p.add_argument("iso3", metavar="ISO3", help="the focus country the marts were built for (JPN by default)")
    p.add_argument("item", nargs="?", metavar="INDICATOR|PILLAR", help="one framework indicator key or pillar id "
                   "(default: every indicator and pillar, at its best level)")
    p.add_argument("--to", metavar="GROUP:LEVEL", help="only this peer level, e.g. g7:median, oecd:p75, "
                   "asia_pacific_advanced:leader")
    p.add_argument("--target-rank", type=int, metavar="N", help="print the shortest path to rank N among all "
                   "scored countries")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            if args.without_checks and (args.select or args.full):
                raise CliError("--without-checks is a diagnostic of a full build: no --select or --full with it")
            return build(args.select, args.wait, full=args.full, without_checks=args.without_checks,
                         pinned=args.pinned)
        if args.command == "vintages":
            if args.sources[:1] == ["accept"]:  # no source is named `accept` (the registry's ids are checked)
                return accept_vintage(args.sources[1:], args.reason)
            if args.reason:
                raise CliError("--reason goes with `vintages accept SOURCE VINTAGE`")
            return vintages(args.sources)
        if args.command == "diff":
            return diff(args.old, args.new, args.format)
        if args.command == "fetch":
            return fetch(args.sources, args.wait)
        if args.command == "query":
            return query(_sql_text(args), args.format)
        if args.command == "report":
            return report(args.out_dir)
        if args.command == "whatif":
            return whatif(args.iso3, args.item, args.to, args.target_rank)
        return explain(args.iso3, args.item)
    except CliError as exc:
        print(f"ai-readiness: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `| head` stopped reading: not an error; keep Python from complaining at exit
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - one clear line for the user, not a traceback
        kind = "" if type(exc).__module__.startswith("duckdb") else f"{type(exc).__name__}: "  # DuckDB says it
        print(f"ai-readiness {args.command}: {kind}{_one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
