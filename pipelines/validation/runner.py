"""Run a suite on a DataFrame with ONE ephemeral GX context per process, and turn GX's result into an Outcome.

The context holds one pandas data source; each suite gets a dataframe asset, a whole-dataframe batch definition
and a validation definition (re-registered when the suite changes). Results are kept in the context's in-memory
store, and Data Docs for them are written to a filesystem site (data/marts/data_docs/) when asked.
"""

from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.validation.compiler import columns_read
from pipelines.validation.config import ValidationConfig, load_config
from pipelines.validation.outcome import Failure, Outcome, sample_from_record
from pipelines.validation.suites import SuiteSpec

DATASOURCE = "ai_readiness"
BATCH = "whole_frame"
SITE = "ai_readiness_docs"
_LOCK = threading.Lock()
_PATCH_LOCK = threading.RLock()
_STATE: dict = {}  # "context": the one GX context; "docs": (docs_dir, run_name) the site currently targets;
# "docs_pending": results were stored but not rendered (finish_data_docs renders the site once)


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
    from great_expectations.exceptions import DataContextError

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
    try:
        context.validation_definitions.get(spec.name)
    except DataContextError:  # not registered yet: the usual case, a run validates each suite once
        # add(), not add_or_update(): the latter compares and re-saves the suite saved just above (~0.1 s a suite)
        return context.validation_definitions.add(definition)
    return context.validation_definitions.add_or_update(definition)


def run_suite(spec: SuiteSpec, frame: pd.DataFrame, *, config: ValidationConfig | None = None,
              docs_dir: Path | None = None, run_name: str | None = None, defer_docs: bool = False) -> Outcome:
    """Validate `frame` against `spec`; Data Docs for the result go to docs_dir when given.

    COMPLETE results give every failing row's position (unexpected_index_list); lineage and values are then read
    from the frame in one vectorised step (only failed rules are run for them: _with_failing_positions). (Asking
    GX for `unexpected_index_column_names` instead costs a Python loop per failing row and column: minutes when a
    whole file is wrong, e.g. a unit change.)

    defer_docs=True stores the result without rendering it: the Dagster checks leave the whole site (every page
    and the index) to finish_data_docs() once at the end of the run. Rendering per check drew each page twice, as
    the index build re-renders every stored resource.
    """
    config = config or load_config()
    frame = frame.reset_index(drop=True)  # failing rows are reported by position: it must be 0..n-1
    context = gx_context()
    if docs_dir is not None:
        _use_docs_site(context, docs_dir, run_name)
    store = context.validation_results_store
    before = set(store.list_keys())
    definition = _validation_definition(context, spec)
    with gx_memoised():
        result = definition.run(batch_parameters={"dataframe": frame},
                                result_format=_result_format("BASIC", config))
        detailed = _with_failing_positions(definition, spec, frame, result, config)
    outcome = to_outcome(spec, detailed, frame, config)
    outcome.rules_checked = len(result.results)
    outcome.validated_by = "gx"
    outcome.gx_rows = len(frame)
    if docs_dir is not None:
        if defer_docs:
            _STATE["docs_pending"] = True
        else:
            new = [key for key in store.list_keys() if key not in before]
            context.build_data_docs(site_names=[SITE], resource_identifiers=new, build_index=True)
        outcome.data_docs = str(Path(docs_dir) / "index.html")
    return outcome


@contextmanager
def gx_memoised():
    """Two things GX 1.x recomputes while validating one batch, computed once while this block runs:

    - `Expectation.configuration` is rebuilt (a pydantic .dict() and a new ExpectationConfiguration) on every
      access, and validating reads it ~90 times per rule (once per domain key, per metric): 40 % of a suite's time.
      Each expectation now builds it once; any setattr on it drops its copy.
    - A rule's row_condition is applied with DataFrame.query() once per metric (~4 per rule). Each (batch frame,
      condition) is now filtered once. GX already hands the unfiltered batch frame itself to every metric, so
      metrics must not (and do not) change the frame they are given.

    The expectations validated here are built fresh from the suite for the run; the memos end with the block and
    GX's own methods are put back, also on an error."""
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import Expectation

    with _PATCH_LOCK:
        built = Expectation.__dict__["configuration"]
        own_assignment = Expectation.__dict__.get("__setattr__")  # None: pydantic's, inherited
        assignment = Expectation.__setattr__
        filter_rows = PandasExecutionEngine.__dict__["_apply_row_condition_filter"]
        configurations: dict[int, tuple] = {}  # id -> (expectation, configuration): holding it keeps the id unique
        filtered: dict[tuple, tuple] = {}  # (id of frame, condition) -> (frame, filtered frame)

        def configuration(self):
            hit = configurations.get(id(self))
            if hit is None or hit[0] is not self:
                hit = configurations[id(self)] = (self, built.fget(self))
            return hit[1]

        def forget_on_change(self, name, value):
            configurations.pop(id(self), None)
            assignment(self, name, value)

        def filter_once(self, data, row_condition, domain_kwargs):
            key = (id(data), repr(row_condition), repr(domain_kwargs.get("condition_parser")))
            hit = filtered.get(key)
            if hit is None or hit[0] is not data:
                hit = filtered[key] = (data, filter_rows(self, data, row_condition, domain_kwargs))
            return hit[1]

        Expectation.configuration = property(configuration)
        Expectation.__setattr__ = forget_on_change
        PandasExecutionEngine._apply_row_condition_filter = filter_once
        try:
            yield
        finally:
            Expectation.configuration = built
            if own_assignment is None:
                del Expectation.__setattr__
            else:
                Expectation.__setattr__ = own_assignment
            PandasExecutionEngine._apply_row_condition_filter = filter_rows
            configurations.clear()
            filtered.clear()


