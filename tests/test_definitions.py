"""The code location loads, and the asset graph is the one the design describes."""

import dagster as dg

from pipelines.sources.registry import load_registry


def _defs():
    from pipelines.definitions import defs

    return defs()


def test_definitions_load_and_validate():
    definitions = _defs()
    assert dg.Definitions.validate_loadable(definitions) is None


def test_every_registered_source_has_raw_and_staging_assets_in_order():
    graph = _defs().resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for source_id in load_registry():
        assert {f"raw_{source_id}", f"stg_{source_id}"} <= keys
        staging = graph.get(dg.AssetKey(f"stg_{source_id}"))
        assert dg.AssetKey(f"raw_{source_id}") in staging.parent_keys
        assert dg.AssetKey(f"stg_{source_id}") in graph.get(dg.AssetKey("fct_indicator_values")).parent_keys


def test_publish_is_downstream_of_every_mart_and_guarded_by_blocking_checks():
    definitions = _defs()
    graph = definitions.resolve_asset_graph()
    publish_parents = graph.get(dg.AssetKey("published_marts")).parent_keys
    for table in ("fct_indicator_values", "dim_indicators", "dim_sources", "dim_countries"):
        assert dg.AssetKey(table) in publish_parents
    blocking = [c for checks in definitions.asset_checks for c in checks.check_specs if c.blocking]
    assert any(spec.asset_key == dg.AssetKey("fct_indicator_values") for spec in blocking)


def test_every_asset_has_a_group_and_kinds():
    graph = _defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in {"ingest", "staging", "core", "intermediate", "marts", "publish"}, key
        assert node.kinds, key


def test_single_writer_executor():
    definitions = _defs()
    assert definitions.executor is not None
    assert definitions.executor.name == "in_process"
