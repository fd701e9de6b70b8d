"""Run a suite on a DataFrame with ONE ephemeral GX context per process, and turn GX's result into an Outcome.

The context holds one pandas data source; each suite gets a dataframe asset, a whole-dataframe batch definition
and a validation definition (re-registered when the suite changes). Results are kept in the context's in-memory
store, and Data Docs for them are written to a filesystem site (data/marts/data_docs/) when asked.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.lib.validation.config import ValidationConfig, load_config
from pipelines.lib.validation.outcome import Failure, Outcome, sample_from_record
from pipelines.lib.validation.suites import SuiteSpec

DATASOURCE = "ai_readiness"
BATCH = "whole_frame"
SITE = "ai_readiness_docs"
_LOCK = threading.Lock()
_STATE: dict = {}  # "context": the one GX context; "docs": (docs_dir, run_name) the site currently targets


def gx_context():
    """The process's one ephemeral GX context (created on first use: GX takes ~3 s to import)."""
    with _LOCK:
        if "context" not in _STATE:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            for site in list(context.get_site_names()):  # the default site writes to a temp dir: not wanted
                context.delete_data_docs_site(site)
            context.data_sources.add_pandas(DATASOURCE)
            _STATE["context"] = context
        return _STATE["context"]


def _use_docs_site(context, docs_dir: Path, run_name: str | None) -> None:
    """Point the Data Docs site at docs_dir. A new run starts from an empty site and an empty results store,
    so the docs show the latest run only."""
    target = (Path(docs_dir).resolve(), run_name)
    if _STATE.get("docs") == target:
        return
    store = context.validation_results_store
    for key in store.list_keys():
        store.remove_key(key)
    if SITE in context.get_site_names():
        context.delete_data_docs_site(SITE)
    if target[0].exists():
        shutil.rmtree(target[0])
    context.add_data_docs_site(SITE, {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(target[0])},
    })
    _STATE["docs"] = target


def _validation_definition(context, spec: SuiteSpec):
    import great_expectations as gx

    source = context.data_sources.get(DATASOURCE)
    try:
        asset = source.get_asset(spec.name)
    except LookupError:
        asset = source.add_dataframe_asset(spec.name)
    try:
        batch = asset.get_batch_definition(BATCH)
    except (KeyError, LookupError, ValueError):
        batch = asset.add_batch_definition_whole_dataframe(BATCH)
    suite = context.suites.add_or_update(spec.suite)
    definition = gx.ValidationDefinition(name=spec.name, data=batch, suite=suite)
    return context.validation_definitions.add_or_update(definition)


def run_suite(spec: SuiteSpec, frame: pd.DataFrame, *, config: ValidationConfig | None = None,
              docs_dir: Path | None = None, run_name: str | None = None) -> Outcome:
    """Validate `frame` against `spec`; Data Docs for the result go to docs_dir when given.

    COMPLETE results give every failing row's position (unexpected_index_list); lineage and values are then read
    from the frame in one vectorised step. (Asking GX for `unexpected_index_column_names` instead costs a Python
    loop per failing row and column: minutes when a whole file is wrong, e.g. a unit change.)
    """
    config = config or load_config()
    frame = frame.reset_index(drop=True)  # failing rows are reported by position: it must be 0..n-1
    context = gx_context()
    if docs_dir is not None:
        _use_docs_site(context, docs_dir, run_name)
    store = context.validation_results_store
    before = set(store.list_keys())
    definition = _validation_definition(context, spec)
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "partial_unexpected_count": config.max_samples,
                       "return_unexpected_index_query": False},
    )
    outcome = to_outcome(spec, result, frame, config)
    outcome.rules_checked = len(result.results)
    if docs_dir is not None:
        new = [key for key in store.list_keys() if key not in before]
        context.build_data_docs(site_names=[SITE], resource_identifiers=new)
        outcome.data_docs = str(Path(docs_dir) / "index.html")
    return outcome


def to_outcome(spec: SuiteSpec, result, frame: pd.DataFrame, config: ValidationConfig) -> Outcome:
    """GX's validation result -> Failures with rule, column, count and samples named raw_file:raw_row."""
    outcome = Outcome(suite=spec.name, rows=len(frame))
    merged: dict[str, Failure] = {}
    for evr in result.results:
        if evr.success:
            continue
        expectation = evr.expectation_config
        meta = expectation.meta or {}
        rule = meta.get("rule", expectation.type)
        column = expectation.kwargs.get("column")
        message = meta.get("message", expectation.type)
        info = evr.exception_info or {}
        if info.get("raised_exception"):
            failure = Failure(rule, config.is_blocking(rule), f"{message}: could not be evaluated "
                              f"({str(info.get('exception_message', '')).splitlines()[0][:200]})", 1, column,
                              spec.source_id)
        else:
            expected_columns = expectation.kwargs.get("column_list") or expectation.kwargs.get("column_set")
            failure = _failure_from_result(spec, rule, column, message, evr.result or {}, frame, config, outcome,
                                           expected_columns)
            if failure is None:
                continue
        key = f"{rule}|{column}|{message}"
        if key in merged:  # e.g. two unique-key expectations of one rule
            merged[key].count += failure.count
            merged[key].samples += failure.samples
        else:
            merged[key] = failure
    outcome.failures = list(merged.values())
    return outcome


def _failure_from_result(spec, rule, column, message, result: dict, frame, config, outcome,
                         expectation_columns=None) -> Failure | None:
    blocking = config.is_blocking(rule)
    if "unexpected_count" not in result:  # table-level: row count, columns
        observed = result.get("observed_value")
        if rule == "expected_columns":
            expected = list(expectation_columns or [])
            missing = [c for c in expected if c not in frame.columns]
            extra = [c for c in frame.columns if c not in expected]
            message = f"{message}; missing {missing}, unexpected {extra}" if (missing or extra) else \
                f"{message}; got them in the order {list(frame.columns)}"
        elif observed is not None:
            message = f"{message}; got {observed}"
        return Failure(rule, blocking, message, 1, None, spec.source_id)
    positions = [p for p in result.get("unexpected_index_list") or [] if isinstance(p, (int, np.integer))]
    columns = [c for c in dict.fromkeys([*spec.index_columns, *([column] if column else [])]) if c in frame]
    failing = frame.iloc[positions][columns] if positions else frame.iloc[0:0][columns]
    exceptions = config.excepted_cells(rule, spec.source_id)
    if exceptions and len(failing):
        cell = pd.Series(list(zip(
            failing["source_id"] if "source_id" in failing else pd.Series(spec.source_id, index=failing.index),
            failing.get("indicator_id"), failing.get("entity_code", failing.get("iso3")), failing.get("period"),
        )), index=failing.index).map(lambda t: tuple(map(_text, t)))
        excepted = cell.isin(exceptions)
        for record in failing[excepted].to_dict("records"):
            outcome.accepted.append({"rule": rule, **sample_from_record(_lineage(record, spec), column)})
        failing = failing[~excepted]
    count = int(result.get("unexpected_count") or 0) - (len(positions) - len(failing))
    if count <= 0:
        return None
    samples = [sample_from_record(_lineage(r, spec), column)
               for r in failing.head(config.max_samples).to_dict("records")]
    return Failure(rule, blocking, message, count, column, spec.source_id, samples)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _lineage(record: dict, spec: SuiteSpec) -> dict:
    """Rows of tables without lineage (dimensions) are named by table and key instead of raw_file:raw_row."""
    if "raw_file" in record:
        return record
    key = "/".join(str(record.get(c)) for c in spec.index_columns if c in record)
    return {"raw_file": spec.name, "raw_row": key, **record}
