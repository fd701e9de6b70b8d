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
    second = run_build(data_dir, mirror, env_extra=ONLY_WDI)

    assert second.returncode != 0
    assert "sp.pop.totl/data.csv" in second.stderr and "sha256" in second.stderr
    assert _snapshot(data_dir / "marts") == before


# --- the audit outlives the run: a later publish-only run cannot publish what a blocking check refused ------------


def test_publish_alone_refuses_a_build_warehouse_a_blocking_check_failed_on(wdi_builds, wdi_baseline, tmp_path):
    import duckdb

    from pipelines.lib.publish import AUDIT_TABLE, record_check
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

    from pipelines.defs.checks import _audited
    from pipelines.defs.resources import ProjectPaths
    from pipelines.lib.publish import AUDIT_TABLE

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
