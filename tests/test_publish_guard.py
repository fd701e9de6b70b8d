"""A failing build exits non-zero, names the file and rule, and leaves the published outputs byte-identical."""

import hashlib
import shutil

from tests.conftest import run_build

ONLY_WDI = {"AI_READINESS_SOURCES": "worldbank_wdi"}


def _snapshot(marts_dir):
    return {
        str(p.relative_to(marts_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in [marts_dir / "ai_readiness.duckdb", *sorted((marts_dir / "parquet").glob("*.parquet"))]
    }


def test_corrupted_mirror_fails_loudly_and_keeps_last_good_outputs(tmp_path, mirror_dir):
    mirror = tmp_path / "mirror"
    shutil.copytree(mirror_dir / "worldbank_wdi", mirror / "worldbank_wdi")
    data_dir = tmp_path / "data"
    first = run_build(data_dir, mirror, env_extra=ONLY_WDI)
    assert first.returncode == 0, first.stderr[-3000:]
    before = _snapshot(data_dir / "marts")

    corrupted = mirror / "worldbank_wdi" / "raw" / "datahub_world-development-indicators" / "sp.pop.totl" / "data.csv"
    corrupted.write_bytes(corrupted.read_bytes().replace(b"Japan,JPN,2020,", b"Japan,JPN,2020,9"))
    # --pinned: only the registered bytes (without it the file is a new vintage, see tests/test_vintages.py)
    second = run_build(data_dir, mirror, "--pinned", env_extra=ONLY_WDI)

    assert second.returncode != 0
    assert "sp.pop.totl/data.csv" in second.stderr and "sha256" in second.stderr
    assert _snapshot(data_dir / "marts") == before


# --- the audit outlives the run: a later publish-only run cannot publish what a blocking check refused ------------


def test_publish_alone_refuses_a_build_warehouse_a_blocking_check_failed_on(wdi_builds, wdi_baseline, tmp_path):
    import duckdb

    from pipelines.base.audit import AUDIT_TABLE, record_check
    from tests.fault_support import byte_snapshot, copy_data_dir

    data_dir = copy_data_dir(wdi_baseline.new, tmp_path / "data")
    build = data_dir / "marts" / ".build" / "ai_readiness.duckdb"
    connection = duckdb.connect(str(build), read_only=True)
    try:  # every blocking check of the last full build recorded its outcome
        recorded = dict(connection.execute(f"SELECT check_key, passed FROM {AUDIT_TABLE}").fetchall())
    finally:
        connection.close()
    assert {"stg_worldbank_wdi:gx_suite", "fct_indicator_values:release_focus_country",
            "fct_indicator_values:unknown_iso3"} <= set(recorded) and all(recorded.values()), recorded

    connection = duckdb.connect(str(build))
    try:  # as a run whose release check refused a rebuilt fct_indicator_values leaves it
        record_check(connection, "fct_indicator_values:release_focus_country", False)
    finally:
        connection.close()
    before = byte_snapshot(data_dir / "marts")
    code, log = wdi_builds.run(data_dir, "--select", "published_marts")
    assert code == 1 and "not publishing: blocking checks failed" in log, log[-3000:]
    assert "fct_indicator_values:release_focus_country" in log
    assert byte_snapshot(data_dir / "marts") == before


def test_a_check_that_raises_counts_as_failed(tmp_path):
    import duckdb
    import pytest

    from pipelines.base.audit import AUDIT_TABLE
    from pipelines.defs.resources import ProjectPaths
    from pipelines.defs.validation import _audited

    project = ProjectPaths(data_dir=str(tmp_path))

    def broken():
        raise RuntimeError("suite crashed")

    with pytest.raises(RuntimeError):
        _audited(project, "fct_indicator_values", "gx_suite", broken)
    connection = duckdb.connect(str(project.paths().build_warehouse), read_only=True)
    try:
        assert connection.execute(f"SELECT passed FROM {AUDIT_TABLE}").fetchall() == [(False,)]
    finally:
        connection.close()


# --- a rebuilt table is unaudited until its checks run again -----------------------------------------------------


def _recorded(connection) -> dict[str, bool]:
    from pipelines.base.audit import AUDIT_TABLE

    return dict(connection.execute(f"SELECT check_key, passed FROM {AUDIT_TABLE}").fetchall())


def test_rebuilding_a_table_marks_its_checks_not_passed_in_the_same_transaction(tmp_path, monkeypatch):
    import duckdb
    import pandas as pd
    import pytest

    from pipelines.base import warehouse
    from pipelines.base.audit import record_check

    connection = duckdb.connect(str(tmp_path / "build.duckdb"))
    try:
        def all_passed():
            for check in ("fct_x:gx_suite", "fct_x:duplicate_keys", "fct_x_other:gx_suite", "dim_y:gx_suite"):
                record_check(connection, check, True)

        all_passed()
        warehouse.replace_table_from_frame(connection, "fct_x", pd.DataFrame({"x": [1]}))
        assert _recorded(connection) == {"fct_x:gx_suite": False, "fct_x:duplicate_keys": False,
                                         "fct_x_other:gx_suite": True, "dim_y:gx_suite": True}
        all_passed()
        monkeypatch.setattr(warehouse, "sql_text", lambda layer, table: "SELECT 2 AS x")
        assert warehouse.build_table(connection, "marts", "dim_y") == 1
        assert _recorded(connection)["dim_y:gx_suite"] is False
        all_passed()  # a rebuild that fails rolls back, the mark with it: the old table is still the audited one
        monkeypatch.setattr(warehouse, "sql_text", lambda layer, table: "SELECT * FROM no_such_table")
        with pytest.raises(duckdb.Error):
            warehouse.build_table(connection, "marts", "dim_y")
        assert all(_recorded(connection).values())
        assert connection.execute("SELECT x FROM dim_y").fetchall() == [(2,)]
    finally:
        connection.close()


def test_restaging_a_source_marks_the_checks_of_the_fact_views_not_passed(tmp_path, monkeypatch):
    """The facts are views over the staged tables: a restaged source changes their rows without rebuilding them,
    so their checks' outcomes are stale too; tables built from the facts keep theirs (their rows did not move)."""
    import duckdb
    import pandas as pd

    from pipelines.base import warehouse
    from pipelines.base.audit import record_check

    connection = duckdb.connect(str(tmp_path / "build.duckdb"))
    try:
        warehouse.replace_table_from_frame(connection, "stg_a", pd.DataFrame({"x": [1]}))
        monkeypatch.setattr(warehouse, "sql_text", lambda layer, table: "SELECT * FROM stg_a")
        warehouse.build_view(connection, "marts", "fct_x")
        checks = ("stg_a:gx_suite", "stg_b:gx_suite", "fct_x:gx_suite", "fct_x:release_coverage", "dim_y:gx_suite")
        for check in checks:
            record_check(connection, check, True)
        warehouse.replace_table_from_frame(connection, "stg_a", pd.DataFrame({"x": [2]}))
        assert _recorded(connection) == {"stg_a:gx_suite": False, "stg_b:gx_suite": True, "fct_x:gx_suite": False,
                                         "fct_x:release_coverage": False, "dim_y:gx_suite": True}
        for check in checks:
            record_check(connection, check, True)
        warehouse.build_view(connection, "marts", "fct_x")  # rebuilding the view itself
        assert sorted(k for k, passed in _recorded(connection).items() if not passed) == \
            ["fct_x:gx_suite", "fct_x:release_coverage"]
    finally:
        connection.close()


def test_publish_refuses_a_build_warehouse_whose_checks_never_ran(tmp_path):
    """A first build killed after building its tables and before any check: no row says anything failed."""
    import duckdb
    import pytest

    from pipelines.base.audit import record_check, unaudited
    from pipelines.base.warehouse import attached_read_only
    from pipelines.publish.release import UnauditedBuild, publish

    build = tmp_path / "marts" / ".build" / "ai_readiness.duckdb"
    build.parent.mkdir(parents=True)
    connection = duckdb.connect(str(build))
    connection.execute("CREATE TABLE fct_x AS SELECT 1 AS x")
    connection.close()
    with pytest.raises(UnauditedBuild, match="never ran .*fct_x:gx_suite"):
        publish(build, tmp_path / "marts", required_checks=["fct_x:gx_suite"])
    assert not (tmp_path / "marts" / "current").exists()
    connection = duckdb.connect(str(build))
    record_check(connection, "fct_x:gx_suite", True)
    record_check(connection, "stg_no_longer_selected:gx_suite", False)  # not a check of this code location
    connection.close()
    with attached_read_only(build) as attached:
        assert unaudited(attached, ["fct_x:gx_suite"]) == ([], [])
        assert unaudited(attached) == (["stg_no_longer_selected:gx_suite"], [])


def test_publish_requires_every_blocking_check_of_the_definitions():
    from pipelines.definitions import defs
    from pipelines.defs.validation import audited_check_keys

    from pipelines.defs.validation import model_checks

    def keys(checks) -> set[str]:
        return {f"{spec.asset_key.to_user_string()}:{spec.name}" for c in checks for spec in c.check_specs
                if spec.blocking}

    blocking = keys(defs().asset_checks)
    # a model check records its outcome under the table it reads ('<table>:<check>'), not the asset writing it
    by_table = model_checks()
    expected = (blocking - keys(check for _, check in by_table)) | {key for key, _ in by_table}
    assert blocking and by_table and set(audited_check_keys()) == expected


def test_a_build_killed_between_a_rebuild_and_its_checks_cannot_be_published(wdi_builds, wdi_baseline, tmp_path):
    """Killed inside the transaction that replaces stg_worldbank_wdi, the old table and its "passed" stay together
    (publishing them is fine); killed once it committed, before its check ran, publish refuses."""
    import duckdb

    from tests.fault_support import byte_snapshot, copy_data_dir

    data_dir = copy_data_dir(wdi_baseline.new, tmp_path / "data")
    build = data_dir / "marts" / ".build" / "ai_readiness.duckdb"
    before = byte_snapshot(data_dir / "marts")

    def recorded() -> dict[str, bool]:
        connection = duckdb.connect(str(build), read_only=True)
        try:
            return _recorded(connection)
        finally:
            connection.close()

    for crash_at, check_passed in (("staging:uncommitted", True), ("staging:written", False)):
        code, log = wdi_builds.run(data_dir, "--full", env={"AI_READINESS_CRASH_AT": crash_at})
        assert code == -9, f"{crash_at}: not killed (exit {code})\n{log[-3000:]}"
        assert recorded()["stg_worldbank_wdi:gx_suite"] is check_passed, crash_at
    # the facts are views over the staged tables: their rows changed with it, so their checks are stale too
    assert recorded()["fct_indicator_values:gx_suite"] is False
    assert recorded()["dim_countries:gx_suite"] is True  # a table built from the facts: not rebuilt, still audited
    code, log = wdi_builds.run(data_dir, "--select", "published_marts")
    assert code == 1 and "not re-run since their table was rebuilt" in log, log[-3000:]
    assert "stg_worldbank_wdi:gx_suite" in log and "fct_indicator_values:gx_suite" in log, log[-3000:]
    assert byte_snapshot(data_dir / "marts") == before
