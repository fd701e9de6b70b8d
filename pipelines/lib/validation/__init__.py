"""Validation that stops bad data: Great Expectations (GX Core 1.x) suites defined in code, release sanity checks
against the last published warehouse, and raw-file screening. Plain Python, no Dagster.

- ``suites``:  one generic suite per staged source (built from the registry) and one per mart.
- ``runner``:  one cached ephemeral GX context per process; runs a suite on a DataFrame and returns an ``Outcome``.
- ``release``: coverage, focus-country coverage and value moves versus the last release (SQL in sql/checks/).
- ``raw``:     byte-level screening of raw text files before a parser sees them.
- ``config``:  config/validation.yaml (severities, row-count bounds, tolerances, reviewed exceptions).

great_expectations is imported inside the functions that need it: importing this package stays cheap.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.lib.validation.outcome import Failure, Outcome

__all__ = ["DATA_DOCS_DIR", "Failure", "Outcome", "validate_mart", "validate_staged"]

DATA_DOCS_DIR = "data_docs"  # data/marts/data_docs/index.html: GX Data Docs of the latest run


def validate_staged(source_id: str, frame: pd.DataFrame, *, docs_dir: Path | None = None,
                    run_name: str | None = None) -> Outcome:
    """`stg_<source_id>` against its generic suite (parameters from the registry and the reference tables)."""
    from pipelines.lib import reference
    from pipelines.lib.registry import load_registry
    from pipelines.lib.validation.config import load_config
    from pipelines.lib.validation.runner import run_suite
    from pipelines.lib.validation.suites import staged_suite

    registry = load_registry()
    config = load_config()
    indicators = reference.ref_indicators({source_id: registry[source_id]})
    spec = staged_suite(registry[source_id], indicators=indicators, country_codes=_country_codes(),
                        config=config)
    return run_suite(spec, frame, config=config, docs_dir=docs_dir, run_name=run_name)


def validate_mart(table: str, frame: pd.DataFrame, *, docs_dir: Path | None = None,
                  run_name: str | None = None) -> Outcome:
    from pipelines.lib.registry import load_registry
    from pipelines.lib.validation.config import load_config
    from pipelines.lib.validation.runner import run_suite
    from pipelines.lib.validation.suites import mart_suite

    config = load_config()
    spec = mart_suite(table, country_codes=_country_codes(), source_ids=sorted(load_registry()), config=config)
    return run_suite(spec, frame, config=config, docs_dir=docs_dir, run_name=run_name)


def _country_codes() -> list[str]:
    from pipelines.lib.reference import ref_countries

    return sorted(ref_countries()["iso3"])
