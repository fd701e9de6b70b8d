"""One tick of the weekly upstream check, as the Dagster daemon would run it, in a fresh process (the definitions
read the registry and the environment at import): evaluate `weekly_upstream_check` with Dagster's
`build_schedule_context`, then execute the run it requests in-process, the way `ai-readiness build` executes a
selection. Prints one JSON line: {"skipped": reason} or {"changed": [...], "success": bool, "published": bool,
"assets": [...], "failures": [the lines `ai-readiness build` prints for what stopped the run]}.

Usage (tests/test_scheduled_live.py): python -m tests.scheduled_tick
"""

from __future__ import annotations

import datetime
import json
import time


def main() -> dict:
    import dagster as dg

    from pipelines.cli import _failure_lines, _materialize
    from pipelines.definitions import defs

    definitions = defs()
    schedule = definitions.get_schedule_def("weekly_upstream_check")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, repository_def=definitions.get_repository_def(),
                                            scheduled_execution_time=datetime.datetime.now(datetime.timezone.utc))
        result = schedule.evaluate_tick(context)
    if result.skip_message:
        return {"skipped": result.skip_message}
    [request] = result.run_requests
    run = _materialize(definitions, dg.AssetSelection.assets(*request.asset_selection), time.monotonic())
    published = any(e.asset_key.to_user_string() == "published_marts" for e in run.get_asset_materialization_events())
    return {"changed": request.tags["ai_readiness/changed_sources"].split(","), "success": run.success,
            "published": published, "assets": sorted(k.to_user_string() for k in request.asset_selection),
            "failures": _failure_lines(run)}


if __name__ == "__main__":
    print(json.dumps(main()))
