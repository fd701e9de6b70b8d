"""`ai-readiness`: build the warehouse headlessly, and query it. Errors are one clear line, exit 2."""

from __future__ import annotations

import argparse
import sys


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


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


def build(select: str | None = None, wait_seconds: float = 0.0) -> int:
    """Materialize under the build lock: a second build waits up to `wait_seconds`, then refuses (exit 2)."""
    from pipelines.lib.lock import BuildLocked, build_lock
    from pipelines.lib.settings import current_paths

    try:
        with build_lock(current_paths().marts_dir, wait_seconds=wait_seconds):
            return _build_locked(select)
    except BuildLocked as exc:
        raise CliError(str(exc)) from None


def _build_locked(select: str | None) -> int:
    import os

    import dagster as dg

    from pipelines.definitions import defs

    definitions = defs()
    selection = dg.AssetSelection.from_string(select) if select else dg.AssetSelection.all()
    assets = list(definitions.assets or [])
    checks = list(definitions.asset_checks or [])
    result = dg.materialize(
        [*assets, *checks],
        selection=selection,
        instance=_instance(),
        resources=definitions.resources,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("AI_READINESS_LOG_LEVEL", "INFO")}}}},
    )
    published = any(
        e.asset_key.to_user_string() == "published_marts" for e in result.get_asset_materialization_events()
    )
    failures, warnings = _failure_lines(result), _warning_lines(result)
    if failures or not result.success:
        print("ai-readiness build FAILED; the published marts were left as they were.", file=sys.stderr)
        for line in failures or ["run failed (see the Dagster run log)"]:
            print(f"  - {line}", file=sys.stderr)
        for line in warnings:
            print(f"  - {line}", file=sys.stderr)
        return 1
    for line in warnings:
        print(f"ai-readiness build warning: {line}", file=sys.stderr)
    skipped = [] if published or select else ["published_marts did not run"]
    if skipped:
        print(f"ai-readiness build FAILED: {skipped[0]}", file=sys.stderr)
        return 1
    print(f"ai-readiness build ok (run {result.run_id})")
    return 0


def query(sql: str) -> int:
    from pipelines.lib.settings import current_paths
    from pipelines.lib.warehouse import connect

    path = current_paths().published_warehouse
    if not path.exists():
        raise CliError(f"no published warehouse at {path}: run `make run` first")
    with connect(path, read_only=True) as connection:
        frame = connection.execute(sql).df()
    print(frame.to_string(index=False, max_rows=200))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ai-readiness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="materialize every asset (fetch, stage, marts, checks, publish)")
    build_parser.add_argument("--select", help="Dagster asset selection, e.g. 'key:stg_worldbank_wdi+' (default: all)")
    build_parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                              help="if another build is running, wait this long for it (default: refuse at once)")
    query_parser = commands.add_parser("query", help="run read-only SQL against data/marts/ai_readiness.duckdb")
    query_parser.add_argument("sql")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            return build(args.select, args.wait)
        return query(args.sql)
    except CliError as exc:
        print(f"ai-readiness: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one clear line for the user, not a traceback
        print(f"ai-readiness {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
