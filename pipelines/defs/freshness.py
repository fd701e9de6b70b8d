"""Freshness checks, one per source: `raw_<source_id>` must have been materialized within the registry's
update_cadence_days plus the grace in config/schedules.yaml, else its `freshness_check` fails with severity WARN.
A sensor evaluates them (and every run that materializes a raw asset does too)."""

from __future__ import annotations

import warnings
from datetime import timedelta

import dagster as dg

from pipelines.sources.registry import load_registry
from pipelines.sources.upstream import load_schedule_config


def build_freshness_checks(sources, grace_days: int) -> list[dg.AssetChecksDefinition]:
    with warnings.catch_warnings():
        # "Superseded" by FreshnessPolicy, which shows a status badge; a failed WARN *check* is what we want here.
        warnings.simplefilter("ignore", FutureWarning)
        return [
            check
            for source in sources
            for check in dg.build_last_update_freshness_checks(
                assets=[dg.AssetKey(f"raw_{source.source_id}")],
                lower_bound_delta=timedelta(days=source.update_cadence_days + grace_days),
                severity=dg.AssetCheckSeverity.WARN,
            )
        ]


freshness_checks = build_freshness_checks(load_registry().values(), load_schedule_config().freshness_grace_days)
freshness_checks_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks, name="freshness_checks_sensor", minimum_interval_seconds=3600,
)
