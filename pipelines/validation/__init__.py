"""Validation that stops bad data: Great Expectations (GX Core 1.x) suites defined in code, release sanity checks
against the last published warehouse, and raw-file screening. Plain Python, no Dagster.

- ``suites``:  one generic suite per staged source (built from the registry) and one per mart.
- ``runner``:  one cached ephemeral GX context per process; runs a suite on a DataFrame and returns an ``Outcome``.
- ``compiler``, ``sql_runner``: the same suite compiled to DuckDB SQL and run inside the warehouse, for tables
  above ``gx_max_rows`` (config/validation.yaml): only counts and failing samples leave DuckDB; GX renders the
  Data Docs from a bounded frame. ``validate_table`` picks the path by row count.
- ``release``: coverage, focus-country coverage and value moves versus the last release (SQL in sql/checks/).
- ``raw``:     byte-level screening of raw text files before a parser sees them.
- ``config``:  config/validation.yaml (severities, row-count bounds, tolerances, reviewed exceptions).

great_expectations is imported inside the functions that need it: importing this package stays cheap.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.validation.outcome import Failure, Outcome

__all__ = ["DATA_DOCS_DIR", "Failure", "Outcome", "suite_for", "validate_mart", "validate_staged", "validate_table"]

DATA_DOCS_DIR = "data_docs"  # data/marts/data_docs/index.html: GX Data Docs of the latest run


def suite_for(table: str, config=None):
    """The SuiteSpec of a warehouse table: `stg_<source_id>` gets its source's generic suite (parameters from the
    registry and the reference tables), a mart its own."""
    from pipelines.sources.registry import load_registry
    from pipelines.staging import reference
    from pipelines.validation.config import load_config
    from pipelines.validation.suites import mart_suite, staged_suite

    config = config or load_config()
    registry = load_registry()
    if table.startswith("stg_"):
        source = registry[table.removeprefix("stg_")]
        indicators = reference.ref_indicators({source.source_id: source})
        return staged_suite(source, indicators=indicators, country_codes=_country_codes(), config=config)
    return mart_suite(table, country_codes=_country_codes(), source_ids=sorted(registry), config=config)


def validate_staged(source_id: str, frame: pd.DataFrame, *, docs_dir: Path | None = None,
                    run_name: str | None = None) -> Outcome:
    """A frame of `stg_<source_id>` rows against its suite, with GX."""
    from pipelines.validation.config import load_config
    from pipelines.validation.runner import run_suite

    config = load_config()
    return run_suite(suite_for(f"stg_{source_id}", config), frame, config=config, docs_dir=docs_dir,
                     run_name=run_name)


def validate_mart(table: str, frame: pd.DataFrame, *, docs_dir: Path | None = None,
                  run_name: str | None = None) -> Outcome:
    """A frame of a mart's rows against its suite, with GX."""
    from pipelines.validation.config import load_config
    from pipelines.validation.runner import run_suite

    config = load_config()
    return run_suite(suite_for(table, config), frame, config=config, docs_dir=docs_dir, run_name=run_name)


def validate_table(connection, table: str, *, docs_dir: Path | None = None, run_name: str | None = None,
                   defer_docs: bool = False) -> Outcome:
    """A warehouse table against its suite, by the path its size calls for: up to gx_max_rows rows
    (config/validation.yaml, or $AI_READINESS_GX_MAX_ROWS) GX on the table read into pandas; above it the suite
    compiled to SQL and run in DuckDB, which returns only counts and failing samples (sql_runner)."""
    from pipelines.base.warehouse import identifier
    from pipelines.validation import sql_runner
    from pipelines.validation.config import load_config
    from pipelines.validation.runner import run_suite

    config = load_config()
    spec = suite_for(table, config)
    rows = connection.execute(f"SELECT count(*) FROM {identifier(table)}").fetchone()[0]
    if rows > config.gx_row_limit():
        return sql_runner.run_suite_sql(spec, connection, table, config=config, docs_dir=docs_dir,
                                        run_name=run_name, defer_docs=defer_docs)
    frame = connection.execute(f"SELECT * FROM {identifier(table)}").df()
    return run_suite(spec, frame, config=config, docs_dir=docs_dir, run_name=run_name, defer_docs=defer_docs)


def _country_codes() -> list[str]:
    from pipelines.staging.reference import ref_countries

    return sorted(ref_countries()["iso3"])
