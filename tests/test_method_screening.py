import numpy as np
import pandas as pd
import pytest

from pipelines.model.method.framework import Framework
from pipelines.model.method.screening import screen_countries, screen_indicators

NAN = np.nan


def _frame(columns: dict, n: int) -> pd.DataFrame:
    return pd.DataFrame(columns, index=[f"C{i}" for i in range(n)])


def test_screen_indicators_drops_exactly_the_one_below_threshold():
    full = np.arange(10.0)
    values = _frame({"a": full, "b": np.r_[full[:7], [NAN] * 3], "c": np.r_[full[:6], [NAN] * 4]}, 10)
    kept, dropped = screen_indicators(values, min_coverage=0.65)
    assert list(kept.columns) == ["a", "b"]
    assert dropped[["entity", "kind", "rule"]].values.tolist() == [["c", "indicator", "min_coverage"]]
    assert dropped.loc[0, "coverage"] == pytest.approx(0.6)
    assert dropped.loc[0, "threshold"] == 0.65


def test_screen_indicators_keeps_coverage_equal_to_threshold():
    values = _frame({"a": np.r_[np.arange(13.0), [NAN] * 7]}, 20)  # 13/20 = 0.65
    kept, dropped = screen_indicators(values, 0.65)
    assert list(kept.columns) == ["a"] and dropped.empty


def _framework() -> Framework:
    return Framework.from_dict({"indicators": {"a": {"pillar": "P1"}, "b": {"pillar": "P1"}, "c": {"pillar": "P2"}}})


def test_screen_countries_coverage_and_pillars_rules():
    values = pd.DataFrame(
        {"a": [1, 1, NAN, 1], "b": [1, 1, NAN, 1], "c": [1, NAN, 1, NAN]}, index=["OK", "NOP2", "LOW", "NOP2B"], dtype=float
    )
    kept, dropped = screen_countries(values, _framework(), min_coverage=0.5)
    assert list(kept.index) == ["OK"]
    rules = dropped.set_index(["entity", "rule"])
    # NOP2 observes 2/3 indicators (passes coverage) but misses pillar P2
    assert ("NOP2", "min_pillars") in rules.index and ("NOP2", "min_coverage") not in rules.index
    assert rules.loc[("NOP2", "min_pillars"), "n_pillars"] == 1
    assert rules.loc[("LOW", "min_coverage"), "coverage"] == pytest.approx(1 / 3)
    assert "1 of 2 pillars" in rules.loc[("NOP2", "min_pillars"), "reason"]


def test_screen_countries_min_pillars_relaxed():
    values = pd.DataFrame({"a": [1.0, 1.0], "b": [1.0, 1.0], "c": [1.0, NAN]}, index=["X", "Y"])
    kept, dropped = screen_countries(values, _framework(), min_coverage=0.5, min_pillars=1)
    assert list(kept.index) == ["X", "Y"] and dropped.empty


def test_screen_countries_rejects_unknown_indicator():
    with pytest.raises(ValueError, match="not in the framework"):
        screen_countries(pd.DataFrame({"zzz": [1.0]}), _framework())
