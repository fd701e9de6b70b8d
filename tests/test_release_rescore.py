"""The method part of the release diff is re-scored, not labelled: known answers.

Two releases are made from the session build's warehouse (the real mirror's data), each scored the way the build
scores (index_build.score_index, then the marts' own SQL) under a configuration chosen here. The diff then rebuilds
the old configuration from the old release's stored tables (dim_method_settings, dim_framework) and re-scores the
new data with it. When only a pillar weight differs, the method part is the whole move and the data parts are 0;
when the data and a weight both change, the parts sum to the move and the method part equals the re-score computed
here, independently, from the configuration objects themselves.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.base.warehouse import build_table, replace_table_from_frame
from pipelines.model.framework import load_method_config, method_config_from_settings
from pipelines.model.index_build import framework_from_dim, income_groups, score_index, settings_table
from pipelines.publish.release_diff import build_release_diff, config_changes, diff_releases, summary_lines

FOCUS = "JPN"
WEIGHTED_PILLAR = "research_innovation"  # its weight is what the "old" configuration changes
REVISED = "rd_expenditure_share_gdp"  # the focus country's cell the "old" data holds another value for
DATA_PARTS = ("data_revision", "new_period", "coverage", "relative", "unattributed")
MARTS = ("dim_method_settings", "dim_framework", "mart_indicator_scores", "mart_pillar_scores",
         "mart_composite_index")


def _inputs(connection):
    read = lambda table: connection.execute(f"SELECT * FROM {table}").df()  # noqa: E731
    return (read("int_indicator_latest"), read("ref_framework"), read("ref_pillars"),
            read("ref_universe")["iso3"].tolist(), income_groups(read("dim_countries")))


def _pillars_weighted(ref_pillars: pd.DataFrame, weight: float) -> pd.DataFrame:
    return ref_pillars.assign(weight=ref_pillars["weight"].where(ref_pillars["pillar"] != WEIGHTED_PILLAR, weight))


def _revised(latest: pd.DataFrame) -> pd.DataFrame:
    """The focus country's REVISED cell at 80 % of its value: a data revision (same period, new value)."""
    cell = (latest["iso3"] == FOCUS) & (latest["key"] == REVISED)
    assert cell.sum() == 1 and latest.loc[cell, "value"].notna().all()
    out = latest.copy()
    out.loc[cell, ["value", "raw_value"]] = out.loc[cell, ["value", "raw_value"]] * 0.8
    return out


def _scored_release(build_warehouse: Path, path: Path, config, pillar_weight: float, revise: bool = False) -> Path:
    """A copy of the build warehouse scored under `config` and WEIGHTED_PILLAR's weight, as the build scores."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(build_warehouse, path)
    connection = duckdb.connect(str(path))
    try:
        latest, ref_framework, ref_pillars, universe, groups = _inputs(connection)
        ref_pillars = _pillars_weighted(ref_pillars, pillar_weight)
        if revise:
            latest = _revised(latest)
            replace_table_from_frame(connection, "int_indicator_latest", latest)
        replace_table_from_frame(connection, "ref_pillars", ref_pillars)
        tables = score_index(latest, ref_framework, ref_pillars, universe, groups, config)
        for name in ("int_index_cells", "int_index_pillars", "int_index_composite", "int_index_weights",
                     "int_index_outliers", "int_index_settings"):
            replace_table_from_frame(connection, name, tables[name])
        for mart in MARTS:
            build_table(connection, "marts", mart)
    finally:
        connection.close()
    return path


@pytest.fixture(scope="module")
def expert():
    """The repository's method with expert weights and no Monte Carlo (nominal scores are all the diff reads)."""
    return replace(load_method_config()[0], weights="expert", mc_draws=0)


def _diff(built: Path, tmp_path: Path, config, old_weight: float, revise_old: bool):
    """(mart_release_diff, the new release's file, marts dir): old scored with `old_weight` (and the revised cell
    when `revise_old`), new with weight 1, both with `config`."""
    build_warehouse = built / "marts" / ".build" / "ai_readiness.duckdb"
    marts = tmp_path / "marts"
    _scored_release(build_warehouse, marts / ".releases" / "a_old" / "ai_readiness.duckdb", config, old_weight,
                    revise=revise_old)
    (marts / "current").symlink_to(Path(".releases") / "a_old")
    new = _scored_release(build_warehouse, tmp_path / "new.duckdb", config, 1.0)
    connection = duckdb.connect(str(new))
    try:
        assert build_release_diff(connection, marts, FOCUS) > 0
        frame = connection.execute("SELECT * FROM mart_release_diff").df()
    finally:
        connection.close()
    return frame, new, marts


