"""Incremental builds: fingerprints decide which raw_/stg_ assets, marts and publish steps must run."""

from __future__ import annotations

import dataclasses
import os

import duckdb
import pytest

from pipelines.base.settings import Paths
from pipelines.orchestration import incremental
from pipelines.sources.registry import load_registry

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
    """What publish leaves: a release folder, `current` pointing at it, the entries users open linked through it."""
    from pipelines.publish.release import _ensure_entry_links, _swap_symlink

    release = paths.marts_dir / ".releases" / os.urandom(8).hex()
    (release / "parquet").mkdir(parents=True)
    (release / "report").mkdir()
    (release / "ai_readiness.duckdb").write_bytes(os.urandom(64))
    (release / "parquet" / "dim_sources.parquet").write_bytes(os.urandom(64))
    (release / "report" / "index.html").write_text("<html></html>")
    _swap_symlink(paths.marts_dir / "current", release)
    _ensure_entry_links(paths.marts_dir)


def _successful_build(paths, mirror, registry, plan=None):
    plan = plan or incremental.plan_build(paths, registry, mirror=mirror)
    incremental.begin(plan, paths)
    _fetch(paths, mirror, registry, only=plan.stale_sources)
    _stage(paths, registry, only=plan.stale_sources)
    if plan.rebuild_marts or plan.publish:
        _publish(paths)
    _commit(plan, paths, mirror, registry, published=True)
    return plan


def _edited(code: incremental.CodeVersion, *paths: str) -> incremental.CodeVersion:
    """The code version after editing (or adding) these files."""
    return dataclasses.replace(code, files={**code.files, **{path: "edited" for path in paths}})


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
    assert plan.sources["oecd_pisa"].reason == "registry entry, code, libraries or settings changed"


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
    top500_parser = "pipelines/staging/parsers/top500.py"
    assert top500_parser in code.files
    edited = _edited(code, top500_parser)
    monkeypatch.setattr(incremental.CodeVersion, "current", classmethod(lambda cls: edited))
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == ("top500",)
    assert plan.rebuild_marts


def test_marts_only_code_change_rebuilds_marts_but_no_source(paths, mirror, registry, monkeypatch, frozen_code):
    _successful_build(paths, mirror, registry)
    code = frozen_code
    edited = _edited(code, "sql/marts/fct_indicator_values.sql")
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
    _publish(paths)  # another release: not the one the last build recorded
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
    from pipelines.publish.release import PUBLISHED_PREFIXES

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


# --- what the fingerprints cover ---------------------------------------------------------------------------------