def _result_format(kind: str, config: ValidationConfig) -> dict:
    return {"result_format": kind, "partial_unexpected_count": config.max_samples,
            "return_unexpected_index_query": False}


def _with_failing_positions(definition, spec: SuiteSpec, frame: pd.DataFrame, result, config: ValidationConfig):
    """The suite runs with BASIC results (counts and observed values: all a passing rule needs, and what Data Docs
    show); only COMPLETE lists failing rows' positions, and it costs ~40 % more per rule. So when rules failed,
    just those are run again with COMPLETE, on the same batch, outside the results store (the stored BASIC result
    stays the one Data Docs show)."""
    import great_expectations as gx

    failed = {_identity(evr.expectation_config) for evr in result.results if not evr.success}
    if not failed:
        return result
    expectations = [e.copy(update={"id": None}) for e in spec.suite.expectations if _identity(e) in failed]
    if len(expectations) != len(failed):  # a result not matched to its rule: never drop a failure, run them all
        expectations = [e.copy(update={"id": None}) for e in spec.suite.expectations]
    batch = definition.data.get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(gx.ExpectationSuite(name=f"{spec.name}__failed_rows", expectations=expectations),
                          result_format=_result_format("COMPLETE", config))


def finish_data_docs() -> bool:
    """Render the Data Docs site (suites, results, index) if results were stored without rendering (once per run,
    from the Dagster resource's teardown); True when it rendered."""
    with _LOCK:
        pending = _STATE.pop("docs_pending", False)
    if not pending or "context" not in _STATE:
        return False
    _STATE["context"].build_data_docs(site_names=[SITE])  # no identifiers: every stored resource, once
    return True


def to_outcome(spec: SuiteSpec, result, frame: pd.DataFrame, config: ValidationConfig) -> Outcome:
    """GX's validation result -> Failures with rule, column, count and samples named raw_file:raw_row."""
    outcome = Outcome(suite=spec.name, rows=len(frame))
    failures = []
    for evr in in_suite_order(spec, result.results):
        if evr.success:
            continue
        expectation = evr.expectation_config
        rule, column, message = describe(expectation)
        missing = [c for c in columns_read(expectation) if c not in frame.columns]
        error = _raised(evr.exception_info)
        if missing:
            failures.append(not_evaluated(spec, config, expectation, f"no column {missing} in {spec.name}"))
        elif error is not None:
            failures.append(not_evaluated(spec, config, expectation, error))
        elif "unexpected_count" not in (evr.result or {}):  # table-level: row count, columns
            failures.append(table_failure(spec, config, expectation, (evr.result or {}).get("observed_value"),
                                          list(frame.columns)))
        else:
            result_dict = evr.result
            positions = [p for p in result_dict.get("unexpected_index_list") or []
                         if isinstance(p, (int, np.integer))]
            columns = failing_columns(spec, column, frame.columns)
            failing = frame.iloc[positions][columns] if positions else frame.iloc[0:0][columns]
            failures.append(row_failure(spec, config, outcome, expectation,
                                        int(result_dict.get("unexpected_count") or 0), failing))
    outcome.failures = merge_failures(failures)
    return outcome


def in_suite_order(spec: SuiteSpec, results) -> list:
    """GX returns results grouped by column; report them in the suite's own order (as the SQL path does)."""
    position = {_identity(e): i for i, e in enumerate(spec.suite.expectations)}
    return sorted(results, key=lambda evr: position.get(_identity(evr.expectation_config), len(position)))


def _identity(expectation) -> str:
    import json

    config = getattr(expectation, "configuration", expectation)
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}  # GX adds the batch it ran on
    return json.dumps([config.type, kwargs, config.meta], sort_keys=True, default=str)


# --- shared with the DuckDB SQL path (sql_runner.py): one Outcome, whichever engine found the rows ---------------


