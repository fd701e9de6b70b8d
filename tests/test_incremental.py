"""Incremental builds: fingerprints decide which raw_/stg_ assets, marts and publish steps must run."""

from __future__ import annotations

import dataclasses
import os

import duckdb
import pytest

from pipelines.lib import incremental
from pipelines.lib.registry import load_registry
from pipelines.lib.settings import Paths

SOURCES = ("oecd_pisa", "top500")


@pytest.fixture(autouse=True)
def frozen_code(monkeypatch):
    """One code version per test: an edit elsewhere in the work tree while tests run must not change it."""
    code = incremental.CodeVersion.current()
    monkeypatch.setattr(incremental.CodeVersion, "current", classmethod(lambda cls: code))
    return code


@pytest.fixture()
def registry():
    full = load_registry()
    return {s: full[s] for s in SOURCES}


@pytest.fixture()
def paths(tmp_path):
    return Paths(tmp_path / "data")


@pytest.fixture()
def mirror(tmp_path, registry):
    """A stand-in mirror: planning only stats files, so their content does not matter here."""
    root = tmp_path / "mirror"
    for source in registry.values():
        for raw in source.files:
            path = root / source.source_id / raw.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{source.source_id} {raw.path}\n")
    return root


def _fetch(paths: Paths, mirror, registry, only=None):
    """What the raw steps do: copy files into data/raw/<source_id>/."""
    for source in registry.values():
        if only and source.source_id not in only:
            continue
        for raw in source.files:
            dest = paths.raw_dir / source.source_id / raw.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes((mirror / source.source_id / raw.path).read_bytes())


def _stage(paths: Paths, registry, only=None):
    paths.build_dir.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(paths.build_warehouse))
    try:
        for source_id in registry:
            if not only or source_id in only:
                connection.execute(f"CREATE OR REPLACE TABLE stg_{source_id} AS SELECT 1 AS x")
        connection.execute("CREATE OR REPLACE TABLE fct_indicator_values AS SELECT 1 AS x")
    finally:
        connection.close()


def _publish(paths: Paths):
    paths.parquet_dir.mkdir(parents=True, exist_ok=True)
    paths.published_warehouse.write_bytes(os.urandom(64))


def _successful_build(paths, mirror, registry, plan=None):
    plan = plan or incremental.plan_build(paths, registry, mirror=mirror)
    incremental.begin(plan, paths)
    _fetch(paths, mirror, registry, only=plan.stale_sources)
    _stage(paths, registry, only=plan.stale_sources)
    if plan.rebuild_marts or plan.publish:
        _publish(paths)
    _commit(plan, paths, mirror, registry, published=True)
    return plan


def _commit(plan, paths, mirror, registry, published):
    incremental.commit(plan, paths, published=published, mirror=mirror, registry=registry)


def test_first_build_runs_everything(paths, mirror, registry):
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == SOURCES and plan.rebuild_marts and plan.publish
    assert {p.reason for p in plan.sources.values()} == {"never built"}
    assert plan.selection_string() == "*"
    assert not plan.up_to_date


def test_second_build_with_nothing_changed_is_a_no_op(paths, mirror, registry):
    _successful_build(paths, mirror, registry)
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.up_to_date, plan.summary()
    assert plan.selection_string() is None and plan.selection() is None
    assert plan.skipped_asset_keys() == ["raw_oecd_pisa", "stg_oecd_pisa", "raw_top500", "stg_top500"]


def test_touching_one_mirror_file_rebuilds_only_that_source_and_the_marts(paths, mirror, registry):
    _successful_build(paths, mirror, registry)
    touched = mirror / "top500" / registry["top500"].data_files[0].path
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == ("top500",)
    assert plan.sources["top500"].reason == "raw file changed (stat)"
    assert plan.rebuild_marts and plan.publish
    assert plan.selection_string() == 'not (key:"raw_oecd_pisa" or key:"stg_oecd_pisa")'
    _successful_build(paths, mirror, registry, plan)
    assert incremental.plan_build(paths, registry, mirror=mirror).up_to_date


def test_a_new_registry_entry_rebuilds_that_source(paths, mirror, registry):
    _successful_build(paths, mirror, registry)
    changed = dict(registry, oecd_pisa=dataclasses.replace(registry["oecd_pisa"], vintage="2099-01-01"))
    plan = incremental.plan_build(paths, changed, mirror=mirror)
    assert plan.stale_sources == ("oecd_pisa",)
    assert plan.sources["oecd_pisa"].reason == "registry entry or code changed"


def test_a_deleted_raw_file_or_staged_table_rebuilds_that_source(paths, mirror, registry):
    _successful_build(paths, mirror, registry)
    (paths.raw_dir / "oecd_pisa" / registry["oecd_pisa"].files[0].path).unlink()
    connection = duckdb.connect(str(paths.build_warehouse))
    connection.execute("DROP TABLE stg_top500")
    connection.close()
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.sources["oecd_pisa"].reason == "raw file missing"
    assert plan.sources["top500"].reason == "staged table missing"


