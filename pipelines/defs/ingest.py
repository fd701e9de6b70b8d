"""Ingest and staging: one raw asset and one staging asset per registered source."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.resources import ProjectPaths
from pipelines.lib.faults import crash_point
from pipelines.lib.registry import Source, load_registry


def raw_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{source.source_id}",
        group_name="ingest",
        kinds={"file"},
        description=f"{source.publisher}: {source.dataset}. Raw files copied or downloaded into data/raw/"
        f"{source.source_id}/ and verified against their registered sha256.",
        metadata={"source_id": source.source_id, "licence": source.licence, "vintage": source.vintage},
    )
    def _raw(project: ProjectPaths) -> dg.MaterializeResult:
        from pipelines.lib.fetch import fetch_source

        fetched = fetch_source(source, project.paths().raw_dir, project.mirror_dir())
        crash_point("ingest:raw_fetched")
        return dg.MaterializeResult(
            metadata={
                "files": len(fetched),
                "bytes": sum(f.bytes for f in fetched),
                "origin": "mirror" if project.mirror_dir() else "live",
            },
            data_version=dg.DataVersion(_combined_sha(f.sha256 for f in fetched)),
        )

    return _raw


def staging_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"stg_{source.source_id}",
        group_name="staging",
        kinds={"duckdb", "pandas"},
        deps=[f"raw_{source.source_id}"],
        description=f"{source.source_id} parsed into canonical long rows (one per entity, indicator and period) "
        "with file/row/sha256 lineage and ISO3 codes; aggregates kept and marked.",
        metadata={"source_id": source.source_id},
    )
    def _staged(project: ProjectPaths) -> dg.MaterializeResult:
        from pipelines.lib.staging import stage_source_into, verified_local_files

        table = f"stg_{source.source_id}"
        fetched = verified_local_files(source, project.paths().raw_dir)
        with project.build_warehouse() as connection:  # staged in DuckDB: no pandas frame of the whole source
            rows = stage_source_into(connection, source, fetched, table)
            crash_point("staging:written")  # committed, the build warehouse still open (WAL not checkpointed)
            countries, aggregate_rows, indicators = connection.execute(
                f"SELECT count(DISTINCT iso3) FILTER (WHERE NOT is_aggregate), count(*) FILTER (WHERE is_aggregate), "
                f"count(DISTINCT indicator_id) FROM {table}").fetchall()[0]
            preview = connection.execute(f"SELECT * FROM {table} LIMIT 5").df()
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "countries": int(countries),
                "aggregate_rows": int(aggregate_rows),
                "indicators": int(indicators),
                "preview": dg.MetadataValue.md(preview.to_markdown(index=False)),
            }
        )

    return _staged


def _combined_sha(shas) -> str:
    import hashlib

    return hashlib.sha256("".join(sorted(shas)).encode()).hexdigest()[:16]


_sources = load_registry().values()
raw_assets = [raw_asset(s) for s in _sources]
staging_assets = [staging_asset(s) for s in _sources]
