"""When the pipeline runs on its own: a monthly full refresh, a weekly upstream check that asks the publishers' live
endpoints conditionally and runs only the changed sources and their dependants, and (live mode) a sensor doing the
same between ticks. A changed file becomes a new vintage, validated and published when every check passes.
Times: config/schedules.yaml."""

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


def _changed_run(context, changed: list[str], key: str) -> dg.RunRequest:
    """One run of the changed sources' raw steps and everything downstream (one writer of the build warehouse)."""
    graph = context.repository_def.asset_graph
    selection = dg.AssetSelection.assets(*[f"raw_{s}" for s in changed]).downstream()
    keys = sorted(selection.resolve(graph), key=lambda k: k.to_user_string())
    return dg.RunRequest(run_key=key, asset_selection=keys, tags={"ai_readiness/changed_sources": ",".join(changed)})


def build_schedules(config: ScheduleConfig, sources: Callable[[], Iterable[Source]] = lambda: load_registry().values(),
                    policy=None) -> list[dg.ScheduleDefinition]:
    monthly = dg.ScheduleDefinition(
        name="monthly_full_refresh", job=full_refresh_job,
        cron_schedule=config.full_refresh.cron, execution_timezone=config.full_refresh.timezone,
        description="The full refresh (config/schedules.yaml: full_refresh).",
    )

    @dg.schedule(
        name="weekly_upstream_check", target=dg.AssetSelection.all(),
        cron_schedule=config.upstream_check.cron, execution_timezone=config.upstream_check.timezone,
        description="Asks each live endpoint whether its file changed (conditional requests with the recorded ETag "
        "/ Last-Modified) and runs only the changed sources and their dependants (config/schedules.yaml: "
        "upstream_check). Offline (AI_READINESS_MIRROR): the mirror's files are compared with the working copies.",
    )
    def weekly_upstream_check(context: dg.ScheduleEvaluationContext):
        from pipelines.base.settings import current_paths, mirror_dir
        from pipelines.sources.upstream import changed_sources

        listed = list(sources())
        raw_dir = current_paths().raw_dir
        if mirror_dir() is not None:
            changed, errors = _mirror_changes(listed, raw_dir, mirror_dir()), []
        else:
            changed, errors = changed_sources(listed, raw_dir, policy)
        for error in errors:
            context.log.warning(f"upstream probe failed: {error}")
        if not changed:
            return dg.SkipReason(f"no live endpoint changed ({len(errors)} probe errors)")
        when = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "now"
        return _changed_run(context, changed, f"weekly:{when}:{','.join(changed)}")

    return [monthly, weekly_upstream_check]


def _mirror_changes(sources, raw_dir, mirror) -> list[str]:
    """Offline: sources whose mirror files are not the bytes of their working copies (or not yet fetched)."""
    from pipelines.sources.fetch import sha256_of
    from pipelines.sources.vintages import accepted_sha256

    changed = []
    for source in sources:
        for raw in source.files:
            src, local = mirror / source.source_id / raw.path, raw_dir / source.source_id / raw.path
            if not src.is_file():
                continue
            sha = sha256_of(src)
            if not local.is_file() or sha != sha256_of(local) or sha not in accepted_sha256(source.source_id, raw,
                                                                                             raw_dir):
                changed.append(source.source_id)
                break
    return changed


def build_upstream_sensor(
    sources: Callable[[], Iterable[Source]] = lambda: load_registry().values(),
    policy=None,
    interval_seconds: int = 86400,
) -> dg.SensorDefinition:
    """The cursor holds the last fingerprint of every registered URL ({source_id: {path: fingerprint}}); a tick
    requests one run of `raw_<source>` and everything downstream, for the sources whose files changed."""

    @dg.sensor(
        name="upstream_change_sensor", target=dg.AssetSelection.all(), minimum_interval_seconds=interval_seconds,
        description="Live mode (no AI_READINESS_MIRROR): probes each live endpoint (ETag / Last-Modified / "
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
        # One run for all changed sources: a single writer of the build warehouse at a time.
        return dg.SensorResult(run_requests=[_changed_run(context, changed, f"upstream:{_digest(cursor)}")],
                               cursor=cursor)

    return upstream_change_sensor


def _digest(text: str) -> str:
    """Same fingerprints, same run key: Dagster never starts the same refresh twice."""
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


_config = load_schedule_config()
monthly_full_refresh, weekly_upstream_check = build_schedules(_config)
upstream_change_sensor = build_upstream_sensor(interval_seconds=_config.upstream_sensor_interval_seconds)
