"""The numbers people read are checked before they are published: every intermediate and mart asset carries
blocking checks (config/validation.yaml model_checks), and a corrupted mart stops the publish, leaving the last
release exactly as it was."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import run_build
from tests.fault_support import byte_snapshot, copy_data_dir, release_dir


def _defs():
    from pipelines.definitions import defs

    return defs()


def test_every_intermediate_and_mart_asset_has_a_blocking_check():
    """Enumerates the asset graph, so a mart added without its invariants fails here."""
    definitions = _defs()
    graph = definitions.resolve_asset_graph()
    blocking = {spec.asset_key for checks in definitions.asset_checks for spec in checks.check_specs
                if spec.blocking}
    model_assets = [key for key in graph.get_all_asset_keys() if graph.get(key).group_name in ("intermediate", "marts")]
    assert len(model_assets) >= 17
    unchecked = sorted(key.to_user_string() for key in model_assets if key not in blocking)
    assert not unchecked, f"no blocking check on {unchecked}: add their invariants to config/validation.yaml"


def test_every_model_check_is_audited_and_names_an_asset_of_the_graph():
    """Publishing requires every one of them to have passed (pipelines.publish.release), under the table's name,
    so that rewriting a table invalidates exactly its own checks."""
    from pipelines.defs.validation import audited_check_keys
    from pipelines.validation.config import load_config

    config = load_config()
    keys = set(audited_check_keys())
    assets = {key.to_user_string() for key in _defs().resolve_asset_graph().get_all_asset_keys()}
    for asset, tables in config.model_checks.items():
        assert asset in assets, asset
        for table, rules in tables.items():
            assert f"{table}:gx_suite" in keys
            assert {f"{table}:{rule}" for rule in rules.get("sql") or []} <= keys


def test_the_rules_hold_on_a_real_build_and_catch_a_duplicate_rank(built, tmp_path):
    """Each SQL rule passes on the real build and finds the corruption it is written for."""
    import shutil

    from pipelines.base.settings import Paths
    from pipelines.base.warehouse import sql_text
    from pipelines.validation.config import load_config

    warehouse = tmp_path / "build.duckdb"
    shutil.copy(Paths(built).build_warehouse, warehouse)
    connection = duckdb.connect(str(warehouse))
    try:
        rules = [(table, rule) for tables in load_config().model_checks.values() for table, spec in tables.items()
                 for rule in spec.get("sql") or []]
        assert len(rules) >= 9
        for table, rule in rules:
            assert connection.execute(sql_text("checks", f"{table}__{rule}")).fetchall() == [], (table, rule)
        connection.execute("UPDATE mart_composite_index SET rank = 1 WHERE rank = 2")
        connection.execute("UPDATE mart_pillar_scores SET rank = rank + 1 WHERE iso3 = 'JPN' AND pillar = "
                           "(SELECT min(pillar) FROM mart_pillar_scores)")
        connection.execute("UPDATE mart_japan_benchmark SET focus_iso3 = 'KOR' WHERE level = 'pillar'")
        connection.execute("DELETE FROM mart_japan_benchmark WHERE group_id = 'g7'")
        connection.execute("UPDATE mart_indicator_scores SET imputed = true WHERE iso3 = 'JPN'")
    finally:
        connection.close()
    duplicated = duckdb.connect(str(warehouse), read_only=True)
    try:
        broken = duckdb_rows(duplicated, "mart_composite_index", "rank_matches_score")
        assert broken and all(row[2] == 1 for row in broken)  # the country moved to rank 1 beside the leader
        assert duckdb_rows(duplicated, "mart_pillar_scores", "rank_matches_score")[0][1] == "JPN"
        assert duckdb_rows(duplicated, "mart_japan_benchmark", "one_focus_country")[0][0] == "KOR"
        assert [row[0] for row in duckdb_rows(duplicated, "mart_japan_benchmark", "focus_in_its_groups")] == ["g7"]
        assert duckdb_rows(duplicated, "mart_indicator_scores", "imputed_share")[0][0] == "JPN"
        assert duckdb_rows(duplicated, "mart_indicator_scores", "imputed_not_observed")
    finally:
        duplicated.close()


def duckdb_rows(connection, table: str, rule: str) -> list[tuple]:
    from pipelines.base.warehouse import sql_text

    return connection.execute(sql_text("checks", f"{table}__{rule}")).fetchall()


CORRUPTIONS = {
    # a duplicate rank: the runner-up shares the leader's rank although its score is lower
    "duplicate rank": ("UPDATE int_index_composite SET rank = 1 WHERE rank = 2",
                       "mart_composite_index", "rank_matches_score"),
    # a rank band out of order: the focus country's 5th percentile rank above its median
    "band out of order": ("UPDATE int_index_rank_bands SET p05_rank = median_rank + 3 "
                          "WHERE scope = 'composite' AND iso3 = 'JPN'", "mart_composite_index", "ordered"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_a_corrupted_mart_is_refused_and_the_last_release_stays(built, mirror_dir, tmp_path, case):
    """The intermediate table is corrupted behind the pipeline's back, then the mart is rebuilt from it: its
    blocking check fails, Dagster skips the publish, and a later publish-only run refuses too (the audit)."""
    statement, mart, rule = CORRUPTIONS[case]
    data_dir = copy_data_dir(built, tmp_path / "data")
    marts_dir = data_dir / "marts"
    before, release = byte_snapshot(marts_dir), release_dir(marts_dir)
    connection = duckdb.connect(str(marts_dir / ".build" / "ai_readiness.duckdb"))
    try:
        connection.execute(statement)
    finally:
        connection.close()

    result = run_build(data_dir, mirror_dir, "--select", f"{mart}+")
    assert result.returncode == 1, result.stderr[-3000:]
    assert mart in result.stderr and rule in result.stderr, result.stderr[-3000:]
    assert byte_snapshot(marts_dir) == before and release_dir(marts_dir) == release

    again = run_build(data_dir, mirror_dir, "--select", "published_marts")
    assert again.returncode == 1 and "not publishing" in again.stderr, again.stderr[-3000:]
    assert f"{mart}:" in again.stderr
    assert byte_snapshot(marts_dir) == before and release_dir(marts_dir) == release