def describe(expectation) -> tuple[str, str | None, str]:
    """(rule, column, message) of an expectation (its meta, else its type)."""
    config = getattr(expectation, "configuration", expectation)
    meta = config.meta or {}
    column = config.kwargs.get("column") or config.kwargs.get("column_A")  # a pair is reported by its first
    return meta.get("rule", config.type), column, meta.get("message", config.type)


def _raised(info) -> str | None:
    """The first error GX caught while evaluating an expectation, if any (exception_info is flat, or keyed by
    metric)."""
    info = info or {}
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            text = str(entry.get("exception_message") or "").strip()
            return (text.splitlines() or [""])[0][:200]
    return None


def not_evaluated(spec: SuiteSpec, config: ValidationConfig, expectation, reason: str) -> Failure:
    rule, column, message = describe(expectation)
    return Failure(rule, config.is_blocking(rule), f"{message}: could not be evaluated ({reason})", 1, column,
                   spec.source_id)


def table_failure(spec: SuiteSpec, config: ValidationConfig, expectation, observed, table_columns: list[str]
                  ) -> Failure:
    """A failed table-level rule (row count, columns): one failure, no rows."""
    rule, _, message = describe(expectation)
    config_kwargs = getattr(expectation, "configuration", expectation).kwargs
    if rule == "expected_columns":
        expected = list(config_kwargs.get("column_list") or config_kwargs.get("column_set") or [])
        missing = [c for c in expected if c not in table_columns]
        extra = [c for c in table_columns if c not in expected]
        message = f"{message}; missing {missing}, unexpected {extra}" if (missing or extra) else \
            f"{message}; got them in the order {list(table_columns)}"
    elif observed is not None:
        message = f"{message}; got {observed}"
    return Failure(rule, config.is_blocking(rule), message, 1, None, spec.source_id)


def failing_columns(spec: SuiteSpec, column: str | None, table_columns) -> list[str]:
    """What a failing row is reported with: the spec's index columns (lineage first), then the rule's column."""
    return [c for c in dict.fromkeys([*spec.index_columns, *([column] if column else [])]) if c in table_columns]


def excepted_cell_columns(spec: SuiteSpec, columns) -> tuple[str | None, ...]:
    """The columns naming a row's cell (source_id, indicator_id, entity, period) among `columns`; None where the
    failing rows do not carry one (source_id: the suite's own source)."""
    entity = "entity_code" if "entity_code" in columns else ("iso3" if "iso3" in columns else None)
    return tuple(c if c in columns else None for c in ("source_id", "indicator_id")) + \
        (entity, "period" if "period" in columns else None)


def row_failure(spec: SuiteSpec, config: ValidationConfig, outcome: Outcome, expectation, unexpected_count: int,
                failing: pd.DataFrame) -> Failure | None:
    """A failed row-level rule. `failing` holds the failing rows in table order (failing_columns), at least every
    one a reviewed exception covers and the first max_samples others; excepted rows go to outcome.accepted and
    out of the count."""
    rule, column, message = describe(expectation)
    exceptions = config.excepted_cells(rule, spec.source_id)
    n_failing = len(failing)
    if exceptions and len(failing):
        source, indicator, entity, period = excepted_cell_columns(spec, failing.columns)
        cell = pd.Series(list(zip(
            failing[source] if source else pd.Series(spec.source_id, index=failing.index),
            *(failing[c] if c else pd.Series(None, index=failing.index, dtype=object)
              for c in (indicator, entity, period)),
        )), index=failing.index).map(lambda t: tuple(map(_text, t)))
        excepted = cell.isin(exceptions)
        for record in failing[excepted].to_dict("records"):
            outcome.accepted.append({"rule": rule, **sample_from_record(_lineage(record, spec), column)})
        failing = failing[~excepted]
    count = unexpected_count - (n_failing - len(failing))
    if count <= 0:
        return None
    samples = [sample_from_record(_lineage(r, spec), column)
               for r in failing.head(config.max_samples).to_dict("records")]
    return Failure(rule, config.is_blocking(rule), message, count, column, spec.source_id, samples)


def merge_failures(failures) -> list[Failure]:
    """One Failure per (rule, column, message): e.g. the two unique-key expectations of one rule add up."""
    merged: dict[str, Failure] = {}
    for failure in failures:
        if failure is None:
            continue
        key = f"{failure.rule}|{failure.column}|{failure.message}"
        if key in merged:
            merged[key].count += failure.count
            merged[key].samples += failure.samples
        else:
            merged[key] = failure
    return list(merged.values())


def _text(value) -> str | None:
    return None if value is None else str(value)


def _lineage(record: dict, spec: SuiteSpec) -> dict:
    """Rows of tables without lineage (dimensions) are named by table and key instead of raw_file:raw_row."""
    if "raw_file" in record:
        return record
    key = "/".join(str(record.get(c)) for c in spec.index_columns if c in record)
    return {"raw_file": spec.name, "raw_row": key, **record}
