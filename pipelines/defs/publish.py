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
    "mart_release_diff",
]


@dg.asset(
    group_name="marts",  # with the scores it compares: a build of the core layers (ingest..publish) skips it too
    kinds={"duckdb", "sql"},
    deps=["mart_indicator_scores", "mart_pillar_scores", "mart_composite_index", "fct_indicator_values",
          "dim_method_settings", "dim_framework"],
    description="What changed for the focus country since the last published release: scores and ranks, their "
    "change split into a method/config part (this build's data re-scored with the last release's configuration) "
    "and a data part (data revisions, new periods, coverage, relative moves), the changed configuration keys, the "
    "top cells with lineage and the peers whose moves changed the focus country's rank "
    "(sql/marts/mart_release_diff.sql).",
)
def mart_release_diff(project: ProjectPaths) -> dg.MaterializeResult:
    from pipelines.model.peer_groups import load_peer_config
    from pipelines.publish.release_diff import build_release_diff

    with project.build_warehouse() as connection:
        rows = build_release_diff(connection, project.paths().marts_dir, load_peer_config().focus_country)
        if not rows:  # a core-only build makes no diff (release_diff.build_release_diff)
            return dg.MaterializeResult(metadata={"dagster/row_count": 0})
        preview = connection.execute("SELECT * FROM mart_release_diff WHERE row_kind = 'score'").df()
    return dg.MaterializeResult(metadata={"dagster/row_count": rows,
                                          "preview": dg.MetadataValue.md(preview.to_markdown(index=False))})


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
    from pipelines.sources.registry import load_registry
    from pipelines.sources.vintages import mark_published

    paths = project.paths()
    counts = publish(paths.build_warehouse, paths.marts_dir, required_checks=audited_check_keys())
    # the new vintages this release was built from are accepted: the next fetch compares against them
    new_vintages = mark_published(load_registry(), paths.raw_dir, (paths.marts_dir / "current").resolve().name)
    return dg.MaterializeResult(
        metadata={
            "tables": len(counts),
            "new_vintages": ", ".join(f"{s.source_id}/{s.vintage}" for s in new_vintages) or "none",
            **{f"rows_{table}": n for table, n in counts.items()},
            "warehouse": dg.MetadataValue.path(str(paths.published_warehouse)),
            "parquet": dg.MetadataValue.path(str(paths.parquet_dir)),
            "report": dg.MetadataValue.path(str(paths.marts_dir / "report" / "index.html")),
            "data_dictionary": dg.MetadataValue.path(str(paths.marts_dir / "docs" / "data_dictionary.md")),
        }
    )
