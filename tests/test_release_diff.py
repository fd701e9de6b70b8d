"""mart_release_diff on two hand-made releases with a known answer: each kind of change lands in its own type,
the contributions are the weighted score changes, the attribution rows sum to each score's change, and the peers
that crossed the focus country are named."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.publish.release_diff import diff_sql, old_config_catalog

SCORE_COLUMNS = ("iso3 VARCHAR, country VARCHAR, indicator_key VARCHAR, indicator_label VARCHAR, pillar VARCHAR, "
                 "year_used BIGINT, period_used VARCHAR, raw_value DOUBLE, imputed BOOLEAN, normalised_score DOUBLE, "
                 "weight_in_pillar DOUBLE, source_id VARCHAR, source_code VARCHAR, raw_file VARCHAR, raw_row VARCHAR")


def _release(connection, name: str, cells, pillars, composite, settings, sha: str):
    connection.execute(f"ATTACH ':memory:' AS {name}")
    connection.execute(f"CREATE TABLE {name}.mart_indicator_scores ({SCORE_COLUMNS})")
    for c in cells:  # (iso3, key, pillar, period, value, imputed, score, weight)
        connection.execute(f"INSERT INTO {name}.mart_indicator_scores VALUES (?, '', ?, ?, ?, NULL, ?, ?, ?, ?, ?, "
                           "'src', ?, ?, '7')", [c[0], c[1], c[1].upper(), c[2], c[3], c[4], c[5], c[6], c[7],
                                                 c[1].upper(), f"src/{c[1]}.csv"])
    connection.execute(f"CREATE TABLE {name}.mart_pillar_scores (iso3 VARCHAR, pillar VARCHAR, score DOUBLE, "
                       "rank BIGINT)")
    connection.executemany(f"INSERT INTO {name}.mart_pillar_scores VALUES (?, ?, ?, ?)", pillars)
    connection.execute(f"CREATE TABLE {name}.mart_composite_index (iso3 VARCHAR, score DOUBLE, rank BIGINT)")
    connection.executemany(f"INSERT INTO {name}.mart_composite_index VALUES (?, ?, ?)", composite)
    connection.execute(f"CREATE TABLE {name}.dim_method_settings (setting VARCHAR, value VARCHAR)")
    connection.executemany(f"INSERT INTO {name}.dim_method_settings VALUES (?, ?)", settings)
    connection.execute(f"CREATE TABLE {name}.dim_framework AS SELECT * FROM (VALUES "
                       "('a', 'p1', 1, 'none', 0.5, 0.5, true), ('b', 'p1', 1, 'none', 0.5, 0.5, true), "
                       "('c', 'p2', 1, 'none', 0.5, 0.5, true), ('d', 'p2', 1, 'none', 0.5, 0.5, true)) "
                       "AS t(indicator_key, pillar, direction, denominator, weight_in_pillar, pillar_weight, is_scored)")
    connection.execute(f"CREATE TABLE {name}.fct_indicator_values AS SELECT DISTINCT iso3, raw_file, "
                       f"'{sha}' AS raw_sha256 FROM {name}.mart_indicator_scores")


@pytest.fixture()
def diff():
    connection = duckdb.connect(":memory:")
    # JPN: a (p1) revised 10 -> 12, b (p1) 2022 -> 2023, c (p2) observed -> gone, d (p2) same value, score moved
    old_cells = [("JPN", "a", "p1", "2023", 10.0, False, 40.0, 0.5), ("JPN", "b", "p1", "2022", 5.0, False, 60.0, 0.5),
                 ("JPN", "c", "p2", "2023", 1.0, False, 20.0, 0.5), ("JPN", "d", "p2", "2023", 7.0, False, 80.0, 0.5)]
    new_cells = [("JPN", "a", "p1", "2023", 12.0, False, 50.0, 0.5), ("JPN", "b", "p1", "2023", 6.0, False, 70.0, 0.5),
                 ("JPN", "d", "p2", "2023", 7.0, False, 90.0, 0.5)]
    _release(connection, "old_r", old_cells, [("JPN", "p1", 50.0, 3), ("JPN", "p2", 50.0, 2), ("KOR", "p1", 55.0, 2)],
             [("JPN", 50.0, 3), ("KOR", 52.0, 2), ("USA", 70.0, 1), ("DEU", 45.0, 4)], [("weights", "equal")], "old")
    _release(connection, "new_r", new_cells, [("JPN", "p1", 60.0, 1), ("JPN", "p2", 90.0, 1), ("KOR", "p1", 55.0, 2)],
             [("JPN", 75.0, 1), ("KOR", 52.0, 3), ("USA", 70.0, 2), ("DEU", 45.0, 4)], [("weights", "equal")], "new")
    frame = _diff(connection)
    connection.close()
    return frame


def _diff(connection, old: str = "old_r", new: str = "new_r"):
    """The diff of two hand-made releases, which hold no inputs to re-score with."""
    with old_config_catalog(connection, old, new, rescore=False):
        return connection.execute(diff_sql(old, new).replace("$focus", "?"), ["JPN"]).df()


def _cell(frame, key):
    [row] = frame[(frame["row_kind"] == "cell") & (frame["indicator_key"] == key)].to_dict("records")
    return row


def test_each_change_gets_its_type_values_and_lineage(diff):
    a, b, c, d = (_cell(diff, k) for k in "abcd")
    assert a["change_type"] == "data_revision" and (a["old_value"], a["new_value"]) == (10.0, 12.0)
    assert b["change_type"] == "new_period" and (b["old_period"], b["new_period"]) == ("2022", "2023")
    assert c["change_type"] == "coverage" and c["old_value"] == 1.0 and c["new_value"] != c["new_value"]  # NaN
    assert d["change_type"] == "relative"  # same value and period, same method: other countries moved it
    assert a["old_raw_sha256"] == "old" and a["new_raw_sha256"] == "new" and a["new_raw_file"] == "src/a.csv"
    # contribution to the composite: weight share in pillar (0.5 / 1.0) x score change x pillar share (1/2)
    assert a["contribution"] == pytest.approx(0.5 * 10 * 0.5)
    assert c["contribution"] == pytest.approx(-0.5 * 20 * 0.5)
    assert d["contribution"] == pytest.approx((1.0 * 90 - 0.5 * 80) * 0.5)  # d is p2's only cell now


def test_attribution_rows_sum_to_each_score_change(diff):
    scores = diff[diff["row_kind"] == "score"].set_index("level")
    parts = diff[diff["row_kind"] == "attribution"]
    for level, group in parts.groupby("level"):
        assert group["contribution"].sum() == pytest.approx(scores.loc[level, "score_delta"])
    p1 = parts[parts["level"] == "p1"].set_index("change_type")["contribution"]
    assert p1["data_revision"] == pytest.approx(5.0) and p1["new_period"] == pytest.approx(5.0)
    assert p1["unattributed"] == pytest.approx(0.0)
    assert scores.loc["composite", "rank_delta"] == -2


def test_peers_that_crossed_the_focus_country_are_listed(diff):
    peers = diff[(diff["row_kind"] == "peer") & (diff["level"] == "composite")].set_index("iso3")
    assert set(peers.index) == {"KOR", "USA"}  # both were above JPN, both are below now; DEU stayed below
    assert peers.loc["USA", "peer_move"] == "moved below the focus country"


def test_a_method_change_not_re_scored_labels_the_cells_it_may_have_moved():
    connection = duckdb.connect(":memory:")
    cells = [("JPN", "a", "p1", "2023", 10.0, False, 40.0, 0.5)]
    _release(connection, "old_r", cells, [("JPN", "p1", 40.0, 1)], [("JPN", 40.0, 1)], [("weights", "equal")], "s")
    moved = [("JPN", "a", "p1", "2023", 10.0, False, 45.0, 0.5)]
    _release(connection, "new_r", moved, [("JPN", "p1", 45.0, 1)], [("JPN", 45.0, 1)], [("weights", "pca")], "s")
    frame = _diff(connection)
    assert _cell(frame, "a")["change_type"] == "method_config"
    # releases alone hold no inputs to re-score with: the key is listed as not re-scored, the cell carries the part
    [change] = frame[frame["row_kind"] == "config"].to_dict("records")
    assert (change["config_key"], change["old_config_value"], change["new_config_value"], change["rescored"]) == \
        ("method.weights", "equal", "pca", False)
    parts = frame[(frame["row_kind"] == "attribution") & (frame["level"] == "p1")].set_index("change_type")
    assert parts.loc["method_config", "contribution"] == pytest.approx(5.0)  # a's whole move: p1's only cell
    assert parts["contribution"].sum() == pytest.approx(5.0)
    assert parts.loc["unattributed", "contribution"] == pytest.approx(0, abs=1e-12)
    composite = frame[(frame["row_kind"] == "score") & (frame["level"] == "composite")].iloc[0]
    assert composite["old_config_score"] == composite["new_score"] and not composite["rescored"]