def test_parser_code_change_restages_only_its_users(paths, mirror, registry, monkeypatch, frozen_code):
    _successful_build(paths, mirror, registry)
    code = frozen_code
    top500_parser = "pipelines/lib/parsers/top500.py"
    assert top500_parser in code.files
    edited = incremental.CodeVersion({**code.files, top500_parser: "edited"})
    monkeypatch.setattr(incremental.CodeVersion, "current", classmethod(lambda cls: edited))
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == ("top500",)
    assert plan.rebuild_marts


def test_marts_only_code_change_rebuilds_marts_but_no_source(paths, mirror, registry, monkeypatch, frozen_code):
    _successful_build(paths, mirror, registry)
    code = frozen_code
    edited = incremental.CodeVersion({**code.files, "sql/marts/fct_indicator_values.sql": "edited"})
    monkeypatch.setattr(incremental.CodeVersion, "current", classmethod(lambda cls: edited))
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == ()
    assert plan.rebuild_marts and plan.publish
    assert plan.selection_string() == (
        'not (key:"raw_oecd_pisa" or key:"stg_oecd_pisa" or key:"raw_top500" or key:"stg_top500")')


def test_a_result_setting_rebuilds_the_marts(paths, mirror, registry, monkeypatch):
    _successful_build(paths, mirror, registry)
    monkeypatch.setenv("AI_READINESS_FOCUS_COUNTRY", "KOR")
    monkeypatch.setenv("AI_READINESS_LOG_LEVEL", "DEBUG")  # neutral
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == () and plan.rebuild_marts


def test_replaced_published_outputs_are_published_again(paths, mirror, registry):
    _successful_build(paths, mirror, registry)
    paths.published_warehouse.unlink()
    _publish(paths)  # someone else's file
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == () and not plan.rebuild_marts and plan.publish
    assert plan.selection_string() == 'key:"published_marts"+'


def test_a_run_that_fails_after_begin_leaves_its_assets_stale(paths, mirror, registry):
    _successful_build(paths, mirror, registry)
    changed = dict(registry, top500=dataclasses.replace(registry["top500"], vintage="2099-01-01"))
    plan = incremental.plan_build(paths, changed, mirror=mirror)
    incremental.begin(plan, paths)
    # ... the run crashes: no commit. The old registry entry again still needs top500 and the marts rebuilt.
    again = incremental.plan_build(paths, registry, mirror=mirror)
    assert again.stale_sources == ("top500",) and again.rebuild_marts and again.publish


def test_a_file_changing_during_the_run_is_not_recorded(paths, mirror, registry):
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    incremental.begin(plan, paths)
    _fetch(paths, mirror, registry)
    _stage(paths, registry)
    _publish(paths)
    (mirror / "oecd_pisa" / registry["oecd_pisa"].files[0].path).write_text("a new vintage, mid-run\n")
    _commit(plan, paths, mirror, registry, published=True)
    after = incremental.plan_build(paths, registry, mirror=mirror)
    assert "oecd_pisa" in after.stale_sources and after.rebuild_marts


def test_full_rebuild_and_invalidate(paths, mirror, registry, monkeypatch):
    _successful_build(paths, mirror, registry)
    assert incremental.plan_build(paths, registry, mirror=mirror, full=True).stale_sources == SOURCES
    monkeypatch.setenv(incremental.FULL_REBUILD_ENV, "1")
    assert incremental.plan_build(paths, registry, mirror=mirror).selection_string() == "*"
    monkeypatch.delenv(incremental.FULL_REBUILD_ENV)
    incremental.invalidate(paths)
    assert incremental.plan_build(paths, registry, mirror=mirror).stale_sources == SOURCES


def test_state_is_never_a_published_table():
    from pipelines.lib.publish import PUBLISHED_PREFIXES

    assert not incremental.STATE_TABLE.startswith(PUBLISHED_PREFIXES)


def test_selection_resolves_to_the_stale_branch_with_its_checks():
    import dagster as dg

    from pipelines.definitions import defs

    registry = load_registry()
    sources = {s: incremental.SourcePlan(s, "fp", {}, s == "top500", "changed" if s == "top500" else "")
               for s in registry}
    plan = incremental.BuildPlan(sources, "marts-fp", True, True)
    graph = defs().resolve_asset_graph()
    for selection in (plan.selection(), dg.AssetSelection.from_string(plan.selection_string())):
        keys = {k.to_user_string() for k in selection.resolve(graph)}
        assert {"raw_top500", "stg_top500", "fct_indicator_values", "published_marts"} <= keys
        assert not {k for k in keys if k.startswith(("raw_", "stg_"))} - {"raw_top500", "stg_top500"}
        checked = {c.asset_key.to_user_string() for c in selection.resolve_checks(graph)}
        assert "fct_indicator_values" in checked
        assert not {k for k in checked if k.startswith("stg_")} - {"stg_top500"}


def test_an_unreadable_build_warehouse_means_a_full_build(paths, mirror, registry):
    paths.build_dir.mkdir(parents=True)
    paths.build_warehouse.write_bytes(b"not a duckdb file" * 100)
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == SOURCES and plan.rebuild_marts and plan.publish
