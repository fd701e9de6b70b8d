import numpy as np
import pandas as pd
import pytest

from pipelines.model.method.framework import Framework
from pipelines.model.method.imputation import impute, impute_with_methods

NAN = np.nan
GROUPS = pd.Series({"A": "g1", "B": "g1", "C": "g1", "D": "g2", "E": "g2"})


def _values() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 3, NAN, 10, 20, NAN], "b": [NAN, NAN, NAN, 4, NAN, 6]}, index=list("ABCDEF"), dtype=float)


def test_group_median_hand_example():
    filled, mask = impute(_values(), "group_median", GROUPS)
    assert filled.loc["C", "a"] == 2  # median of g1 (1, 3)
    assert filled.loc["F", "a"] == 6.5  # F has no group -> median of all (1, 3, 10, 20)
    assert filled.loc["A", "b"] == 5  # g1 observes no b -> overall median (4, 6)
    assert filled.loc["E", "b"] == 4  # g2 median of b


@pytest.mark.parametrize("method", ["group_median", "pillar_regression"])
def test_never_overwrites_observed_and_flags_exactly_the_imputed(method):
    values = _values()
    fw = Framework.from_dict({"indicators": {"a": {"pillar": "P"}, "b": {"pillar": "P"}}})
    filled, mask = impute(values, method, GROUPS, fw)
    observed = values.notna()
    pd.testing.assert_frame_equal(filled[observed], values[observed])
    assert mask.equals(values.isna() & filled.notna())
    assert filled.notna().all().all()


def test_none_leaves_gaps():
    filled, mask = impute(_values(), "none")
    pd.testing.assert_frame_equal(filled, _values())
    assert not mask.any().any()


def test_pillar_regression_recovers_a_linear_relation():
    a = np.arange(1.0, 11.0)
    values = pd.DataFrame({"a": a, "b": 2 * a + 1}, index=[f"C{i}" for i in range(10)])
    values.loc["C4", "b"] = NAN
    fw = Framework.from_dict({"indicators": {"a": {"pillar": "P"}, "b": {"pillar": "P"}}})
    filled, mask, how = impute_with_methods(values, "pillar_regression", framework=fw)
    assert filled.loc["C4", "b"] == pytest.approx(2 * 5 + 1)
    assert how.loc["C4", "b"] == "pillar_regression" and mask.loc["C4", "b"]


def test_pillar_regression_direction_and_fallback():
    a = np.arange(1.0, 11.0)
    values = pd.DataFrame({"a": a, "b": 100 - 3 * a, "c": a}, index=[f"C{i}" for i in range(10)])
    values.loc["C2", "b"] = NAN
    values.loc["C7", ["a", "b"]] = NAN  # b missing and no other indicator of P1 observed -> group median
    fw = Framework.from_dict({"indicators": {"a": {"pillar": "P1", "direction": -1}, "b": {"pillar": "P1"},
                                             "c": {"pillar": "P2"}}})
    filled, _, how = impute_with_methods(values, "pillar_regression", framework=fw)
    assert filled.loc["C2", "b"] == pytest.approx(100 - 3 * 3)
    assert how.loc["C7", "b"] == "overall_median" and how.loc["C7", "a"] == "overall_median"
