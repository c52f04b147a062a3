"""Regions: funnel limits and Byar intervals by hand, O/E against the simulator's truth."""

import json

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.cohort import Cohort
from thuiszit_eval.regions import byar_interval, funnel_limits, region_data, region_table
from thuiszit_eval.simulate import demo_cohort_path


@pytest.fixture(scope="module")
def demo():
    path = demo_cohort_path()
    return region_data(Cohort.load(path)), json.loads((path / "truth.json").read_text())


def test_funnel_limits_by_hand():
    lo, hi = funnel_limits(0.5, 100, 0.95)
    assert hi == pytest.approx(0.5 + 1.959964 * 0.05, abs=1e-6)
    assert lo == pytest.approx(0.5 - 1.959964 * 0.05, abs=1e-6)
    lo, hi = funnel_limits(0.4, 50, 0.998)
    half = 3.090232 * np.sqrt(0.4 * 0.6 / 50)
    assert (lo, hi) == pytest.approx((0.4 - half, 0.4 + half), abs=1e-6)
    assert funnel_limits(0.95, 4, 0.998)[1] == 1.0  # clipped


def test_byar_by_hand():
    lo, hi = byar_interval(np.array([10.0]), np.array([8.0]))
    z = 1.959964
    assert lo[0] == pytest.approx(10 * (1 - 1 / 90 - z / (3 * np.sqrt(10))) ** 3 / 8, rel=1e-6)
    assert hi[0] == pytest.approx(11 * (1 - 1 / 99 + z / (3 * np.sqrt(11))) ** 3 / 8, rel=1e-6)
    # close to the exact Poisson interval (chi-square): 4.795..18.390 for O = 10
    assert lo[0] * 8 == pytest.approx(4.795, abs=0.05)
    assert hi[0] * 8 == pytest.approx(18.39, abs=0.05)


def test_oe_follows_the_true_region_effects(demo):
    data, truth = demo
    tab = region_table(data, "swv_id", min_cell=10)
    assert tab["observed"].sum() == pytest.approx(tab["expected"].sum(), rel=1e-6)
    true = tab["swv_id"].map(truth["region_log_hr"])
    oe = tab["oe"].astype(float)
    assert oe[true.idxmax()] > 1 and oe[true.idxmin()] < 1
    assert np.corrcoef(oe.rank(), true.rank())[0, 1] > 0.7
    assert set(tab["funnel"]) <= {"within", "above 95%", "above 99.8%", "below 95%",
                                  "below 99.8%"}


def test_small_regions_suppressed(demo):
    data, _ = demo
    tab = region_table(data, "municipality_code", min_cell=60)
    small = tab["n"] == "<60"
    assert small.any() and (~small).any()
    assert (tab.loc[small, "observed"] == "<60").all()
    assert tab.loc[small, ["oe", "share", "n_eff", "funnel"]].isna().all().all()
    shown = tab.loc[~small, "n"].astype(int)
    assert (shown >= 60).all()


def test_dutch_and_english_narratives_match():
    import string

    from thuiszit_eval.narrative import sections

    def fields(text):
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    nl, en = sections("10_regions", "nl"), sections("10_regions", "en")
    assert list(nl) == list(en)
    for name in nl:
        assert fields(nl[name]) == fields(en[name]), name


def test_a_share_that_gives_a_count_back_is_hidden(demo):
    data, _ = demo
    data = data.copy()
    data["swv_id"] = data["swv_id"].astype(str)
    a = data.index[data["swv_id"] == data["swv_id"].iloc[0]][:40]
    data = data.drop(data.index[(data["swv_id"] == data["swv_id"].iloc[0])].difference(a))
    # region a: 3 of 40 back within 91 days (7.5%: 3 pupils); the rest return later
    data.loc[a, "event"] = 1
    data.loc[a, "duration"] = [10.0] * 3 + [200.0] * 37
    tab = region_table(data, "swv_id", min_cell=10).set_index("swv_id")
    row = tab.loc[data.loc[a[0], "swv_id"]]
    assert row["n"] == 40 and row["observed"] == 40  # the counts stay
    assert pd.isna(row["share"]) and pd.isna(row["funnel"]) and pd.isna(row["n_eff"])
    others = tab.drop(index=row.name)
    shown = pd.to_numeric(others["share"], errors="coerce").notna()
    assert shown.all()  # the other (large) regions' shares are safe: still shown
    assert set(others["funnel"]) <= {"within", "above 95%", "above 99.8%", "below 95%",
                                     "below 99.8%"}
