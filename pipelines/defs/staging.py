"""Staging and the core: one staging asset per registered source (raw files parsed into canonical long rows),
then the reference seeds, the fact views over the staged rows and the dimensions (group `core`)."""

from __future__ import annotations

import dagster as dg

from pipelines.base.faults import crash_point
from pipelines.defs.resources import ProjectPaths
from pipelines.sources.registry import Source, load_registry

SOURCE_IDS = sorted(load_registry())
STAGING_KEYS = [dg.AssetKey(f"stg_{s}") for s in SOURCE_IDS]

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
    def _staged(context, project: ProjectPaths) -> dg.MaterializeResult:
        from pipelines.base.errors import PipelineDataError
        from pipelines.sources.vintages import mark_held
        from pipelines.staging.stage import stage_source_into, verified_local_files

        table = f"stg_{source.source_id}"
        fetched = verified_local_files(source, project.paths().raw_dir)
        with project.build_warehouse() as connection:  # staged in DuckDB: no pandas frame of the whole source
            try:
                rows = stage_source_into(connection, source, fetched, table)
            except PipelineDataError as exc:  # a new vintage that does not parse is held, in every kind of run
                mark_held({source.source_id: source}, project.paths().raw_dir,
                          [f"step {table} failed: {exc}"], context.run.run_id)
                raise
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



def _table_metadata(connection, table: str) -> dict:
    from pipelines.base.warehouse import identifier

    rows = connection.execute(f"SELECT count(*) FROM {identifier(table)}").fetchone()[0]
    preview = connection.execute(f"SELECT * FROM {identifier(table)} LIMIT 5").df()
    return {"dagster/row_count": rows, "preview": dg.MetadataValue.md(preview.to_markdown(index=False))}


@dg.asset(
    group_name="core",
    kinds={"duckdb"},
    deps=[dg.AssetKey(f"raw_{s}") for s in SOURCE_IDS],
    description="Seeds from config and reference data: ref_sources, ref_source_files, ref_indicators, "
    "ref_countries (country_converter), ref_wb_country_groups (World Bank regions and income groups).",
)
def reference_tables(project: ProjectPaths) -> dg.MaterializeResult:
    from pipelines.base.warehouse import replace_table_from_frame
    from pipelines.staging import reference

    registry = load_registry()
    tables = {
        "ref_sources": reference.ref_sources(registry),
        "ref_source_files": reference.ref_source_files(registry),
        "ref_indicators": reference.ref_indicators(registry),
        "ref_countries": reference.ref_countries(),
        "ref_wb_country_groups": reference.ref_wb_country_groups(registry, project.paths().raw_dir),
    }
    with project.build_warehouse() as connection:
        counts = {name: replace_table_from_frame(connection, name, frame) for name, frame in tables.items()}
    return dg.MaterializeResult(metadata={f"rows_{name}": n for name, n in counts.items()})


def _create_union_view(connection) -> None:
    """stg__all_sources: every staged source in one relation (generated: the source list is config)."""
    from pipelines.base.warehouse import identifier

    union = " UNION ALL BY NAME ".join(f"SELECT * FROM {identifier('stg_' + s)}" for s in SOURCE_IDS)
    connection.execute(f"CREATE OR REPLACE VIEW stg__all_sources AS {union}")


# The fact tables only filter and rename the staged rows: views over stg__all_sources in the build warehouse, so
# the facts are written once when staged and once when published (at 100x a copy of 20 M rows costs ~20 s).
# Publishing materialises them as tables in the release.
VIEWS = {"fct_indicator_values", "fct_aggregate_values"}


def _sql_asset(name: str, deps: list, description: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, group_name="core", kinds={"duckdb", "sql"}, deps=deps, description=description)
    def _model(project: ProjectPaths) -> dg.MaterializeResult:
        from pipelines.base.warehouse import build_table, build_view

        with project.build_warehouse() as connection:
            _create_union_view(connection)
            (build_view if name in VIEWS else build_table)(connection, "marts", name)
            crash_point(f"core:{name}")
            return dg.MaterializeResult(metadata=_table_metadata(connection, name))

    return _model


fct_indicator_values = _sql_asset(
    "fct_indicator_values", STAGING_KEYS,
    "Country facts, one row per (source_id, indicator_id, iso3, period), with raw_file, raw_sha256 and raw_row.",
)
fct_aggregate_values = _sql_asset(
    "fct_aggregate_values", STAGING_KEYS,
    "Publisher aggregates (World, regions, income groups, EU): recorded, kept out of the country facts.",
)
dim_indicators = _sql_asset(
    "dim_indicators", [*STAGING_KEYS, "reference_tables"],
    "One row per indicator: publisher code and label, unit, kind, valid range, direction, pillar, coverage.",
)
dim_sources = _sql_asset(
    "dim_sources", ["reference_tables", "fct_indicator_values"],
    "One row per source: publisher, licence, terms and restrictions, vintage, cadence, caveats, coverage.",
)
dim_countries = _sql_asset(
    "dim_countries", ["reference_tables", "fct_indicator_values"],
    "ISO3 countries with names, G7/G20/OECD/EU membership, World Bank region and income group, data held.",
)

staging_assets = [staging_asset(s) for s in load_registry().values()]
