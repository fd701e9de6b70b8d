"""Publish: runs only when every blocking check upstream has passed (Dagster skips it otherwise)."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.model import AUDIT_MART_SPECS
from pipelines.defs.resources import ProjectPaths

MART_KEYS = [
    "fct_indicator_values", "fct_aggregate_values", "dim_indicators", "dim_sources", "dim_countries",
    "mart_indicator_scores", "mart_pillar_scores", "mart_composite_index", "mart_screening", "mart_concordance",
    "mart_japan_benchmark", "dim_country_groups", "mart_focus_trends", "dim_framework", "dim_method_settings",
    "mart_index_concordance",
    *AUDIT_MART_SPECS,
    "mart_focus_what_if", "mart_focus_path", "mart_scenarios",
]


@dg.asset(
    group_name="publish",
    kinds={"duckdb", "parquet"},
    deps=MART_KEYS,
    description="data/marts/ai_readiness.duckdb, parquet/ (typed, described, facts also partitioned by source), "
    "report/index.html and docs/data_dictionary.md, swapped in atomically after the audit: the last good outputs "
    "stay as they were when any blocking check fails.",
)
def published_marts(project: ProjectPaths) -> dg.MaterializeResult:
    from pipelines.defs.validation import audited_check_keys
    from pipelines.publish.release import publish

    paths = project.paths()
    required = audited_check_keys()
    counts = publish(paths.build_warehouse, paths.marts_dir, required_checks=required)
    return dg.MaterializeResult(
        metadata={
            "tables": len(counts),
            **{f"rows_{table}": n for table, n in counts.items()},
            "warehouse": dg.MetadataValue.path(str(paths.published_warehouse)),
            "parquet": dg.MetadataValue.path(str(paths.parquet_dir)),
            "report": dg.MetadataValue.path(str(paths.marts_dir / "report" / "index.html")),
            "data_dictionary": dg.MetadataValue.path(str(paths.marts_dir / "docs" / "data_dictionary.md")),
        }
    )
