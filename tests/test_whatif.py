"""What would move the focus country (pipelines/model/whatif.py): re-scoring equals full pipeline runs, peer levels
on known answers, the shortest-path search against exhaustive search on small synthetic universes, the invariants
(as tests and as the blocking checks' SQL), the marts of a real build, the CLI and the report section."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipelines.model import whatif
from pipelines.model.method import MethodConfig
from pipelines.model.method.synthetic import synthetic_panel


def _inputs(n_countries=30, n_indicators=12, n_pillars=4, missing=0.1, seed=3, config=MethodConfig(mc_draws=150),
            focus_at=None):
    values, framework, groups = synthetic_panel(n_countries, n_indicators, n_pillars, missing=missing, seed=seed)
    focus = values.index[n_countries // 2 if focus_at is None else focus_at]
    return whatif.Inputs(values, framework, config, groups, focus)


def _moves(inputs, rescorer, rng, k):
    """k random moves of the focus country: within, beyond and below the observed range, and on imputed cells."""
    keys = rng.choice(rescorer.keys, size=k, replace=False)
    out = []
    for key in keys:
        column = inputs.values[key].dropna()
        target = rng.choice([column.median(), column.max(), column.max() * 1.5 + 1, column.min() - 1])
        out.append(whatif.Move(str(key), float(target)))
    return out


@pytest.mark.parametrize("config", [
    MethodConfig(mc_draws=150),
    MethodConfig(mc_draws=150, normalisation="z_score", aggregation="geometric"),
    MethodConfig(mc_draws=150, imputation="none", treat_outliers=False, normalisation="percentile_rank"),
], ids=["default", "z_geometric", "no_imputation"])
def test_assembled_scores_and_bands_equal_full_pipeline_runs(config):
    inputs = _inputs(config=config)
    rescorer = whatif.Rescorer(inputs)
    assert not rescorer.exact
    rng = np.random.default_rng(0)
    focus_imputed = [k for k in rescorer.keys if np.isnan(inputs.values.loc[inputs.focus, k])]
    scenarios = [[], *(_moves(inputs, rescorer, rng, k) for k in (1, 1, 2, 3, 5))]
    if focus_imputed:
        scenarios.append([whatif.Move(focus_imputed[0], float(inputs.values[focus_imputed[0]].max()))])
    for moves in scenarios:
        np.testing.assert_allclose(rescorer.scores(moves), whatif.exact_scores(inputs, moves), rtol=0, atol=1e-9)
        assert rescorer.band(moves) == whatif.exact_band(inputs, moves), moves


def test_a_build_that_scores_no_index_gets_empty_what_if_tables():
    latest = pd.DataFrame({"key": ["a"], "pillar": ["p"], "iso3": ["JPN"], "value": [1.0]})
    ref_framework = pd.DataFrame({"key": ["a"], "pillar": ["p"], "direction": [1], "weight": [1.0],
                                  "denominator": ["none"], "source_id": ["s"], "indicator_id": ["a"]})
    tables = whatif.focus_what_if(
        latest=latest, ref_framework=ref_framework, ref_pillars=pd.DataFrame({"pillar": ["p"], "weight": [1.0]}),
        universe=["JPN", "USA"], groups=pd.Series({"JPN": "high", "USA": "high"}), config=MethodConfig(mc_draws=0),
        focus="JPN", memberships=pd.DataFrame({"group_id": ["g7"], "iso3": ["USA"]}),
        dim_indicators=pd.DataFrame(columns=["source_id", "indicator_id", "kind", "valid_min", "valid_max"]),
        scenarios={})
    assert all(len(tables[t]) == 0 for t in ("int_focus_what_if", "int_focus_path", "int_scenarios"))
    assert list(tables["int_focus_what_if"].columns) == whatif.WHAT_IF_COLUMNS


def test_methods_that_are_not_column_local_are_rescored_by_full_runs():
    inputs = _inputs(config=MethodConfig(mc_draws=50, imputation="pillar_regression"))
    rescorer = whatif.Rescorer(inputs)
    assert rescorer.exact
    move = [whatif.Move(rescorer.keys[0], float(inputs.values[rescorer.keys[0]].max()))]
    np.testing.assert_allclose(rescorer.scores(move), whatif.exact_scores(inputs, move))


def test_moving_to_its_own_value_changes_nothing_and_better_values_never_lower_the_rank():
    # Without outlier treatment: with it, a value that makes the country an outlier can be winsorised or log-scaled
    # with the rest of its indicator, and the rank is then not monotone in the value (the marts' checks watch
    # the peer levels for that).
    inputs = _inputs(config=MethodConfig(mc_draws=150, treat_outliers=False))
    rescorer = whatif.Rescorer(inputs)
    base, at = rescorer.scores(), rescorer.focus_at
    rescorer.prepare([whatif.Move(k, float(v)) for k in rescorer.keys for v in inputs.values[k].dropna()]
                     + [whatif.Move(k, float(inputs.values.loc[inputs.focus, k])) for k in rescorer.keys])
    for key in rescorer.keys:
        own = inputs.values.loc[inputs.focus, key]
        if np.isnan(own):
            continue
        np.testing.assert_array_equal(rescorer.scores([whatif.Move(key, float(own))]), base)
        assert rescorer.band([whatif.Move(key, float(own))]) == rescorer.band()
        direction = int(inputs.framework.direction[key])
        ladder = np.sort(inputs.values[key].dropna().to_numpy() * direction) * direction  # worse -> better
        ranks = [whatif.rank_of(rescorer.scores([whatif.Move(key, float(v))]), at) for v in ladder
                 if (v - own) * direction >= 0]
        assert ranks == sorted(ranks, reverse=True), (key, ranks)


# --- peer levels --------------------------------------------------------------------------------------------------

def _spec(**rows):
    return pd.DataFrame([{"key": k, **v} for k, v in rows.items()]).set_index("key")


def test_peer_levels_known_answers_direction_whole_values_and_valid_range():
    memberships = pd.DataFrame({"group_id": "g", "iso3": ["FOC", "A", "B", "C", "D"]})
    latest = pd.DataFrame([
        *({"key": "share", "iso3": i, "value": v} for i, v in zip("ABCD", [10.0, 20.0, 40.0, 99.5])),
        *({"key": "year", "iso3": i, "value": v} for i, v in zip("ABCD", [2017.0, 2019.0, 2020.0, 2024.0])),
        *({"key": "flag", "iso3": i, "value": v} for i, v in zip("ABCD", [0.0, 0.0, 1.0, 1.0])),
        {"key": "share", "iso3": "FOC", "value": 1000.0},  # the focus country is never its own peer
    ])
    spec = _spec(share={"direction": 1, "whole": False, "valid_min": 0.0, "valid_max": 100.0},
                 year={"direction": -1, "whole": True, "valid_min": np.nan, "valid_max": np.nan},
                 flag={"direction": 1, "whole": True, "valid_min": 0.0, "valid_max": 1.0})
    levels = whatif.peer_levels(latest, memberships, "FOC", spec).set_index(["key", "level"])
    assert levels.loc[("share", "median"), "target_value"] == 30.0
    assert levels.loc[("share", "p75"), "target_value"] == pytest.approx(np.quantile([10, 20, 40, 99.5], 0.75))
    assert levels.loc[("share", "leader"), ["target_value", "target_iso3"]].tolist() == [99.5, "D"]
    # lower is better: p75 is the 25th percentile of the years (2018.5), rounded towards better (earlier): 2018
    assert levels.loc[("year", "p75"), "peer_value"] == 2018.5
    assert levels.loc[("year", "p75"), "target_value"] == 2018.0
    assert levels.loc[("year", "median"), "target_value"] == 2019.0  # 2019.5 -> 2019
    assert levels.loc[("year", "leader"), ["target_value", "target_iso3"]].tolist() == [2017.0, "A"]
    # half the peers have the fact: the median is 'has it', never 0.5
    assert levels.loc[("flag", "median"), ["peer_value", "target_value"]].tolist() == [0.5, 1.0]
    assert whatif.snap(130.0, 1, False, 0.0, 100.0) == 100.0
    assert whatif.snap(0.25, 1, True, 0.0, 1.0) == 0.0


def test_peer_levels_match_the_benchmark_convention():
    from pipelines.model.benchmark import TrendConfig, benchmark_item

    rng = np.random.default_rng(1)
    iso3 = [f"C{i}" for i in range(9)]
    current = pd.Series(rng.lognormal(size=9), index=iso3)
    latest = pd.DataFrame({"key": "x", "iso3": iso3, "value": current.to_numpy()})
    for direction in (1, -1):
        spec = _spec(x={"direction": direction, "whole": False, "valid_min": np.nan, "valid_max": np.nan})
        levels = whatif.peer_levels(latest, pd.DataFrame({"group_id": "g", "iso3": iso3}), "C0", spec)
        levels = levels.set_index("level")["target_value"]
        row = benchmark_item(focus="C0", members=iso3, current=current, history=None, direction=direction,
                             config=TrendConfig())
        assert levels["median"] == pytest.approx(row["peer_median"])
        assert levels["leader"] == pytest.approx(row["leader_value"])
        assert levels["p75"] == pytest.approx(row["peer_p75"] if direction == 1 else row["peer_p25"])


# --- shortest path ------------------------------------------------------------------------------------------------

def _search_case(seed: int, config: MethodConfig):
    inputs = _inputs(12, 6, 3, missing=0.0, seed=seed, config=config)
    rescorer = whatif.Rescorer(inputs)
    values, at = inputs.values, rescorer.focus_at
    candidates = {}
    for key in rescorer.keys:
        direction = int(inputs.framework.direction[key])
        others = values[key].drop(inputs.focus).to_numpy() * direction
        levels = {name: float(q) * direction for name, q in
                  zip(whatif.LEVELS, (np.median(others), np.quantile(others, 0.75), others.max()))}
        own = values.loc[inputs.focus, key]
        moves = [whatif.Move(key, v, n) for n, v in levels.items() if whatif.improving(own, v, direction)]
        if moves:
            candidates[key] = moves

    rescorer.prepare([m for moves in candidates.values() for m in moves])  # one pipeline run for all of them

    memo = {}

    def rank_after(moves):
        key = frozenset((m.key, m.value) for m in moves)
        if key not in memo:
            scores = rescorer.scores(moves)
            memo[key] = whatif.rank_of(scores, at), float(scores[at])
        return memo[key]

    return rank_after, candidates, rank_after([])[0]


@pytest.mark.parametrize("config", [MethodConfig(mc_draws=0), MethodConfig(mc_draws=0, treat_outliers=False),
                                    MethodConfig(mc_draws=0, normalisation="z_score", aggregation="geometric")],
                         ids=["default", "untreated", "z_geometric"])
def test_shortest_path_equals_exhaustive_search_on_small_synthetic_universes(config):
    greedy_optimal = cases = 0
    for seed in range(8):
        rank_after, candidates, start = _search_case(seed, config)
        for target in range(1, int(start)):
            best = whatif.exhaustive_minimum(rank_after, candidates, target, len(candidates))
            path = whatif.shortest_path(rank_after, candidates, target, start, budget=10_000)
            if best is None:
                assert not path.reached and path.algorithm == "unreachable"
                continue
            cases += 1
            assert path.reached and path.algorithm == "exact"
            assert len(path.moves) == len(best), (seed, target, path, best)
            assert path.ranks[-1] <= target and path.ranks[0] == start
            assert rank_after(list(path.moves))[0] == path.ranks[-1]
            for i, move in enumerate(path.moves):  # each move only as far as needed
                for gentler in candidates[move.key]:
                    if rank_after([gentler])[0] > rank_after([move])[0]:
                        trial = [*path.moves[:i], gentler, *path.moves[i + 1:]]
                        assert rank_after(trial)[0] > target, (seed, target, move, gentler)
            greedy = whatif.greedy_path(rank_after, candidates, target, start)
            assert len(greedy.moves) >= len(best)
            greedy_optimal += len(greedy.moves) == len(best)
    assert cases >= 20
    assert greedy_optimal >= 0.8 * cases  # the greedy path alone is usually already minimal


def test_shortest_path_beyond_the_budget_is_labelled_greedy():
    rank_after, candidates, start = _search_case(2, MethodConfig(mc_draws=0))
    path = whatif.shortest_path(rank_after, candidates, 1, start, budget=0)
    assert path.reached and path.algorithm == "greedy"


# --- scenarios config -----------------------------------------------------------------------------------------------

def test_scenarios_config_loads_and_bad_targets_fail_clearly(tmp_path):
    doc = whatif.load_scenarios()
    assert {"genai_use_g7_median", "private_ai_investment_korea"} <= {s["id"] for s in doc["scenarios"]}
    assert whatif.parse_level("g7:median") == ("g7", "median") and whatif.parse_level("KOR") == ("country", "KOR")
    with pytest.raises(ValueError, match="level must be one of"):
        whatif.parse_level("g7:top")
    bad = tmp_path / "scenarios.yaml"
    bad.write_text("scenarios:\n  - id: x\n    label: X\n    targets:\n      - {indicator: a, level: b}\n")
    with pytest.raises(ValueError, match="scenarios.yaml.*a target is"):
        whatif.load_scenarios(bad)


# --- the built marts, their checks, the CLI and the report ------------------------------------------------------------

def test_what_if_marts_of_a_real_build(published_db):
    what_if = published_db.execute("SELECT * FROM mart_focus_what_if").df()
    composite = published_db.execute("SELECT * FROM mart_composite_index WHERE iso3 = 'JPN'").df().iloc[0]
    assert set(what_if["focus_iso3"]) == {"JPN"} and {"indicator", "pillar"} == set(what_if["scope"])
    first = what_if.iloc[0]
    assert first["baseline_score"] == pytest.approx(composite["score"], abs=1e-9)
    assert (first["baseline_rank"], first["baseline_rank_p05"], first["baseline_rank_p95"]) == (
        composite["rank"], composite["rank_p05"], composite["rank_p95"])
    scored = set(published_db.execute("SELECT DISTINCT indicator_key FROM mart_indicator_scores").df().iloc[:, 0]) \
        if "indicator_key" in published_db.execute("DESCRIBE mart_indicator_scores").df()["column_name"].tolist() \
        else None
    indicators = what_if[(what_if["scope"] == "indicator") & (what_if["group_id"] != "universe")]
    assert set(indicators["level"]) == set(whatif.LEVELS)
    if scored is not None:
        assert set(indicators["item"]) <= scored
    assert (what_if["rank_gain"] >= 0).all()  # a move never makes the focus country worse
    survives = what_if["survives_uncertainty"] == True  # noqa: E712
    assert (what_if.loc[survives, "rank_p95"] < what_if.loc[survives, "baseline_rank_p05"]).all()
    path = published_db.execute("SELECT * FROM mart_focus_path WHERE target_scope = 'universe' AND target_rank = 10 "
                                "ORDER BY step").df()
    assert path["reached"].all() and path["step"].tolist() == list(range(len(path)))
    assert path["rank_in_scope"].iloc[-1] <= 10 and path["rank_in_scope"].is_monotonic_decreasing
    assert len(path) - 1 == path["n_moves"].iloc[0]
    scenarios = published_db.execute("SELECT * FROM mart_scenarios").df()
    assert {s["id"] for s in whatif.load_scenarios()["scenarios"]} == set(scenarios["scenario_id"])


@pytest.mark.parametrize("check, corrupt", [
    ("mart_focus_what_if__leader_not_worse_than_median",
     "UPDATE mart_focus_what_if SET rank = 99 WHERE level = 'leader' AND item = (SELECT min(item) FROM mart_focus_what_if)"),
    ("mart_focus_what_if__no_move_no_change",
     "UPDATE mart_focus_what_if SET score = score + 1 WHERE n_moved = 0"),
    ("mart_focus_what_if__scores_in_range", "UPDATE mart_focus_what_if SET score = 101 WHERE level = 'median'"),
    ("mart_scenarios__scores_in_range", "UPDATE mart_scenarios SET score = -1"),
    ("mart_focus_path__scores_in_range", "UPDATE mart_focus_path SET rank = 0"),
])
def test_invariant_checks_pass_on_the_build_and_catch_a_violation(built, check, corrupt):
    import duckdb

    from pipelines.base.warehouse import sql_text

    connection = duckdb.connect()
    try:
        connection.execute(f"ATTACH '{built / 'marts' / 'ai_readiness.duckdb'}' AS published (READ_ONLY)")
        for table in ("mart_focus_what_if", "mart_focus_path", "mart_scenarios", "mart_composite_index",
                      "dim_method_settings"):
            connection.execute(f"CREATE TABLE {table} AS SELECT * FROM published.{table}")
        assert connection.execute(sql_text("checks", check)).df().empty
        if "no_move_no_change" in check:
            assert connection.execute("SELECT count(*) FROM mart_focus_what_if WHERE n_moved = 0").fetchone()[0] > 0
        connection.execute(corrupt)
        assert not connection.execute(sql_text("checks", check)).df().empty
    finally:
        connection.close()


def test_what_if_checks_are_blocking_and_required_for_publishing():
    from pipelines.defs.validation import audited_check_keys, whatif_checks

    keys = audited_check_keys()
    for checks in whatif_checks:
        for spec in checks.check_specs:
            assert spec.blocking
            assert f"{spec.asset_key.to_user_string()}:{spec.name}" in keys


def test_checks_of_a_table_not_built_are_not_required(tmp_path):
    """A build of the core layers only never makes the what-if marts: their checks cannot be missing there, and
    are required as soon as the table exists (pipelines.base.audit.unaudited)."""
    import duckdb

    from pipelines.base.audit import record_check, unaudited
    from pipelines.base.warehouse import attached_read_only

    warehouse = tmp_path / "build.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE TABLE fct_indicator_values (x INT)")
        record_check(connection, "fct_indicator_values:gx_suite", True)
    required = ["fct_indicator_values:gx_suite", "mart_focus_what_if:no_move_no_change"]
    with attached_read_only(warehouse) as attached:
        assert unaudited(attached, required) == ([], [])
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE TABLE mart_focus_what_if (x INT)")
    with attached_read_only(warehouse) as attached:
        assert unaudited(attached, required) == ([], ["mart_focus_what_if:no_move_no_change"])


def _run(capsys, *argv):
    from pipelines import cli

    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_whatif_prints_gains_and_the_path(capsys, built, monkeypatch, published_db):
    monkeypatch.setenv("AI_READINESS_DATA_DIR", str(built))
    code, out, err = _run(capsys, "whatif", "JPN", "--target-rank", "10")
    assert code == 0, err
    path = published_db.execute("SELECT * FROM mart_focus_path WHERE target_scope = 'universe' AND target_rank = 10 "
                                "ORDER BY step").df()
    assert f"fewest moves to rank 10: {int(path['n_moves'].iloc[0])}" in out
    for key in path["key"].dropna():
        assert key in out
    code, out, err = _run(capsys, "whatif", "JPN")
    assert code == 0 and "genai_user_share" in out and "gain/sd" in out, err
    code, out, err = _run(capsys, "whatif", "jpn", "genai_user_share", "--to", "g7:median")
    row = published_db.execute("SELECT rank FROM mart_focus_what_if WHERE item = 'genai_user_share' AND "
                               "group_id = 'g7' AND level = 'median'").fetchone()
    assert code == 0 and "g7:median" in out and f" {int(row[0])} " in out, err
    for argv, message in ((["whatif", "USA"], "built for JPN"), (["whatif", "JPN", "genai_use"], "did you mean"),
                          (["whatif", "JPN", "--to", "g8:median"], "GROUP one of"),
                          (["whatif", "JPN", "--target-rank", "7"], "stored:")):
        code, out, err = _run(capsys, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, (argv, err)


def test_report_section_what_would_move_japan(report_file, published_db):
    html = report_file.read_text(encoding="utf-8")
    assert 'id="what-would-move"' in html and 'id="whatif-chart"' in html and 'id="whatif-path"' in html
    head = published_db.execute("SELECT n_moves FROM mart_focus_path WHERE target_scope = 'universe' AND "
                                "target_rank = 10 LIMIT 1").fetchone()[0]
    assert f"Fewest moves to the top 10:\n<strong>{int(head)}</strong>" in html or \
        f"Fewest moves to the top 10: <strong>{int(head)}</strong>" in html
    for label in published_db.execute("SELECT label FROM mart_scenarios").df()["label"]:
        assert label.replace("'", "&#39;") in html
