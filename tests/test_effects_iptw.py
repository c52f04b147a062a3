"""IPTW and standardisation (effects.propensity / adjusted / bootstrap).

Checks: the weighted estimators equal the unweighted ones with unit weights (and row
replication with integer weights); the numpy fits equal statsmodels / cox_ph; stabilised
weights average 1; balance after weighting on a simulated cohort; bootstrap determinism
and parallel == serial; on a synthetic point-treatment model with a known truth the naive
estimate is biased in the expected direction and both adjusted estimates recover the truth;
on a simulated cohort IPTW and standardisation agree within their intervals.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from thuiszit_eval.cohort import Cohort
from thuiszit_eval.effects import (
    IPTWSurvival,
    PropensityModel,
    StandardisedSurvival,
    cluster_bootstrap,
    default_covariates,
    point_treatment_data,
    weighted_aalen_johansen,
    weighted_km,
)
from thuiszit_eval.effects._fast import breslow_cox, fit_logistic, iptw_weights
from thuiszit_eval.outcomes import OutcomeDefinition
from thuiszit_eval.simulate import demo_cohort_path, write_simulated_cohort
from thuiszit_eval.survival import aalen_johansen, cox_ph, kaplan_meier

matplotlib.use("Agg")


def _toy(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "duration": rng.integers(1, 60, n).astype(float),  # many ties
        "event": rng.choice([0, 1, 1, 2, 3], n),
    })


# ---------------------------------------------------------------- weighted estimators
def test_weighted_km_unit_weights_equals_kaplan_meier_exactly():
    df = _toy()
    km = kaplan_meier(df).table
    w = weighted_km(df["duration"].to_numpy(), (df["event"] == 1).to_numpy())
    for col in ("time", "n_risk", "n_event", "surv"):
        assert np.array_equal(km[col].to_numpy(), w[col].to_numpy()), col


def test_weighted_aj_unit_weights_equals_aalen_johansen_exactly():
    df = _toy()
    aj = aalen_johansen(df)
    w = weighted_aalen_johansen(df["duration"].to_numpy(), df["event"].to_numpy())
    for k in (1, 2, 3):
        assert np.array_equal(aj.cumulative_incidence(k)["pstate"].to_numpy(),
                              w[f"cif_{k}"].to_numpy())
    p0 = aj.table[aj.table["state"] == 0]["pstate"].to_numpy()
    assert np.array_equal(p0, w["p0"].to_numpy())


def test_weighted_km_integer_weights_equal_replicated_rows():
    df = _toy(120, 1)
    w = np.random.default_rng(2).integers(1, 4, len(df))
    rep = df.loc[df.index.repeat(w)]
    a = weighted_km(df["duration"].to_numpy(), (df["event"] == 1).to_numpy(), w)
    b = kaplan_meier(rep).table
    np.testing.assert_allclose(a["surv"], b["surv"], rtol=1e-12)
    wa = weighted_aalen_johansen(df["duration"].to_numpy(), df["event"].to_numpy(), w)
    np.testing.assert_allclose(wa["cif_2"], aalen_johansen(rep).cumulative_incidence(2)
                               ["pstate"], rtol=1e-12)


def test_numpy_logistic_equals_statsmodels_glm():
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(500), rng.normal(size=(500, 3))])
    a = (rng.random(500) < 1 / (1 + np.exp(-x @ [0.2, 1, -0.5, 0.3]))).astype(float)
    f = rng.integers(0, 3, 500).astype(float)
    ref = sm.GLM(a, x, family=sm.families.Binomial(), freq_weights=f).fit()
    beta, _ = fit_logistic(x, a, f)
    np.testing.assert_allclose(beta, ref.params, rtol=1e-7, atol=1e-9)


def test_breslow_cox_equals_cox_ph_breslow():
    rng = np.random.default_rng(4)
    n = 400
    x = rng.normal(size=(n, 2))
    t = np.ceil(rng.exponential(30 * np.exp(-x @ [0.5, -0.3])))
    d = (rng.random(n) < 0.8).astype(float)
    df = pd.DataFrame({"t": t, "e": d.astype(int), "x0": x[:, 0], "x1": x[:, 1]})
    ref = cox_ph(df, "t", "e", ["x0", "x1"], ties="breslow").table["coef"].to_numpy()
    beta, _, _ = breslow_cox(t, d, x - x.mean(axis=0), np.ones(n))
    np.testing.assert_allclose(beta, ref, rtol=1e-7)


def test_iptw_weights_stabilised_trim_truncate():
    rng = np.random.default_rng(5)
    ps = rng.uniform(0.02, 0.98, 1000)
    a = (rng.random(1000) < ps).astype(float)
    w, n_trim, n_trunc = iptw_weights(ps, a)
    assert (n_trim, n_trunc) == (0, 0)
    assert abs(w[a == 1].mean() - 1) < 0.1 and abs(w[a == 0].mean() - 1) < 0.1
    w2, n_trim, _ = iptw_weights(ps, a, trim=(0.05, 0.95))
    assert n_trim == int(((ps < 0.05) | (ps > 0.95)).sum()) > 0
    assert (w2[(ps < 0.05) | (ps > 0.95)] == 0).all()
    w3, _, n_trunc = iptw_weights(ps, a, truncate=(1, 99))
    assert n_trunc == 20 and w3.max() < w.max()


# ---------------------------------------------------------------- synthetic truth
def _synthetic(n: int, seed: int) -> tuple[pd.DataFrame, dict[float, float]]:
    """Confounding by indication with a known marginal RMST difference.

    x (severity) and b (a need) raise the chance of treatment and lower the return hazard;
    treatment multiplies the return hazard by 1.5. Exponential times, uniform censoring.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    b = (rng.random(n) < 0.4).astype(float)
    a = (rng.random(n) < 1 / (1 + np.exp(-(-0.2 + 1.0 * x + 0.8 * b)))).astype(int)
    lam = np.exp(np.log(1.5) * a - 0.6 * x - 0.5 * b) / 100
    t = np.ceil(rng.exponential(1 / lam))
    c = rng.uniform(100, 400, n).round()
    df = pd.DataFrame({"duration": np.minimum(t, c), "event": (t <= c).astype(int),
                       "treated": a, "x": x, "b": b, "pupil_id": np.arange(n) // 2})
    # truth: E_X[(1 - exp(-lam tau)) / lam] per arm, by Monte Carlo over X (continuous time;
    # ceil() adds < 1 day to each arm and cancels in the difference up to ~0.1 day)
    xx = np.random.default_rng(99).normal(size=400_000)
    bb = (np.random.default_rng(98).random(400_000) < 0.4).astype(float)
    truth = {}
    for tau in (91.0, 182.0):
        r = []
        for arm in (1, 0):
            la = np.exp(np.log(1.5) * arm - 0.6 * xx - 0.5 * bb) / 100
            r.append(np.mean((1 - np.exp(-la * tau)) / la))
        truth[tau] = r[1] - r[0]  # control - treated = days saved
    return df, truth


def test_adjustment_moves_estimate_towards_truth_in_expected_direction():
    df, truth = _synthetic(4000, 11)
    fit = IPTWSurvival(PropensityModel(["x", "b"])).fit(df)
    std = StandardisedSurvival(["x", "b"]).fit(df)
    fit.bootstrap(60, seed=3, n_jobs=1, progress=False)
    for tau in (91.0, 182.0):
        r = fit.difference_.set_index("tau").loc[tau]
        s = std.difference_.set_index("tau").loc[tau]
        # the treated are sicker: the naive comparison understates the days saved
        assert r["days_saved_unadjusted"] < truth[tau] - 3 * r["boot_se"]
        # adjustment moves the estimate up, to the truth
        assert r["days_saved"] > r["days_saved_unadjusted"]
        assert abs(r["days_saved"] - truth[tau]) < 2.5 * r["boot_se"]
        assert r["lower_pct"] < truth[tau] < r["upper_pct"]
        assert abs(s["days_saved"] - truth[tau]) < 2.5 * r["boot_se"]


# ---------------------------------------------------------------- bootstrap
def _mean_stat(df: pd.DataFrame):
    x = df["duration"].to_numpy()
    return lambda f: np.array([np.average(x, weights=f), f.sum()])


def test_cluster_bootstrap_resamples_pupils_deterministically():
    df = _toy(90, 6)
    clusters = np.repeat(np.arange(30), 3)
    r1 = cluster_bootstrap(_mean_stat(df), clusters, 25, seed=7, n_jobs=1, progress=False)
    r2 = cluster_bootstrap(_mean_stat(df), clusters, 25, seed=7, n_jobs=1, progress=False,
                           chunk_size=4)
    assert np.array_equal(r1, r2)
    assert (r1[:, 1] == 90).all()  # 30 pupils drawn, 3 episodes each
    r3 = cluster_bootstrap(_mean_stat(df), clusters, 25, seed=8, n_jobs=1, progress=False)
    assert not np.array_equal(r1, r3)


# ---------------------------------------------------------------- simulated cohort
@pytest.fixture(scope="module")
def sim_data(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("sim") / "cohort"
    write_simulated_cohort(folder, 5000, seed=3, progress=False)
    return point_treatment_data(Cohort.load(folder))


@pytest.fixture(scope="module")
def sim_fits(sim_data):
    cov = default_covariates(sim_data)
    fit = IPTWSurvival(PropensityModel(cov)).fit(sim_data)
    std = StandardisedSurvival(cov).fit(sim_data)
    return fit, std


def test_point_treatment_data_origin_and_groups(sim_data):
    assert set(sim_data["intervention"]) == {"back_to_school", "thuiszitterstafel",
                                             "agendapunt_4"}
    assert (sim_data["treated"] == (sim_data["intervention"] == "back_to_school")).all()
    assert sim_data["age"].max() < 15
    assert (sim_data["days_home"] >= 0).all() and (sim_data["duration"] > 0).all()
    with pytest.raises(ValueError, match="immortal time"):
        point_treatment_data(Cohort.load(demo_cohort_path()),
                             definition=OutcomeDefinition(origin="reported"))


def test_stabilised_weights_average_one(sim_fits):
    fit, _ = sim_fits
    ws = fit.propensity_.weight_summary().set_index("group")
    assert ws["mean_w"].between(0.95, 1.05).all()
    assert fit.propensity_.n_trimmed_ == 0 and fit.propensity_.n_truncated_ == 0


def test_balance_after_weighting(sim_fits):
    bal = sim_fits[0].propensity_.balance_table()
    assert (bal["smd"].abs() > 0.1).any()  # confounding by indication before weighting
    assert (bal["smd_weighted"].abs() < 0.1).all(), bal.sort_values("smd_weighted")


def test_bootstrap_parallel_equals_serial_and_seed_determines(sim_fits):
    fit = sim_fits[0]
    a = fit.bootstrap(12, seed=5, n_jobs=1, progress=False).boot_reps_.copy()
    b = fit.bootstrap(12, seed=5, n_jobs=2, progress=False).boot_reps_.copy()
    assert np.array_equal(a, b)
    t1 = fit.difference_[["lower_pct", "upper_pct"]].to_numpy().copy()
    fit.bootstrap(12, seed=5, n_jobs=2, progress=False)
    assert np.array_equal(t1, fit.difference_[["lower_pct", "upper_pct"]].to_numpy())


def test_iptw_and_standardisation_agree_within_intervals(sim_fits):
    fit, std = sim_fits
    fit.bootstrap(80, seed=2, n_jobs=2, progress=False)
    std.bootstrap(80, seed=2, n_jobs=2, progress=False)
    f = fit.difference_.set_index("tau")
    s = std.difference_.set_index("tau")
    for tau in (91.0, 182.0):
        assert f.at[tau, "lower_pct"] < s.at[tau, "days_saved"] < f.at[tau, "upper_pct"]
        assert s.at[tau, "lower_pct"] < f.at[tau, "days_saved"] < s.at[tau, "upper_pct"]
    # real (unweighted) at-risk numbers, the weighted ones beside them
    rt = fit.risk_table([0, 91])
    n1 = int((fit.a_ == 1).sum())
    assert rt.set_index(["group", "time"]).loc[("back_to_school", 0.0), "n_risk"] == n1
    c0 = fit.curves_[fit.curves_["group"] == "back_to_school"].iloc[0]
    assert c0["n_risk"] == n1 and c0["n_risk_w"] != n1
    assert "days saved" in fit.summary() and "Propensity model" in fit.propensity_.summary()
    assert fit.cox_["term"].tolist() == ["treated"]
    bands = fit.curve_bands()
    assert ((bands["lower"] <= bands["surv"] + 1e-12)
            & (bands["surv"] <= bands["upper"] + 1e-12)).all()


def test_plots_return_figures(sim_fits):
    fit = sim_fits[0]
    for fig in (fit.propensity_.love_plot(), fit.propensity_.overlap_plot(), fit.plot()):
        assert isinstance(fig, matplotlib.figure.Figure)
        matplotlib.pyplot.close(fig)


def test_formula_trim_truncate_paths_run_through_the_bootstrap():
    df, _ = _synthetic(1500, 21)
    pm = PropensityModel(formula="x + b + I(x**2)", trim=(0.1, 0.9), truncate=(1, 99))
    fit = IPTWSurvival(pm, taus=(60,)).fit(df)
    assert fit.propensity_.n_trimmed_ > 0 and fit.propensity_.n_truncated_ > 0
    assert (fit.weights_[(fit.propensity_.scores_ < 0.1).to_numpy()] == 0).all()
    assert list(fit.propensity_.table["term"]) == ["Intercept", "x", "b", "I(x ** 2)"]
    fit.bootstrap(10, seed=1, n_jobs=1, progress=False)
    assert np.isfinite(fit.boot_reps_).all()
    assert fit.difference_["tau"].tolist() == [60.0]
    std = StandardisedSurvival(["x", "b"], taus=(60,)).fit(df)
    assert "Standardisation" in std.bootstrap(10, seed=1, n_jobs=1, progress=False).summary()
