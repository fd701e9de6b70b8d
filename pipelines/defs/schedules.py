"""When the pipeline runs on its own: a monthly full refresh, a weekly re-fetch of the raw files, and (live mode) a
sensor that refreshes only what depends on a source whose upstream file changed. Times: config/schedules.yaml."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import dagster as dg

from pipelines.sources.registry import Source, load_registry
from pipelines.sources.upstream import ScheduleConfig, load_schedule_config

full_refresh_job = dg.define_asset_job(
    "full_refresh", selection=dg.AssetSelection.all(),
    description="Every asset and check: fetch, stage, marts, checks, publish.",
)
upstream_check_job = dg.define_asset_job(
    "upstream_check", selection=dg.AssetSelection.groups("ingest"),
    description="Only the raw assets: re-fetch every registered file and verify its sha256 (a changed upstream "
    "file fails the run and is kept aside as a new vintage), then the freshness checks.",
)


def build_schedules(config: ScheduleConfig) -> list[dg.ScheduleDefinition]:
    return [
        dg.ScheduleDefinition(
            name="monthly_full_refresh", job=full_refresh_job,
            cron_schedule=config.full_refresh.cron, execution_timezone=config.full_refresh.timezone,
            description="The full refresh (config/schedules.yaml: full_refresh).",
        ),
        dg.ScheduleDefinition(
            name="weekly_upstream_check", job=upstream_check_job,
            cron_schedule=config.upstream_check.cron, execution_timezone=config.upstream_check.timezone,
            description="Re-fetch and verify the raw files only (config/schedules.yaml: upstream_check).",
        ),
    ]


def build_upstream_sensor(
    sources: Callable[[], Iterable[Source]] = lambda: load_registry().values(),
    policy=None,
    interval_seconds: int = 86400,
) -> dg.SensorDefinition:
    """The cursor holds the last fingerprint of every registered URL ({source_id: {path: fingerprint}}); a tick
    requests one run of `raw_<source>` and everything downstream, for the sources whose files changed."""

    @dg.sensor(
        name="upstream_change_sensor", target=dg.AssetSelection.all(), minimum_interval_seconds=interval_seconds,
        description="Live mode (no AI_READINESS_MIRROR): probes each registered URL (ETag / Last-Modified / "
        "length, else a sha256 of the body) and refreshes only what depends on the sources that changed.",
    )
    def upstream_change_sensor(context: dg.SensorEvaluationContext):
        from pipelines.base.settings import mirror_dir
        from pipelines.sources.upstream import check_sources

        if mirror_dir() is not None:
            return dg.SkipReason("offline mirror mode (AI_READINESS_MIRROR is set): upstream URLs are not probed")
        previous = json.loads(context.cursor) if context.cursor else {}
        changed, seen, errors = check_sources(list(sources()), previous, policy)
        for error in errors:
            context.log.warning(f"upstream probe failed: {error}")
        cursor = json.dumps(seen, sort_keys=True)
        if not changed:
            return dg.SensorResult(skip_reason=dg.SkipReason("no upstream change"), cursor=cursor)
        graph = context.repository_def.asset_graph
        selection = dg.AssetSelection.assets(*[f"raw_{s}" for s in changed]).downstream()
        keys = sorted(selection.resolve(graph), key=lambda k: k.to_user_string())
        # One run for all changed sources: a single writer of the build warehouse at a time.
        request = dg.RunRequest(
            run_key=f"upstream:{_digest(cursor)}", asset_selection=keys,
            tags={"ai_readiness/changed_sources": ",".join(changed)},
        )
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return upstream_change_sensor


def _digest(text: str) -> str:
    """Same fingerprints, same run key: Dagster never starts the same refresh twice."""
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


_config = load_schedule_config()
monthly_full_refresh, weekly_upstream_check = build_schedules(_config)
upstream_change_sensor = build_upstream_sensor(interval_seconds=_config.upstream_sensor_interval_seconds)
