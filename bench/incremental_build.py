"""`ai-readiness build` with incremental planning (pipelines.lib.incremental): the code proposed for
pipelines/cli.py:build, runnable on its own so bench/ can measure no-op and one-source rebuilds before it is wired.

Run: AI_READINESS_DATA_DIR=... AI_READINESS_MIRROR=... .venv/bin/python -m bench.incremental_build [--full]
Once pipelines/cli.py plans builds itself (it imports pipelines.lib.incremental), bench/ calls the real CLI instead.
"""

from __future__ import annotations

import argparse
import os
import sys


def build(select: str | None = None, full: bool = False, without_checks: bool = False) -> int:
    from pipelines.lib import incremental
    from pipelines.lib.settings import current_paths

    paths = current_paths()
    plan = None
    if select is None:
        plan = incremental.plan_build(paths, full=full or None)  # before any Dagster import: a no-op stays cheap
        if plan.up_to_date:
            print(f"ai-readiness build ok: {plan.summary()}")
            return 0
        print(f"ai-readiness build: {plan.summary()}", file=sys.stderr)
        incremental.begin(plan, paths)
    else:
        incremental.invalidate(paths)  # an explicit selection: the next plain build starts from scratch

    import dagster as dg

    from pipelines.cli import _failure_lines, _instance, _warning_lines
    from pipelines.definitions import defs

    definitions = defs()
    selection = dg.AssetSelection.from_string(select) if select else plan.selection()
    if without_checks:  # a bench diagnostic only: what the data-proportional steps cost without the audit
        selection = selection.without_checks()
    result = dg.materialize(
        [*(definitions.assets or []), *(definitions.asset_checks or [])],
        selection=selection,
        instance=_instance(),
        resources=definitions.resources,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("AI_READINESS_LOG_LEVEL",
                                                                                "INFO")}}}},
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
    if not published and not select:
        print("ai-readiness build FAILED: published_marts did not run", file=sys.stderr)
        return 1
    if plan is not None and not without_checks:
        incremental.commit(plan, paths, published=published)
    print(f"ai-readiness build ok (run {result.run_id})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--select")
    parser.add_argument("--full", action="store_true", help="ignore fingerprints: rebuild everything")
    parser.add_argument("--without-checks", action="store_true",
                        help="bench diagnostic: skip every asset check (never publishes audited data; no state kept)")
    args = parser.parse_args(argv)
    return build(args.select, args.full, args.without_checks)


if __name__ == "__main__":
    sys.exit(main())