def _parts(frame: pd.DataFrame, level: str) -> pd.Series:
    rows = frame[(frame["row_kind"] == "attribution") & (frame["level"] == level)]
    return rows.set_index("change_type")["contribution"]


def _score(frame: pd.DataFrame, level: str) -> dict:
    [row] = frame[(frame["row_kind"] == "score") & (frame["level"] == level)].to_dict("records")
    return row


def test_a_weight_change_alone_is_all_method(built, tmp_path, expert):
    frame, new, marts = _diff(built, tmp_path, expert, old_weight=2.0, revise_old=False)
    composite = _score(frame, "composite")
    assert composite["score_delta"] != pytest.approx(0, abs=1e-6)  # the weight moved the composite
    for level in frame.loc[frame["row_kind"] == "score", "level"]:
        score, parts = _score(frame, level), _parts(frame, level)
        assert parts["method_config"] == pytest.approx(score["score_delta"], abs=1e-9), level
        assert parts[list(DATA_PARTS)].abs().max() == pytest.approx(0, abs=1e-9), level
        # the re-score of the new data with the old configuration reproduces the old release
        assert score["old_config_score"] == pytest.approx(score["old_score"], abs=1e-9), level
        assert score["old_config_rank"] == score["old_rank"] and score["rescored"], level
    assert not (frame["row_kind"] == "cell").any()  # no cell's data changed
    [change] = frame[frame["row_kind"] == "config"].to_dict("records")
    assert (change["config_key"], change["old_config_value"], change["new_config_value"], change["rescored"]) == \
        (f"framework.pillar_weight.{WEIGHTED_PILLAR}", "2", "1", True)
    text = "\n".join(summary_lines(frame.drop(columns="old_release"), "a_old", "b_new"))
    assert f"config framework.pillar_weight.{WEIGHTED_PILLAR} 2 -> 1 (re-scored)" in text
    assert f"method_config {composite['score_delta']:+.2f}" in text

    # `ai-readiness diff` on the two kept releases returns the re-scored table the new release holds
    (marts / ".releases" / "b_new").mkdir()
    shutil.copy(new, marts / ".releases" / "b_new" / "ai_readiness.duckdb")
    (marts / "current").unlink()
    (marts / "current").symlink_to(Path(".releases") / "b_new")
    shown, old, latest = diff_releases(marts, None, None)
    assert (old, latest) == ("a_old", "b_new")
    pd.testing.assert_frame_equal(shown, frame.drop(columns="old_release"))


def test_data_and_weight_change_split_exactly(built, tmp_path, expert):
    frame, new, _ = _diff(built, tmp_path, expert, old_weight=2.0, revise_old=True)
    # independently: the new data under the old configuration, straight from the configuration objects
    connection = duckdb.connect(str(new), read_only=True)
    try:
        latest, ref_framework, ref_pillars, universe, groups = _inputs(connection)
    finally:
        connection.close()
    old_config = score_index(latest, ref_framework, _pillars_weighted(ref_pillars, 2.0), universe, groups, expert)
    rescored = old_config["int_index_composite"].set_index("iso3").loc[FOCUS]
    rescored_pillars = old_config["int_index_pillars"].query("iso3 == @FOCUS").set_index("pillar")

    for level in frame.loc[frame["row_kind"] == "score", "level"]:
        score, parts = _score(frame, level), _parts(frame, level)
        assert parts.sum() == pytest.approx(score["score_delta"], abs=1e-9), level
        expected = rescored if level == "composite" else rescored_pillars.loc[level]
        assert parts["method_config"] == pytest.approx(score["new_score"] - expected["score"], abs=1e-9), level
        assert score["old_config_rank"] == expected["rank"], level
        data = parts[list(DATA_PARTS)].sum()
        assert data == pytest.approx(expected["score"] - score["old_score"], abs=1e-9), level
    composite = _parts(frame, "composite")
    assert composite["method_config"] != pytest.approx(0, abs=1e-6)
    assert composite["data_revision"] != pytest.approx(0, abs=1e-6)
    [cell] = frame[(frame["row_kind"] == "cell") & (frame["indicator_key"] == REVISED)].to_dict("records")
    assert cell["change_type"] == "data_revision"
    assert cell["new_value"] == pytest.approx(cell["old_value"] / 0.8)
    assert cell["new_raw_file"] and cell["new_raw_row"]  # lineage of the value the data part moved


