"""Tests of the reading helpers of notebook 07 (formatting, verdicts, tables, study summary)."""

from __future__ import annotations

import json
from types import SimpleNamespace

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
