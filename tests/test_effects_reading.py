"""Tests of the reading helpers of notebook 07 (formatting, verdicts, tables, study summary)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.effects import reading as rd
from thuiszit_eval.narrative import Narrator, number


@pytest.fixture(params=["nl", "en"])
def say(request) -> Narrator:
    return Narrator("07_target_trial", request.param)


def _rmst(rows: list[tuple[int, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["tau", "difference", "lower", "upper"])


def test_fmt_days_per_language_and_no_negative_zero():
    assert rd.fmt_days(1234.56, "nl") == "1.234,6"
    assert rd.fmt_days(1234.56, "en") == "1,234.6"
    assert rd.fmt_days(-0.04, "nl") == "0,0"
    assert rd.fmt_days(-0.004, "en", 2) == "0.00"
    assert rd.fmt_days(-3.6, "en", 0) == "-4"


def test_suppressed_count_below_min_cell():
    assert rd.suppressed_count(9, "nl", 10) == "<10"
    assert rd.suppressed_count(10, "nl", 10) == "10"
    assert rd.suppressed_count(12345, "nl", 10) == "12.345"
    assert rd.suppressed_count(12345, "en", 10) == "12,345"
    assert rd.suppressed_count(4, "en", 5) == "<5"


@pytest.mark.parametrize(("lower", "upper", "key"), [
    (-5.0, -1.0, "verdict_fewer"),
    (1.0, 5.0, "verdict_more"),
    (-1.0, 5.0, "verdict_unclear"),
    (0.0, 5.0, "verdict_unclear"),
    (-5.0, 0.0, "verdict_unclear"),
])
def test_verdict_key(lower, upper, key):
    assert rd.verdict_key(lower, upper) == key


def test_verdict_text_uses_days_as_positive(say):
    lang = say.lang
    fewer = SimpleNamespace(difference=-3.25, lower=-5.0, upper=-1.0)
    more = SimpleNamespace(difference=2.0, lower=1.0, upper=3.0)
    unclear = SimpleNamespace(difference=0.5, lower=-1.0, upper=2.0)
    assert rd.verdict_text(fewer, say, 28, lang) == say.text(
        "verdict_fewer", grace=28, days=rd.fmt_days(3.25, lang))
    assert rd.verdict_text(more, say, 28, lang) == say.text(
        "verdict_more", grace=28, days=rd.fmt_days(2.0, lang))
    assert rd.verdict_text(unclear, say, 28, lang) == say.text("verdict_unclear")


def test_comparison_table_rows_and_columns(say):
    lang = say.lang
    analyses = {
        "naive": SimpleNamespace(rmst=_rmst([(91, 20.0, 18.0, 22.0), (182, 30.0, 27.5, 33.0)])),
        "ccw": SimpleNamespace(rmst=_rmst([(91, -3.0, -5.0, -1.0), (182, -4.0, -7.0, -0.5)])),
    }
    names = {"naive": "N", "ccw": "C"}
    tab = rd.comparison_table(analyses, say, lang, names)
    assert list(tab.index) == ["N", "C"]
    assert tab.index.name == say.text("col_analysis")
    assert tab.loc["C", say.text("col_diff_to", tau=182)] == rd.fmt_days(-4.0, lang)
    assert tab.loc["N", say.text("col_ci_to", tau=91)] == say.text(
        "ci", lower=rd.fmt_days(18.0, lang), upper=rd.fmt_days(22.0, lang))
    assert (tab[say.text("col_hr")] == "–").all()  # no hazard ratio given
    analyses["ccw"].hazard_ratio = pd.Series({"hr": 1.1649, "lower": 1.1209, "upper": 1.2103})
    tab = rd.comparison_table(analyses, say, lang, names)
    assert tab.loc["C", say.text("col_hr")] == say.text(
        "hr_ci", hr=rd.fmt_days(1.16, lang, 2), lower=rd.fmt_days(1.12, lang, 2),
        upper=rd.fmt_days(1.21, lang, 2))
    assert tab.loc["N", say.text("col_hr")] == "–"


@pytest.mark.parametrize(("lower", "upper", "key"), [
    (1.05, 1.3, "hr_faster"), (0.6, 0.95, "hr_slower"), (0.9, 1.2, "hr_unclear"),
    (1.0, 1.2, "hr_unclear"),
])
def test_hr_verdict_key(lower, upper, key):
    assert rd.hr_verdict_key(lower, upper) == key


def test_hazard_ratio_reading(say):
    lang = say.lang
    assert rd.hazard_ratio_reading(None, say, 28, lang, True).data == ""
    hr = pd.Series({"hr": 1.1649, "lower": 1.1209, "upper": 1.2103, "follow_up_days": 182})
    shown = rd.hazard_ratio_reading(hr, say, 28, lang, True)
    assert shown.data == say.text(
        "hazard_ratio", tau=182, grace=28, hr=rd.fmt_days(1.1649, lang, 2),
        lo=rd.fmt_days(1.1209, lang, 2), hi=rd.fmt_days(1.2103, lang, 2),
        verdict=say.text("hr_faster"))
    unclear = rd.hazard_ratio_reading(hr.replace({1.1209: 0.95}), say, 28, lang, True)
    assert say.text("hr_unclear") in unclear.data
    no_ci = rd.hazard_ratio_reading(hr, say, 28, lang, False)
    assert rd.fmt_days(1.1649, lang, 2) in no_ci.data
    assert rd.fmt_days(1.1209, lang, 2) not in no_ci.data  # no interval shown


def test_truth_hr_reading(tmp_path, say):
    lang = say.lang
    hr = pd.Series({"hr": 1.16, "lower": 1.12, "upper": 1.21, "follow_up_days": 182})
    assert rd.truth_hr_reading(tmp_path, True, hr, say, lang, True) is None  # no truth.json
    truth = {"target_trial": {"hazard_ratio": {"182": {"hazard_ratio": 1.185}}}}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    assert rd.truth_hr_reading(tmp_path, False, hr, say, lang, True) is None  # own cohort
    inside = rd.truth_hr_reading(tmp_path, True, hr, say, lang, True)
    assert inside.data == say.text("truth_hr", tau="182", truth=rd.fmt_days(1.185, lang, 2),
                                   inside=say.text("in"))
    outside = rd.truth_hr_reading(tmp_path, True, hr.replace({1.21: 1.18}), say, lang, True)
    assert say.text("out") in outside.data
    no_ci = rd.truth_hr_reading(tmp_path, True, hr, say, lang, False)
    assert no_ci.data == say.text("truth_hr_no_interval", tau="182",
                                  truth=rd.fmt_days(1.185, lang, 2),
                                  hr=rd.fmt_days(1.16, lang, 2))


def test_compare_readings_warns_only_when_naive_is_off(say):
    lang = say.lang
    landmark = SimpleNamespace(rmst=_rmst([(182, -3.0, -6.0, 0.5)]))
    off = {"naive": SimpleNamespace(rmst=_rmst([(182, 10.0, 8.0, 12.0)])), "landmark": landmark,
           "ccw": SimpleNamespace(rmst=_rmst([(182, -4.0, -7.0, -1.0)]))}
    assert len(rd.compare_readings(off, 182, say, lang, with_interval=True)) == 3
    assert len(rd.compare_readings(off, 182, say, lang, with_interval=False)) == 1
    close = {"naive": SimpleNamespace(rmst=_rmst([(182, -4.5, -8.0, -1.0)])), "landmark": landmark,
             "ccw": SimpleNamespace(rmst=_rmst([(182, -4.0, -7.0, -1.0)]))}
    assert len(rd.compare_readings(close, 182, say, lang, with_interval=True)) == 1
    worse = dict(close, naive=SimpleNamespace(rmst=_rmst([(182, -0.5, -2.0, 1.0)])))
    readings = rd.compare_readings(worse, 182, say, lang, with_interval=True)
    assert [m.data for m in readings[1:]] == [say.text("naive_worse")]


def test_simulation_study_summary_on_committed_results(say):
    results = rd.results_dir()
    if not (results / "sim_study_effects.csv").exists():
        pytest.skip("benchmarks/results not present")
    lang = say.lang
    names = {"naive": "N", "landmark": "L", "ccw": "C"}
    shown, numbers = rd.simulation_study_summary(results, (91, 182), lang, names, say)
    raw = pd.read_csv(results / "sim_study_effects.csv")
    raw = raw[raw["estimand"].isin(["rmst_diff_91", "rmst_diff_182"])]
    assert len(shown) == len(raw)
    assert set(shown[say.text("col_method")]) <= set(names.values())
    assert numbers["study"]["n_reps"] == number(raw["n_reps"].max(), lang)
    truth = raw.set_index(["method", "estimand"]).loc[("ccw", "rmst_diff_91"), "truth"]
    assert numbers["study"]["truth1"] == rd.fmt_days(truth, lang)
    ccw_bias = raw.loc[raw["method"] == "ccw", "bias"].abs().max()
    assert numbers["reading"]["ccw_bias"] == rd.fmt_days(ccw_bias, lang, 2)
    assert numbers["reading"]["ccw_cov"].endswith("%")
    # the numbers fill the narrative's sentences without a missing key
    say.text("study", **numbers["study"])
    say.text("study_reading", **numbers["reading"])
    # the hazard-ratio sentence: true HR and the geometric mean estimates
    hr = pd.read_csv(results / "sim_study_effects.csv").set_index(["method", "estimand"])
    assert numbers["reading_hr"]["truth"] == rd.fmt_days(
        np.exp(hr.loc[("ccw", "log_hr"), "truth"]), lang, 2)
    assert numbers["reading_hr"]["naive_mean"] == rd.fmt_days(
        np.exp(hr.loc[("naive", "log_hr"), "mean_estimate"]), lang, 2)
    say.text("study_reading_hr", **numbers["reading_hr"])


def test_simulation_study_summary_missing(tmp_path):
    assert rd.simulation_study_summary(tmp_path, (91, 182), "en") is None


def test_truth_reading(tmp_path, say):
    lang = say.lang
    res = _rmst([(91, -3.0, -5.0, -1.0), (182, -4.0, -7.0, -0.5)]).set_index("tau")
    assert rd.truth_reading(tmp_path, True, res, (91, 182), say, lang, True) is None
    truth = {"target_trial": {"rmst": {"91": {"difference": -2.0},
                                       "182": {"difference": 1.0}}}}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    assert rd.true_differences(tmp_path, False, (91, 182)) is None  # own cohort: no truth
    assert rd.true_differences(tmp_path, True, (91, 182)) == (-2.0, 1.0)
    shown = rd.truth_reading(tmp_path, True, res, (91, 182), say, lang, True)
    assert shown.data == say.text("truth_cohort", tau1=91, tau2=182,
                                  truth1=rd.fmt_days(-2.0, lang), truth2=rd.fmt_days(1.0, lang),
                                  in1=say.text("in"), in2=say.text("out"))
    no_ci = rd.truth_reading(tmp_path, True, res, (91, 182), say, lang, False)
    assert no_ci.data == say.text("truth_cohort_no_interval", tau1=91, tau2=182,
                                  truth1=rd.fmt_days(-2.0, lang),
                                  truth2=rd.fmt_days(1.0, lang),
                                  d1=rd.fmt_days(-3.0, lang), d2=rd.fmt_days(-4.0, lang))


def test_no_verdict_is_read_from_an_interval_that_is_not_finite():
    from thuiszit_eval.effects import reading as rd_

    say_en = Narrator("07_target_trial", "en")
    nan = float("nan")
    res = pd.DataFrame({"difference": [-3.0, -9.0], "lower": [nan, nan], "upper": [nan, nan]},
                       index=pd.Index([91, 182], name="tau"))
    text = rd_.estimate_reading(res, (91, 182), say_en, 28, "en", True).data
    assert "nan" not in text and "includes zero" not in text and "-3.0" in text
    hr = pd.Series({"hr": 1.2, "lower": nan, "upper": nan, "follow_up_days": 182})
    assert "nan" not in rd_.hazard_ratio_reading(hr, say_en, 28, "en", True).data
    assert rd_.fmt_hr(hr, say_en, "en") == "1.20"
    assert rd_.fmt_days(float("inf"), "nl") == "niet beschikbaar"


def test_eligibility_table_hides_shares_of_a_small_or_unsafe_group(say):
    from thuiszit_eval.messages import t

    supp = t("suppressed", say.lang)
    small = pd.DataFrame({"pupil_id": list("abcdefgh"),
                          "start_day": [3, 5, 40, None, None, 10, 2, 1]})
    tab = rd.eligibility_table(small, say, 28, say.lang, 10)
    assert tab.iloc[:, 0].tolist() == ["<10", "<10", supp, supp, supp]
    big = pd.DataFrame({"pupil_id": [f"p{i}" for i in range(100)],
                        "start_day": [5.0] * 50 + [40.0] * 45 + [np.nan] * 5})
    tab = rd.eligibility_table(big, say, 28, say.lang, 10)
    assert tab.iloc[:, 0].tolist() == ["100", "100", "50%", "45%", supp]  # 5 never started