def test_equal_configurations_are_not_re_scored(built, tmp_path, expert):
    frame, _, _ = _diff(built, tmp_path, expert, old_weight=1.0, revise_old=True)
    assert not (frame["row_kind"] == "config").any()
    for level in frame.loc[frame["row_kind"] == "score", "level"]:
        score = _score(frame, level)
        assert _parts(frame, level)["method_config"] == 0.0 and not score["rescored"]
        assert score["old_config_score"] == score["new_score"]


def test_settings_round_trip_to_the_method_config():
    config = replace(load_method_config()[0], weights="pca", min_pillars=None, normalisation="z_score")
    assert method_config_from_settings(settings_table(config)) == config
    with pytest.raises(ValueError, match="unknown to this method"):
        method_config_from_settings(pd.DataFrame({"setting": ["bogus"], "value": ["1"]}))
    with pytest.raises(ValueError, match="not JSON"):
        method_config_from_settings(pd.DataFrame({"setting": ["weights"], "value": ["equal"]}))


def _framework(**changes) -> pd.DataFrame:
    frame = pd.DataFrame({
        "indicator_key": ["a", "b"], "indicator_label": ["A", "B"], "pillar": ["p1", "p2"],
        "pillar_label": ["P1", "P2"], "direction": [1, -1], "expert_weight": [float("nan"), 2.0],
        "pillar_expert_weight": [1.0, 1.0], "domain": ["continuous", "binary"], "window_years": [5, 5],
        "reference_year": [2026, 2026], "weight_in_pillar": [1.0, 1.0], "pillar_weight": [0.5, 0.5],
        "is_scored": [True, True]})
    for column, (row, value) in changes.items():
        frame.loc[row, column] = value
    return frame


def test_config_changes_name_each_key_and_whether_it_is_re_scored():
    settings = pd.DataFrame({"setting": ["weights", "min_indicator_coverage"], "value": ['"equal"', "0.65"]})
    same = config_changes(settings, _framework(), settings.assign(value=['"equal"', "0.650"]), _framework())
    assert same.empty  # formatting of a JSON value is not a change; nor are the weights the data produced
    changed = config_changes(
        settings, _framework(), settings.assign(value=['"pca"', "0.65"]),
        _framework(pillar_expert_weight=(0, 3.0), window_years=(1, 4), expert_weight=(0, 0.5),
                   weight_in_pillar=(0, 0.2)))
    rows = {r.config_key: (r.old_value, r.new_value, r.scoring) for r in changed.itertuples()}
    assert rows == {"method.weights": ("equal", "pca", True),
                    "framework.a.expert_weight": (None, "0.5", True),
                    "framework.pillar_weight.p1": ("1", "3", True),
                    "framework.b.window_years": ("5", "4", False)}
    added = config_changes(settings, _framework().iloc[:1], settings, _framework())
    assert added.to_dict("records") == [  # an indicator, and with it its pillar, joined the framework
        {"config_key": "framework.b.pillar", "old_value": None, "new_value": "p2", "scoring": True},
        {"config_key": "framework.pillar_weight.p2", "old_value": None, "new_value": "1", "scoring": True}]


def test_framework_from_dim_restores_the_scoring_framework_in_build_order():
    dim = _framework().iloc[::-1]  # published order differs from the build's
    ref_framework, ref_pillars = framework_from_dim(dim, pd.DataFrame({"key": ["a", "b"]}),
                                                    pd.DataFrame({"pillar": ["p1", "p2"]}))
    assert list(ref_framework["key"]) == ["a", "b"] and list(ref_pillars["pillar"]) == ["p1", "p2"]
    assert ref_framework.set_index("key").loc["b", "weight"] == 2.0 and list(ref_pillars["weight"]) == [1.0, 1.0]
    with pytest.raises(KeyError):  # a release from before pillar weights were stored cannot be re-scored
        framework_from_dim(dim.drop(columns="pillar_expert_weight"))