def test_every_file_under_pipelines_sql_and_config_is_code_unless_excluded(tmp_path):
    for name in ("pipelines/lib/new_helper.py", "pipelines/publish/report/templates/part.mustache", "sql/new_layer/x.txt",
                 "config/new_setting.toml", "config/sources/some_source.yaml", "pipelines/__pycache__/a.cpython-311.pyc",
                 "pipelines/lib/old.pyc", "sql/marts/x.sql~", "README.md", "tests/test_x.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    found = [p.relative_to(tmp_path).as_posix() for p in incremental.code_files(tmp_path)]
    assert found == ["config/new_setting.toml", "pipelines/lib/new_helper.py",
                     "pipelines/publish/report/templates/part.mustache", "sql/new_layer/x.txt"]


def test_the_real_code_version_covers_every_kind_of_file(frozen_code):
    for path in ("config/data_dictionary.yaml", "config/country_overrides.csv", "pipelines/publish/exports.py",
                 "pipelines/publish/data_dictionary.py", "pipelines/publish/explain.py", "pipelines/publish/report/templates/"
                 "index.html.j2", "sql/explain/fact.sql", "sql/docs/sources.sql", "sql/checks/release__coverage.sql"):
        assert path in frozen_code.files, path
    assert not [p for p in frozen_code.files if p.startswith("config/sources/") or "__pycache__" in p]


@pytest.mark.parametrize("path", ["config/data_dictionary.yaml", "pipelines/publish/exports.py",
                                  "pipelines/publish/data_dictionary.py", "pipelines/publish/explain.py",
                                  "sql/explain/fact.sql", "sql/docs/sources.sql", "config/peer_groups.yaml"])
def test_files_only_publish_and_marts_read_rebuild_the_marts_but_no_source(paths, mirror, registry, monkeypatch,
                                                                           frozen_code, path):
    _successful_build(paths, mirror, registry)
    monkeypatch.setattr(incremental.CodeVersion, "current", classmethod(lambda cls: _edited(frozen_code, path)))
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == () and plan.rebuild_marts and plan.publish, plan.summary()


def test_a_new_file_restages_every_source(paths, mirror, registry, monkeypatch, frozen_code):
    """Safe by default: nothing says a new module is read by the marts only."""
    _successful_build(paths, mirror, registry)
    edited = _edited(frozen_code, "pipelines/lib/new_helper.py")
    monkeypatch.setattr(incremental.CodeVersion, "current", classmethod(lambda cls: edited))
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == SOURCES and plan.rebuild_marts


def test_parser_modules_follow_imports(frozen_code):
    """policy.py imports helpers from indices.py, and staging.py imports the World Bank native readers for every
    source: editing either restages the sources that run them."""
    full = load_registry(incremental.PROJECT_ROOT / "config" / "sources")
    policy, pisa = full["ai_policy_milestones"], full["oecd_pisa"]
    assert {"policy", "indices", "worldbank"} <= frozen_code.parser_modules(policy)
    assert "indices" not in frozen_code.parser_modules(pisa)
    indices = _edited(frozen_code, "pipelines/staging/parsers/indices.py")
    assert indices.staging(policy) != frozen_code.staging(policy)
    assert indices.staging(pisa) == frozen_code.staging(pisa)
    worldbank = _edited(frozen_code, "pipelines/staging/parsers/worldbank.py")
    assert worldbank.staging(pisa) != frozen_code.staging(pisa)


def _settings_in_code() -> set[str]:
    import re

    names = set()
    for path in incremental.code_files():
        names.update(re.findall(r"AI_READINESS_[A-Z_]*[A-Z]", path.read_text(encoding="utf-8", errors="ignore")))
    return names


def test_every_setting_but_the_neutral_ones_is_in_the_fingerprints(paths, mirror, registry, monkeypatch):
    used = _settings_in_code()
    assert {"AI_READINESS_CRASH_AT", "AI_READINESS_HTTP_LIMITS"} <= incremental.NEUTRAL_ENV
    assert incremental.NEUTRAL_ENV <= used, "NEUTRAL_ENV names a setting no code reads"
    _successful_build(paths, mirror, registry)
    before = incremental.plan_build(paths, registry, mirror=mirror)
    assert before.up_to_date
    for name in sorted(used):
        monkeypatch.setenv(name, "777MB" if name == "AI_READINESS_DUCKDB_MEMORY_LIMIT" else "a-value-no-build-used")
        plan = incremental.plan_build(paths, registry, mirror=mirror)
        if name in incremental.NEUTRAL_ENV:
            assert plan.marts_fingerprint == before.marts_fingerprint and not plan.stale_sources, name
        else:
            assert plan.marts_fingerprint != before.marts_fingerprint and plan.rebuild_marts, name
            assert bool(plan.stale_sources) == (name not in incremental.MARTS_ONLY_ENV), name
        monkeypatch.delenv(name)
    assert incremental.plan_build(paths, registry, mirror=mirror).up_to_date


def test_a_library_upgrade_restages_every_source(paths, mirror, registry, monkeypatch):
    _successful_build(paths, mirror, registry)
    monkeypatch.setattr(incremental, "library_versions", lambda: "duckdb=99.0")
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == SOURCES and plan.rebuild_marts


def test_library_versions_cover_the_declared_dependencies():
    versions = incremental.library_versions()
    for name in ("duckdb", "pandas", "pyarrow", "country-converter", "altair", "jinja2"):
        assert f"{name}=" in versions and f"{name}=absent" not in versions, name


# --- what the published release and the audit say -----------------------------------------------------------------


@pytest.mark.parametrize("damage", ["current", "report file", "entry link"])
def test_a_missing_or_changed_published_file_is_published_again(paths, mirror, registry, damage):
    _successful_build(paths, mirror, registry)
    if damage == "current":
        (paths.marts_dir / "current").unlink()
    elif damage == "report file":
        (paths.marts_dir / "report" / "index.html").unlink()
    else:
        (paths.marts_dir / "parquet").unlink()
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == () and not plan.rebuild_marts and plan.publish, plan.summary()


def test_a_removed_build_warehouse_or_another_data_dir_means_a_full_build(paths, mirror, registry, tmp_path):
    _successful_build(paths, mirror, registry)
    other = incremental.plan_build(Paths(tmp_path / "other"), registry, mirror=mirror)
    assert other.stale_sources == SOURCES and other.rebuild_marts and other.publish
    paths.build_warehouse.unlink()
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == SOURCES and plan.rebuild_marts and plan.publish


@pytest.mark.parametrize(("check", "stale", "marts"), [("stg_top500:gx_suite", ("top500",), True),
                                                       ("fct_indicator_values:gx_suite", (), True),
                                                       ("stg_not_selected:gx_suite", (), False)])
def test_a_check_recorded_as_not_passed_makes_its_table_stale(paths, mirror, registry, check, stale, marts):
    from pipelines.base.audit import record_check

    _successful_build(paths, mirror, registry)
    connection = duckdb.connect(str(paths.build_warehouse))
    try:
        record_check(connection, check, False)
    finally:
        connection.close()
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == stale and plan.rebuild_marts == marts, plan.summary()


def test_a_run_not_planned_here_forgets_every_fingerprint(paths, mirror, registry):
    _successful_build(paths, mirror, registry)
    with incremental.planned_run():
        incremental.forget_unless_planned(paths)  # `ai-readiness build` running its plan
    assert incremental.plan_build(paths, registry, mirror=mirror).up_to_date
    incremental.forget_unless_planned(paths)  # the UI, a schedule, `--select`: may rebuild or publish anything
    plan = incremental.plan_build(paths, registry, mirror=mirror)
    assert plan.stale_sources == SOURCES and plan.rebuild_marts and plan.publish
