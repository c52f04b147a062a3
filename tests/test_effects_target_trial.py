"""Tests of the target-trial emulation (clone-censor-weight), landmark and naive analyses."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.effects.landmark import landmark_analysis
from thuiszit_eval.effects.target_trial import (
    TargetTrial,
    _binomial_newton,
    clone_censor_weight,
    clones,
    eligible_episodes,
    naive_analysis,
)
from thuiszit_eval.simulate import simulate_cohort

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "sim_study_effects.py"


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return eligible_episodes(simulate_cohort(1500, seed=5, progress=False))


@pytest.fixture(scope="module")
def large():
    sim = simulate_cohort(20_000, seed=3, progress=False)
    return sim, eligible_episodes(sim)


# ---------------------------------------------------------------- protocol
def test_protocol_states_the_emulated_trial():
    text = TargetTrial().describe()
    for word in ("Eligibility", "long-term relative absence or absolute absence", "aged 5-14",
                 "Strategies", "within 28 days", "Grace period", "Time zero",
                 "report to the attendance officer", "Outcome",
                 "return to school", "hypothetical", "competing", "91 and 182 days"):
        assert word in text, word
    frame = TargetTrial(grace_days=42).to_frame()
    assert "42 days" in frame.loc["Strategies", "specification"]


def test_result_prints_the_protocol(small):
    res = clone_censor_weight(small, n_boot=0)
    out = str(res)
    assert out.startswith("Emulated target trial: Back to School within 28 days")
    assert "Time zero" in out and "Restricted mean days at home" in out
    assert res.rmst["tau"].tolist() == [91, 182]
    assert (res.rmst["lower"] < res.rmst["difference"]).all()
    assert set(res.curves["arm"]) == {TargetTrial().name_a, TargetTrial().name_b}


# ---------------------------------------------------------------- clones
def test_clone_bookkeeping_by_hand():
    el = pd.DataFrame({
        "episode_id": ["e1", "e2", "e3", "e4", "e5"], "pupil_id": ["p1", "p2", "p3", "p4", "p5"],
        "time": [50, 20, 100, 60, 200],
        "returned": [True, True, True, False, False],
        "competing": [False, False, False, True, False],
        "start_day": [10, np.nan, np.nan, 40, 28],
        "age_limit_day": [9999] * 5,
    })
    c = clones(el).set_index(["episode_id", "arm"])
    expect = {
        ("e1", "A"): (50, "returned"), ("e1", "B"): (10, "artificially_censored"),
        ("e2", "A"): (20, "returned"), ("e2", "B"): (20, "returned"),
        ("e3", "A"): (28, "artificially_censored"), ("e3", "B"): (100, "returned"),
        ("e4", "A"): (28, "artificially_censored"), ("e4", "B"): (60, "competing"),
        ("e5", "A"): (182, "at_home"), ("e5", "B"): (28, "artificially_censored"),
    }
    for key, (last, status) in expect.items():
        assert (c.loc[key, "last_day"], c.loc[key, "status"]) == (last, status), key


def test_every_eligible_episode_in_both_arms(small):
    c = clones(small)
    assert len(c) == 2 * len(small)
    assert (c.groupby("episode_id")["arm"].apply(sorted).map(tuple) == ("A", "B")).all()
    a = c[c["arm"] == "A"].set_index("episode_id")
    b = c[c["arm"] == "B"].set_index("episode_id")
    s = small.set_index("episode_id")
    early = s["start_day"] <= 28
    # B: censored on the start day when Back to School starts in the grace period
    assert (b.loc[early[early].index, "status"] == "artificially_censored").all()
    assert (b.loc[early[early].index, "last_day"] == s.loc[early, "start_day"]).all()
    # A: still home and not started at day 28 -> censored at day 28
    late = ~early & (s["time"] > 28)
    assert (a.loc[late[late].index, "status"] == "artificially_censored").all()
    assert (a.loc[late[late].index, "last_day"] == 28).all()
    # followers are never artificially censored
    assert (a.loc[early[early].index, "status"] != "artificially_censored").all()


def test_eligibility(small):
    assert small["age_at_report"].between(5, 14).all()
    assert small["episode_type"].isin(["lrv", "absoluut_verzuim"]).all()
    assert (small["time"] > 0).all() and small["reported_date"].notna().all()
    assert not (small["returned"] & small["competing"]).any()
    started = small["start_day"].dropna()
    assert (started > 0).all()


# ---------------------------------------------------------------- weight models
def test_newton_equals_statsmodels_glm():
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(400), rng.normal(size=(400, 3))])
    n = rng.integers(1, 30, 400).astype(float)
    p = 1 / (1 + np.exp(-(x @ np.array([-2.0, 0.5, -0.3, 0.1]))))
    s = rng.binomial(n.astype(int), p).astype(float)
    ref = sm.GLM(np.column_stack([s, n - s]), x, family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(_binomial_newton(x, s, n), ref.params, atol=1e-7)


def test_bootstrap_is_deterministic(small):
    # one SeedSequence child per replicate: the chunking over workers does not matter
    r1 = clone_censor_weight(small, n_boot=4, seed=4, n_jobs=1, progress=False)
    r2 = clone_censor_weight(small, n_boot=4, seed=4, n_jobs=1, progress=False)
    r3 = clone_censor_weight(small, n_boot=4, seed=5, n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(r1.bootstrap, r2.bootstrap)
    assert not r1.bootstrap.equals(r3.bootstrap)
    assert r1.rmst["se_method"].str.startswith("bootstrap").all()
    assert r1.bootstrap.std().gt(0).all()
    # the hazard ratio gets its interval from the same replicates
    assert list(r1.bootstrap.columns) == ["difference_91", "difference_182", "log_hr"]
    assert r1.hazard_ratio["se_log"] == pytest.approx(r1.bootstrap["log_hr"].std())
    assert r1.hazard_ratio["se_method"].startswith("bootstrap")


# ---------------------------------------------------------------- against the truth
def test_ccw_recovers_target_trial_truth(large):
    sim, el = large
    truth = sim.truth["target_trial"]["rmst"]
    res = clone_censor_weight(el, n_boot=0)
    tab = res.rmst.set_index("tau")
    assert tab.loc[91, "difference"] == pytest.approx(truth["91"]["difference"], abs=1.0)
    assert tab.loc[182, "difference"] == pytest.approx(truth["182"]["difference"], abs=3.0)
    for tau in (91, 182):
        assert tab.loc[tau, "lower"] <= truth[str(tau)]["difference"] <= tab.loc[tau, "upper"]
        assert tab.loc[tau, "rmst_A"] == pytest.approx(
            truth[str(tau)]["strategy_A_start_within_28d"], abs=2.0)
    # the marginal HR up to day 182 (Cox of the arm on the weighted clones)
    true_hr = sim.truth["target_trial"]["hazard_ratio"]["182"]["hazard_ratio"]
    hr = res.hazard_ratio
    assert hr["lower"] <= true_hr <= hr["upper"]
    assert abs(np.log(hr["hr"]) - np.log(true_hr)) < 2.5 * hr["se_log"]
    # the naive contrast points the wrong way; the landmark analysis runs and adjusts
    naive = naive_analysis(el)
    assert naive.difference(91) > 10 and naive.hazard_ratio["hr"] < 1
    lm = landmark_analysis(el, hazard_ratio=False, n_boot=0, progress=False)
    assert lm.n_episodes == int((el["time"] > 28).sum())
    assert lm.difference(182) < 0


def test_fast_simulation_study_shows_naive_bias():
    spec = importlib.util.spec_from_file_location("sim_study_effects", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    reps = mod.run_study(n_reps=2, n_pupils=1500, seed=11, n_jobs=1, progress=False)
    tab = mod.summarise(reps).set_index(["method", "estimand"])
    assert set(tab.index.get_level_values("method")) == {"naive", "landmark", "ccw"}
    # two small replicates: the CCW bias is noise (SE ~3 days at 182), the naive bias
    # (immortal time + confounding by indication) is an order of magnitude larger
    naive = tab.loc[("naive", "rmst_diff_182"), "bias"]
    ccw = tab.loc[("ccw", "rmst_diff_182"), "bias"]
    assert naive > 15 and abs(ccw) < naive / 3
    assert abs(tab.loc[("ccw", "rmst_diff_91"), "bias"]) < 3
    assert tab.loc[("naive", "rmst_diff_91"), "bias"] > 10
    assert tab.loc[("naive", "rmst_diff_91"), "coverage_95"] == 0
    # hazard ratios: CCW's against its marginal truth, the naive one far off (wrong sign)
    truth = mod.truth_values()
    assert tab.loc[("ccw", "log_hr"), "truth"] == pytest.approx(truth["log_hr"])
    assert 1.1 < np.exp(truth["log_hr"]) < 1.3
    assert abs(tab.loc[("ccw", "log_hr"), "bias"]) < 0.2
    assert tab.loc[("naive", "log_hr"), "bias"] < -0.4
    assert ("naive", "log_hr_structural") in tab.index
    assert ("ccw", "log_hr_structural") not in tab.index
