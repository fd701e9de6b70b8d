import numpy as np
import pandas as pd
import pytest

from pipelines.model.method.normalisation import METHODS, normalise

UP, DOWN = pd.Series({"x": 1}), pd.Series({"x": -1})


def col(*v) -> pd.DataFrame:
    return pd.DataFrame({"x": np.array(v, dtype=float)})


def test_min_max_hand_example_and_direction():
    assert normalise(col(0, 5, 10), UP, "min_max")["x"].tolist() == [0, 50, 100]
    assert normalise(col(0, 5, 10), DOWN, "min_max")["x"].tolist() == [100, 50, 0]


def test_z_score():
    z = normalise(col(1, 2, 3), UP, "z_score")["x"]
    assert z.tolist() == pytest.approx([-1, 0, 1])  # sd with n-1 = 1
    assert normalise(col(1, 2, 3), DOWN, "z_score")["x"].tolist() == pytest.approx([1, 0, -1])


def test_percentile_rank_with_ties():
    assert normalise(col(3, 1, 2), UP, "percentile_rank")["x"].tolist() == [100, 0, 50]
    assert normalise(col(1, 2, 2, 3), UP, "percentile_rank")["x"].tolist() == pytest.approx([0, 50, 50, 100])


def test_distance_to_frontier_is_proportional_and_direction_aware():
    assert normalise(col(2, 5, 10), UP, "distance_to_frontier")["x"].tolist() == [20, 50, 100]
    assert normalise(col(2, 4, 8), DOWN, "distance_to_frontier")["x"].tolist() == [100, 50, 25]


def test_distance_to_frontier_falls_back_to_min_max_off_ratio_scale():
    assert normalise(col(-1, 0, 1), UP, "distance_to_frontier")["x"].tolist() == [0, 50, 100]
    assert normalise(col(0, 5, 10), DOWN, "distance_to_frontier")["x"].tolist() == [100, 50, 0]


@pytest.mark.parametrize("method", METHODS)
def test_higher_is_better_and_gaps_kept(method):
    values = col(1, 4, np.nan, 9)
    up, down = normalise(values, UP, method)["x"], normalise(values, DOWN, method)["x"]
    assert up.isna().tolist() == [False, False, True, False]
    assert up.iloc[0] < up.iloc[1] < up.iloc[3]
    assert down.iloc[0] > down.iloc[1] > down.iloc[3]


@pytest.mark.parametrize("method", METHODS)
def test_constant_indicator_does_not_divide_by_zero(method):
    out = normalise(col(3, 3, 3), UP, method)["x"]
    assert out.notna().all() and out.nunique() == 1


def test_unknown_method():
    with pytest.raises(ValueError):
        normalise(col(1, 2), UP, "rank_magic")
