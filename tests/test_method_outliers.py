import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipelines.model.method.outliers import kurtosis, skewness, treat_outliers, treat_series, untreated_record

COINR_EXAMPLE = np.r_[np.arange(1, 11), 30, 100].astype(float)  # from COINr's winsorise() docs


def test_skew_and_excess_kurtosis_match_e1071_type2():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=50)
    assert skewness(x) == pytest.approx(stats.skew(x, bias=False))
    assert kurtosis(x) == pytest.approx(stats.kurtosis(x, fisher=True, bias=False))  # excess
    assert abs(kurtosis(rng.normal(size=20_000))) < 0.1  # normal -> ~0, not 3


def test_skewed_series_is_winsorised_and_recorded():
    treated, record = treat_series(pd.Series(COINR_EXAMPLE, name="x"))
    assert record["flagged"] and not record["flagged_after"]
    assert record["treatment"] == "winsorised" and record["n_winsorised"] == 1
    assert record["win_upper"] == 30 and np.isnan(record["win_lower"])
    assert record["skew_before"] > 2 and record["kurt_before"] > 3.5
    assert treated.tolist() == [*range(1, 11), 30, 30]


def test_negative_skew_winsorises_the_low_side():
    treated, record = treat_series(pd.Series(-COINR_EXAMPLE, name="x"))
    assert record["treatment"] == "winsorised" and record["win_lower"] == -30
    assert treated.min() == -30


def test_log_when_winsorising_cannot_fix_it():
    x = np.r_[np.linspace(1, 2, 100), np.arange(1, 9) * 100.0]  # 8 outliers > winmax = 5
    treated, record = treat_series(pd.Series(x, name="x"))
    assert record["treatment"] == "log" and record["n_winsorised"] == 0
    assert record["skew_after"] < record["skew_before"]
    assert (np.argsort(treated.to_numpy()) == np.argsort(x)).all()  # order kept


def test_clean_series_untouched_and_gaps_kept():
    values = pd.DataFrame({"clean": [1.0, 2, np.nan, 4, 5, 6], "short": [1.0, np.nan, np.nan, np.nan, 2, 3]})
    treated, record = treat_outliers(values)
    pd.testing.assert_frame_equal(treated, values)
    assert record.set_index("indicator_id")["treatment"].to_dict() == {"clean": "none", "short": "insufficient_data"}


def test_untreated_record_reports_statistics_only():
    record = untreated_record(pd.DataFrame({"x": COINR_EXAMPLE}))
    assert record.loc[0, "treatment"] == "off" and record.loc[0, "flagged"]


def test_binary_flags_are_never_winsorised():
    from pipelines.model.method.outliers import treat_series

    flag = pd.Series([1.0] * 40 + [0.0] * 2, index=[f"C{i}" for i in range(42)], name="flag")
    treated, record = treat_series(flag)
    assert record["treatment"] == "categorical" and record["n_winsorised"] == 0
    assert treated.equals(flag)
